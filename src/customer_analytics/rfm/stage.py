"""Stage 03_rfm: RFM features, scores and segments at ``as_of``, and movement since the snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from customer_analytics.clean.stage import KEPT
from customer_analytics.config import Config
from customer_analytics.i18n import N_
from customer_analytics.pipeline import engine
from customer_analytics.pipeline.outputs import Outputs, run_as_of
from customer_analytics.rfm.segments import (
    add_prospects,
    load_segments,
    segment_movement,
    segment_table,
)
from customer_analytics.rfm.summary import btyd_summary
from customer_analytics.utils.dates import days_per_unit, snapshot_day
from customer_analytics.utils.parquet import write_frame

OUTPUTS = Outputs(__name__)
CUSTOMERS_RFM = OUTPUTS.declare(
    "customers_rfm.parquet",
    "one row per buyer: recency, frequency, monetary value, tenure, first and last order, "
    "average order value, the three scores and the segment",
)
SCORING = OUTPUTS.declare(
    "scoring.parquet", "how each score was computed: method, value range, customers per score"
)
SEGMENTS = OUTPUTS.declare(
    "segments.parquet", "size, share of customers and of revenue per segment, Prospects last"
)
MOVEMENT = OUTPUTS.declare(
    "movement.parquet", "customers per (segment at the snapshot, segment at as_of)"
)
BTYD_SUMMARY = OUTPUTS.declare(
    "btyd_summary.parquet",
    "frequency, recency, T and mean repeat spend (lifetimes' definition) in clv.time_unit, "
    "the input of stage 04_clv",
)


def run(cfg: Config, inputs: dict[str, Path], out: Path) -> dict[str, Any]:
    """Compute the RFM stage's outputs into ``out``; return its headline figures."""
    as_of = run_as_of(inputs)
    earlier = snapshot_day(as_of, cfg.run.snapshot_offset_days)
    con = engine.connect(cfg.engine)
    orders = con.read_parquet(KEPT.path(inputs, table="orders"))
    scheme = load_segments(cfg.resolve_optional(cfg.rfm.segments))
    scoring = cfg.resolve_optional(cfg.rfm.scoring)

    moved = segment_movement(orders, as_of, earlier, "days", scoring=scoring, scheme=scheme)
    customers = moved.current
    write_frame(customers, CUSTOMERS_RFM.at(out))
    moved.scoring_current.to_frame().to_parquet(SCORING.at(out), index=False)
    table = segment_table(customers, scheme=scheme)
    if KEPT.exists(inputs, table="customers"):
        registered = con.read_parquet(KEPT.path(inputs, table="customers"))
        table = add_prospects(table, registered, customers, as_of=as_of, scheme=scheme)
    table = table.reset_index()
    table.to_parquet(SEGMENTS.at(out), index=False)
    matrix = moved.matrix
    matrix.index = matrix.index.astype(str)
    matrix.columns = matrix.columns.astype(str)
    matrix.reset_index().to_parquet(MOVEMENT.at(out), index=False)

    # Fractional periods of days / 7 for weeks, as the papers measure them (lifetimes: freq
    # "D" with freq_multiplier 7), so the 04_clv fit and its holdout use one clock.
    unit = days_per_unit(cfg.clv.time_unit)
    summary = btyd_summary(orders, as_of, "days", freq_multiplier=unit).execute()
    summary.to_parquet(BTYD_SUMMARY.at(out), index=False)
    found = {
        "as_of": str(as_of),
        "snapshot": str(earlier),
        "customers": len(customers),
        "prospects": _prospects(table, scheme.prospects),
        "segments": _segment_figures(table),
        "scoring_methods": {d: s.method for d, s in moved.scoring_current.dimensions.items()},
        "moved_segment": int(_moved(matrix)),
        "repeat_customers": int((summary["frequency"] > 0).sum()),
    }
    return {**found, "headline": _headline(found)}


def _headline(found: dict[str, Any]) -> dict[str, Any]:
    """The figures the run's index shows for this stage, most important first."""
    return {
        N_("Buyers scored"): found["customers"],
        N_("Repeat buyers"): found["repeat_customers"],
        N_("Prospects"): found["prospects"],
        N_("Buyers who changed segment"): found["moved_segment"],
        N_("As of"): found["as_of"],
        N_("Snapshot for movement"): found["snapshot"],
    }


def _prospects(table: pd.DataFrame, label: str) -> int:
    rows = table[table["segment"] == label]
    return int(rows["customers"].iloc[0]) if len(rows) else 0


def _segment_figures(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per segment: customers, share of customers and share of revenue (for the manifest)."""
    figures = {}
    for row in table.to_dict("records"):
        figures[str(row["segment"])] = {
            "customers": int(row["customers"]),
            "customer_share": round(float(row["share_customers"]), 4),
            "revenue_share": round(float(row["share_revenue"]), 4),
        }
    return figures


def _moved(matrix: pd.DataFrame) -> int:
    """Customers present at both dates whose segment changed."""
    known = matrix.drop(index=[i for i in matrix.index if i.startswith("(")], errors="ignore")
    same = sum(known.at[s, s] for s in known.index if s in known.columns)
    return int(known.to_numpy().sum() - same)
