"""The unit table of an experiment: one row per exposed customer, built in the database.

Two shapes of campaign data reach it (both through the canonical ``exposures`` table and
the clean stage): an exposure log joined to the shop's orders after assignment, or a
campaign file that already carries each customer's outcomes (``outcomes`` table, like
Hillstrom's). Either way the result is an Ibis expression with ``experiment_id``,
``customer_id``, ``variant`` and numeric metric columns, which :mod:`.reduce` turns into
sufficient statistics without bringing rows into Python.

Every kept exposure is exactly one unit. A unit without any outcome row did nothing
that was recorded: its outcomes count as zero, the usual reading of a campaign file
such as Hillstrom's, where a customer who did not visit or buy has zeros. A unit whose
outcome rows were quarantined by a rule marked ``outcome_unknown`` in
``clean/rules.yaml`` (a value that is not a number, say) has an unknown outcome, not a
zero: :func:`units_from_outcomes` marks it, and the stage leaves it out and counts it.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.datatypes as dt

from customer_analytics.clean.identity import merged_ids
from customer_analytics.clean.rule_engine import load_rules
from customer_analytics.config import ExperimentSpec
from customer_analytics.utils.timestamps import to_utc

#: Metrics an exposure log joined to orders provides, and their pre-period covariates
#: (``margin`` and ``margin_pre`` only where orders carry a margin, :func:`order_margins`).
ORDER_METRICS = ("conversion", "orders", "revenue", "margin")
PRE_PERIOD = ("orders_pre", "revenue_pre", "margin_pre")
KEY = ["experiment_id", "customer_id"]


def assignments(exposures: ibis.Table, identity: ibis.Table | None, timezone: str) -> ibis.Table:
    """Each customer's first assignment per experiment, keyed by the merged customer id.

    Repeated exposures to the same arm count once, from the first; the clean stage has
    already set aside customers seen in two arms.

    Parameters
    ----------
    exposures : ibis.Table
        The clean ``exposures`` (``assigned_ts_utc`` parsed, else ``assigned_ts``).
    identity : ibis.Table or None
        See :func:`~customer_analytics.clean.identity.merged_ids`.
    timezone : str
        The shop's zone, for an unparsed local ``assigned_ts``.

    Returns
    -------
    ibis.Table
        ``experiment_id, customer_id, variant, assigned_ts`` (UTC).
    """
    if "assigned_ts_utc" in exposures.columns:
        assigned = exposures.assigned_ts_utc
    else:
        assigned, _ = to_utc(exposures.assigned_ts, timezone)
    rows = merged_ids(exposures.mutate(_assigned=assigned), identity)
    return rows.group_by(KEY).aggregate(
        variant=rows.variant.min(), assigned_ts=rows._assigned.min()
    )


def order_margins(
    orders: ibis.Table, lines: ibis.Table, products: ibis.Table, carrier_cost: float
) -> ibis.Table:
    """Orders with ``margin``: what the shop keeps of each order.

    ``revenue`` (the kept lines less the discount) plus the shipping the customer paid
    (``shipping_amount``), less the goods' cost (each kept line's quantity times its
    product's ``unit_cost``) and less ``carrier_cost``, what the shop pays its carrier
    per order whatever the customer paid (``shop.carrier_cost_per_order``). This is the
    margin the synthetic shop plants (``synthetic/generate.py``, ``_money``).

    Parameters
    ----------
    orders, lines, products : ibis.Table
        The clean ``orders`` (with ``revenue``), ``order_items`` and ``products``
        (``unit_cost`` as delivered text or numbers).
    carrier_cost : float
        Paid to the carrier per order.

    Returns
    -------
    ibis.Table
        ``orders`` with ``margin``.

    Raises
    ------
    ValueError
        If a kept line's product has no readable ``unit_cost``: its order's margin
        would be overstated.
    """
    cost = products.select(
        "product_id", _unit_cost=products.unit_cost.cast(dt.string).try_cast(dt.float64)
    )
    priced = lines.left_join(cost, "product_id")
    uncosted = priced.filter(priced._unit_cost.isnull())
    missing = int(uncosted.count().execute())
    if missing:
        example = uncosted.select("product_id").limit(1).execute().iloc[0, 0]
        raise ValueError(
            f"order_items: {missing:,} kept line(s) have no unit_cost in products "
            f"(for example product {example!r}); margin needs every line's cost"
        )
    per_order = priced.group_by("order_id").aggregate(
        _cost=(priced.quantity.cast(dt.float64) * priced._unit_cost).sum()
    )
    joined = orders.left_join(per_order, "order_id")
    shipping = joined.shipping_amount.fill_null(0.0) if "shipping_amount" in orders.columns else 0.0
    return joined.select(
        *orders.columns,
        margin=joined.revenue + shipping - joined._cost.fill_null(0.0) - carrier_cost,
    )


def units_from_orders(
    assigned: ibis.Table, orders: ibis.Table, window_days: Mapping[str, int]
) -> ibis.Table:
    """Outcomes from the shop's purchases in each experiment's window after assignment.

    ``conversion`` (any purchase), ``orders``, ``revenue`` and (where orders carry it)
    ``margin`` in ``[assigned, assigned + window)``; ``orders_pre``, ``revenue_pre`` and
    ``margin_pre`` in the window before assignment (the CUPED covariates);
    ``customer_type`` is "returning" with two or more purchases before assignment, else
    "new". Purchases before assignment are never outcomes: they are the pre-period.

    Parameters
    ----------
    assigned : ibis.Table
        :func:`assignments`.
    orders : ibis.Table
        The clean orders (returns are left out), with ``margin`` where computed.
    window_days : mapping of str to int
        Each experiment's outcome window.

    Returns
    -------
    ibis.Table
        One row per assignment.
    """
    windows = ibis.memtable(
        {"experiment_id": list(window_days), "window_days": [int(d) for d in window_days.values()]}
    )
    exposed = assigned.join(windows, "experiment_id")
    if "is_return" in orders.columns:
        orders = orders.filter(~orders.is_return.fill_null(False))
    values = ["revenue", *(["margin"] if "margin" in orders.columns else [])]
    purchases = orders.select("customer_id", *values, ts=orders.order_ts_utc)
    joined = exposed.left_join(purchases, "customer_id")
    start = joined.assigned_ts
    span = joined.window_days.cast(dt.int64).as_interval("D")
    after = (joined.ts >= start) & (joined.ts < start + span)
    before = (joined.ts < start) & (joined.ts >= start - span)
    ever_before = joined.ts < start

    def count(condition: ibis.Value) -> ibis.Value:
        return condition.fill_null(False).cast(dt.float64).sum()

    def total(condition: ibis.Value, value: str) -> ibis.Value:
        return ibis.ifelse(condition.fill_null(False), joined[value], 0.0).sum()

    units = joined.group_by(["experiment_id", "customer_id", "variant", "assigned_ts"]).aggregate(
        orders=count(after),
        orders_pre=count(before),
        _before=count(ever_before),
        **{v: total(after, v) for v in values},
        **{f"{v}_pre": total(before, v) for v in values},
    )
    return units.mutate(
        conversion=(units.orders > 0).cast(dt.float64),
        customer_type=ibis.ifelse(units._before >= 2, "returning", "new"),
    ).drop("_before")


def outcome_aggregations(name: str, spec: ExperimentSpec, columns: list[str]) -> dict[str, str]:
    """How each outcome column is combined over a customer's outcome rows.

    ``"max"`` for a proportion metric (converted on any row), ``"sum"`` for a mean
    metric and a ratio's numerator and denominator (counts and amounts add up), and
    the earliest delivered row's value for covariates (``"first_number"``) and every
    other column, such as segments (``"first"``, text): attributes of the customer
    repeated on each row. Columns the table lacks are left
    out (the stage then names them, :func:`check_metric_columns`).

    Parameters
    ----------
    name : str
        The experiment, for messages.
    spec : ExperimentSpec
    columns : list of str
        The outcomes table's columns.

    Returns
    -------
    dict of str to str
        Column -> ``"sum"``, ``"max"``, ``"first_number"`` or ``"first"``.

    Raises
    ------
    ValueError
        If one column is a proportion in one metric and a sum in another.
    """
    how: dict[str, str] = {}

    def put(column: str | None, rule: str) -> None:
        if column is None or column not in columns:
            return
        if how.setdefault(column, rule) != rule:
            raise ValueError(
                f"experiment {name}: column {column!r} is both a proportion and a summed "
                f"metric (ab.experiments.{name}.metrics); give each its own column"
            )

    for m in spec.metrics:
        if m.type == "proportion":
            put(m.name, "max")
        else:
            put(m.column, "sum")
            put(m.denominator, "sum")
    for m in spec.metrics:
        if m.covariate and m.covariate not in how:
            put(m.covariate, "first_number")
    skip = {*KEY, "_row", "outcome_ts", "outcome_ts_utc"}
    for column in columns:
        if column not in skip:
            how.setdefault(column, "first")
    return how


def unknown_outcome_rules() -> list[str]:
    """Outcome rules after which a customer's outcome is unknown (``rules.yaml``)."""
    return [r.name for r in load_rules()["outcomes"] if r.params.get("outcome_unknown")]


