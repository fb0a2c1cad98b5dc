"""What a stage notebook opens: the run it reads, and by hand without any run, a
computation through the cache into a scratch folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from support import ROOT

from customer_analytics.config import RUN_DIR_ENV, load_config
from customer_analytics.pipeline.context import find_run_dir
from customer_analytics.pipeline.kernels import execute


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
    execute(ROOT / "notebooks" / "01_ingest.ipynb", out, {"config_path": str(tiny_config)})
    data = tmp_path / "data"
    assert list((data / "cache" / "01_ingest").glob("*/outputs/orders.parquet"))
    assert list((data / "scratch" / "no-run" / "01_ingest" / "figures").glob("*.png"))
    assert not (tmp_path / "reports").exists(), "a notebook by hand must not create a run"
    assert os.environ.get(RUN_DIR_ENV) is None


def _run_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "manifest.json").write_text("{}")
    return path


def test_the_run_a_notebook_reads_is_the_argument_the_environment_or_the_newest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(RUN_DIR_ENV, raising=False)
    reports = tmp_path / "reports"
    cfg = load_config(ROOT / "configs" / "tiny.yaml", {"reports.dir": str(reports)})
    assert find_run_dir(None, cfg) is None  # no run yet: compute
    newest = _run_folder(reports / "20260101-000000-tiny")
    (reports / "latest-tiny").symlink_to(newest.name)
    assert find_run_dir(None, cfg) == newest.resolve()
    chosen = _run_folder(tmp_path / "other")
    monkeypatch.setenv(RUN_DIR_ENV, str(chosen))
    assert find_run_dir(None, cfg) == chosen.resolve()
    given = _run_folder(tmp_path / "given")
    assert find_run_dir(str(given), cfg) == given.resolve()


def test_a_folder_without_a_manifest_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty is not a run folder"):
        find_run_dir(tmp_path / "empty")
