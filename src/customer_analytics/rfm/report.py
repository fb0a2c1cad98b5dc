"""What the 03_rfm notebook shows: findings in plain language, how the scores were
computed, the segment rules, segment sizes and value, and movement since the snapshot."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from customer_analytics.report import plots
from customer_analytics.rfm.segments import SegmentScheme, segment_grid


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


def key_figures_text(found: dict[str, Any]) -> str:
    """The dates, how many buyers were scored and how each dimension was scored."""
    methods = ", ".join(f"{d} {m}" for d, m in found["scoring_methods"].items())
    return "\n".join(
        [
            f"as of {found['as_of']} (snapshot for movement: {found['snapshot']})",
            f"buyers scored: {found['customers']:,}; repeat buyers: "
            f"{found['repeat_customers']:,}; prospects: {found['prospects']:,}",
            f"scoring method per dimension: {methods}",
        ]
    )


def scoring_table(scoring: pd.DataFrame) -> pd.DataFrame:
    """Each score's value range and customers, a column group per dimension."""
    table = scoring.pivot(index="score", columns="dimension", values=["min", "max", "customers"])
    return table.swaplevel(axis=1).sort_index(axis=1)


def segment_grid_table(scheme: SegmentScheme) -> pd.DataFrame:
    """The segment of every (R, FM) cell, best recency on top."""
    grid = segment_grid(scheme).drop_duplicates(["r", "fm"])
    grid = grid.pivot(index="r", columns="fm", values="segment")
    return grid.sort_index(ascending=False).rename_axis(index="R score", columns="FM score")


def segment_shares_figure(segments: pd.DataFrame, prospects: str) -> plt.Figure:
    """Share of buyers and of net revenue per segment (prospects have neither)."""
    buyers = segments[segments["segment"] != prospects]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    plots.share_bars(
        ax,
        buyers.set_index("segment")[["share_customers", "share_revenue"]],
        labels=["customers", "net revenue"],
    )
    ax.set_title("Share of customers and of revenue per segment")
    return fig


def movement_figure(movement: pd.DataFrame, found: dict[str, Any]) -> plt.Figure:
    """Customers by segment at the snapshot (rows) and at as_of (columns)."""
    fig, ax = plt.subplots(figsize=(10, 7))
    sns.heatmap(movement, annot=True, fmt=",d", cmap="Blues", cbar=False, ax=ax)
    ax.set_xlabel(f"segment at {found['as_of']}")
    ax.set_ylabel(f"segment at {found['snapshot']}")
    ax.set_title("Who moved where")
    return fig
