"""The CLV stage's transaction-scale work: compact model inputs, as Ibis expressions.

The count models, the holdout scores and their charts need of each customer only the
calibration summary (frequency, recency, T) and the holdout purchases, and customers
who share those four numbers are interchangeable. So the engine groups customers into
weighted distinct rows, which stay a few thousand however many customers there are,
and the tracking chart gets first and repeat purchase days counted per day. Nothing of
one row per order reaches pandas (DESIGN section 2); the rows run on DuckDB or Spark.

Purchase occasions are those of :func:`customer_analytics.rfm.summary.btyd_summary`:
at most one per customer and day, returns left out, as lifetimes counts them.
"""

from __future__ import annotations

import datetime as dt

import ibis

from customer_analytics.rfm.summary import btyd_summary, purchase_periods
from customer_analytics.utils.dates import DAYS_PER_UNIT

#: The columns a row of :func:`holdout_rows` is distinct on.
HOLDOUT_KEYS = ["frequency_cal", "recency_cal", "T_cal", "frequency_holdout"]


def holdout_rows(
    orders: ibis.Table, calibration_end: dt.date, observation_end: dt.date, time_unit: str
) -> ibis.Table:
    """Customers by calibration summary and holdout purchases, with their number.

    Equal, row for row once weighted, to lifetimes' ``calibration_and_holdout_data(...,
    freq="D", freq_multiplier=7)`` (1 for days): the calibration summary of the
    purchases up to ``calibration_end`` (inclusive) for every customer who bought by
    then, and their purchase days after it up to ``observation_end``. Times are days
    divided by the unit's days (fractional weeks, as in Fader, Hardie & Lee 2005).

    Parameters
    ----------
    orders
        The clean orders: ``customer_id``, ``order_ts_utc``, ``revenue``, optionally
        ``is_return``.
    calibration_end, observation_end
        Last days of the calibration and holdout periods.
    time_unit
        ``"weeks"`` or ``"days"``.

    Returns
    -------
    ibis.Table
        :data:`HOLDOUT_KEYS` (floats) and ``weight`` (customers), sorted by the keys.
    """
    calibration = btyd_summary(
        orders, calibration_end, "days", freq_multiplier=DAYS_PER_UNIT[time_unit]
    )
    later = purchase_periods(orders, observation_end)
    later = later.filter(later._period > ibis.timestamp(_midnight(calibration_end)))
    holdout = later.group_by("_customer").aggregate(frequency_holdout=later.count())
    joined = calibration.left_join(holdout, calibration.customer_id == holdout._customer)
    rows = joined.select(
        frequency_cal=joined.frequency.cast("float64"),
        recency_cal=joined.recency.cast("float64"),
        T_cal=joined["T"].cast("float64"),
        frequency_holdout=joined.frequency_holdout.fill_null(0).cast("float64"),
    )
    return rows.group_by(HOLDOUT_KEYS).aggregate(weight=rows.count()).order_by(HOLDOUT_KEYS)


def calibration_spend_rows(orders: ibis.Table, calibration_end: dt.date) -> ibis.Table:
    """Repeat buyers of the calibration period by (frequency, monetary_value), with
    their number: the Gamma-Gamma model's input, as the papers fit it on CDNOW's first
    39 weeks (only repeat purchases with a positive mean spend enter its likelihood)."""
    summary = btyd_summary(orders, calibration_end, "days")
    repeat = summary.filter(summary.frequency > 0, summary.monetary_value > 0)
    keys = ["frequency", "monetary_value"]
    rows = repeat.select(
        frequency=repeat.frequency.cast("float64"), monetary_value=repeat.monetary_value
    )
    return rows.group_by(keys).aggregate(weight=rows.count()).order_by(keys)


def purchase_days_counted(orders: ibis.Table, as_of: dt.date) -> ibis.Table:
    """Per day: customers whose first purchase day it was (``first``) and customers for
    whom it was a repeat purchase day (``repeat``), up to ``as_of``; the tracking
    chart's actual counts and the ages its expectation sums over.

    Returns
    -------
    ibis.Table
        ``day`` (timestamp at midnight), ``first``, ``repeat`` (int64), sorted by day;
        only days with a purchase.
    """
    days = purchase_periods(orders, as_of)
    first = days.group_by("_customer").aggregate(_first=days._period.min())
    marked = days.join(first, "_customer")
    is_first = (marked._period == marked._first).cast("int64")
    counted = marked.group_by(day=marked._period).aggregate(
        first=is_first.sum(), repeat=(1 - is_first).sum()
    )
    return counted.order_by("day")


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())
