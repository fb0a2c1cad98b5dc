"""Shared fixtures: the project root, real-data locations and a tiny run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"


def shared_file(name: str) -> Path:
    """A real data set from ../shared/data; skip without it, except in CI where it must exist."""
    path = SHARED_DATA / name
    if not path.is_file():
        message = f"{path} is missing (real data sets live in ../shared/data, see its README)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def isolated(tmp_path: Path) -> dict[str, str]:
    """--set overrides that send a run's reports and data to a temporary folder."""
    return {"reports.dir": str(tmp_path / "reports"), "data.dir": str(tmp_path / "data")}


# The Chromium fixture (skips without Chromium, fails in CI) for every test module.
from browser import chromium  # noqa: E402, F401
