# Two commands on a fresh machine with Python 3.11, 3.12 or 3.13 and make: `make report`, `make test`.
SHELL := /bin/bash
# The first of these that runs and is one we support (3.11.5 to 3.13), or another with
# `make PYTHON=python3.13 ...` (a name or a path).
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3; do $$p -c 'import sys; sys.exit(not (3, 11, 5) <= sys.version_info < (3, 14))' 2>/dev/null && { command -v $$p; break; }; done)
PYVER := $(if $(PYTHON),$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null))
VENV := .venv
BIN := $(VENV)/bin
# The stamp names PYTHON's version: a .venv made with another version is made anew.
STAMP := $(VENV)/.installed-py$(PYVER)-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
CONFIG ?= configs/default.yaml
TEST_RUNS := .test-runs

.DEFAULT_GOAL := help
.PHONY: help install report run test test-fast lint format lab lock chromium java benchmark clean

help: ## list every target
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON)" && $(PYTHON) -c 'import sys; sys.exit(not (3, 11, 5) <= sys.version_info < (3, 14))' 2>/dev/null || { \
	  echo "PYTHON=$(PYTHON) is not a working Python 3.11.5 to 3.13 (requires-python): name one, e.g. make PYTHON=/path/to/python3.12" >&2; exit 1; }
	@if [ -x $(BIN)/python ] && [ "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" != "$(PYVER)" ]; then \
	  echo "$(VENV) was made with another Python than $(PYTHON) ($(PYVER)): making it anew"; rm -rf $(VENV); fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps "ChannelAttribution==2.2.5"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (customer-analytics)" >/dev/null
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP) ## create .venv (when missing) and install the locked environment

report: $(STAMP) ## run the default report (configs/default.yaml) and print its index.html
	$(BIN)/python -m customer_analytics run --config $(CONFIG)

run: report ## same as report; pick another config with CONFIG=configs/X.yaml

chromium: ## install Debian's chromium for the browser tests (as root, when missing)
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium (apt-get) for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium is missing and we are not root: browser tests will be skipped"; fi

# Spark 4.0 runs on Java 17 (engine.kind: spark; the spark tests and configs/spark_local.yaml).
java: ## install Debian's Java 17 for the Spark engine (as root, when no java is found)
	@if command -v java >/dev/null || [ -n "$$JAVA_HOME" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing openjdk-17-jre-headless (apt-get) for the Spark engine"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	else echo "java is missing and we are not root: the spark tests will fail (install Java 17)"; fi

lint: $(STAMP) ## ruff lint and format check, and the layer contract (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP) ## ruff fix and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: $(STAMP) chromium java lint ## the whole suite: lint, tests (slow and browser ones included), notebooks under nbval
	$(BIN)/pytest -n 2 --dist loadgroup --durations=25 tests
	@rm -rf $(TEST_RUNS)
	$(BIN)/python -m customer_analytics run --config configs/tiny.yaml \
	  --set reports.dir=$(TEST_RUNS)/reports --set data.dir=$(TEST_RUNS)/data >/dev/null
	CUSTOMER_ANALYTICS_RUN_DIR=$(TEST_RUNS)/reports/latest $(BIN)/pytest --nbval-lax -p no:xdist notebooks

test-fast: $(STAMP) ## tests without the slow real-data and default-size ones
	$(BIN)/pytest -n 2 -m "not slow" tests

# LAB_ARGS passes options to JupyterLab (e.g. LAB_ARGS="--no-browser --port=8899"); as root
# (a container, a CI box) JupyterLab refuses to start without --allow-root, so it gets it there.
lab: $(STAMP) ## open JupyterLab on notebooks/ with the project's kernel
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# pip freeze pins PYTHON's packages only: re-add the lines with markers that the other
# Pythons need (tests/test_lock.py names what is missing or extra on 3.11, 3.12 and 3.13).
lock: ## re-resolve requirements.lock from pyproject.toml (needs the network)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e ".[dev]"
	.lock-venv/bin/pip freeze --exclude-editable > requirements.lock
	rm -rf .lock-venv

benchmark: $(STAMP) ## run every script in benchmarks/ (prints figures, not a test)
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean: ## remove caches, test runs and the virtualenv (never data/raw or reports)
	rm -rf $(VENV) $(TEST_RUNS) data/cache data/scratch .pytest_cache .ruff_cache
