"""Calibration by seeded simulation: false-positive rates of A/A tests and CI coverage.

Each test simulates thousands of experiments at once on sufficient statistics, drawn
either exactly from their sampling distributions (normal data: the mean is normal and the
centred sum of squares chi-square, independently; 0/1 data: the sum is binomial) or as
small vectorised arrays where no closed form exists (CUPED, ratio metrics). The tests in
:mod:`customer_analytics.experiments.compare` work elementwise on arrays, so every check
is one call. Seeds are fixed; a failing check means the method is wrong, not the seed.
"""

from __future__ import annotations

import numpy as np

from customer_analytics.experiments import (
    CovariateStats,
    RatioStats,
    SampleStats,
    confidence_sequence,
    cuped,
    ratio,
    two_proportion,
    welch,
)

SIMS = 10_000
ALPHA = 0.05
FPR_RANGE = (0.035, 0.065)
COVERAGE_RANGE = (0.93, 0.97)


def normal_stats(
    g: np.random.Generator, n: int, mu: float, sigma: float, size: tuple[int, ...]
) -> SampleStats:
    """Statistics of ``n`` iid Normal(mu, sigma**2) values, drawn without the values."""
    mean = g.normal(mu, sigma / np.sqrt(n), size)
    centred = sigma**2 * g.chisquare(n - 1, size)
    return SampleStats(np.full(size, n), n * mean, centred + n * mean**2)


def binary_stats(g: np.random.Generator, n: int, p: float, size: int) -> SampleStats:
    s = g.binomial(n, p, size).astype(float)
    return SampleStats(np.full(size, n), s, s)


def rate(flags: np.ndarray) -> float:
    return float(np.mean(flags))


def covered(ci: tuple[np.ndarray, np.ndarray], truth: float) -> np.ndarray:
    return (ci[0] <= truth) & (truth <= ci[1])


def test_aa_false_positive_rate_z_test() -> None:
    g = np.random.default_rng(101)
    c = two_proportion(binary_stats(g, 2000, 0.08, SIMS), binary_stats(g, 2000, 0.08, SIMS))
    fpr = rate(c.abs_p < ALPHA)
    # The verdict reads the relative lift (delta method): it must be calibrated too.
    fpr_rel = rate(c.rel_p < ALPHA)
    print(f"z-test A/A FPR {fpr:.4f} (relative {fpr_rel:.4f})")
    assert FPR_RANGE[0] <= fpr <= FPR_RANGE[1]
    assert FPR_RANGE[0] <= fpr_rel <= FPR_RANGE[1]


def test_aa_false_positive_rate_welch_unequal_variances() -> None:
    # Small, unbalanced arms with a 3x larger sd in the smaller one: where a pooled t-test
    # is miscalibrated and Welch's degrees of freedom matter.
    g = np.random.default_rng(102)
    c = welch(normal_stats(g, 120, 5.0, 1.0, (SIMS,)), normal_stats(g, 30, 5.0, 3.0, (SIMS,)))
    fpr = rate(c.abs_p < ALPHA)
    fpr_rel = rate(c.rel_p < ALPHA)
    print(f"Welch A/A FPR {fpr:.4f} (relative {fpr_rel:.4f})")
    assert FPR_RANGE[0] <= fpr <= FPR_RANGE[1]
    assert FPR_RANGE[0] <= fpr_rel <= FPR_RANGE[1]


def _cuped_arm(g: np.random.Generator, n: int, sims: int, shift: float) -> CovariateStats:
    x = g.gamma(2.0, 10.0, (sims, n))  # skewed pre-period revenue
    y = 0.8 * x + g.normal(0.0, 8.0, (sims, n)) + 10.0 + shift
    return CovariateStats.from_values(y, x)


def test_aa_false_positive_rate_cuped() -> None:
    g = np.random.default_rng(103)
    sims = 5_000
    c = cuped(_cuped_arm(g, 200, sims, 0.0), _cuped_arm(g, 200, sims, 0.0))
    fpr = rate(c.abs_p < ALPHA)
    fpr_rel = rate(c.rel_p < ALPHA)
    print(f"CUPED A/A FPR {fpr:.4f} (relative {fpr_rel:.4f})")
    assert FPR_RANGE[0] <= fpr <= FPR_RANGE[1]
    assert FPR_RANGE[0] <= fpr_rel <= FPR_RANGE[1]
    assert np.median(c.variance_reduction) > 0.5


