"""Test data the statistics tests share: comparisons with a given lift and statistics of
normal data drawn without the data."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats as sps

from customer_analytics.experiments.stats import Comparison, SampleStats


def _comparison(estimate: float, se: float) -> Comparison:
    """A z-test comparison with the given relative and absolute lift."""
    p = 2 * sps.norm.sf(abs(estimate / se))
    ci = (estimate - 1.959963984540054 * se, estimate + 1.959963984540054 * se)
    return Comparison(
        "mean", "z", 1.0, 1.0 + estimate, 1e4, 1e4, estimate, se, ci, p,
        estimate, se, ci, p, np.inf, 0.05,
    )  # fmt: skip


def _normal_stats(
    g: np.random.Generator, n: int, mu: float, sigma: float, size: tuple[int, ...]
) -> SampleStats:
    """Statistics of ``n`` iid Normal(mu, sigma**2) values, drawn without the values: the
    mean is normal and the centred sum of squares chi-square, independently."""
    mean = g.normal(mu, sigma / np.sqrt(n), size)
    centred = sigma**2 * g.chisquare(n - 1, size)
    return SampleStats(np.full(size, n), n * mean, centred + n * mean**2)


@pytest.fixture(scope="session")
def z_comparison() -> Callable[[float, float], Comparison]:
    """``z_comparison(estimate, se)``: a z-test comparison with that relative and
    absolute lift."""
    return _comparison


@pytest.fixture(scope="session")
def normal_stats() -> Callable[..., SampleStats]:
    """``normal_stats(g, n, mu, sigma, size)``: ``size`` draws of the statistics of ``n``
    iid normal values."""
    return _normal_stats
