"""Per-customer RFM features, the buy-till-you-die summary and RFM scores.

The per-order work (:func:`customer_rfm`, :func:`btyd_summary`) is written as Ibis
expressions, so it runs on DuckDB here and on Spark or a warehouse unchanged. Scoring
(:func:`score_rfm`) works on the pandas frame of one row per customer: the ``auto``
method needs the whole score distribution to decide between quantiles and fixed cut
points and to report the values each score covers, and a frame of one row per customer
fits one machine even at tens of millions of customers (DESIGN section 2).

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

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import ibis
import numpy as np
import pandas as pd
import yaml

SCORING_FILE = Path(__file__).with_name("rfm_scoring.yaml")
UNIT_DAYS = {"D": 1, "W": 7}
DIMENSIONS = ("recency", "frequency", "monetary")
METHODS = ("quantile", "fixed", "auto")
TimeUnit = Literal["D", "W"]


def _unit_days(time_unit: str) -> int:
    if time_unit not in UNIT_DAYS:
        raise ValueError(f"time_unit must be 'D' or 'W', not {time_unit!r}")
    return UNIT_DAYS[time_unit]


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
        end = (day + pd.Timedelta(days=1)).to_pydatetime()
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
    time_unit: TimeUnit = "D",
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
        ``"D"`` or ``"W"``: the unit of ``recency`` and ``tenure`` (whole units, floored).
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
        ``returned_revenue``, ``first_order_ts``, ``last_order_ts``.
    """
    step = _unit_days(time_unit)
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
    )


def btyd_summary(
    orders: ibis.Table,
    as_of: Any,
    time_unit: TimeUnit = "W",
    *,
    freq_multiplier: int = 1,
    customer_col: str = "customer_id",
    ts_col: str = "order_ts_utc",
    value_col: str = "revenue",
) -> ibis.Table:
    """The buy-till-you-die summary (frequency, recency, T, monetary value) per customer.

    Equal to lifetimes' ``summary_data_from_transaction_data(orders, customer_col, ts_col,
    value_col, observation_period_end=as_of, freq=time_unit, freq_multiplier=...)``
    (lifetimes 0.11.3, ``utils.py``): timestamps are truncated to their period (the day;
    for ``"W"`` the Monday that starts pandas' ``W-SUN`` period, which is also the ISO
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
        ``"D"`` or ``"W"`` (lifetimes' ``freq``).
    freq_multiplier
        recency and T are divided by it, as in lifetimes.
    customer_col, ts_col, value_col
        Column names in ``orders``.

    Returns
    -------
    ibis.Table
        ``customer_col``, ``frequency`` (purchase periods after the first), ``recency``
        (last minus first purchase period), ``T`` (as_of's period minus the first purchase
        period), ``monetary_value`` (mean value of the repeat periods, 0 without repeats).
    """
    unit = _unit_days(time_unit) * freq_multiplier
    # A scalar, so pandas' own period arithmetic gives lifetimes' end exactly.
    end = pd.Timestamp(as_of).to_period(time_unit).to_timestamp().to_pydatetime()
    t = _marked(orders, customer_col, ts_col, value_col)
    t = t.filter(t._purchase).mutate(_period=t._ts.truncate(time_unit))
    t = t.filter(t._period <= end)
    periods = t.group_by(["_customer", "_period"]).aggregate(_value=t._value.sum())
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
    )


@dataclass(frozen=True)
class DimensionScore:
    """How one RFM dimension was scored.

    Attributes
    ----------
    dimension, column
        ``recency``/``frequency``/``monetary`` and the customer_rfm column scored.
    requested, method
        The setting (``quantile``, ``fixed``, ``auto``) and what was used.
    reason
        Why that method, in words for the notebook.
    cut_points
        The fixed cut points in the column's unit (None for quantiles).
    ranges
        Per score 1..5: (lowest value, highest value, customers); NaN where empty.
    """

    dimension: str
    column: str
    requested: str
    method: str
    reason: str
    cut_points: tuple[float, ...] | None
    ranges: tuple[tuple[float, float, int], ...]


@dataclass(frozen=True)
class RFMScoring:
    """The scoring of one snapshot: one :class:`DimensionScore` per dimension."""

    time_unit: str
    dimensions: dict[str, DimensionScore]

    def to_frame(self) -> pd.DataFrame:
        """One row per dimension and score: method, value range and customers."""
        rows = [
            {
                "dimension": d.dimension,
                "method": d.method,
                "score": s,
                "min": lo,
                "max": hi,
                "customers": n,
            }
            for d in self.dimensions.values()
            for s, (lo, hi, n) in enumerate(d.ranges, start=1)
        ]
        return pd.DataFrame(rows)


