"""Marketing channels over time: touches for attribution, what each message brought,
campaigns, the holdout's measured lift, and each channel's cost and return.

A touch is a clicked message (its channel) or a session whose traffic source is a
traffic channel of ``reference/channels.csv``; a session a message click opened is the
click itself, so it is not counted twice. Transaction-scale work is Ibis.
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from customer_analytics.clean.identity import merged_ids
from customer_analytics.experiments.units import assignments
from customer_analytics.utils.reference import REFERENCE


def traffic_channels() -> list[str]:
    """The channels that bring sessions rather than send messages (``reference/channels.csv``)."""
    known = pd.read_csv(REFERENCE / "channels.csv")
    return sorted(known.loc[known["kind"] == "traffic", "channel"].unique())


def touches(tables: dict[str, ibis.Table], identity: ibis.Table | None) -> ibis.Table | None:
    """Every touch (``customer_id, ts, channel``) by the merged customer id, or None when
    the source has neither messages nor sessions with a source."""
    parts = []
    messages = tables.get("messages")
    if messages is not None:
        clicked = messages.filter(messages.clicked_ts_utc.notnull())
        parts.append(
            clicked.select(
                "customer_id", ts=clicked.clicked_ts_utc.cast("timestamp"), channel=clicked.channel
            )
        )
    events = tables.get("events")
    if events is not None and "source" in events.columns:
        rows = events.filter(events.source.isin(traffic_channels()) & events.customer_id.notnull())
        sessions = rows.group_by(["session_id", "customer_id", "source"]).aggregate(
            ts=rows.event_ts.min()
        )
        parts.append(
            sessions.select(
                "customer_id", ts=sessions.ts.cast("timestamp"), channel=sessions.source
            )
        )
    if not parts:
        return None
    return merged_ids(ibis.union(*parts), identity)


def with_orders(messages: ibis.Table, purchases: ibis.Table, identity: ibis.Table | None,
                window_days: int) -> ibis.Table:  # fmt: skip
    """The messages with ``converted`` (1 when the customer ordered within
    ``window_days`` after the send, else 0): a message's conversion, not its effect."""
    m = merged_ids(messages, identity)
    p = purchases.select(_c=purchases.customer_id, _ts=purchases.order_ts_utc)
    hit = m.select("message_id", "customer_id", "sent_ts_utc").join(p, [("customer_id", "_c")])
    hit = hit.filter((hit._ts >= hit.sent_ts_utc)
                     & (hit._ts < hit.sent_ts_utc + ibis.interval(days=window_days)))  # fmt: skip
    bought = hit.select("message_id").distinct().mutate(converted=ibis.literal(1))
    joined = m.left_join(bought, "message_id")
    return joined.select(*m.columns, converted=joined.converted.fill_null(0))


def campaigns(messages: ibis.Table) -> pd.DataFrame:
    """Per channel and campaign: messages, opens, clicks, conversions (see
    :func:`with_orders`), cost, and the rates and cost per conversion."""
    m = messages
    table = (
        m.group_by(["channel", "campaign_id"])
        .aggregate(
            first_sent=m.sent_ts_utc.min(),
            messages=m.count(),
            opened=m.opened_ts_utc.count(),
            clicked=m.clicked_ts_utc.count(),
            converted=m.converted.sum(),
            cost=m.cost.sum(),
        )  # fmt: skip
        .execute()
    )
    table["open_rate"] = table["opened"] / table["messages"]
    table["click_through_rate"] = table["clicked"] / table["messages"]
    table["conversion"] = table["converted"] / table["messages"]
    table["cost_per_conversion"] = table["cost"] / table["converted"].where(table["converted"] > 0)
    return table.sort_values(["channel", "first_sent"], ignore_index=True)


def holdout_customers(
    exposures: ibis.Table,
    identity: ibis.Table | None,
    purchases: ibis.Table,
    experiment: str,
    timezone: str,
) -> pd.DataFrame:
    """Each customer of a channel's holdout experiment: arm (``variant``), assignment
    (UTC), and their orders and revenue from it to the data's end."""
    assigned = assignments(
        exposures.filter(exposures.experiment_id == experiment), identity, timezone
    )
    p = purchases.select(_c=purchases.customer_id, _ts=purchases.order_ts_utc, _id=purchases.order_id,
                         _revenue=purchases.revenue)  # fmt: skip
    after = assigned.left_join(p, [("customer_id", "_c")])
    after = after.mutate(_in=(after._ts >= after.assigned_ts).fill_null(False))
    return (
        after.group_by(["customer_id", "variant", "assigned_ts"])
        .aggregate(
            orders=after._in.cast("int64").sum(),
            revenue=after._in.ifelse(after._revenue, 0.0).sum().fill_null(0.0),
        )  # fmt: skip
        .execute()
    )


