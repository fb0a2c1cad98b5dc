"""The candidates on purchases simulated with known structure: each finds what it is
built to find, and the scores are what their formulas say."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics.pairwise import cosine_similarity

from customer_analytics.recommend import candidates
from customer_analytics.recommend.candidates import Training


def _training(orders: np.ndarray, days: np.ndarray | None = None, **extra) -> Training:
    n, m = orders.shape
    matrix = sp.csr_matrix(orders.astype(float))
    days = np.where(orders > 0, 10.0, 0.0) if days is None else days
    since = sp.csr_matrix(np.where(orders > 0, days + 1e-9, 0.0))
    popular = (orders > 0).sum(axis=0).astype(float)
    return Training(
        customers=pd.Index([f"c{i}" for i in range(n)]),
        items=pd.Index([f"p{j}" for j in range(m)]),
        orders=matrix,
        days_since_last=since,
        popular=popular,
        cycle=extra.get("cycle", np.full(m, np.nan)),
        persona=extra.get("persona", np.full(n, -1)),
        order_counts=np.maximum(orders.sum(axis=1), 1).astype(int),
        horizon=28,
        extra={"recent_buyers": sp.csr_matrix((orders > 0).astype(float))},
    )


def _blocks(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """200 customers in two taste groups, each buying mostly from its own 10 products."""
    rng = np.random.default_rng(seed)
    group = np.repeat([0, 1], 100)
    own = np.where(group[:, None] == (np.arange(20) // 10)[None, :], 0.4, 0.02)
    return (rng.random((200, 20)) < own).astype(float), group


def test_item_cosine_is_the_cosine_of_who_bought_what() -> None:
    orders, _ = _blocks()
    model = candidates.ItemCosine().fit(_training(orders))
    expected = cosine_similarity((orders > 0).T.astype(float))
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(model.similarity_.toarray(), expected, atol=1e-12)


def test_item_cosine_keeps_each_products_nearest_neighbours() -> None:
    orders, _ = _blocks()
    full = candidates.ItemCosine().fit(_training(orders)).similarity_.toarray()
    near = candidates.ItemCosine(neighbours=3).fit(_training(orders)).similarity_.toarray()
    assert ((near > 0).sum(axis=1) <= 3).all()
    kept = near > 0
    np.testing.assert_allclose(near[kept], full[kept])
    # whatever a product dropped is no closer than the nearest it kept
    weakest = np.where(kept, near, np.inf).min(axis=1)
    assert (np.where(kept, -np.inf, full).max(axis=1) <= weakest + 1e-12).all()


@pytest.mark.parametrize(
    ("name", "params"), [("item_cosine", {}), ("als", {"factors": 4}), ("blend", {})]
)
def test_similarity_models_pick_from_the_customers_own_group(name, params) -> None:
    orders, group = _blocks()
    model = candidates.make(name, seed=0, **params).fit(_training(orders))
    top = candidates.top_items(model, np.arange(200), 5)
    own_group = (top // 10) == group[:, None]
    assert own_group.mean() > 0.9


def test_buy_again_ranks_frequent_recent_items_first_and_waits_for_the_cycle() -> None:
    orders = np.array([[3, 1, 1, 0]], dtype=float)
    days = np.array([[5.0, 5.0, 400.0, 0.0]])
    model = candidates.BuyAgain(half_life=90.0, cycles=False).fit(_training(orders, days))
    assert candidates.top_items(model, np.array([0]), 4)[0].tolist()[:3] == [0, 1, 2]
    # Item 0 is rebought every 120 days and was bought 5 days ago: not due in 28 days.
    cycle = np.array([120.0, np.nan, np.nan, np.nan])
    waiting = candidates.BuyAgain(half_life=90.0).fit(_training(orders, days, cycle=cycle))
    score = waiting.score(np.array([0]))[0]
    assert score[0] == pytest.approx(3 * 2 ** (-5 / 90) * (33 / 120), rel=1e-4)
    assert score[1] > score[0]


def test_every_list_is_full_and_ties_fall_to_popularity() -> None:
    orders = np.zeros((3, 6))
    orders[0, 0] = 1
    orders[1:, 4] = 1  # product 4 is the most popular
    model = candidates.BuyAgain().fit(_training(orders))
    top = candidates.top_items(model, np.arange(3), 6)
    assert top[0, 0] == 0 and top[0, 1] == 4
    assert (np.sort(top, axis=1) == np.arange(6)).all()


def test_persona_popularity_uses_the_customers_persona() -> None:
    orders, group = _blocks()
    model = candidates.PopularInPersona().fit(_training(orders, persona=group))
    top = candidates.top_items(model, np.arange(200), 3)
    assert ((top // 10) == group[:, None]).all()


def test_als_is_reproducible() -> None:
    orders, _ = _blocks()
    first = candidates.make("als", seed=3).fit(_training(orders)).score(np.arange(5))
    again = candidates.make("als", seed=3).fit(_training(orders)).score(np.arange(5))
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("buy_again", {"half_life": 60}),
        ("item_cosine", {"neighbours": 5}),
        ("blend", {"weight": 0.3}),
        ("als", {"factors": 4}),
        ("popular_persona", {}),
    ],
)
def test_top_equals_ranking_the_whole_catalogue(name, params) -> None:
    """Each model's own ranking (sparse: a customer's scored items and the most
    popular; ALS: implicit's top-k) gives the lists a ranking of every item's score
    gives, with banned items left out."""
    rng = np.random.default_rng(3)
    orders = rng.poisson(0.08, (300, 60)) * (rng.random((300, 60)) < 0.5)
    days = rng.uniform(1, 400, orders.shape)
    train = _training(
        orders,
        days,
        cycle=np.where(rng.random(60) < 0.3, 30.0, np.nan),
        persona=rng.integers(-1, 3, 300),
    )
    model = candidates.make(name, seed=0, **params).fit(train)
    rows = np.arange(300)
    banned = sp.csr_matrix((orders > 0) & (days < 100))
    for ban in (None, banned):
        top, values = model.top(rows, 20, ban)
        scores = model.score(rows).astype(np.float64)
        if ban is not None:
            scores[ban.toarray()] = -np.inf
        ranked = np.take_along_axis(scores, top, axis=1)
        np.testing.assert_allclose(values, ranked, rtol=1e-5, atol=1e-7)
        assert (np.diff(ranked, axis=1) <= 1e-7).all()
        # every item left out scores no more than the last one in
        left_out = np.ones_like(scores, dtype=bool)
        np.put_along_axis(left_out, top, False, axis=1)
        assert (np.where(left_out, scores, -np.inf).max(axis=1) <= ranked[:, -1] + 1e-7).all()


def test_short_lists_are_padded() -> None:
    orders = np.eye(4)
    model = candidates.BuyAgain().fit(_training(orders))
    top, values = model.top(np.arange(4), 4, sp.csr_matrix(np.ones((4, 4)) - np.eye(4)))
    assert top[:, 0].tolist() == [0, 1, 2, 3]
    assert (top[:, 1:] == -1).all() and np.isneginf(values[:, 1:]).all()


def test_days_since_last_must_share_the_orders_structure() -> None:
    orders = np.array([[1.0, 0.0], [0.0, 2.0]])
    train = _training(orders)
    with pytest.raises(ValueError, match="days_since_last"):
        dataclasses.replace(train, days_since_last=sp.csr_matrix(np.ones((2, 2))))
