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


@pytest.fixture(scope="session")
def config_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], CliRun]:
    """``config_run(name)``: the one command-line run of ``configs/<name>.yaml`` in this
    test session, made on first use. Tests sharing a run share an ``xdist_group``
    (:func:`on_run`), so they land on the worker that holds it."""
    runs: dict[str, CliRun] = {}

    def get(name: str) -> CliRun:
        if name not in runs:
            runs[name] = run_config(name, tmp_path_factory.mktemp(f"run-{name}"))
        return runs[name]

    return get


# The Chromium fixture (skips without Chromium, fails in CI) for every test module.
from browser import chromium  # noqa: E402, F401
