"""Monthly acquisition cohorts: retention and revenue by months since the first
purchase, and each cohort's purchases projected by the BTYD model of stage 04_clv.

A cohort is the customers whose first purchase fell in a calendar month (UTC); its age
in a later month is the months between. The projection is checked on the months stage
04 held back: from the first day of the month after its ``calibration_end``, each
customer's expected purchases per month are the model's conditional expectation with
its calibration parameters, given the customer's summary at that day (Fader, Hardie &
Lee 2005, Marketing Science 24(2), eq. 10), summed per cohort; the baseline is the usual
practice, the earlier cohorts' average purchases per customer at the same age, seen
before that day. Purchases are counted as BTYD counts them: days with a purchase.

The BTYD models know no season, and a shop with festivals sells more in their months.
The projection is also given with a multiplicative seasonal index per calendar month
(:func:`seasonal_index`): stage 04's actual over expected repeat purchases in that
month's weeks of the calibration period (its ``tracking.parquet``), so only what was
seen before the cut.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd

from customer_analytics.clv.models import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel
from customer_analytics.rfm.summary import btyd_summary
from customer_analytics.utils.dates import days_per_unit

#: The model class of each label stage 04_clv writes in its ``params.json``.
MODELS = {"BG/NBD": BetaGeoModel, "MBG/NBD": ModifiedBetaGeoModel, "Pareto/NBD": ParetoNBDModel}


def purchase_days(purchases: ibis.Table) -> pd.DataFrame:
    """One row per customer and day with a purchase: the cohort (month of the first
    purchase), the month, and the day's net revenue."""
    day = purchases.order_ts_utc.cast("timestamp").date()
    days = purchases.group_by(customer_id=purchases.customer_id, day=day).aggregate(
        revenue=purchases.revenue.sum()
    )
    frame = days.execute()
    frame["day"] = pd.to_datetime(frame["day"])
    frame["month"] = frame["day"].dt.to_period("M")
    # Months as integers (a monthly Period's ordinal): subtracting Periods makes an
    # offset object per row (the ten-million-line shop's cohorts took 15 s with it).
    month = frame["month"].array.asi8
    first = pd.Series(month).groupby(frame["customer_id"].to_numpy()).transform("min").to_numpy()
    frame["cohort"] = pd.PeriodIndex.from_ordinals(first, freq="M")
    frame["age"] = month - first
    return frame


def triangles(days: pd.DataFrame, end: dt.date) -> dict[str, pd.DataFrame]:
    """Cohorts (rows) by age in months (columns), months wholly before ``end`` only:
    ``customers`` (cohort size), ``retention`` (share buying in the month) and
    ``revenue`` (net revenue per cohort customer)."""
    last = pd.Period(end, "M") - (0 if pd.Timestamp(end).is_month_end else 1)
    days = days[days["month"] <= last]
    size = days.groupby("cohort")["customer_id"].nunique()
    active = days.groupby(["cohort", "age"])["customer_id"].nunique().unstack("age")
    revenue = days.groupby(["cohort", "age"])["revenue"].sum().unstack("age")
    return {
        "customers": size.to_frame("customers"),
        "retention": active.div(size, axis=0),
        "revenue": revenue.div(size, axis=0),
    }


def seasonal_index(tracking: pd.DataFrame, model: str, calibration_end: dt.date) -> pd.Series:
    """Per calendar month (1-12): actual over expected repeat purchases of ``model`` in
    the month's weeks before ``calibration_end`` (1 where none was seen)."""
    seen = tracking[
        (tracking["model"] == model)
        & (pd.to_datetime(tracking["period_end"]) < pd.Timestamp(calibration_end))
    ]
    month = pd.to_datetime(seen["period_end"]).dt.month
    index = seen.groupby(month)["actual"].sum() / seen.groupby(month)["expected"].sum()
    return index.reindex(range(1, 13)).fillna(1.0)


