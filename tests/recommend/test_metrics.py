"""Ranking metrics against scikit-learn's NDCG and hand-worked cases; the bootstrap's
intervals cover the truth at their nominal rate and pair models."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import ndcg_score

from customer_analytics.recommend.metrics import (
    Truth,
    bootstrap_draws,
    catalogue_metrics,
    paired_difference,
    per_customer,
    summarise,
)


def _truth(bought: np.ndarray, revenue: np.ndarray | None = None) -> Truth:
    revenue = bought.astype(float) if revenue is None else revenue
    return Truth(bought=sp.csr_matrix(bought.astype(float)), revenue=sp.csr_matrix(revenue))


def test_a_hand_worked_ranking() -> None:
    bought = np.zeros((1, 30))
    bought[0, [3, 7, 25]] = 1  # ranked 2nd, 5th and 21st (outside the top 20: never hit)
    top = np.array([[0, 3, 1, 2, 7, *range(8, 23)]])
    found = per_customer(top, _truth(bought))
    assert found["hr_at_10"][0] == 1.0
    ideal = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    assert found["ndcg_at_10"][0] == pytest.approx((1 / np.log2(3) + 1 / np.log2(6)) / ideal)
    assert found["map_at_10"][0] == pytest.approx((1 / 2 + 2 / 5) / 3)
    assert found["recall_at_20"][0] == pytest.approx(2 / 3)


def test_ndcg_equals_scikit_learns() -> None:
    rng = np.random.default_rng(0)
    bought = (rng.random((200, 60)) < 0.05).astype(float)
    bought[bought.sum(axis=1) == 0, 0] = 1
    scores = rng.random((200, 60))
    top = np.argsort(-scores, axis=1)[:, :20]
    ours = per_customer(top, _truth(bought))["ndcg_at_10"]
    theirs = [ndcg_score(bought[i : i + 1], scores[i : i + 1], k=10) for i in range(200)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_revenue_hit_rate_weighs_hits_by_revenue() -> None:
    bought = np.zeros((2, 25))
    bought[0, [0, 1]] = 1
    bought[1, [2]] = 1
    revenue = bought * np.array([[90.0, 10.0] + [0] * 23, [0, 0, 50.0] + [0] * 22])
    top = np.array([[0, *range(3, 22)], [*range(3, 23)]])  # customer 0 hits its 90
    found = per_customer(top, _truth(bought, revenue))
    summary = summarise(found, bootstrap_draws(2, 50, seed=0))
    assert summary["revenue_hit_rate"] == pytest.approx(90 / 150)


def test_coverage_and_novelty() -> None:
    top = np.array([[0, 1] + [2] * 8, [0, 1] + [3] * 8])
    popularity = np.array([0.5, 0.25, 0.125, 0.125, 0.01])
    found = catalogue_metrics(top, popularity)
    assert found["coverage"] == pytest.approx(4 / 5)
    assert found["novelty"] == pytest.approx((2 * 1 + 2 * 2 + 16 * 3) / 20)


def test_bootstrap_intervals_cover_the_mean_at_about_95_percent() -> None:
    rng = np.random.default_rng(1)
    covered = 0
    for trial in range(200):
        hits = (rng.random(400) < 0.3).astype(float)
        values = {name: hits for name in ("hr_at_10", "ndcg_at_10", "map_at_10", "recall_at_20")}
        values |= {"revenue_hit": hits, "revenue": np.ones(400)}
        found = summarise(values, bootstrap_draws(400, 200, seed=trial))
        covered += found["hr_at_10_low"] <= 0.3 <= found["hr_at_10_high"]
    assert 0.9 <= covered / 200 <= 0.99


def test_a_paired_interval_is_narrower_than_the_unpaired_one() -> None:
    """Two models that differ on a few customers: pairing removes the customers' own
    variation, so a small real difference is seen."""
    rng = np.random.default_rng(2)
    base = rng.random(1000)
    better = base + np.where(rng.random(1000) < 0.1, 0.05, 0.0)
    draws = bootstrap_draws(1000, 300, seed=0)
    diff = paired_difference(better, base, draws)
    assert 0 < diff["ndcg_at_10_diff_low"] < diff["ndcg_at_10_diff"] < diff["ndcg_at_10_diff_high"]
    unpaired_width = 2 * 1.96 * np.sqrt(2 * base.var() / 1000)
    assert diff["ndcg_at_10_diff_high"] - diff["ndcg_at_10_diff_low"] < unpaired_width / 5
