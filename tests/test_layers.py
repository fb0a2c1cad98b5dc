"""The layer contract of pyproject.toml's import-linter section holds, and it bites.

Imports point upstream only (stages in pipeline order over the engine, the helpers and
the settings), the pipeline imports no stage, the stage registry imports nothing of
ours, and the experiment statistics import neither pandas, Ibis, DuckDB, scikit-learn
nor anything else of ours. A module that breaks a contract is named with its line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from support import ROOT

PACKAGE = ROOT / "src" / "customer_analytics"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the project at ``root``, its own ``src`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, env=env
    )


def test_the_package_keeps_its_layer_contracts() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_an_import_against_the_layers_is_caught(tmp_path: Path) -> None:
    """A copy of the package where a helper imports the settings and the statistics import
    pandas: the contract names both, with the importing module."""
    copy = tmp_path / "project"
    shutil.copytree(PACKAGE, copy / "src" / "customer_analytics")
    shutil.copy(ROOT / "pyproject.toml", copy)
    dates = copy / "src" / "customer_analytics" / "utils" / "dates.py"
    dates.write_text(dates.read_text() + "\nimport customer_analytics.config  # noqa\n")
    srm = copy / "src" / "customer_analytics" / "experiments" / "stats" / "srm.py"
    srm.write_text(srm.read_text() + "\nimport pandas  # noqa\n")
    result = lint_imports(copy)
    assert result.returncode == 1
    assert "customer_analytics.utils.dates -> customer_analytics.config" in result.stdout
    assert "customer_analytics.experiments.stats is not allowed to import pandas" in result.stdout
