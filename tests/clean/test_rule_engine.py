"""Properties of the rule engine on generated tables (hypothesis): the rows add up, kept
rows obey every rule, and cleaning what was kept changes nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import ibis
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customer_analytics.clean.rule_engine import CleanContext
from customer_analytics.clean.stage import KEPT, QUARANTINE, _reference, clean_tables
from customer_analytics.config import CleanSettings

DATA_END = "2025-12-31 15:59:59"
TIMESTAMPS = st.sampled_from(
    ["2025-03-05 14:22:01", "2025-03-05T06:22:01Z", "2025-03-05T14:22:01+08:00", "2025/03/05 14:22:01",
     "1741155721", "2026-02-01 10:00:00", "not a date", ""]
)  # fmt: skip
ORDER = st.fixed_dictionaries(
    {
        "order_id": st.sampled_from(["O1", "O2", "O3", "C1", "O4"]),
        "customer_id": st.sampled_from(["K1", "K2", "", "K3"]),
        "order_ts": TIMESTAMPS,
        "status": st.sampled_from(["completed", "cancelled", "returned"]),
    }
)


def clean_orders(rows: list[dict], folder: Path) -> tuple[dict, pd.DataFrame]:
    con = ibis.duckdb.connect()
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_ts", "status"]).replace(
        "", None
    )
    frame["_row"] = range(1, len(frame) + 1)
    ctx = CleanContext(ibis.timestamp(DATA_END), "Asia/Shanghai", CleanSettings(), _reference())
    schema = {c: "string" for c in ["order_id", "customer_id", "order_ts", "status"]} | {
        "_row": "int64"
    }
    accounting = clean_tables(con, {"orders": ibis.memtable(frame, schema=schema)}, ctx, folder)
    return accounting["orders"], pd.read_parquet(KEPT.at(folder, table="orders"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ORDER, min_size=1, max_size=25))
def test_accounting_balances_and_kept_rows_obey_every_rule(rows: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        acc, kept = clean_orders(rows, Path(tmp))
        quarantined = pd.read_parquet(QUARANTINE.at(Path(tmp), table="orders"))
    assert acc["input_rows"] == len(rows) == len(kept) + len(quarantined)
    assert acc["quarantined_by_rule"] == quarantined["_rule"].value_counts().to_dict() or not len(
        quarantined
    )
    assert kept["customer_id"].notna().all()
    assert (
        not kept["order_id"].str.startswith("C").any() and not (kept["status"] == "cancelled").any()
    )
    assert kept["order_ts_utc"].notna().all()
    assert (kept["order_ts_utc"] <= pd.Timestamp(DATA_END)).all()
    assert not kept.drop(columns=["_row", "order_ts_utc"]).duplicated().any()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ORDER, min_size=1, max_size=25))
def test_cleaning_is_idempotent(rows: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _, kept = clean_orders(rows, Path(tmp) / "once")
        again_rows = kept[["order_id", "customer_id", "order_ts", "status"]].to_dict("records")
        if not again_rows:
            return
        acc, twice = clean_orders(again_rows, Path(tmp) / "twice")
    assert acc["quarantined_rows"] == 0
    assert list(twice["order_ts_utc"]) == list(kept["order_ts_utc"])
