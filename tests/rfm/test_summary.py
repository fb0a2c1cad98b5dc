"""RFM features and the BTYD summary per customer, the summary against lifetimes."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lifetimes.utils import summary_data_from_transaction_data

from customer_analytics.rfm.summary import PERIOD_CODE, btyd_summary, customer_rfm


def assert_same_summary(ours: ibis.Table, theirs: pd.DataFrame, key: str) -> None:
    """Frequency, recency and T exactly; monetary value to well under a cent."""
    got = ours.execute().set_index(key).sort_index()
    want = theirs.sort_index()
    assert list(got.index) == list(want.index)
    for column in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(got[column].to_numpy(float), want[column].to_numpy())
    np.testing.assert_allclose(got.monetary_value, want.monetary_value, rtol=0, atol=1e-9)


@pytest.mark.parametrize("unit", ["days", "weeks"])
def test_btyd_summary_equals_lifetimes_on_cdnow(
    cdnow: pd.DataFrame, unit: str, cdnow_columns: dict
) -> None:
    theirs = summary_data_from_transaction_data(
        cdnow, "cid", "date", "dollars", observation_period_end="1998-06-30", freq=PERIOD_CODE[unit]
    )
    ours = btyd_summary(ibis.memtable(cdnow), "1998-06-30", unit, **cdnow_columns)
    assert_same_summary(ours, theirs, "cid")
    assert len(theirs) == 2357


def test_btyd_summary_freq_multiplier_and_early_end(
    cdnow: pd.DataFrame, cdnow_columns: dict
) -> None:
    theirs = summary_data_from_transaction_data(
        cdnow,
        "cid",
        "date",
        "dollars",
        observation_period_end="1997-09-17",
        freq="D",
        freq_multiplier=7,
    )
    ours = btyd_summary(
        ibis.memtable(cdnow), "1997-09-17", "days", freq_multiplier=7, **cdnow_columns
    )
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
    unit=st.sampled_from(["days", "weeks"]),
)
def test_btyd_summary_equals_lifetimes_on_random_transactions(
    rows: list[tuple], end_seconds: int, unit: str
) -> None:
    frame = pd.DataFrame(rows, columns=["customer_id", "seconds", "revenue"])
    frame["order_ts_utc"] = START + pd.to_timedelta(frame.seconds, unit="s")
    as_of = START + pd.Timedelta(seconds=end_seconds)
    freq = PERIOD_CODE[unit]
    end = as_of.to_period(freq).to_timestamp()
    assume((frame.order_ts_utc.dt.to_period(freq).dt.to_timestamp() <= end).any())
    theirs = summary_data_from_transaction_data(
        frame, "customer_id", "order_ts_utc", "revenue", observation_period_end=as_of, freq=freq
    )
    ours = btyd_summary(ibis.memtable(frame.drop(columns="seconds")), as_of, unit)
    assert_same_summary(ours, theirs, "customer_id")


def test_customer_rfm_nets_returns_and_counts_the_as_of_day(shop_orders: pd.DataFrame) -> None:
    rfm = customer_rfm(ibis.memtable(shop_orders), "2024-01-31").execute()
    rfm = rfm.set_index("customer_id").sort_index()
    assert list(rfm.index) == ["a", "b", "d"]
    a, b, d = rfm.loc["a"], rfm.loc["b"], rfm.loc["d"]
    assert (a.frequency, a.recency, a.tenure) == (3, 11, 30)
    assert a.monetary == pytest.approx(190.0) and a.gross_revenue == pytest.approx(220.0)
    assert a.aov == pytest.approx(220 / 3) and a.monetary_mean == pytest.approx(190 / 3)
    assert (a.returns, a.returned_revenue) == (1, pytest.approx(30.0))
    assert b.monetary == pytest.approx(0.0) and b.frequency == 1
    assert (d.frequency, d.recency, d.monetary) == (1, 0, pytest.approx(10.0))


def test_customer_rfm_weeks_instant_as_of_and_line_level_orders(shop_orders: pd.DataFrame) -> None:
    orders = shop_orders
    weeks = customer_rfm(ibis.memtable(orders), "2024-01-31", "weeks").execute()
    assert weeks.set_index("customer_id").loc["a", ["recency", "tenure"]].tolist() == [1, 4]
    instant = customer_rfm(ibis.memtable(orders), "2024-01-31 07:00").execute()
    assert "d" not in set(instant.customer_id)
    lines = orders.drop(columns="is_return")  # no is_return: every order is a purchase
    rfm = customer_rfm(ibis.memtable(lines), "2024-01-31").execute().set_index("customer_id")
    assert rfm.loc["a", "frequency"] == 4 and rfm.loc["c", "monetary"] == pytest.approx(-20)


def test_btyd_summary_leaves_returns_out(shop_orders: pd.DataFrame) -> None:
    ours = btyd_summary(ibis.memtable(shop_orders), "2024-01-31", "days").execute()
    a = ours.set_index("customer_id").loc["a"]
    assert a[["frequency", "recency", "T", "monetary_value"]].tolist() == [1, 19, 30, 70.0]
    assert "c" not in set(ours.customer_id)
