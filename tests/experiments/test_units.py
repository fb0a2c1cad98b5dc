"""The unit table from a campaign's outcomes: one row per exposure, outcome rows added up
within the window, and zeros where a customer did nothing."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from customer_analytics.config import ExperimentSpec
from customer_analytics.experiments.units import outcome_aggregations, units_from_outcomes

ASSIGNED = pd.DataFrame(
    {
        "experiment_id": "spring",
        "customer_id": ["c1", "c2", "c3", "c4"],
        "variant": ["A", "A", "B", "B"],
        "assigned_ts": pd.to_datetime(["2024-05-01 07:00"] * 4),
    }
)
# c1 has two outcome rows (two purchases); c2 none; c3 one; c4's was quarantined as n/a.
OUTCOMES = pd.DataFrame(
    {
        "experiment_id": "spring",
        "customer_id": ["c1", "c1", "c3"],
        "spend": ["10.5", "4", "7"],
        "visit": ["1", "1", "0"],
        "history": ["100", "100", "80"],
        "channel": ["Web", "Phone", "Web"],
        "outcome_ts_utc": pd.to_datetime(["2024-05-02", "2024-05-20", "2024-05-03"]),
        "_row": [1, 4, 3],
    }
)
SPRING = ExperimentSpec(
    arms=("A", "B"),
    planned_split=(1, 1),
    metrics=[
        {"name": "visit", "type": "proportion"},
        {"name": "spend", "type": "mean", "covariate": "history"},
    ],
)


def spring_units(window_days: int = 30) -> pd.DataFrame:
    how = outcome_aggregations("spring", SPRING, list(OUTCOMES.columns))
    unknown = ibis.memtable({"experiment_id": ["spring"], "customer_id": ["c4"]})
    units = units_from_outcomes(
        ibis.memtable(ASSIGNED), ibis.memtable(OUTCOMES), how, window_days, unknown
    )
    return units.to_pandas().set_index("customer_id").sort_index()


def test_every_exposure_is_one_unit_and_outcome_rows_add_up() -> None:
    units = spring_units()
    assert list(units.index) == ["c1", "c2", "c3", "c4"]
    assert units.loc["c1", "spend"] == pytest.approx(14.5)  # two purchases summed
    assert units.loc["c1", "visit"] == 1.0  # a proportion: visited on any row
    assert units.loc["c1", "history"] == 100.0 and units.loc["c1", "channel"] == "Web"  # first row
    assert units["outcome_status"].to_dict() == {
        "c1": "delivered",
        "c2": "missing",
        "c3": "delivered",
        "c4": "unknown",
    }
    # No outcome row: zeros, by the convention of campaign files (a customer who did
    # nothing has no purchase to record); the segment stays unknown.
    assert units.loc["c2", ["spend", "visit", "history"]].tolist() == [0.0, 0.0, 0.0]
    assert pd.isna(units.loc["c2", "channel"])


def test_outcomes_after_the_window_are_not_counted() -> None:
    units = spring_units(window_days=14)
    assert units.loc["c1", "spend"] == pytest.approx(10.5)  # the purchase on day 19 is out
    assert units.loc["c1", "outcome_status"] == "delivered"


def test_one_column_cannot_be_a_proportion_and_a_sum(spec) -> None:
    both = spec({"name": "visit", "type": "proportion"}, {"name": "visit2", "numerator": "visit",
                "type": "ratio", "denominator": "spend"})  # fmt: skip
    with pytest.raises(ValueError, match="'visit' is both a proportion and a summed metric"):
        outcome_aggregations("x", both, ["visit", "spend"])
