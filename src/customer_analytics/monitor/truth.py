"""Channel attribution and the holdout's lift checked against the synthetic shop's
planted marketing (:mod:`customer_analytics.synthetic.marketing`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from customer_analytics.monitor.attribution import distance
from customer_analytics.synthetic.truth import planted_marketing


def planted_contributions(truth_dir: Path | None, end: pd.Timestamp) -> dict[str, float] | None:
    """Each channel's share of the orders marketing brought before ``end`` (shop-local):
    the contributions attribution models try to recover. None for a real shop."""
    planted = planted_marketing(truth_dir)
    if planted is None:
        return None
    orders, _ = planted
    counts = orders.loc[pd.to_datetime(orders["order_ts"]) < end, "channel"].value_counts()
    return {str(k): float(v / counts.sum()) for k, v in counts.sort_index().items()}


def planted_lift(
    truth_dir: Path | None, per: pd.DataFrame | None, as_of: dt.date, timezone: str
) -> dict[str, Any]:
    """The holdout channel's planted lift (``{"planted": ..., "planted_revenue": ...}``, or
    nothing for a real shop): the orders and revenue it brought per customer of the
    messaged arm, from each one's assignment to the data's end (``per``: customer_id,
    variant, assigned_ts in UTC, as :func:`~.channels.holdout_customers` gives it) to
    the end of ``as_of`` in shop time."""
    planted = planted_marketing(truth_dir)
    if planted is None or per is None:
        return {}
    orders, plan = planted
    hold = plan["holdout"]
    messaged = per[per["variant"] != hold["arms"][1]].set_index("customer_id")["assigned_ts"]
    local = pd.to_datetime(orders["order_ts"])
    mine = orders[(orders["channel"] == hold["channel"]).to_numpy() & orders["customer_id"].isin(messaged.index).to_numpy()
                  & (local < pd.Timestamp(as_of) + pd.Timedelta(days=1)).to_numpy()]  # fmt: skip
    at = pd.to_datetime(mine["order_ts"]).dt.tz_localize(timezone).dt.tz_convert(None)
    counted = mine[(at >= messaged.reindex(mine["customer_id"]).to_numpy()).to_numpy()]
    return {
        "planted": len(counted) / len(messaged),
        "planted_revenue": float(counted["revenue"].sum() / len(messaged)),
    }


def distances(
    shares: dict[str, dict[str, float]], planted: dict[str, float], marketing: list[str]
) -> dict[str, float]:
    """Each model's total variation distance to the planted contributions, both split over
    ``marketing``'s channels alone (a model's credit to other channels set aside): how
    well it splits the credit among the channels a shop pays for, whatever it gives the
    customers' own visits."""

    def within(split: dict[str, float]) -> dict[str, float]:
        kept = {c: v for c, v in split.items() if c in marketing}
        total = sum(kept.values())
        return {c: v / total for c, v in kept.items()} if total > 0 else kept

    return {model: distance(within(split), planted) for model, split in shares.items()}