def holdout_lift(per: pd.DataFrame, holdout_arm: str, level: float = 0.9) -> dict[str, Any] | None:
    """The measured lift of a channel from its randomised holdout: orders (and revenue)
    per customer from assignment to the data's end, messaged arms minus the holdout, with
    a Welch normal interval at ``level``; None without both arms.

    The difference of means of a randomised comparison is unbiased for the channel's
    incremental orders per messaged customer (Gerber & Green 2012, *Field Experiments*, ch. 2).
    """
    if per.empty or holdout_arm not in set(per["variant"]) or per["variant"].nunique() < 2:
        return None
    held = (per["variant"] == holdout_arm).to_numpy()
    z = stats.norm.ppf(0.5 + level / 2)
    out: dict[str, Any] = {
        "customers": {str(k): int(v) for k, v in per["variant"].value_counts().sort_index().items()}
    }
    for metric, prefix in (("orders", ""), ("revenue", "revenue_")):
        a, b = per.loc[~held, metric], per.loc[held, metric]
        diff = float(a.mean() - b.mean())
        se = float(np.sqrt(a.var() / len(a) + b.var() / len(b)))
        out |= {
            f"{prefix}lift": diff,
            f"{prefix}low": diff - z * se,
            f"{prefix}high": diff + z * se,
        }
    out["messaged"] = int((~held).sum())
    return out


def attribution_table(
    credited: Any, bands: dict[str, dict[str, tuple[float, float]]]
) -> pd.DataFrame:
    """Long: per model and channel, the share of the attributed orders with its interval,
    and the orders and revenue credited (:class:`~.attribution.Attribution`)."""
    rows = [
        {"model": model, "channel": channel, "share": share,
         "low": bands.get(model, {}).get(channel, (np.nan, np.nan))[0],
         "high": bands.get(model, {}).get(channel, (np.nan, np.nan))[1],
         "orders": credited.conversions[model][channel], "revenue": credited.value[model][channel]}
        for model, shares in credited.shares.items()
        for channel, share in shares.items()
    ]  # fmt: skip
    return pd.DataFrame(rows)


def costs(tables: dict[str, ibis.Table]) -> pd.Series:
    """What each channel cost: its messages' costs and its spend."""
    parts = [
        t.group_by("channel").aggregate(cost=t.cost.sum()).execute()
        for name in ("messages", "spend")
        if (t := tables.get(name)) is not None
    ]
    if not parts:
        return pd.Series(dtype=float, name="cost")
    return pd.concat(parts).groupby("channel")["cost"].sum()


def channel_returns(long: pd.DataFrame, cost: pd.Series, holdout: Any) -> pd.DataFrame:
    """Per channel: cost, the orders each model credits, and the return on cost,
    ``(revenue - cost) / cost``, on the revenue the channel's measured lift gives where a
    holdout measured it (lift x messaged customers), else on Shapley's credited revenue
    (attribution: not causal). ``basis`` says which."""
    orders = long.pivot(index="channel", columns="model", values="orders").add_prefix("orders_")
    table = orders.join(
        long[long["model"] == "shapley"].set_index("channel")["revenue"].rename("revenue")
    )
    table = table.join(cost, how="outer").fillna({"cost": 0.0})
    table["basis"] = "Shapley (attribution, not causal)"
    if isinstance(holdout, dict):
        c = holdout["channel"]
        table.loc[c, "basis"] = "measured lift (randomised holdout)"
        table.loc[c, "revenue"] = holdout["revenue_lift"] * holdout["messaged"]
        table.loc[c, "lift_orders"] = holdout["lift"] * holdout["messaged"]
    table["roi"] = (table["revenue"] - table["cost"]) / table["cost"].where(table["cost"] > 0)
    return table.rename_axis("channel").reset_index()
