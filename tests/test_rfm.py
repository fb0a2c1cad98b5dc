"""RFM features, the BTYD summary (against lifetimes), scores, segments and movement."""

from __future__ import annotations

from pathlib import Path

import ibis
import lifetimes
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lifetimes.utils import summary_data_from_transaction_data

from customer_analytics.rfm import (
    btyd_summary,
    customer_rfm,
    fixed_scores,
    load_scoring,
    quantile_scores,
    score_rfm,
)
from customer_analytics.rfm_segments import (
    NEW,
    SegmentRule,
    SegmentRulesError,
    SegmentScheme,
    add_prospects,
    load_segments,
    rfm_segments,
    segment_movement,
    segment_table,
    verify_segments,
)

CDNOW = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
CDNOW_COLS = {"customer_col": "cid", "ts_col": "date", "value_col": "dollars"}


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    frame = pd.read_csv(
        CDNOW, sep=r"\s+", header=None, names=["master", "cid", "date", "cds", "dollars"]
    )
    frame["date"] = pd.to_datetime(frame["date"].astype(str), format="%Y%m%d")
    frame["cid"] = frame["cid"].astype(str)
    return frame


def assert_same_summary(ours: ibis.Table, theirs: pd.DataFrame, key: str) -> None:
    """Frequency, recency and T exactly; monetary value to well under a cent."""
    got = ours.execute().set_index(key).sort_index()
    want = theirs.sort_index()
    assert list(got.index) == list(want.index)
    for column in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(got[column].to_numpy(float), want[column].to_numpy())
    np.testing.assert_allclose(got.monetary_value, want.monetary_value, rtol=0, atol=1e-9)


@pytest.mark.parametrize("unit", ["D", "W"])
def test_btyd_summary_equals_lifetimes_on_cdnow(cdnow: pd.DataFrame, unit: str) -> None:
    theirs = summary_data_from_transaction_data(
        cdnow, "cid", "date", "dollars", observation_period_end="1998-06-30", freq=unit
    )
    ours = btyd_summary(ibis.memtable(cdnow), "1998-06-30", unit, **CDNOW_COLS)
    assert_same_summary(ours, theirs, "cid")
    assert len(theirs) == 2357


def test_btyd_summary_freq_multiplier_and_early_end(cdnow: pd.DataFrame) -> None:
    theirs = summary_data_from_transaction_data(
        cdnow,
        "cid",
        "date",
        "dollars",
        observation_period_end="1997-09-17",
        freq="D",
        freq_multiplier=7,
    )
    ours = btyd_summary(ibis.memtable(cdnow), "1997-09-17", "D", freq_multiplier=7, **CDNOW_COLS)
    assert_same_summary(ours, theirs, "cid")


START = pd.Timestamp("2023-12-25")
TRANSACTION = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "e"]),
    st.integers(0, 120 * 86400 - 1),  # seconds after START: weeks and days straddled
    st.integers(-500, 50_000).map(lambda cents: cents / 100),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(TRANSACTION, min_size=1, max_size=40),
    end_seconds=st.integers(0, 130 * 86400),
    unit=st.sampled_from(["D", "W"]),
)
def test_btyd_summary_equals_lifetimes_on_random_transactions(
    rows: list[tuple], end_seconds: int, unit: str
) -> None:
    frame = pd.DataFrame(rows, columns=["customer_id", "seconds", "revenue"])
    frame["order_ts_utc"] = START + pd.to_timedelta(frame.seconds, unit="s")
    as_of = START + pd.Timedelta(seconds=end_seconds)
    end = as_of.to_period(unit).to_timestamp()
    assume((frame.order_ts_utc.dt.to_period(unit).dt.to_timestamp() <= end).any())
    theirs = summary_data_from_transaction_data(
        frame, "customer_id", "order_ts_utc", "revenue", observation_period_end=as_of, freq=unit
    )
    ours = btyd_summary(ibis.memtable(frame.drop(columns="seconds")), as_of, unit)
    assert_same_summary(ours, theirs, "customer_id")


