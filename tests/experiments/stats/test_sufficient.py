"""Sufficient statistics (counts, sums, sums of squares, cross-products) against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from customer_analytics.experiments.stats import CovariateStats, RatioStats, SampleStats


def test_sample_stats_match_numpy() -> None:
    x = np.random.default_rng(0).gamma(2.0, 10.0, 1000)
    s = SampleStats.from_values(x)
    assert s.n == 1000
    assert s.mean == pytest.approx(x.mean(), rel=1e-12)
    assert s.variance == pytest.approx(x.var(ddof=1), rel=1e-10)
    assert s.mean_variance == pytest.approx(x.var(ddof=1) / 1000, rel=1e-10)


def test_strata_add_up_to_the_concatenated_data() -> None:
    g = np.random.default_rng(1)
    parts = [(g.gamma(2, 5, n), g.poisson(2, n) + 1.0) for n in (50, 120, 7)]
    y = np.concatenate([p[0] for p in parts])
    x = np.concatenate([p[1] for p in parts])

    def total(items):
        out = items[0]
        for item in items[1:]:
            out = out + item
        return out

    pairs = [
        (total([SampleStats.from_values(a) for a, _ in parts]), SampleStats.from_values(y)),
        (
            total([RatioStats.from_values(a, b) for a, b in parts]),
            RatioStats.from_values(y, x),
        ),
        (
            total([CovariateStats.from_values(a, b) for a, b in parts]),
            CovariateStats.from_values(y, x),
        ),
    ]
    for summed, direct in pairs:
        assert type(summed) is type(direct)
        np.testing.assert_allclose(
            [getattr(summed, f) for f in summed.__dataclass_fields__],
            [getattr(direct, f) for f in direct.__dataclass_fields__],
            rtol=1e-12,
        )


def test_ratio_stats_delta_variance_is_the_linearised_variance() -> None:
    g = np.random.default_rng(2)
    orders = g.poisson(3, 2000) + 1.0
    revenue = orders * g.gamma(3, 20, 2000)
    s = RatioStats.from_values(revenue, orders)
    r = revenue.sum() / orders.sum()
    # Deng et al. (2018): the ratio of means linearises to mean((num - r * den) / mean(den)).
    linear = (revenue - r * orders) / orders.mean()
    assert s.mean == pytest.approx(r, rel=1e-12)
    assert s.variance == pytest.approx(linear.var(ddof=1), rel=1e-9)
    assert s.covariance == pytest.approx(np.cov(revenue, orders)[0, 1], rel=1e-9)


def test_covariate_stats_match_numpy() -> None:
    g = np.random.default_rng(3)
    x = g.normal(10, 3, 500)
    y = 2 * x + g.normal(0, 1, 500)
    s = CovariateStats.from_values(y, x)
    assert s.covariance == pytest.approx(np.cov(x, y)[0, 1], rel=1e-10)
    assert s.correlation == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-10)
