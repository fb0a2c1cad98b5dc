"""Per-customer RFM features and the buy-till-you-die summary, as Ibis expressions.

The per-order work (:func:`customer_rfm`, :func:`btyd_summary`) is written as Ibis
expressions, so it runs on DuckDB here and on Spark or a warehouse unchanged; the
scores are in :mod:`.scoring`.

Orders are those of the clean stage: ``customer_id``, ``order_ts_utc`` and a value
(``revenue``), and for shops that keep returns as rows, ``is_return``. A return is not a
purchase occasion; its value counts as ``-abs(revenue)``, so monetary values are net.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using iso-value curves
for customer base analysis. Journal of Marketing Research 42(4), 415-430.
Davidson-Pilon, C. lifetimes 0.11.3, ``lifetimes/utils.py``:
``summary_data_from_transaction_data`` (the definition :func:`btyd_summary` reproduces).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import ibis
import pandas as pd

from customer_analytics.utils.dates import TimeUnit, day_end, days_per_unit

#: A time unit's calendar period, as pandas and lifetimes' ``freq`` name it.
PERIOD_CODE = {"days": "D", "weeks": "W"}


def _as_of(as_of: Any) -> tuple[pd.Timestamp, Callable[[ibis.Value], ibis.Value]]:
    """The as_of day and the test "placed at or before as_of" for an order timestamp.

    A date (or a timestamp at midnight) means the whole day: a run's ``as_of`` is a date
    and orders placed on it belong to it. A timestamp with a time of day is an instant.
    """
    ts = pd.Timestamp(as_of)
    if ts.tz is not None:  # orders are naive UTC
        ts = ts.tz_convert("UTC").tz_localize(None)
    day = ts.normalize()
    if ts == day:
        end = day_end(day.date())
        return day, lambda col: col < end
    return day, lambda col: col <= ts.to_pydatetime()


def _marked(orders: ibis.Table, customer_col: str, ts_col: str, value_col: str) -> ibis.Table:
    """Orders as ``_customer, _ts, _value`` (returns negative) and ``_purchase``."""
    missing = [c for c in (customer_col, ts_col, value_col) if c not in orders.columns]
    if missing:
        raise KeyError(f"orders has no column {missing}; it has {list(orders.columns)}")
    value = orders[value_col].cast("float64").fill_null(0.0)
    if "is_return" in orders.columns:
        is_return = orders.is_return.fill_null(False)
        value = ibis.ifelse(is_return, -value.abs(), value)
    else:  # line-level sources: cancellations were quarantined, every order is a purchase
        is_return = ibis.literal(False)
    marked = orders.select(
        _customer=orders[customer_col],
        _ts=orders[ts_col].cast("timestamp"),
        _value=value,
        _purchase=~is_return,
    )
    return marked.filter(marked._customer.notnull(), marked._ts.notnull())


def customer_rfm(
    orders: ibis.Table,
    as_of: Any,
    time_unit: TimeUnit = "days",
    *,
    customer_col: str = "customer_id",
    ts_col: str = "order_ts_utc",
    value_col: str = "revenue",
) -> ibis.Table:
    """Recency, frequency, monetary value and tenure of every buyer, as of a date.

    Parameters
    ----------
    orders
        One row per order: customer, timestamp (naive UTC), value and optionally
        ``is_return`` (returns reduce monetary value and are not purchases).
    as_of
        Date or timestamp; only orders at or before it count (a date includes its day).
    time_unit
        ``"days"`` or ``"weeks"``: the unit of ``recency`` and ``tenure`` (whole units,
        floored).
    customer_col, ts_col, value_col
        Column names in ``orders``.

    Returns
    -------
    ibis.Table
        One row per customer with at least one purchase by ``as_of``: ``customer_col``,
        ``recency`` (as_of date minus last purchase date), ``tenure`` (as_of date minus
        first purchase date), ``frequency`` (purchase orders), ``monetary`` (net revenue:
        purchases minus returns), ``monetary_mean`` (net per purchase), ``aov`` (average
        purchase order value, before returns), ``gross_revenue``, ``returns``,
        ``returned_revenue``, ``first_order_ts``, ``last_order_ts``; sorted by
        ``customer_col``, so both engines give the rows in one order.
    """
    step = days_per_unit(time_unit)
    day, placed = _as_of(as_of)
    t = _marked(orders, customer_col, ts_col, value_col)
    t = t.filter(placed(t._ts))
    buy = t._purchase
    per = t.group_by("_customer").aggregate(
        frequency=buy.cast("int64").sum(),
        gross_revenue=t._value.sum(where=buy).fill_null(0.0),
        returns=(~buy).cast("int64").sum(),
        returned_revenue=(-t._value).sum(where=~buy).fill_null(0.0),
        first_order_ts=t._ts.min(where=buy),
        last_order_ts=t._ts.max(where=buy),
    )
    # A customer whose only orders by as_of are returns bought before the data began.
    per = per.filter(per.frequency > 0)
    today = ibis.date(day.date())

    def days_since(ts: ibis.Value) -> ibis.Value:
        days = today.delta(ts.date(), unit="day")
        return days if step == 1 else days // step

    net = per.gross_revenue - per.returned_revenue
    return per.select(
        **{customer_col: per._customer},
        recency=days_since(per.last_order_ts),
        tenure=days_since(per.first_order_ts),
        frequency=per.frequency,
        monetary=net,
        monetary_mean=net / per.frequency,
        aov=per.gross_revenue / per.frequency,
        gross_revenue=per.gross_revenue,
        returns=per.returns,
        returned_revenue=per.returned_revenue,
        first_order_ts=per.first_order_ts,
        last_order_ts=per.last_order_ts,
    ).order_by(customer_col)


def btyd_summary(
    orders: ibis.Table,
    as_of: Any,
    time_unit: TimeUnit = "weeks",
    *,
    freq_multiplier: int = 1,
    customer_col: str = "customer_id",
    ts_col: str = "order_ts_utc",
    value_col: str = "revenue",
) -> ibis.Table:
    """The buy-till-you-die summary (frequency, recency, T, monetary value) per customer.

    Equal to lifetimes' ``summary_data_from_transaction_data(orders, customer_col, ts_col,
    value_col, observation_period_end=as_of, freq=..., freq_multiplier=...)``
    (lifetimes 0.11.3, ``utils.py``): timestamps are truncated to their period (the day;
    for ``"weeks"`` the Monday that starts pandas' ``W-SUN`` period, which is also the ISO
    week start that SQL's ``date_trunc('week')`` returns), and so is ``as_of``; periods
    up to and including as_of's period count (so, as in lifetimes, a purchase later in
    as_of's own week counts). Return orders are left out: they are not purchase occasions,
    and the Gamma-Gamma spend model wants what was paid per purchase.

    Parameters
    ----------
    orders
        One row per order (or transaction).
    as_of
        The observation period's end (lifetimes' ``observation_period_end``).
    time_unit
        ``"days"`` or ``"weeks"``: the calendar period (lifetimes' ``freq``, ``"D"`` or
        ``"W"``).
    freq_multiplier
        recency and T are divided by it, as in lifetimes.
    customer_col, ts_col, value_col
        Column names in ``orders``.

    Returns
    -------
    ibis.Table
        ``customer_col``, ``frequency`` (purchase periods after the first), ``recency``
        (last minus first purchase period), ``T`` (as_of's period minus the first purchase
        period), ``monetary_value`` (mean value of the repeat periods, 0 without repeats);
        sorted by ``customer_col``.
    """
    unit = days_per_unit(time_unit) * freq_multiplier
    end = _period_start(as_of, time_unit)
    periods = purchase_periods(
        orders, as_of, time_unit, customer_col=customer_col, ts_col=ts_col, value_col=value_col
    )
    c = periods.group_by("_customer").aggregate(
        _first=periods._period.min(),
        _last=periods._period.max(),
        _n=periods.count(),
        _total=periods._value.sum(),
        # The first period's value, without a window: repeat mean = (total - first) / n.
        _first_value=periods._value.argmin(periods._period),
    )
    repeats = c._n - 1
    return c.select(
        **{customer_col: c._customer},
        frequency=repeats,
        recency=c._last.delta(c._first, unit="day") / unit,
        T=ibis.timestamp(end).delta(c._first, unit="day") / unit,
        monetary_value=((c._total - c._first_value) / repeats.nullif(0)).fill_null(0.0),
    ).order_by(customer_col)


def _period_start(as_of: Any, time_unit: TimeUnit) -> dt.datetime:
    # A scalar, so pandas' own period arithmetic gives lifetimes' end exactly.
    return pd.Timestamp(as_of).to_period(PERIOD_CODE[time_unit]).to_timestamp().to_pydatetime()


def purchase_periods(
    orders: ibis.Table,
    as_of: Any,
    time_unit: TimeUnit = "days",
    *,
    customer_col: str = "customer_id",
    ts_col: str = "order_ts_utc",
    value_col: str = "revenue",
) -> ibis.Table:
    """The periods in which each customer bought, up to and including as_of's period.

    The purchase occasions of :func:`btyd_summary` (lifetimes counts at most one
    purchase per customer and period): returns left out, periods as it truncates them.

    Returns
    -------
    ibis.Table
        ``_customer``, ``_period`` (the period's first day, a timestamp) and ``_value``
        (the period's spend), one row per customer and period with a purchase.
    """
    t = _marked(orders, customer_col, ts_col, value_col)
    t = t.filter(t._purchase).mutate(_period=t._ts.truncate(PERIOD_CODE[time_unit]))
    t = t.filter(t._period <= _period_start(as_of, time_unit))
    return t.group_by(["_customer", "_period"]).aggregate(_value=t._value.sum())