def units_from_outcomes(
    assigned: ibis.Table,
    outcomes: ibis.Table,
    aggregations: Mapping[str, str],
    window_days: int,
    unknown: ibis.Table | None = None,
) -> ibis.Table:
    """One unit per kept exposure, with the campaign's own outcomes.

    Parameters
    ----------
    assigned : ibis.Table
        :func:`assignments` of one experiment.
    outcomes : ibis.Table
        The clean ``outcomes`` (text values as delivered), ids already merged.
    aggregations : mapping of str to str
        Column -> ``"sum"``, ``"max"``, ``"first_number"`` or ``"first"``
        (:func:`outcome_aggregations`); all but ``"first"`` become numbers.
    window_days : int
        With a parsed ``outcome_ts_utc``, outcome rows stamped ``window_days`` or more
        after assignment are not counted (rows before it were quarantined); rows
        without a time count.
    unknown : ibis.Table, optional
        ``experiment_id, customer_id`` of customers whose outcome is unknown (their
        outcome rows were quarantined by an ``outcome_unknown`` rule).

    Returns
    -------
    ibis.Table
        ``experiment_id, customer_id, variant, assigned_ts``, the aggregated columns
        (numbers with no outcome row are 0) and ``outcome_status``: ``"delivered"``,
        ``"missing"`` (no outcome row: zeros) or ``"unknown"`` (to be left out).
    """
    rows = outcomes
    if "outcome_ts_utc" in rows.columns:
        starts = assigned.select(*KEY, _start=assigned.assigned_ts)
        rows = rows.left_join(starts, KEY).select(*rows.columns, "_start")
        late = rows.outcome_ts_utc >= rows._start + ibis.interval(days=int(window_days))
        rows = rows.filter(~late.fill_null(False))
    numeric = [c for c, how in aggregations.items() if how != "first"]

    def combined(column: str, how: str) -> ibis.Value:
        raw = rows[column]
        value = raw.cast(dt.string).try_cast(dt.float64) if column in numeric else raw
        if how in ("first", "first_number"):
            return value.argmin(rows._row)
        return getattr(value, how)()

    per_customer = rows.group_by(KEY).aggregate(
        _rows=rows.count(), **{c: combined(c, how) for c, how in aggregations.items()}
    )
    units = assigned.left_join(per_customer, KEY).drop("experiment_id_right", "customer_id_right")
    if unknown is not None:
        flagged = unknown.select(*KEY).distinct().mutate(_unknown=True)
        units = units.left_join(flagged, KEY).drop("experiment_id_right", "customer_id_right")
    else:
        units = units.mutate(_unknown=False)
    status = ibis.ifelse(
        units._unknown.fill_null(False),
        "unknown",
        ibis.ifelse(units._rows.isnull(), "missing", "delivered"),
    )
    filled = {c: units[c].fill_null(0.0) for c in numeric}
    return units.mutate(**filled, outcome_status=status).drop("_rows", "_unknown")
