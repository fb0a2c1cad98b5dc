"""A notebook opened by hand runs top to bottom without a run, computing through the cache."""

from __future__ import annotations

import os
from pathlib import Path

import papermill
import pytest
import yaml

from customer_analytics.config import RUN_DIR_ENV

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    tree = yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())
    tree["reports"]["dir"] = str(tmp_path / "reports")
    tree["data"] = {"dir": str(tmp_path / "data")}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tree))
    return path


def test_ingest_notebook_without_any_run_computes_into_cache_and_scratch(
    tiny_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(RUN_DIR_ENV, raising=False)
    out = tmp_path / "executed.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "01_ingest.ipynb"),
        str(out),
        parameters={"config_path": str(tiny_config)},
        cwd=str(ROOT / "notebooks"),
        kernel_name="python3",
        progress_bar=False,
    )
    data = tmp_path / "data"
    assert list((data / "cache" / "01_ingest").glob("*/outputs/orders.parquet"))
    assert list((data / "scratch" / "no-run" / "01_ingest" / "figures").glob("*.png"))
    assert not (tmp_path / "reports").exists(), "a notebook by hand must not create a run"
    assert os.environ.get(RUN_DIR_ENV) is None
