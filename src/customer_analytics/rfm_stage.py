"""Stage 03_rfm: RFM features, scores and segments at ``as_of``, and movement since the snapshot.

Outputs (Parquet) in the stage's folder:

- ``customers_rfm``: one row per buyer: recency, frequency, monetary value, tenure,
  first and last order, average order value, the three scores and the segment;
- ``scoring``: how each score was computed (method, value range, customers per score);
- ``segments``: size, share of customers and of revenue per segment, Prospects last;
- ``movement``: customers per (segment at the snapshot, segment at ``as_of``);
- ``btyd_summary``: frequency, recency, T and mean repeat spend (lifetimes' definition)
  in ``clv.time_unit``, the input of stage 04_clv.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from customer_analytics.clv.models import DAYS_PER_UNIT
from customer_analytics.config import Config
from customer_analytics.rfm import btyd_summary
from customer_analytics.rfm_segments import (
    add_prospects,
    load_segments,
    segment_movement,
    segment_table,
)
from customer_analytics.stage import run_as_of


def run_rfm(cfg: Config, inputs: dict[str, Path], out: Path) -> dict[str, Any]:
    """Compute the RFM stage's outputs into ``out``; return its headline figures."""
    clean = inputs["02_clean"]
    as_of = run_as_of(inputs)
    earlier = as_of - dt.timedelta(days=cfg.run.snapshot_offset_days)
    con = ibis.duckdb.connect()
    orders = con.read_parquet(clean / "orders.parquet")
    scheme = load_segments(cfg.resolve_optional(cfg.rfm.segments))
    scoring = cfg.resolve_optional(cfg.rfm.scoring)

    moved = segment_movement(orders, as_of, earlier, "D", scoring=scoring, scheme=scheme)
    customers = moved.current
    customers.to_parquet(out / "customers_rfm.parquet", index=False)
    moved.scoring_current.to_frame().to_parquet(out / "scoring.parquet", index=False)
    table = segment_table(customers, scheme=scheme)
    registered = clean / "customers.parquet"
    if registered.is_file():
        table = add_prospects(
            table, con.read_parquet(registered), customers, as_of=as_of, scheme=scheme
        )
    table = table.reset_index()
    table.to_parquet(out / "segments.parquet", index=False)
    matrix = moved.matrix
    matrix.index = matrix.index.astype(str)
    matrix.columns = matrix.columns.astype(str)
    matrix.reset_index().to_parquet(out / "movement.parquet", index=False)

    # Fractional periods of days / 7 for weeks, as the papers measure them (lifetimes: freq
    # "D" with freq_multiplier 7), so the 04_clv fit and its holdout use one clock.
    days = int(DAYS_PER_UNIT[cfg.clv.time_unit])
    summary = btyd_summary(orders, as_of, "D", freq_multiplier=days).execute()
    summary.to_parquet(out / "btyd_summary.parquet", index=False)
    return {
        "as_of": str(as_of),
        "snapshot": str(earlier),
        "customers": len(customers),
        "prospects": _prospects(table, scheme.prospects),
        "segments": _segment_figures(table),
        "scoring_methods": {d: s.method for d, s in moved.scoring_current.dimensions.items()},
        "moved_segment": int(_moved(matrix)),
        "repeat_customers": int((summary["frequency"] > 0).sum()),
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


def rfm_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the RFM stage for the run's index page."""
    segments = found["segments"]

    def part(*names: str) -> tuple[int, float]:
        rows = [segments[n] for n in names if n in segments]
        return sum(r["customers"] for r in rows), sum(r["revenue_share"] for r in rows)

    buyers = found["customers"]
    champions, champions_value = part("Champions")
    risk, risk_value = part("At Risk", "Can't Lose Them")
    sleeping, _ = part("Hibernating", "Lost")
    return [
        f"{champions:,} Champions ({champions / max(buyers, 1):.0%} of {buyers:,} buyers) "
        f"bring {champions_value:.0%} of net revenue.",
        f"{risk:,} customers who brought {risk_value:.0%} of net revenue are At Risk or "
        f"Can't Lose Them: they bought often or spent much, but not recently.",
        f"{sleeping:,} customers are Hibernating or Lost; {found['moved_segment']:,} buyers "
        f"changed segment since {found['snapshot']}.",
    ]
