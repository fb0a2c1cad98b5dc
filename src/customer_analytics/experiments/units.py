"""The unit table of an experiment: one row per exposed customer, built in the database.

Two shapes of campaign data reach it (both through the canonical ``exposures`` table and
the clean stage): an exposure log joined to the shop's orders after assignment, or a
campaign file that already carries each customer's outcomes (``outcomes`` table, like
Hillstrom's). Either way the result is an Ibis expression with ``experiment_id``,
``customer_id``, ``variant`` and numeric metric columns, which :mod:`.reduce` turns into
sufficient statistics without bringing rows into Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt

from customer_analytics.clean.timestamps import to_utc

#: Metrics an exposure log joined to orders provides, and their pre-period covariates.
ORDER_METRICS = ("conversion", "orders", "revenue")
PRE_PERIOD = ("orders_pre", "revenue_pre")


def assignments(exposures: ibis.Table, identity: ibis.Table | None, timezone: str) -> ibis.Table:
    """Each customer's first assignment per experiment, keyed by the merged customer id.

    Repeated exposures to the same arm count once, from the first; the clean stage has
    already set aside customers seen in two arms.
    """
    if "assigned_ts_utc" in exposures.columns:
        assigned = exposures.assigned_ts_utc
    else:
        assigned, _ = to_utc(exposures.assigned_ts, timezone)
    rows = exposures.mutate(_assigned=assigned)
    if identity is not None:
        rows = rows.left_join(identity.select("customer_id", "merged_customer_id"), "customer_id")
        rows = rows.mutate(customer_id=rows.merged_customer_id.fill_null(rows.customer_id))
    return rows.group_by(["experiment_id", "customer_id"]).aggregate(
        variant=rows.variant.min(), assigned_ts=rows._assigned.min()
    )


def units_from_orders(
    assigned: ibis.Table, orders: ibis.Table, window_days: Mapping[str, int]
) -> ibis.Table:
    """Outcomes from the shop's purchases in each experiment's window after assignment.

    ``conversion`` (any purchase), ``orders`` and ``revenue`` in ``[assigned, assigned +
    window)``; ``orders_pre`` and ``revenue_pre`` in the window before assignment (the
    CUPED covariates); ``customer_type`` is "returning" with two or more purchases before
    assignment, else "new". Purchases before assignment are never outcomes.
    """
    windows = ibis.memtable(
        {"experiment_id": list(window_days), "window_days": [int(d) for d in window_days.values()]}
    )
    exposed = assigned.join(windows, "experiment_id")
    if "is_return" in orders.columns:
        orders = orders.filter(~orders.is_return.fill_null(False))
    purchases = orders.select("customer_id", ts=orders.order_ts_utc, value=orders.revenue)
    joined = exposed.left_join(purchases, "customer_id")
    start = joined.assigned_ts
    span = joined.window_days.cast(dt.int64).as_interval("D")
    after = (joined.ts >= start) & (joined.ts < start + span)
    before = (joined.ts < start) & (joined.ts >= start - span)
    ever_before = joined.ts < start

    def count(condition: ibis.Value) -> ibis.Value:
        return condition.fill_null(False).cast(dt.float64).sum()

    def total(condition: ibis.Value) -> ibis.Value:
        return ibis.ifelse(condition.fill_null(False), joined.value, 0.0).sum()

    units = joined.group_by(["experiment_id", "customer_id", "variant", "assigned_ts"]).aggregate(
        orders=count(after),
        revenue=total(after),
        orders_pre=count(before),
        revenue_pre=total(before),
        _before=count(ever_before),
    )
    return units.mutate(
        conversion=(units.orders > 0).cast(dt.float64),
        customer_type=ibis.ifelse(units._before >= 2, "returning", "new"),
    ).drop("_before")


def units_from_outcomes(
    assigned: ibis.Table, outcomes: ibis.Table, numeric: list[str]
) -> ibis.Table:
    """Outcomes delivered with the campaign (one row per customer), typed as numbers.

    Columns in ``numeric`` become float; the rest (segments) stay text.
    """
    keep = [c for c in outcomes.columns if c not in ("experiment_id", "customer_id", "_row")]
    typed = outcomes.select(
        "experiment_id",
        "customer_id",
        *[
            outcomes[c].cast(dt.string).try_cast(dt.float64).name(c)
            if c in numeric
            else outcomes[c]
            for c in keep
        ],
    )
    return assigned.join(typed, ["experiment_id", "customer_id"])


def add_segments(
    units: ibis.Table, con: ibis.BaseBackend, tables: Mapping[str, Path]
) -> ibis.Table:
    """Join per-customer segment columns (persona, RFM segment, channel) where they exist.

    ``tables`` maps a Parquet file to read to its role; missing files are skipped.
    """
    for path in tables.values():
        if path.is_file():
            frame = con.read_parquet(path)
            units = units.left_join(frame, "customer_id").drop("customer_id_right")
    return units
