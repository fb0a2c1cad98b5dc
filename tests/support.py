"""Helpers the tests share: real data sets and runs of the documented command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m customer_analytics run ARGS`` from the project root, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "customer_analytics", "run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=1800,
    )


def isolated_sets(base: Path, **extra: str) -> list[str]:
    """``--set`` arguments sending a run's reports and data under ``base``."""
    pairs = {"reports.dir": str(base / "reports"), "data.dir": str(base / "data"), **extra}
    return [arg for key, value in pairs.items() for arg in ("--set", f"{key}={value}")]


@dataclass(frozen=True)
class CliRun:
    """One finished run of the command line: its process, report folder and manifest."""

    process: subprocess.CompletedProcess
    report: Path | None
    manifest: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.process.returncode == 0

    @property
    def stages(self) -> dict[str, Path]:
        """Each stage's output folder in the run's data folder."""
        assert self.manifest is not None, self.process.stderr
        data = Path(self.manifest["paths"]["data"])
        return {s["name"]: data / s["name"] for s in self.manifest["stages"]}

    def findings(self, stage: str) -> dict[str, Any]:
        assert self.manifest is not None, self.process.stderr
        return self.manifest["findings"][stage]


def run_config(config: str, base: Path, *args: str, env: dict[str, str] | None = None) -> CliRun:
    """Run ``configs/<config>.yaml`` through the command line with its output under ``base``."""
    process = cli("--config", f"configs/{config}.yaml", *isolated_sets(base), *args, env=env)
    last = process.stdout.strip().splitlines()[-1:] or [""]
    if not last[0].startswith("report: "):
        return CliRun(process, None, None)
    report = Path(last[0].removeprefix("report: ")).parent
    return CliRun(process, report, json.loads((report / "manifest.json").read_text()))


def on_run(config: str) -> pytest.MarkDecorator:
    """Marks tests that read the session's run of ``configs/<config>.yaml`` (the
    ``config_run`` fixture): one xdist group, so one worker makes the run once."""
    return pytest.mark.xdist_group(f"run-{config}")