def shop_orders() -> pd.DataFrame:
    """Synthetic-shop shape: returns kept as rows, one with a positive, one a negative value."""
    rows = [
        ("o1", "a", "2024-01-01 09:00", 100.0, False),
        ("o2", "a", "2024-01-01 18:00", 50.0, False),
        ("r1", "a", "2024-01-05 10:00", 30.0, True),
        ("o3", "a", "2024-01-20 23:59", 70.0, False),
        ("o4", "b", "2024-01-10 12:00", 40.0, False),
        ("r2", "b", "2024-01-12 12:00", -40.0, True),
        ("r3", "c", "2024-01-15 12:00", -20.0, True),  # a return only: not a buyer
        ("o5", "d", "2024-01-31 08:00", 10.0, False),  # placed on the as_of day
        ("o6", "d", "2024-02-01 08:00", 99.0, False),  # after as_of
    ]
    frame = pd.DataFrame(
        rows, columns=["order_id", "customer_id", "order_ts_utc", "revenue", "is_return"]
    )
    frame["order_ts_utc"] = pd.to_datetime(frame.order_ts_utc)
    return frame


def test_customer_rfm_nets_returns_and_counts_the_as_of_day() -> None:
    rfm = customer_rfm(ibis.memtable(shop_orders()), "2024-01-31").execute()
    rfm = rfm.set_index("customer_id").sort_index()
    assert list(rfm.index) == ["a", "b", "d"]
    a, b, d = rfm.loc["a"], rfm.loc["b"], rfm.loc["d"]
    assert (a.frequency, a.recency, a.tenure) == (3, 11, 30)
    assert a.monetary == pytest.approx(190.0) and a.gross_revenue == pytest.approx(220.0)
    assert a.aov == pytest.approx(220 / 3) and a.monetary_mean == pytest.approx(190 / 3)
    assert (a.returns, a.returned_revenue) == (1, pytest.approx(30.0))
    assert b.monetary == pytest.approx(0.0) and b.frequency == 1
    assert (d.frequency, d.recency, d.monetary) == (1, 0, pytest.approx(10.0))


def test_customer_rfm_weeks_instant_as_of_and_line_level_orders() -> None:
    orders = shop_orders()
    weeks = customer_rfm(ibis.memtable(orders), "2024-01-31", "W").execute()
    assert weeks.set_index("customer_id").loc["a", ["recency", "tenure"]].tolist() == [1, 4]
    instant = customer_rfm(ibis.memtable(orders), "2024-01-31 07:00").execute()
    assert "d" not in set(instant.customer_id)
    lines = orders.drop(columns="is_return")  # no is_return: every order is a purchase
    rfm = customer_rfm(ibis.memtable(lines), "2024-01-31").execute().set_index("customer_id")
    assert rfm.loc["a", "frequency"] == 4 and rfm.loc["c", "monetary"] == pytest.approx(-20)


def test_btyd_summary_leaves_returns_out() -> None:
    ours = btyd_summary(ibis.memtable(shop_orders()), "2024-01-31", "D").execute()
    a = ours.set_index("customer_id").loc["a"]
    assert a[["frequency", "recency", "T", "monetary_value"]].tolist() == [1, 19, 30, 70.0]
    assert "c" not in set(ours.customer_id)


@given(st.lists(st.integers(0, 6), min_size=1, max_size=60), st.booleans())
def test_quantile_scores_keep_ties_together_and_follow_order(values: list, higher: bool) -> None:
    x = pd.Series(values, dtype=float)
    scores = quantile_scores(x, higher)
    assert scores.between(1, 5).all()
    assert (scores.groupby(x).nunique() == 1).all()  # equal values, equal scores
    order = np.argsort(x.to_numpy() if higher else -x.to_numpy(), kind="stable")
    assert np.all(np.diff(scores.to_numpy()[order]) >= 0)


def test_quantile_scores_are_quintiles_without_ties() -> None:
    scores = quantile_scores(pd.Series(np.arange(100.0)))
    assert scores.value_counts().sort_index().tolist() == [20] * 5
    assert quantile_scores(pd.Series(np.arange(100.0)), False).iloc[0] == 5


def test_fixed_frequency_cut_points_are_1_2_3_4to5_6plus() -> None:
    cuts = load_scoring()["fixed"]["frequency"]
    scores = fixed_scores(pd.Series([1, 2, 3, 4, 5, 6, 40]), cuts)
    assert scores.tolist() == [1, 2, 3, 4, 4, 5, 5]
    recency = fixed_scores(pd.Series([0, 30, 31, 365, 366]), [30, 90, 180, 365], False)
    assert recency.tolist() == [5, 5, 4, 2, 1]


