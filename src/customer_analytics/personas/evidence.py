"""The figures behind a persona card's lines: each persona's against the shop's average.

A figure is a number per persona with the same number for the whole shop beside it, and
for some the thing it is about (``item``: the category bought most, the brand, the
festival, the hours). Figures from the feature table come first (coupons, carts, returns,
price, channels); the others are read from the clean tables: favourite brand, festival,
hours of ordering, categories browsed and product views per order. A figure the source
cannot give is absent; the card-line rules (``lines.yaml``) say why in words.

Only aggregates over a persona's members leave this module: no customer id, no person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from customer_analytics.clean.identity import merged_ids
from customer_analytics.pipeline import engine
from customer_analytics.utils.dates import day_end
from customer_analytics.utils.timestamps import utc_to_local

#: Feature -> figure: a persona's mean of the feature against the shop's mean.
MEANS = (
    "coupon_share",
    "cart_abandonment",
    "browse_to_buy",
    "return_share",
    "price_index",
    "brand_loyalty",
    "festival_share",
    "weekend_share",
)
#: Figure -> the share columns' prefix it picks the largest of (the item is the column's
#: value: ``category_beauty`` -> ``beauty``).
LARGEST = {"top_category": "category_", "channel": "channel_", "device": "device_"}
#: Hours in the window of a persona's busiest ordering time.
HOUR_WINDOW = 3


@dataclass(frozen=True)
class Reading:
    """One persona's figure, the shop's beside it, and what it is about."""

    value: float
    average: float
    item: str | None = None


#: Figure name -> cluster -> reading.
Figures = dict[str, dict[int, Reading]]


def feature_figures(features: pd.DataFrame, labels: pd.Series) -> Figures:
    """The figures the feature table holds (:data:`MEANS`, :data:`LARGEST`), per cluster.

    Parameters
    ----------
    features
        One row per buying customer (:mod:`customer_analytics.clustering.features`).
    labels
        Each customer's cluster, aligned with ``features``.
    """
    out: Figures = {}
    groups = features.groupby(labels)
    for name in MEANS:
        if name in features and features[name].notna().any():
            shop = float(features[name].mean())
            means = groups[name].mean()
            out[name] = {
                int(c): Reading(float(v), shop) for c, v in means.items() if not np.isnan(v)
            }
    for name, prefix in LARGEST.items():
        columns = [c for c in features.columns if c.startswith(prefix)]
        if not columns:
            continue
        shop = features[columns].mean()
        means = groups[columns].mean()
        out[name] = {
            int(c): Reading(
                float(row.max()), float(shop[row.idxmax()]), row.idxmax()[len(prefix) :]
            )
            for c, row in means.iterrows()
        }
    return out


def table_figures(
    tables: Mapping[str, Path],
    labels: pd.Series,
    frequency: pd.Series,
    *,
    as_of: dt.date,
    timezone_name: str,
    festivals: tuple[str, ...] = (),
    festival_days: int = 10,
) -> Figures:
    """The figures read from the clean tables: ``top_brand``, ``festival``,
    ``order_hours``, ``browse_category`` and ``views_per_order``, where the source has
    what each needs.

    Parameters
    ----------
    tables
        The clean stage's Parquet files by table name.
    labels
        Each buying customer's cluster, indexed by merged customer id.
    frequency
        Each buying customer's orders (the feature table's ``frequency``).
    as_of
        Rows after this day are left out, as the features leave them out.
    timezone_name
        The shop's time zone: hours and festival days are the shop's.
    festivals, festival_days
        The shop's festivals (month-day) and the days before each that count as its season.
    """
    con = engine.connect(None)
    end = day_end(as_of)
    read = {name: con.read_parquet(path) for name, path in tables.items()}
    members = ibis.memtable(
        pd.DataFrame({"customer_id": labels.index.astype(str), "cluster": labels.to_numpy()})
    )
    out: Figures = {}
    orders = read["orders"]
    orders = orders.filter(orders.customer_id.notnull(), orders.order_ts_utc < end)
    if "is_return" in orders.columns:
        orders = orders.filter(~orders.is_return)
    orders = orders.mutate(_local=utc_to_local(orders.order_ts_utc, timezone_name)).join(
        members, "customer_id"
    )
    out["order_hours"] = _busiest_hours(
        _counts(orders.group_by(["cluster", orders._local.hour().name("key")]))
    )
    if festivals:
        out["festival"] = _festival(orders, festivals, festival_days)
    products = read.get("products")
    if "order_items" in read and products is not None and "brand" in products.columns:
        items = read["order_items"]
        lines = items.join(orders.select("order_id", "cluster"), "order_id").join(
            products.select("product_id", "brand"), "product_id"
        )
        lines = lines.filter(lines.brand.notnull())
        counts = _counts(lines.group_by(["cluster", lines.brand.name("key")]))
        out["top_brand"] = largest(counts, by_lift=True)
    if "events" in read:
        events = read["events"]
        events = merged_ids(events.filter(events.event_ts < end), read.get("identity_map"))
        views = events.filter(events.event_type == "view").join(members, "customer_id")
        per_cluster = _counts(views.group_by(views.cluster.name("cluster")))
        orders_per = frequency.groupby(labels).sum()
        shop = per_cluster.sum() / orders_per.sum() if orders_per.sum() else np.nan
        out["views_per_order"] = {
            int(c): Reading(float(n / orders_per[c]), float(shop))
            for c, n in per_cluster.items()
            if orders_per.get(c)
        }
        if products is not None and "category" in products.columns:
            viewed = views.join(products.select("product_id", "category"), "product_id")
            counts = _counts(viewed.group_by(["cluster", viewed.category.name("key")]))
            out["browse_category"] = largest(counts)
    return {name: readings for name, readings in out.items() if readings}


def _counts(grouped: ibis.expr.types.GroupedTable) -> pd.Series:
    """Rows per group as a Series indexed by the group's keys."""
    frame = grouped.aggregate(n=ibis._.count()).execute()
    keys = [c for c in frame.columns if c != "n"]
    return frame.set_index(keys)["n"].astype(float).sort_index()


