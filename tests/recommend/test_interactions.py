"""Purchases per window from order lines (Ibis), and the inputs the stage refuses with a
message: one product, no history."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from customer_analytics.recommend.interactions import (
    customer_orders,
    customer_products,
    evaluated,
    purchase_lines,
    training,
    windows,
)

ORDERS = pd.DataFrame(
    {
        "order_id": ["o1", "o2", "o3", "o4", "o5"],
        "customer_id": ["a", "a", "b", None, "a"],
        "order_ts_utc": pd.to_datetime(
            ["2025-01-01", "2025-01-20", "2025-01-05", "2025-01-06", "2025-02-10"]
        ),
        "is_return": [False, False, False, False, True],
    }
)
ITEMS = pd.DataFrame(
    {
        "order_id": ["o1", "o1", "o2", "o3", "o3", "o4", "o5"],
        "product_id": ["p1", "p2", "p1", "p2", None, "p1", "p1"],
        "quantity": [1, 1, 2, 1, 1, 1, 1],
        "unit_price": [10.0, 5.0, 10.0, 5.0, 3.0, 10.0, 10.0],
        "line_amount": [10.0, 5.0, 20.0, 0.0, 3.0, 10.0, 10.0],
    }
)


def _lines() -> ibis.Table:
    return purchase_lines(ibis.memtable(ORDERS), ibis.memtable(ITEMS))


def test_purchase_lines_leave_out_returns_free_lines_and_unknown_customers() -> None:
    lines = _lines().execute().sort_values(["order_id", "product_id"])
    assert lines[["order_id", "product_id"]].values.tolist() == [
        ["o1", "p1"],
        ["o1", "p2"],
        ["o2", "p1"],
    ]


def test_customer_products_count_orders_per_window() -> None:
    pairs = customer_products(_lines(), None, dt.datetime(2025, 2, 1)).execute()
    assert pairs[["customer_id", "product_id", "orders"]].values.tolist() == [
        ["a", "p1", 2],
        ["a", "p2", 1],
    ]
    late = customer_products(_lines(), dt.datetime(2025, 1, 10), dt.datetime(2025, 2, 1)).execute()
    assert late[["product_id", "orders", "revenue"]].values.tolist() == [["p1", 1, 20.0]]


def test_one_product_is_refused_with_a_message() -> None:
    end = dt.datetime(2025, 1, 10)
    pairs = customer_products(_lines(), None, end).execute()
    pairs = pairs[pairs["product_id"] == "p1"]
    orders = customer_orders(_lines(), end).execute()
    with pytest.raises(ValueError, match="only 1 product was bought before 2025-01-10"):
        training(pairs, pairs, orders, pd.Series(dtype=int), end, 28)


def test_a_window_without_returning_buyers_evaluates_no_one() -> None:
    end = dt.datetime(2025, 1, 10)
    pairs = customer_products(_lines(), None, end).execute()
    train = training(
        pairs, pairs, customer_orders(_lines(), end).execute(), pd.Series(dtype=int), end, 28
    )
    window = pd.DataFrame(
        {"customer_id": ["z"], "product_id": ["p1"], "orders": [1], "revenue": [1.0]}
    )
    assert evaluated(window, train).counts == {
        "window_buyers": 1,
        "evaluated": 0,
        "new_customers": 1,
        "only_new_products": 0,
    }


def test_the_windows_end_at_as_of() -> None:
    validation, test = windows(dt.datetime(2025, 3, 1), 28, 14)
    assert (test.start, test.end, test.days) == (
        dt.datetime(2025, 2, 15),
        dt.datetime(2025, 3, 1),
        14,
    )
    assert (validation.start, validation.end) == (dt.datetime(2025, 1, 18), test.start)
