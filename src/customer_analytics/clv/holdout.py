"""Holdout scores and the papers' charts for the CLV models, on weighted rows.

The rows come from :mod:`customer_analytics.clv.compact`: customers with the same
calibration summary and holdout purchases are one row whose ``weight`` counts them
(a frame of one row per customer, without ``weight``, works too). Our own versions of
lifetimes' ``expected_cumulative_transactions`` / ``plot_expected_repeat_purchases``
(they ignore weights; the plot is left to the notebooks). No lifetimes import here: the
models come in already fitted.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from customer_analytics.clv.formulas import ClvInputError
from customer_analytics.utils.dates import DAYS_PER_UNIT


def weights(rows: pd.DataFrame) -> np.ndarray:
    """Customers per row: the ``weight`` column, or 1 each without one."""
    if "weight" not in rows.columns:
        return np.ones(len(rows))
    return rows["weight"].to_numpy(dtype=float)


def calibration_frame(summary: pd.DataFrame) -> pd.DataFrame:
    """The calibration columns of a summary, renamed for the models (suffix _cal dropped).

    Parameters
    ----------
    summary : DataFrame
        Rows of :func:`customer_analytics.clv.compact.holdout_rows`.

    Returns
    -------
    DataFrame
        frequency, recency, T (and monetary_value), same index.
    """
    cal = [c for c in summary.columns if c.endswith("_cal")]
    return summary[cal].rename(columns=lambda c: c.removesuffix("_cal"))


def naive_holdout_forecast(summary: pd.DataFrame, duration: float) -> np.ndarray:
    """Each customer repeats their calibration rate: frequency_cal / T_cal * duration.

    Parameters
    ----------
    summary : DataFrame
        Rows with frequency_cal and T_cal.
    duration : float
        Length of the holdout period, in the unit of T_cal.

    Returns
    -------
    ndarray
        0 for customers with T_cal = 0.
    """
    T = summary["T_cal"].to_numpy(dtype=float)
    rate = np.divide(
        summary["frequency_cal"].to_numpy(dtype=float), T, where=T > 0, out=np.zeros_like(T)
    )
    return rate * duration


def evaluate_holdout(
    fitted: Mapping[str, object], summary: pd.DataFrame, duration: float
) -> pd.DataFrame:
    """Holdout accuracy of fitted count models and of the naive baseline.

    Parameters
    ----------
    fitted : mapping of str to fitted count model
        Models fitted on ``calibration_frame(summary)``.
    summary : DataFrame
        Rows with the calibration columns, frequency_holdout and optionally ``weight``.
    duration : float
        Length of the holdout period, in the models' time unit.

    Returns
    -------
    DataFrame
        One row per model plus "naive": predicted and actual total holdout purchases,
        aggregate error in % ((predicted - actual) / actual), per-customer MAE and RMSE.
    """
    actual = summary["frequency_holdout"].to_numpy(dtype=float)
    w = weights(summary)
    forecasts = {
        name: model.expected_purchases(calibration_frame(summary), duration)
        for name, model in fitted.items()
    }
    forecasts["naive"] = naive_holdout_forecast(summary, duration)
    total = (w * actual).sum()
    rows = {
        name: {
            "predicted": (w * p).sum(),
            "actual": total,
            "error_pct": 100 * ((w * p).sum() - total) / total,
            "mae": np.average(np.abs(p - actual), weights=w),
            "rmse": np.sqrt(np.average((p - actual) ** 2, weights=w)),
        }
        for name, p in forecasts.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def repeat_transactions_tracking(model, days: pd.DataFrame, start, periods: int) -> pd.DataFrame:
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
    days : DataFrame
        Per day (``day``): customers whose first purchase day it was (``first``) and
        repeat purchase days (``repeat``), as
        :func:`customer_analytics.clv.compact.purchase_days_counted` gives them.
    start : date-like
        First day of period 1.
    periods : int
        Number of periods.

    Returns
    -------
    DataFrame
        Index period (1..periods): period_end, actual, expected, actual_cumulative,
        expected_cumulative.
    """
    if int(periods) != periods or periods < 1:
        raise ClvInputError(f"periods must be a whole number >= 1, got {periods}")
    unit_days = DAYS_PER_UNIT[model.time_unit]
    start = pd.Timestamp(start).normalize()
    ends = start + pd.to_timedelta(np.arange(1, periods + 1) * unit_days - 1, unit="D")
    day = pd.to_datetime(days["day"]).to_numpy()
    births = days["first"].to_numpy(dtype=float)
    born = births > 0
    age = (ends.to_numpy()[:, None] - day[born][None, :]) / pd.Timedelta(days=unit_days)
    age = np.maximum(age, 0.0)
    per_customer = model.expected_purchases_new_customer(age)
    expected_cumulative = (per_customer * births[born]).sum(axis=1)
    repeats = np.cumsum(days["repeat"].to_numpy(dtype=float))
    # Repeat days up to each period's end: the cumulative count at the last day <= end.
    upto = np.searchsorted(day, ends.to_numpy(), side="right")
    actual_cumulative = np.where(upto > 0, repeats[np.maximum(upto - 1, 0)], 0.0)
    return pd.DataFrame(
        {
            "period_end": ends,
            "actual": np.diff(actual_cumulative, prepend=0.0),
            "expected": np.diff(expected_cumulative, prepend=0.0),
            "actual_cumulative": actual_cumulative,
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
        Rows with frequency_cal, T_cal and optionally ``weight``.
    top : int
        Repeat purchases from ``top`` up are pooled into one row.

    Returns
    -------
    DataFrame
        ``repeat_purchases`` (0, 1, ..., "7+"), ``actual`` and one column per model.
    """
    w = weights(summary)
    counts = np.minimum(summary["frequency_cal"].to_numpy(), top).astype(int)
    actual = np.bincount(counts, weights=w, minlength=top + 1)
    ages = pd.Series(w).groupby(summary["T_cal"].to_numpy()).sum()
    table = pd.DataFrame({"repeat_purchases": [*map(str, range(top)), f"{top}+"], "actual": actual})
    for name, model in fitted.items():
        pmf = getattr(model.fitter_, "probability_of_n_purchases_up_to_time", None)
        if pmf is None:
            continue
        # lifetimes' MBG/NBD version sums over t when given an array: one T at a time.
        expected = np.array(
            [sum(n * float(pmf(t, k)) for t, n in ages.items()) for k in range(top)]
        )
        table[name] = [*expected, w.sum() - expected.sum()]
    return table
