"""The stage cache: keys cover what a stage reads and no more; entries are checked on
reuse; a run's files never alias them; a killed computation's leftovers go."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from support import ROOT, CliRun, on_run

from customer_analytics.config import SECRET_ENV, Config, UndeclaredSetting, load_config
from customer_analytics.ingest.stage import DELIVERED
from customer_analytics.pipeline.cache import changed, ensure_stage, stage_keys
from customer_analytics.pipeline.registry import settings_of


def keys(**overrides: object) -> dict[str, str]:
    return stage_keys(load_config(ROOT / "configs" / "tiny.yaml", dict(overrides)))


def test_keys_are_stable_and_chained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    assert keys() == keys()
    changed = keys(**{"source.synthetic.seed": 7})
    assert all(changed[s] != k for s, k in keys().items())


def test_report_settings_do_not_invalidate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    assert keys(**{"reports.keep": 3}) == keys()


def test_a_new_pseudonymisation_key_invalidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    before = keys()
    monkeypatch.setenv(SECRET_ENV, "a-real-secret")
    first = keys()
    monkeypatch.setenv(SECRET_ENV, "another-secret")
    assert before["01_ingest"] != first["01_ingest"] != keys()["01_ingest"]


def test_a_setting_only_later_stages_read_leaves_the_earlier_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``clustering.seed`` recomputed the ingest and everything after it; now only the
    stages that read the clustering settings, or come after one that does."""
    monkeypatch.delenv(SECRET_ENV, raising=False)
    before, after = keys(), keys(**{"clustering.seed": 9})
    same = [s for s in before if before[s] == after[s]]
    assert same == ["01_ingest", "02_clean", "03_rfm", "04_clv"]
    assert keys(**{"shop.currency": "EUR"})["01_ingest"] != before["01_ingest"]


def test_a_stage_cannot_read_a_section_it_does_not_declare() -> None:
    cfg = load_config(ROOT / "configs" / "tiny.yaml")
    view = cfg.only(settings_of("03_rfm"), "03_rfm")
    assert view.rfm.scoring is None and view.clv.time_unit == "weeks"
    with pytest.raises(UndeclaredSetting, match="03_rfm reads settings section 'clustering'"):
        _ = view.clustering.seed
    with pytest.raises(UndeclaredSetting, match="'source'"):
        _ = view.truth_dir  # derived from the source section


@pytest.fixture
def tiny_cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    return load_config(ROOT / "configs" / "tiny.yaml", {"data.dir": str(tmp_path / "data")})


def test_a_changed_cache_entry_is_noticed_logged_and_recomputed(
    tiny_cfg: Config, caplog: pytest.LogCaptureFixture
) -> None:
    entry = ensure_stage(tiny_cfg, "01_ingest")
    orders = DELIVERED.at(entry, table="orders")
    delivered = pd.read_parquet(orders)
    delivered.head(3).to_parquet(orders)  # an edit through a file that aliased the cache
    with caplog.at_level(logging.WARNING):
        again = ensure_stage(tiny_cfg, "01_ingest")
    assert "failed its check (outputs/orders.parquet changed): recomputing" in caplog.text
    assert again == entry and changed(entry) is None
    pd.testing.assert_frame_equal(pd.read_parquet(orders), delivered)


def test_temporaries_of_a_killed_computation_are_removed(tiny_cfg: Config) -> None:
    folder = tiny_cfg.cache_dir / "01_ingest"
    folder.mkdir(parents=True)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    abandoned = folder / f".{gone.stdout.strip()}-abc123"
    (abandoned / "outputs").mkdir(parents=True)
    live = folder / f".{os.getpid()}-def456"
    live.mkdir()
    ensure_stage(tiny_cfg, "01_ingest")
    assert not abandoned.exists() and live.is_dir()


@pytest.mark.slow
@on_run("tiny")
def test_a_run_s_files_are_copies_not_links_to_the_cache(
    config_run: Callable[[str], CliRun],
) -> None:
    """Editing a run's Parquet file changed the cache entry it was hard-linked to, and
    every later run that reused it."""
    run = config_run("tiny")
    files = [p for folder in run.stages.values() for p in folder.rglob("*") if p.is_file()]
    assert files and all(p.stat().st_nlink == 1 for p in files)
    cache = Path(run.manifest["paths"]["cache"])
    for stage in run.manifest["stages"]:
        entry = cache / stage["name"] / stage["cache_key"]
        # The stage's pages are stored per set of report languages ("report-zh-en").
        reports = [p for p in entry.glob("report*") if p.is_dir()]
        assert changed(entry / "outputs") is None and reports
        assert all(changed(folder) is None for folder in reports)