def largest(counts: pd.Series, *, by_lift: bool = False) -> dict[int, Reading]:
    """Per cluster, the key with the largest share of its rows against the key's share of
    the shop's; ``by_lift``: the key most over the shop's share (points), not the most
    common, so a brand everyone buys does not describe everyone."""
    table = counts.unstack("key", fill_value=0.0)
    shares = table.div(table.sum(axis=1), axis=0)
    shop = table.sum() / table.to_numpy().sum()
    out = {}
    for cluster, row in shares.iterrows():
        key = (row - shop).idxmax() if by_lift else row.idxmax()
        out[int(cluster)] = Reading(float(row[key]), float(shop[key]), str(key))
    return out


def _busiest_hours(counts: pd.Series) -> dict[int, Reading]:
    """Per cluster, the :data:`HOUR_WINDOW` hours (across midnight too) holding most of
    its orders; the item is the window's first hour."""
    table = counts.unstack("key", fill_value=0.0).reindex(columns=range(24), fill_value=0.0)
    windows = sum(np.roll(table.to_numpy(), -k, axis=1) for k in range(HOUR_WINDOW))
    shop = windows.sum(axis=0) / table.to_numpy().sum()
    out = {}
    for row, cluster in enumerate(table.index):
        start = int(np.argmax(windows[row]))
        share = windows[row, start] / table.iloc[row].sum()
        out[int(cluster)] = Reading(float(share), float(shop[start]), f"{start:02d}")
    return out


def _festival(orders: ibis.Table, festivals: tuple[str, ...], days: int) -> dict[int, Reading]:
    """Per cluster, the festival with the largest share of its orders in the ``days``
    before and on it (any year), against the shop's share for that festival."""
    aggs = {}
    for festival in festivals:
        month, day = (int(x) for x in festival.split("-"))
        near = ibis.literal(False)
        for shift in (0, 1):  # a festival early in January is near late December
            at = ibis.date(orders._local.year() + shift, month, day)
            gap = at.delta(orders._local.date(), unit="day")
            near = near | ((gap >= 0) & (gap <= days))
        aggs[festival] = near.cast("float64").sum()
    table = orders.group_by("cluster").aggregate(n=orders.count(), **aggs).execute()
    table = table.set_index("cluster")
    shares = table[list(festivals)].div(table["n"], axis=0)
    shop = table[list(festivals)].sum() / table["n"].sum()
    return {
        int(c): Reading(float(row.max()), float(shop[row.idxmax()]), str(row.idxmax()))
        for c, row in shares.iterrows()
    }