def test_score_rfm_reports_the_method_used(cdnow: pd.DataFrame) -> None:
    rfm = customer_rfm(ibis.memtable(cdnow), "1998-06-30", **CDNOW_COLS).execute()
    scored, report = score_rfm(rfm)
    methods = {d: s.method for d, s in report.dimensions.items()}
    # Most CDNOW customers buy once: frequency quintiles collapse, so auto uses fixed.
    assert methods == {"recency": "quantile", "frequency": "fixed", "monetary": "quantile"}
    assert "ties" in report.dimensions["frequency"].reason
    assert scored.groupby("frequency").f_score.nunique().max() == 1
    frame = report.to_frame()
    assert len(frame) == 15 and frame.customers.sum() == 3 * len(rfm)
    _, forced = score_rfm(rfm, methods={"frequency": "quantile", "monetary": "fixed"})
    assert forced.dimensions["frequency"].method == "quantile"
    assert forced.dimensions["monetary"].cut_points == (100, 250, 500, 1000)


def test_every_score_combination_has_one_segment_and_every_segment_is_reached() -> None:
    scheme = load_segments()
    grid = verify_segments(scheme)
    assert len(grid) == 125 and grid.segment.notna().all()
    assert set(grid.segment) == set(scheme.names) and len(scheme.names) == 11
    cell = grid.set_index(["r", "f", "m"]).segment
    assert cell[(5, 5, 5)] == "Champions" and cell[(1, 1, 1)] == "Lost"
    assert cell[(1, 5, 5)] == "Can't Lose Them" and cell[(2, 5, 5)] == "At Risk"


def test_the_published_overlapping_table_is_caught() -> None:
    at_risk = SegmentRule("At Risk", {"r": (1, 2), "fm": (2, 5)})
    cant_lose = SegmentRule("Can't Lose Them", {"r": (1, 1), "fm": (4, 5)})
    rest = SegmentRule("Other", {})
    with pytest.raises(SegmentRulesError, match="Can't Lose Them"):
        verify_segments(SegmentScheme((at_risk, cant_lose, rest)))
    with pytest.raises(SegmentRulesError, match="no segment"):
        verify_segments(SegmentScheme((cant_lose,)))


def test_segment_table_prospects_and_clv(cdnow: pd.DataFrame) -> None:
    segmented, _ = rfm_segments(ibis.memtable(cdnow), "1998-06-30", **CDNOW_COLS)
    segmented["clv"] = segmented.monetary * 2
    table = segment_table(segmented, clv_col="clv")
    assert table.customers.sum() == 2357
    assert table.share_customers.sum() == pytest.approx(1)
    assert table.share_revenue.sum() == pytest.approx(1)
    champions = segmented[segmented.segment == "Champions"]
    assert table.loc["Champions", "mean_clv"] == pytest.approx(champions.clv.mean())
    accounts = pd.DataFrame({"cid": [*segmented.cid, "x1", "x2"], "signup_date": "1997-01-01"})
    accounts.loc[len(accounts)] = {"cid": "late", "signup_date": "1999-01-01"}
    full = add_prospects(table, accounts, segmented, as_of="1998-06-30", customer_col="cid")
    assert full.loc["Prospects", "customers"] == 2 and full.loc["Prospects", "revenue"] == 0
    assert full.share_customers.sum() == pytest.approx(1)


def test_segment_movement_counts_everyone_once_and_new_customers_as_new() -> None:
    orders = shop_orders()
    orders.loc[len(orders)] = ("o7", "e", pd.Timestamp("2024-01-25"), 20.0, False)
    movement = segment_movement(ibis.memtable(orders), "2024-01-31", "2024-01-11")
    matrix = movement.matrix
    assert matrix.index[0] == NEW and list(matrix.columns) == load_segments().names
    assert matrix.to_numpy().sum() == len(movement.current) == 4
    assert matrix.loc[NEW].sum() == 2  # d and e had not bought by 2024-01-11
    with pytest.raises(ValueError, match="before"):
        segment_movement(ibis.memtable(orders), "2024-01-01", "2024-01-11")