def test_aa_false_positive_rate_sequential_over_ten_looks() -> None:
    g = np.random.default_rng(104)
    looks, per_look = 10, 200
    chunk = (SIMS, looks)

    def arm() -> SampleStats:
        s = normal_stats(g, per_look, 3.0, 2.0, chunk)
        return SampleStats(*(np.cumsum(v, axis=1) for v in (s.n, s.sum, s.sum_sq)))

    cs = confidence_sequence(arm(), arm(), planned_n=2 * looks * per_look)
    fpr = rate(cs.excludes_zero.any(axis=1))
    print(f"sequential A/A FPR over {looks} looks {fpr:.4f}")
    assert fpr <= ALPHA
    # The same looks with fixed-sample intervals: peeking inflates the error.
    c = welch(arm(), arm())
    assert rate((c.abs_p < ALPHA).any(axis=1)) > 0.1


def test_coverage_welch_absolute_and_relative() -> None:
    g = np.random.default_rng(105)
    mu, lift = 20.0, 0.05
    c = welch(
        normal_stats(g, 400, mu, 8.0, (SIMS,)), normal_stats(g, 500, mu * (1 + lift), 10.0, (SIMS,))
    )
    cover_abs = rate(covered(c.abs_ci, mu * lift))
    cover_rel = rate(covered(c.rel_ci, lift))
    print(f"Welch coverage: absolute {cover_abs:.4f}, relative {cover_rel:.4f}")
    assert COVERAGE_RANGE[0] <= cover_abs <= COVERAGE_RANGE[1]
    assert COVERAGE_RANGE[0] <= cover_rel <= COVERAGE_RANGE[1]


def test_coverage_two_proportion() -> None:
    g = np.random.default_rng(106)
    p, lift = 0.10, 0.10
    c = two_proportion(binary_stats(g, 5000, p, SIMS), binary_stats(g, 5000, p * (1 + lift), SIMS))
    cover_abs = rate(covered(c.abs_ci, p * lift))
    cover_rel = rate(covered(c.rel_ci, lift))
    print(f"z-test coverage: absolute {cover_abs:.4f}, relative {cover_rel:.4f}")
    assert COVERAGE_RANGE[0] <= cover_abs <= COVERAGE_RANGE[1]
    assert COVERAGE_RANGE[0] <= cover_rel <= COVERAGE_RANGE[1]


def test_coverage_ratio_and_cuped() -> None:
    g = np.random.default_rng(107)
    sims, n = 4_000, 300

    def ratio_arm(value_scale: float) -> RatioStats:
        orders = g.poisson(1.5, (sims, n)) + 1.0
        revenue = orders * g.gamma(4.0, 10.0 * value_scale, (sims, n))
        return RatioStats.from_values(revenue, orders)

    # The true revenue per order is the mean order value, 40 * scale.
    r = ratio(ratio_arm(1.0), ratio_arm(1.1))
    cover_ratio_abs = rate(covered(r.abs_ci, 4.0))
    cover_ratio_rel = rate(covered(r.rel_ci, 0.1))
    c = cuped(_cuped_arm(g, n, sims, 0.0), _cuped_arm(g, n, sims, 1.5))
    cover_cuped = rate(covered(c.abs_ci, 1.5))
    # True adjusted control mean 0.8 * 20 + 10 = 26.
    cover_cuped_rel = rate(covered(c.rel_ci, 1.5 / 26.0))
    print(
        f"coverage: ratio absolute {cover_ratio_abs:.4f}, relative {cover_ratio_rel:.4f};"
        f" CUPED absolute {cover_cuped:.4f}, relative {cover_cuped_rel:.4f}"
    )
    for value in (cover_ratio_abs, cover_ratio_rel, cover_cuped, cover_cuped_rel):
        assert COVERAGE_RANGE[0] <= value <= COVERAGE_RANGE[1]