def projection(
    orders: ibis.Table, days: pd.DataFrame, params: dict, calibration_end: dt.date,
    as_of: dt.date, time_unit: str, tracking: pd.DataFrame,
) -> pd.DataFrame:  # fmt: skip
    """Per cohort acquired before the cut and held-back month: cohort size, actual and
    BTYD-projected purchase days per customer, plain and seasonal, and the earlier
    cohorts' average at the same age (NaN where no earlier cohort had reached it before
    the cut)."""
    cut = (pd.Period(calibration_end, "M") + 1).start_time
    last = pd.Period(as_of, "M") - (0 if pd.Timestamp(as_of).is_month_end else 1)
    months = pd.period_range(pd.Period(cut, "M"), last, freq="M")
    model = MODELS[params["chosen"]].from_params(
        params["calibration"][params["chosen"]], time_unit=time_unit
    )
    unit = days_per_unit(time_unit)
    summary = (
        btyd_summary(orders, (cut - pd.Timedelta(days=1)).date(), "days", freq_multiplier=unit)
        .execute()
        .set_index("customer_id")
    )
    cohort = days.drop_duplicates("customer_id").set_index("customer_id")["cohort"]
    summary = summary.join(cohort, how="inner")
    summary = summary[summary["cohort"] < pd.Period(cut, "M")]
    start = (months.start_time - cut).days / unit
    stop = (months.end_time.normalize() + pd.Timedelta(days=1) - cut).days / unit
    expected = np.column_stack(
        [model.expected_purchases(summary, b) - model.expected_purchases(summary, a)
         for a, b in zip(start, stop, strict=True)]
    )  # fmt: skip
    projected = pd.DataFrame(expected, index=summary.index, columns=months)
    projected["cohort"] = summary["cohort"]
    size = summary.groupby("cohort").size()
    out = (
        projected.groupby("cohort")[list(months)].mean().rename_axis(columns="month")
        .stack().rename("projected").reset_index()
    )  # fmt: skip
    held = days[days["month"].isin(months) & days["customer_id"].isin(summary.index)]
    bought = held.groupby(["cohort", "month"]).size().rename("bought").reset_index()
    out = out.merge(bought, on=["cohort", "month"], how="left").fillna({"bought": 0})
    out["actual"] = out["bought"] / out["cohort"].map(size)
    index = seasonal_index(tracking, params["chosen"], calibration_end)
    out["seasonal"] = out["projected"] * out["month"].map(lambda m: index[m.month])
    out = out.drop(columns="bought")
    before = days[days["month"] < pd.Period(cut, "M")]
    per_age = before.groupby(["cohort", "age"]).size().div(
        before.groupby("cohort")["customer_id"].nunique(), level="cohort"
    ).rename("rate").reset_index()  # fmt: skip
    out["customers"] = out["cohort"].map(size)
    out["age"] = (out["month"] - out["cohort"]).apply(lambda d: d.n)
    out["baseline"] = [
        _earlier_average(per_age, size, c, a)
        for c, a in zip(out["cohort"], out["age"], strict=True)
    ]
    return out


def _earlier_average(per_age: pd.DataFrame, size: pd.Series, cohort: pd.Period, age: int) -> float:
    """The customer-weighted average purchase days per customer at ``age`` of the cohorts
    before ``cohort`` that reached it before the cut."""
    rows = per_age[(per_age["cohort"] < cohort) & (per_age["age"] == age)]
    if rows.empty:
        return float("nan")
    weights = rows["cohort"].map(size).fillna(0).to_numpy()
    return float(np.average(rows["rate"], weights=weights)) if weights.sum() else float("nan")


def errors(found: pd.DataFrame) -> dict[str, float]:
    """Mean absolute error per customer of the projections (plain and seasonal) and the
    baseline, over the cells (cohort x held-back month) the baseline covers, weighted by
    cohort size."""
    cells = found.dropna(subset=["baseline"])
    w = cells["customers"].to_numpy(dtype=float)

    def mae(column: str) -> float:
        return float(np.average((cells[column] - cells["actual"]).abs(), weights=w))

    return {
        "cells": len(cells),
        "months": int(found["month"].nunique()),
        "btyd_mae": mae("projected"),
        "btyd_seasonal_mae": mae("seasonal"),
        "baseline_mae": mae("baseline"),
    }
