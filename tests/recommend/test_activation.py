"""The activation files' contents: pairs bought together against a count by hand and
scipy's G-test, picks
that leave out what was just bought unless it is due, reasons, and carts left."""

from __future__ import annotations

import datetime as dt
import itertools

import ibis
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.stats import chi2_contingency

from customer_analytics.recommend import candidates
from customer_analytics.recommend.activation import (
    BOUGHT_BEFORE,
    DUE_AGAIN,
    POPULAR,
    bought_together,
    picks,
)
from customer_analytics.recommend.candidates import Training
from customer_analytics.recommend.interactions import carts_left


def test_pairs_bought_together_match_a_count_by_hand() -> None:
    rng = np.random.default_rng(0)
    rows = [
        (f"o{o}", f"p{p}")
        for o in range(400)
        for p in rng.choice(8, rng.integers(1, 4), replace=False, p=np.linspace(1, 2, 8) / 12)
    ]
    lines = pd.DataFrame(rows, columns=["order_id", "product_id"])
    found = bought_together(ibis.memtable(lines), min_orders=5, per_product=3).execute()
    baskets = lines.groupby("order_id")["product_id"].apply(set)
    n = len(baskets)
    item = {p: sum(p in b for b in baskets) for p in lines["product_id"].unique()}
    both = {
        (a, b): sum(a in s and b in s for s in baskets) for a, b in itertools.permutations(item, 2)
    }

    def g_test(a: str, b: str) -> float:
        k = both[(a, b)]
        table = [[k, item[a] - k], [item[b] - k, n - item[a] - item[b] + k]]
        return chi2_contingency(table, correction=False, lambda_="log-likelihood")[0]

    for row in found.itertuples():
        pair = (row.product_id, row.also_product_id)
        assert row.orders == both[pair] >= 5
        assert row.lift == pytest.approx(both[pair] * n / (item[pair[0]] * item[pair[1]]))
        assert row.lift > 1
        assert row.confidence == pytest.approx(both[pair] / item[pair[0]])
        assert row.llr == pytest.approx(g_test(*pair))
    top = found[found["rank"] == 1].set_index("product_id")["llr"]
    for product, llr in top.items():
        candidates_ = [
            g_test(a, b)
            for (a, b), v in both.items()
            if a == product and v >= 5 and v * n > item[a] * item[b]
        ]
        assert llr == pytest.approx(max(candidates_))


def _training() -> Training:
    # customer 0 bought p0 2 days ago (cycle 90: not due) and p1 40 days ago;
    # customer 1 bought p2 2 days ago, a product rebought every 10 days (due).
    orders = sp.csr_matrix(np.array([[1.0, 1, 0, 0], [0, 0, 3, 0]]))
    days = sp.csr_matrix(np.array([[2.0, 40, 0, 0], [0, 0, 2, 0]]))
    return Training(
        customers=pd.Index(["c0", "c1"]),
        items=pd.Index(["p0", "p1", "p2", "p3"]),
        orders=orders,
        days_since_last=days,
        popular=np.array([1.0, 1, 1, 5]),
        cycle=np.array([90.0, np.nan, 10.0, np.nan]),
        persona=np.array([-1, -1]),
        order_counts=np.array([2, 3]),
        horizon=28,
        extra={"recent_buyers": orders},
    )


def test_picks_leave_out_what_was_just_bought_unless_it_is_due() -> None:
    train = _training()
    model = candidates.BuyAgain().fit(train)
    found = picks(model, train, pd.Index(["c1", "c0", "stranger"]), 3, 30, pd.Series(dtype=str))
    mine = found[found["customer_id"] == "c0"]
    assert "p0" not in set(mine["product_id"])  # bought 2 days ago, not due
    assert mine.iloc[0][["product_id", "reason"]].tolist() == ["p1", BOUGHT_BEFORE]
    theirs = found[found["customer_id"] == "c1"]
    assert theirs.iloc[0][["product_id", "reason"]].tolist() == ["p2", DUE_AGAIN]
    assert set(found["customer_id"]) == {"c0", "c1"}
    assert POPULAR in set(found["reason"])


def test_carts_left_are_those_not_bought_after_the_cart() -> None:
    events = pd.DataFrame(
        {
            "event_ts": pd.to_datetime(
                ["2025-03-01 10:00", "2025-03-01 11:00", "2025-03-02 09:00", "2025-02-01 08:00"]
            ),
            "customer_id": ["a", "b", "b", "a"],
            "event_type": ["add_to_cart", "add_to_cart", "add_to_cart", "add_to_cart"],
            "product_id": ["p1", "p1", "p2", "p9"],
        }
    )
    lines = pd.DataFrame(
        {
            "customer_id": ["b", "a"],
            "product_id": ["p1", "p1"],
            "order_id": ["o1", "o2"],
            "ts": pd.to_datetime(["2025-03-01 12:00", "2025-03-01 09:00"]),
            "revenue": [1.0, 1.0],
        }
    )
    left = carts_left(
        ibis.memtable(events),
        ibis.memtable(lines),
        None,
        dt.datetime(2025, 2, 28),
        dt.datetime(2025, 3, 3),
    ).execute()
    # a bought p1 before carting it again; b bought p1 after carting it; p9 is too old.
    assert left[["customer_id", "product_id"]].values.tolist() == [["a", "p1"], ["b", "p2"]]