def load_scoring(path: str | Path | None = None) -> dict[str, Any]:
    """The scoring settings (``rfm_scoring.yaml`` unless ``path``), checked."""
    settings = yaml.safe_load(Path(path or SCORING_FILE).read_text())
    for dim in DIMENSIONS:
        if settings["method"].get(dim) not in METHODS:
            raise ValueError(f"scoring method of {dim} must be one of {METHODS}")
    for key in ("recency_days", "frequency", "monetary"):
        cuts = settings["fixed"][key]
        if len(cuts) != 4 or list(cuts) != sorted(set(cuts)):
            raise ValueError(f"fixed.{key} needs four increasing cut points, not {cuts}")
    return settings


def quantile_scores(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Scores 1..5 from customer quintiles that keep ties together.

    A customer's percentile is the mid-rank of its value, (average rank - 0.5) / n, and
    its score floor(5 * percentile) + 1: exact quintiles without ties, and one score for
    a block of equal values (the one its middle falls into). Integer arithmetic, so block
    midpoints on a quintile boundary always go up.
    """
    x = values if higher_is_better else -values
    twice_rank = (2 * x.rank(method="average")).round().astype("int64")
    return ((5 * (twice_rank - 1)) // (2 * len(x)) + 1).astype("int64")


def fixed_scores(
    values: pd.Series, cut_points: list[float], higher_is_better: bool = True
) -> pd.Series:
    """Scores 1..5 from four cut points: the number of cut points a value exceeds."""
    exceeded = np.searchsorted(np.asarray(cut_points, dtype=float), values.to_numpy(), "left")
    scores = 1 + exceeded if higher_is_better else 5 - exceeded
    return pd.Series(scores, index=values.index, dtype="int64")


def score_rfm(
    rfm: pd.DataFrame,
    time_unit: TimeUnit = "D",
    scoring: dict[str, Any] | str | Path | None = None,
    methods: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, RFMScoring]:
    """Add ``r_score``, ``f_score``, ``m_score`` (1..5, 5 best) to a customer frame.

    Parameters
    ----------
    rfm
        :func:`customer_rfm` executed to pandas (one row per customer).
    time_unit
        The unit of its ``recency``, for the fixed recency cut points (kept in days).
    scoring
        Settings (as :func:`load_scoring` returns) or a YAML path; default
        ``rfm_scoring.yaml``.
    methods
        Per-dimension override of the settings' method, e.g. ``{"frequency": "fixed"}``.

    Returns
    -------
    tuple of pandas.DataFrame and RFMScoring
        The frame with the three scores, and how each dimension was scored.
    """
    step = _unit_days(time_unit)
    settings = scoring if isinstance(scoring, dict) else load_scoring(scoring)
    chosen = {**settings["method"], **(methods or {})}
    out = rfm.copy()
    report = {}
    for dim, letter in zip(DIMENSIONS, "rfm", strict=True):
        if chosen[dim] not in METHODS:
            raise ValueError(f"scoring method of {dim} must be one of {METHODS}")
        column = settings["columns"][dim]
        if column not in out.columns:
            raise KeyError(f"{dim} column {column!r} is missing from the customer frame")
        values = out[column].astype(float)
        higher = dim != "recency"
        cuts = (
            [c / step for c in settings["fixed"]["recency_days"]]
            if dim == "recency"
            else list(settings["fixed"][dim])
        )
        scores, method, reason = None, chosen[dim], f"{chosen[dim]} requested"
        if method in ("quantile", "auto"):
            scores = quantile_scores(values, higher)
            distinct = scores.nunique()
            if method == "auto" and distinct < 5:
                method = "fixed"
                reason = f"auto: ties leave quantiles only {distinct} of 5 scores"
            elif method == "auto":
                method, reason = "quantile", "auto: quantiles give all 5 scores"
        if method == "fixed":
            scores = fixed_scores(values, cuts, higher)
        out[f"{letter}_score"] = scores
        grouped = values.groupby(scores).agg(["min", "max", "size"]).reindex(range(1, 6))
        ranges = tuple(
            (float(lo), float(hi), int(0 if np.isnan(n) else n))
            for lo, hi, n in grouped.itertuples(index=False)
        )
        report[dim] = DimensionScore(
            dim,
            column,
            chosen[dim],
            method,
            reason,
            tuple(cuts) if method == "fixed" else None,
            ranges,
        )
    return out, RFMScoring(time_unit, report)
