"""Shared fixtures: isolated run folders, Chromium, and one run per documented config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support import CliRun, run_config


@pytest.fixture
def isolated(tmp_path: Path) -> dict[str, str]:
    """--set overrides that send a run's reports and data to a temporary folder."""
    return {"reports.dir": str(tmp_path / "reports"), "data.dir": str(tmp_path / "data")}


#: The runs that tests may read unmarked slow: the tiny shop's, on either engine.
QUICK_RUNS = {"tiny", "spark_local"}


@pytest.fixture(scope="session")
def config_runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], CliRun]:
    """The session's command-line runs, one per config, each made on first use; tests
    ask through :func:`config_run`."""
    runs: dict[str, CliRun] = {}

    def get(name: str) -> CliRun:
        if name not in runs:
            runs[name] = run_config(name, tmp_path_factory.mktemp(f"run-{name}"))
        return runs[name]

    return get


@pytest.fixture
def config_run(
    config_runs: Callable[[str], CliRun], request: pytest.FixtureRequest
) -> Callable[[str], CliRun]:
    """``config_run(name)``: the one command-line run of ``configs/<name>.yaml`` in this
    test session, made on first use. Tests sharing a run share an ``xdist_group``
    (:func:`on_run`), so they land on the worker that holds it: a test reading a run
    without that mark fails, as does one reading a run other than tiny's unmarked slow."""

    def get(name: str) -> CliRun:
        group = request.node.get_closest_marker("xdist_group")
        if group is None or group.args[0] != f"run-{name}":
            pytest.fail(f"{request.node.nodeid} reads the {name} run: mark it on_run({name!r})")
        if name not in QUICK_RUNS and request.node.get_closest_marker("slow") is None:
            pytest.fail(f"{request.node.nodeid} reads the {name} run: mark it slow")
        return config_runs(name)

    return get


# The Chromium fixture (skips without Chromium, fails in CI) for every test module.
from browser import chromium  # noqa: E402, F401
