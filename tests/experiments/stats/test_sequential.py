"""Always-valid confidence sequences: the normal-mixture boundary, and no more false
positives than alpha however often one looks."""

from __future__ import annotations

import numpy as np
import pytest

from customer_analytics.experiments.stats import (
    SampleStats,
    confidence_sequence,
    tuning_rho2,
    welch,
)


def test_confidence_sequence_is_the_normal_mixture_boundary() -> None:
    g = np.random.default_rng(9)
    a = SampleStats.from_values(g.normal(10, 4, 2500))
    b = SampleStats.from_values(g.normal(10.3, 4, 2500))
    cs = confidence_sequence(a, b, planned_n=5000)
    assert cs.rho2 == pytest.approx(tuning_rho2(5000))
    # At the boundary the two-sided normal-mixture martingale equals 1 / alpha (Ville).
    n = 5000
    sigma = np.sqrt(n * (a.mean_variance + b.mean_variance))
    s = n * cs.halfwidth / sigma
    mixture = np.exp(cs.rho2 * s**2 / (2 * (1 + cs.rho2 * n))) / np.sqrt(1 + cs.rho2 * n)
    assert mixture == pytest.approx(1 / 0.05, rel=1e-10)
    fixed = welch(a, b)
    assert cs.halfwidth > (fixed.abs_ci[1] - fixed.abs_ci[0]) / 2
    assert cs.ci[0] == pytest.approx(fixed.abs_lift - cs.halfwidth)


def test_aa_false_positive_rate_sequential_over_ten_looks(normal_stats) -> None:
    g = np.random.default_rng(104)
    looks, per_look = 10, 200
    chunk = (10_000, looks)

    def arm() -> SampleStats:
        s = normal_stats(g, per_look, 3.0, 2.0, chunk)
        return SampleStats(*(np.cumsum(v, axis=1) for v in (s.n, s.sum, s.sum_sq)))

    cs = confidence_sequence(arm(), arm(), planned_n=2 * looks * per_look)
    fpr = np.mean(cs.excludes_zero.any(axis=1))
    print(f"sequential A/A FPR over {looks} looks {fpr:.4f}")
    assert fpr <= 0.05
    # The same looks with fixed-sample intervals: peeking inflates the error.
    c = welch(arm(), arm())
    assert np.mean((c.abs_p < 0.05).any(axis=1)) > 0.1
