"""Qini and uplift curves against scikit-uplift's on binary outcomes, and what the
coefficients say of perfect, random and reversed rankings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from customer_analytics.targeting import qini

with warnings.catch_warnings():  # sklift 0.5.1 on scikit-learn 1.9: FutureWarnings
    warnings.simplefilter("ignore", FutureWarning)
    from sklift import metrics as sklift_metrics


def _campaign(
    n: int = 6000, seed: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A binary outcome whose effect grows with x; a noisy score of x, rounded so that
    customers tie."""
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.1 + 0.2 * x * t).astype(int)
    return y, t, x, np.round(x + rng.normal(0, 0.5, n), 1)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_curves_and_qini_coefficient_equal_scikit_uplifts() -> None:
    y, t, _, score = _campaign()
    x, qini_values, uplift_values = qini.curves(y, score, t)
    np.testing.assert_allclose((x, qini_values), sklift_metrics.qini_curve(y, score, t))
    np.testing.assert_allclose((x, uplift_values), sklift_metrics.uplift_curve(y, score, t))
    assert qini.qini_coefficient(y, score, t) == pytest.approx(
        sklift_metrics.qini_auc_score(y, score, t, negative_effect=True), rel=1e-12
    )
    untied = score + np.arange(len(score)) * 1e-9
    assert qini.uplift_at(y, untied, t, 0.3) == pytest.approx(
        sklift_metrics.uplift_at_k(y, untied, t, strategy="overall", k=0.3)
    )


def test_perfect_random_and_reversed_rankings() -> None:
    rng = np.random.default_rng(2)
    t = rng.integers(0, 2, 4000)
    y = rng.gamma(2.0, 50.0, 4000) * (rng.random(4000) < 0.3)  # revenue: mostly zero
    perfect = qini.perfect_score(y, t)
    assert qini.qini_coefficient(y, perfect, t) == pytest.approx(1.0)
    assert qini.qini_coefficient(y, -perfect, t) < -0.2
    assert abs(qini.qini_coefficient(y, rng.random(4000), t)) < 0.1
    assert qini.auuc(y, perfect, t) > 0 > qini.auuc(y, -perfect, t)


def test_bands_cover_zero_for_a_random_score_and_not_for_the_true_effect() -> None:
    y, t, x, _ = _campaign(n=20000, seed=3)
    noise = qini.scores_with_bands(y, np.random.default_rng(4).random(len(y)), t, 100)
    assert noise["qini_low"] < 0 < noise["qini_high"]
    assert noise["auuc_low"] < 0 < noise["auuc_high"]
    found = qini.scores_with_bands(y, x, t, 100)
    assert found["qini_low"] > 0 and found["auuc_low"] > 0
    assert found["qini_low"] <= found["qini"] <= found["qini_high"]


def test_deciles_are_calibrated_for_the_true_effect() -> None:
    y, t, x, _ = _campaign(n=40000, seed=5)
    table = qini.by_decile(y, 0.2 * x, t)
    assert table["customers"].sum() == len(y) and list(table["decile"]) == list(range(1, 11))
    np.testing.assert_allclose(table["observed"], table["predicted"], atol=0.03)
