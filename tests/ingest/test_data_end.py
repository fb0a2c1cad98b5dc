"""The data's end: rows dated after the run's own date, or isolated by a long gap, do not
make it (nor the run's as_of), and the cleaning sets them aside as after_data_end."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from support import ROOT

from customer_analytics.config import config_from_dict, load_config, today_in
from customer_analytics.ingest.data_end import isolated_from
from customer_analytics.pipeline.cache import ensure_stage, stage_keys
from customer_analytics.pipeline.outputs import stage_findings

MAPPING = {"Invoice": "order_id", "Customer": "customer_id", "When": "order_ts",
           "Item": "product_id", "Qty": "quantity", "Price": "unit_price"}  # fmt: skip


def _export(folder: Path, *extra: str, today: str | None = "2026-12-06") -> dict:
    """A 2011 export of 200 lines (1 to 9 December) and ``extra`` lines dated as given,
    through ingest and clean; the run's own date is ``today``."""
    lines = ["Invoice,Customer,When,Item,Qty,Price"]
    lines += [f"{i},K{i % 7},2011-12-0{1 + i % 9} 10:{i % 60:02d}:00,A,1,2" for i in range(200)]
    lines += [f"X{i},K1,{when},A,1,2" for i, when in enumerate(extra)]
    (folder / "lines.csv").write_text("\n".join(lines) + "\n")
    tree = {
        "run": {"name": "end", "stages": ["01_ingest", "02_clean"],
                **({"today": today} if today else {})},
        "source": {"kind": "files", "path": str(folder),
                   "tables": {"order_items": {"file": "lines.csv", "columns": MAPPING}}},
        "shop": {"timezone": "Europe/London"},
        "data": {"dir": str(folder / "data")},
    }  # fmt: skip
    cfg = config_from_dict(tree)
    return {
        "ingest": stage_findings(ensure_stage(cfg, "01_ingest")),
        "clean": stage_findings(ensure_stage(cfg, "02_clean"))["tables"]["order_items"],
    }


def test_a_row_dated_after_the_run_date_is_not_the_data_end_and_is_set_aside(
    tmp_path: Path,
) -> None:
    """A 2030 row in a 2011 export used to become the data's end and as_of, and the
    after_data_end rule never fired."""
    found = _export(tmp_path, "2030-01-05 10:00:00")
    assert found["ingest"]["data_end_utc"] == "2011-12-09 10:59:00"
    assert found["ingest"]["as_of"] == "2011-12-09"
    assert found["ingest"]["run_date"] == "2026-12-06"
    assert found["ingest"]["rows_left_out_of_data_end"]["after_run_date"] == 1
    assert found["clean"]["quarantined_by_rule"]["after_data_end"] == 1


def test_the_run_date_is_a_setting_rows_after_it_are_in_the_future(tmp_path: Path) -> None:
    """run.today replays a run of 8 December 2011: the lines of the 9th lie after it."""
    found = _export(tmp_path, today="2011-12-08")
    assert found["ingest"]["data_end_utc"] == "2011-12-08 10:58:00"
    assert found["ingest"]["rows_left_out_of_data_end"]["after_run_date"] == 22
    assert found["clean"]["quarantined_by_rule"]["after_data_end"] == 22


def test_a_row_isolated_by_a_long_gap_is_not_the_data_end(tmp_path: Path) -> None:
    """2019 is before the run's date, but eight years after the rest of the export."""
    found = _export(tmp_path, "2019-06-01 09:00:00")
    assert found["ingest"]["data_end_utc"] == "2011-12-09 10:59:00"
    assert found["ingest"]["rows_left_out_of_data_end"] == {
        "after_run_date": 0, "isolated": 1, "isolated_gap_days": 30,
    }  # fmt: skip
    assert found["clean"]["quarantined_by_rule"]["after_data_end"] == 1


def test_unset_the_run_date_is_today_in_the_shop_zone(tmp_path: Path) -> None:
    found = _export(tmp_path, today=None)
    assert found["ingest"]["run_date"] == str(today_in("Europe/London"))
    assert found["ingest"]["data_end_utc"] == "2011-12-09 10:59:00"
    assert "after_data_end" not in found["clean"]["quarantined_by_rule"]


@pytest.mark.parametrize(
    ("days", "rows", "cut"),
    [
        (["2011-12-01", "2011-12-09", "2030-01-01"], [100, 100, 1], 2),  # one row, far off
        (["2011-12-01", "2012-03-01", "2012-03-02"], [300, 2, 1], 1),  # a small late cluster
        (["2011-12-01", "2012-03-01", "2012-03-20"], [50, 40, 10], 3),  # a shop reopened
        (["2011-12-01", "2011-12-20"], [100, 1], 2),  # a gap of 19 days is no gap
    ],
)
def test_a_tail_after_a_long_gap_is_isolated_only_when_it_is_small(
    days: list[str], rows: list[int], cut: int
) -> None:
    frame = pd.DataFrame({"_day": [dt.date.fromisoformat(d) for d in days], "_n": rows})
    assert isolated_from(frame, gap_days=30, max_share=0.01) == cut


def test_the_run_date_is_recorded_in_the_config_and_keys_the_cache() -> None:
    """Unset, run.today is today in the shop's zone, written into the resolved config;
    a run on another day cannot reuse an ingest that judged the future by an older one."""
    tiny = ROOT / "configs" / "tiny.yaml"
    cfg = load_config(tiny)
    assert cfg.run.today == today_in(cfg.shop.timezone)
    assert cfg.to_jsonable()["run"]["today"] == str(cfg.run.today)
    replay = load_config(tiny, {"run.today": "2026-01-15"})
    assert str(replay.run.today) == "2026-01-15"
    assert stage_keys(replay)["01_ingest"] != stage_keys(cfg)["01_ingest"]
