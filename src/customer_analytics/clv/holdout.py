"""Calibration/holdout summaries, holdout scores and tracking data for the CLV models.

Our own versions of lifetimes' ``calibration_and_holdout_data`` (breaks without a
monetary column on pandas 3) and ``expected_cumulative_transactions`` /
``plot_expected_repeat_purchases`` (ignore weights; the plot is left to the notebooks).
No lifetimes import here: the models come in already fitted.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from customer_analytics.clv.formulas import ClvInputError
from customer_analytics.utils.dates import DAYS_PER_UNIT


def _daily(transactions, customer_col, date_col, monetary_col):
    needed = [customer_col, date_col] + ([monetary_col] if monetary_col else [])
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise ClvInputError(f"{', '.join(missing)} column is missing from transactions")
    try:
        days = pd.to_datetime(transactions[date_col]).dt.normalize()
    except (ValueError, TypeError) as error:
        raise ClvInputError(f"{date_col} column does not hold dates: {error}") from error
    frame = pd.DataFrame(
        {"customer": transactions[customer_col].to_numpy(), "day": days.to_numpy()}
    )
    if frame.isna().any().any():
        raise ClvInputError(f"{customer_col} or {date_col} column has missing values")
    if monetary_col:
        frame["value"] = pd.to_numeric(transactions[monetary_col]).to_numpy(dtype=float)
    # lifetimes counts at most one purchase per customer and day, summing the day's spend
    # in ascending order of value (sorting first makes the sums bit-identical to its own).
    frame = frame.sort_values(list(frame.columns), kind="stable")
    grouped = frame.groupby(["customer", "day"], sort=True)
    return grouped["value"].sum().reset_index() if monetary_col else grouped.size().reset_index()


def calibration_and_holdout(
    transactions: pd.DataFrame,
    calibration_end,
    observation_end=None,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    monetary_col: str | None = None,
    time_unit: str = "weeks",
) -> pd.DataFrame:
    """Per-customer calibration summary and holdout purchase counts from transactions.

    Same-day purchases of a customer count as one (their values summed), as in lifetimes.
    Times are days / 7 for weeks (fractional, as in Fader, Hardie & Lee 2005): recency
    from the first to the last calibration day, T from the first day to
    ``calibration_end``. Matches lifetimes' ``calibration_and_holdout_data(..., freq="D",
    freq_multiplier=7)`` (1 for days) column for column; lifetimes' extra
    ``monetary_value_holdout`` (a mean over raw, not per-day, transactions) is left out.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction with customer_col, date_col and optionally monetary_col.
    calibration_end : date-like
        Last day of the calibration period (inclusive).
    observation_end : date-like, optional
        Last day of the holdout period (inclusive); the last transaction day by default.
    customer_col, date_col, monetary_col : str
        Column names; monetary_col is optional.
    time_unit : {"weeks", "days"}
        Unit of recency, T and duration_holdout.

    Returns
    -------
    DataFrame
        Indexed by customer (customers with a calibration purchase, sorted): frequency_cal
        (repeat purchase days), recency_cal, T_cal, monetary_value_cal (mean spend of the
        repeat purchase days, 0 without any; only with monetary_col), frequency_holdout,
        duration_holdout. All floats.
    """
    if time_unit not in DAYS_PER_UNIT:
        raise ClvInputError(f"time_unit must be one of {list(DAYS_PER_UNIT)}")
    daily = _daily(transactions, customer_col, date_col, monetary_col)
    cal_end = pd.Timestamp(calibration_end).normalize()
    obs_end = daily["day"].max() if observation_end is None else pd.Timestamp(observation_end)
    obs_end = obs_end.normalize()
    if obs_end <= cal_end:
        raise ClvInputError("observation_end must be after calibration_end")
    unit = pd.Timedelta(days=DAYS_PER_UNIT[time_unit])
    cal = daily[daily["day"] <= cal_end]
    if cal.empty:
        raise ClvInputError(f"no transaction on or before calibration_end {cal_end.date()}")
    by_customer = cal.groupby("customer")["day"]
    first, last = by_customer.min(), by_customer.max()
    out = pd.DataFrame(index=first.index.rename(customer_col))
    out["frequency_cal"] = by_customer.size() - 1
    out["recency_cal"] = (last - first) / unit
    out["T_cal"] = (cal_end - first) / unit
    if monetary_col:
        repeat = cal[cal["day"] > cal["customer"].map(first)]
        out["monetary_value_cal"] = repeat.groupby("customer")["value"].mean()
        out["monetary_value_cal"] = out["monetary_value_cal"].fillna(0.0)
    holdout = daily[(daily["day"] > cal_end) & (daily["day"] <= obs_end)]
    out["frequency_holdout"] = holdout.groupby("customer").size().reindex(out.index, fill_value=0)
    out["duration_holdout"] = (obs_end - cal_end) / unit
    return out.astype(float)


def calibration_frame(summary: pd.DataFrame) -> pd.DataFrame:
    """The calibration columns of a summary, renamed for the models (suffix _cal dropped).

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`calibration_and_holdout`.

    Returns
    -------
    DataFrame
        frequency, recency, T (and monetary_value), same index.
    """
    cal = [c for c in summary.columns if c.endswith("_cal")]
    return summary[cal].rename(columns=lambda c: c.removesuffix("_cal"))


def naive_holdout_forecast(summary: pd.DataFrame) -> np.ndarray:
    """Each customer repeats their calibration rate: frequency_cal / T_cal * duration_holdout.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`calibration_and_holdout`.

    Returns
    -------
    ndarray
        0 for customers with T_cal = 0.
    """
    T = summary["T_cal"].to_numpy(dtype=float)
    rate = np.divide(
        summary["frequency_cal"].to_numpy(dtype=float), T, where=T > 0, out=np.zeros_like(T)
    )
    return rate * summary["duration_holdout"].to_numpy(dtype=float)


def evaluate_holdout(fitted: Mapping[str, object], summary: pd.DataFrame) -> pd.DataFrame:
    """Holdout accuracy of fitted count models and of the naive baseline.

    Parameters
    ----------
    fitted : mapping of str to fitted count model
        Models fitted on ``calibration_frame(summary)``.
    summary : DataFrame
        Output of :func:`calibration_and_holdout`.

    Returns
    -------
    DataFrame
        One row per model plus "naive": predicted and actual total holdout purchases,
        aggregate error in % ((predicted - actual) / actual), per-customer MAE and RMSE.
    """
    actual = summary["frequency_holdout"].to_numpy(dtype=float)
    duration = summary["duration_holdout"].to_numpy(dtype=float)
    forecasts = {
        name: model.expected_purchases(calibration_frame(summary), duration)
        for name, model in fitted.items()
    }
    forecasts["naive"] = naive_holdout_forecast(summary)
    rows = {
        name: {
            "predicted": p.sum(),
            "actual": actual.sum(),
            "error_pct": 100 * (p.sum() - actual.sum()) / actual.sum(),
            "mae": np.abs(p - actual).mean(),
            "rmse": np.sqrt(((p - actual) ** 2).mean()),
        }
        for name, p in forecasts.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def repeat_transactions_tracking(
    model,
    transactions: pd.DataFrame,
    start,
    periods: int,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
) -> pd.DataFrame:
    """Expected and actual repeat purchases per period and cumulatively (tracking chart).

    The expectation sums the model's unconditional E[X(t)] over customers at their age at
    the end of each period, t = (last day of period - first purchase day) / unit, as T is
    measured (Fader, Hardie & Lee 2005, Marketing Science, figure 2; Fader, Hardie & Lee
    2005 note "A Note on Implementing the Pareto/NBD Model in MATLAB"). Customers sharing
    a first-purchase day are counted once, times their number. Actual repeat purchases
    count one per customer and day, excluding the first day, as the summaries do.

    Parameters
    ----------
    model : fitted count model
        Its ``time_unit`` is the period length (one week or one day).
    transactions : DataFrame
        One row per transaction with customer_col and date_col.
    start : date-like
        First day of period 1.
    periods : int
        Number of periods.
    customer_col, date_col : str
        Column names.

    Returns
    -------
    DataFrame
        Index period (1..periods): period_end, actual, expected, actual_cumulative,
        expected_cumulative.
    """
    if int(periods) != periods or periods < 1:
        raise ClvInputError(f"periods must be a whole number >= 1, got {periods}")
    daily = _daily(transactions, customer_col, date_col, None)
    unit_days = DAYS_PER_UNIT[model.time_unit]
    start = pd.Timestamp(start).normalize()
    ends = start + pd.to_timedelta(np.arange(1, periods + 1) * unit_days - 1, unit="D")
    first = daily.groupby("customer")["day"].min()
    births = first.value_counts()
    age = (ends.to_numpy()[:, None] - births.index.to_numpy()[None, :]) / pd.Timedelta(
        days=unit_days
    )
    age = np.maximum(age, 0.0)
    per_customer = model.expected_purchases_new_customer(age)
    expected_cumulative = (per_customer * births.to_numpy(float)).sum(axis=1)
    repeat_days = daily.loc[daily["day"] > daily["customer"].map(first), "day"].to_numpy()
    actual_cumulative = np.searchsorted(np.sort(repeat_days), ends.to_numpy(), side="right")
    return pd.DataFrame(
        {
            "period_end": ends,
            "actual": np.diff(actual_cumulative, prepend=0).astype(float),
            "expected": np.diff(expected_cumulative, prepend=0.0),
            "actual_cumulative": actual_cumulative.astype(float),
            "expected_cumulative": expected_cumulative,
        },
        index=pd.RangeIndex(1, periods + 1, name="period"),
    )


def period_transactions(
    fitted: Mapping[str, object], summary: pd.DataFrame, top: int = 7
) -> pd.DataFrame:
    """Customers by repeat purchases in the calibration period, actual against each model.

    A model expects sum over customers of P(X(T_i) = n), its probability of n repeat
    purchases over the customer's own observation time (Fader, Hardie & Lee 2005,
    Marketing Science, eq. 8, and figure 1). lifetimes' ``plot_period_transactions``
    simulates instead and ignores fit weights. Customers sharing T are computed once.
    Models without that probability in lifetimes (Pareto/NBD) are left out.

    Parameters
    ----------
    fitted : mapping of str to fitted count model
        Models fitted on ``calibration_frame(summary)``.
    summary : DataFrame
        Output of :func:`calibration_and_holdout`.
    top : int
        Repeat purchases from ``top`` up are pooled into one row.

    Returns
    -------
    DataFrame
        ``repeat_purchases`` (0, 1, ..., "7+"), ``actual`` and one column per model.
    """
    counts = np.minimum(summary["frequency_cal"].to_numpy(), top).astype(int)
    actual = np.bincount(counts, minlength=top + 1).astype(float)
    ages = summary["T_cal"].value_counts()
    table = pd.DataFrame({"repeat_purchases": [*map(str, range(top)), f"{top}+"], "actual": actual})
    for name, model in fitted.items():
        pmf = getattr(model.fitter_, "probability_of_n_purchases_up_to_time", None)
        if pmf is None:
            continue
        # lifetimes' MBG/NBD version sums over t when given an array: one T at a time.
        expected = np.array(
            [sum(n * float(pmf(t, k)) for t, n in ages.items()) for k in range(top)]
        )
        table[name] = [*expected, len(summary) - expected.sum()]
    return table
