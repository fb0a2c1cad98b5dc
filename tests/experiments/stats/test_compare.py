"""Welch, two-proportion, ratio (delta method) and CUPED comparisons against known values,
scipy, statsmodels and raw-data numpy, and calibrated by simulation."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from customer_analytics.experiments.stats import (
    CovariateStats,
    RatioStats,
    SampleStats,
    cuped,
    ratio,
    two_proportion,
    welch,
)

# GrowthBook gbstats, tests/frequentist/test_tests.py (two-sided t-test): control mean
# 0.41 sd 3.9, treatment mean 0.70 sd 6.2, as count/sum/sum of squares.
GB_CONTROL = SampleStats(n=3407, sum=1396.87, sum_sq=52377.9767)
GB_TREATMENT = SampleStats(n=3461, sum=2422.7, sum_sq=134698.29)


def test_golden_stats_are_growthbooks_means_and_sds() -> None:
    assert GB_CONTROL.mean == pytest.approx(0.41)
    assert np.sqrt(GB_CONTROL.variance) == pytest.approx(3.9)
    assert GB_TREATMENT.mean == pytest.approx(0.70)
    assert np.sqrt(GB_TREATMENT.variance) == pytest.approx(6.2)


def test_welch_reproduces_growthbook_golden_values() -> None:
    c = welch(GB_CONTROL, GB_TREATMENT)
    assert round(c.rel_lift, 5) == 0.70732
    assert round(c.rel_se, 5) == 0.37879
    assert (round(c.rel_ci[0], 5), round(c.rel_ci[1], 5)) == (-0.03526, 1.44989)
    assert round(c.rel_p, 5) == 0.06191
    # The absolute side, as in GrowthBook's earlier absolute-lift version of that test.
    assert round(c.abs_lift, 5) == 0.29
    assert (round(c.abs_ci[0], 5), round(c.abs_ci[1], 5)) == (0.04538, 0.53462)
    assert round(c.abs_p, 5) == 0.02016


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_welch_equals_scipy_ttest_ind_from_stats(seed: int) -> None:
    g = np.random.default_rng(seed)
    a = SampleStats.from_values(g.normal(10, 3, 40 + 30 * seed))
    b = SampleStats.from_values(g.normal(11, 6, 25 + 50 * seed))
    for control, treatment in ((a, b), (GB_CONTROL, GB_TREATMENT)):
        c = welch(control, treatment)
        ref = sps.ttest_ind_from_stats(
            treatment.mean,
            np.sqrt(treatment.variance),
            treatment.n,
            control.mean,
            np.sqrt(control.variance),
            control.n,
            equal_var=False,
        )
        assert c.abs_lift / c.abs_se == pytest.approx(ref.statistic, rel=1e-12)
        assert c.abs_p == pytest.approx(ref.pvalue, rel=1e-10)
        df = (control.mean_variance + treatment.mean_variance) ** 2 / (
            control.mean_variance**2 / (control.n - 1)
            + treatment.mean_variance**2 / (treatment.n - 1)
        )
        assert c.df == pytest.approx(df, rel=1e-12)


def test_comparisons_work_elementwise_on_arrays() -> None:
    g = np.random.default_rng(4)
    ya, yb = g.normal(5, 2, (3, 60)), g.normal(5.5, 2, (3, 80))
    vector = welch(SampleStats.from_values(ya), SampleStats.from_values(yb))
    for i in range(3):
        one = welch(SampleStats.from_values(ya[i]), SampleStats.from_values(yb[i]))
        assert vector.rel_p[i] == pytest.approx(one.rel_p, rel=1e-12)
        assert vector.abs_ci[0][i] == pytest.approx(one.abs_ci[0], rel=1e-12)


def test_two_proportion_matches_statsmodels() -> None:
    control = SampleStats(n=10_000, sum=1_000, sum_sq=1_000)
    treatment = SampleStats(n=9_800, sum=1_080, sum_sq=1_080)
    c = two_proportion(control, treatment)
    _, p_pooled = proportions_ztest([1_080, 1_000], [9_800, 10_000])
    low, high = confint_proportions_2indep(1_080, 9_800, 1_000, 10_000, method="wald")
    assert c.abs_p == pytest.approx(p_pooled, rel=1e-10)
    assert c.abs_ci[0] == pytest.approx(low, rel=1e-10)
    assert c.abs_ci[1] == pytest.approx(high, rel=1e-10)
    assert c.df == np.inf
    pa, pb = 0.1, 1_080 / 9_800
    rel_var = pb * (1 - pb) / 9_800 / pa**2 + pa * (1 - pa) / 10_000 * pb**2 / pa**4
    assert c.rel_se == pytest.approx(np.sqrt(rel_var), rel=1e-12)


def test_two_proportion_rejects_non_binary_metrics() -> None:
    with pytest.raises(ValueError, match="not a proportion"):
        two_proportion(SampleStats(10, 5.0, 9.0), SampleStats(10, 5.0, 5.0))


def test_ratio_comparison_is_the_delta_method_on_raw_arrays() -> None:
    g = np.random.default_rng(5)
    orders_a, orders_b = g.poisson(2, 3000) + 1.0, g.poisson(2, 3100) + 1.0
    rev_a = orders_a * g.gamma(4, 10, 3000)
    rev_b = orders_b * g.gamma(4, 11, 3100)
    c = ratio(RatioStats.from_values(rev_a, orders_a), RatioStats.from_values(rev_b, orders_b))
    ra, rb = rev_a.sum() / orders_a.sum(), rev_b.sum() / orders_b.sum()
    la = (rev_a - ra * orders_a) / orders_a.mean()
    lb = (rev_b - rb * orders_b) / orders_b.mean()
    se = np.sqrt(la.var(ddof=1) / 3000 + lb.var(ddof=1) / 3100)
    assert c.abs_lift == pytest.approx(rb - ra, rel=1e-12)
    assert c.abs_se == pytest.approx(se, rel=1e-9)
    # Welch on the linearised values is the same test.
    ref = sps.ttest_ind(lb + rb, la + ra, equal_var=False)
    assert c.abs_p == pytest.approx(ref.pvalue, rel=1e-8)


def _cuped_data(seed: int = 6):
    g = np.random.default_rng(seed)
    xa, xb = g.gamma(2, 10, 800), g.gamma(2, 10, 900)
    ya = 0.7 * xa + g.normal(0, 8, 800) + 5
    yb = 0.7 * xb + g.normal(0, 8, 900) + 7
    return ya, xa, yb, xb


def test_cuped_lift_is_the_ancova_ols_coefficient() -> None:
    ya, xa, yb, xb = _cuped_data()
    c = cuped(CovariateStats.from_values(ya, xa), CovariateStats.from_values(yb, xb))
    y, x = np.r_[ya, yb], np.r_[xa, xb]
    arm = np.r_[np.zeros(ya.size), np.ones(yb.size)]
    design = sm.add_constant(np.column_stack([arm, x]))
    ols = sm.OLS(y, design).fit(cov_type="HC0")
    assert c.abs_lift == pytest.approx(ols.params[1], rel=1e-9)
    assert c.theta == pytest.approx(ols.params[2], rel=1e-9)
    # Welch on the adjusted metric and a heteroskedasticity-robust OLS agree closely.
    assert c.abs_se == pytest.approx(ols.bse[1], rel=0.01)
    adjusted_a = ya - c.theta * (xa - x.mean())
    adjusted_b = yb - c.theta * (xb - x.mean())
    ref = sps.ttest_ind(adjusted_b, adjusted_a, equal_var=False)
    assert c.abs_p == pytest.approx(ref.pvalue, rel=1e-8)
    assert c.control_mean == pytest.approx(adjusted_a.mean(), rel=1e-12)
    assert c.treatment_mean == pytest.approx(adjusted_b.mean(), rel=1e-12)
    plain = welch(SampleStats.from_values(ya), SampleStats.from_values(yb))
    assert c.variance_reduction == pytest.approx(1 - c.abs_se**2 / plain.abs_se**2)
    assert 0.5 < c.variance_reduction < 0.7  # about corr(x, y)**2


def test_cuped_relative_variance_matches_a_numerical_delta_method() -> None:
    ya, xa, yb, xb = _cuped_data(7)
    c = cuped(CovariateStats.from_values(ya, xa), CovariateStats.from_values(yb, xb))
    wa, wb = ya.size / (ya.size + yb.size), yb.size / (ya.size + yb.size)

    def rel(v: np.ndarray) -> float:
        my_a, mx_a, my_b, mx_b = v
        adj_a = my_a - c.theta * wb * (mx_a - mx_b)
        adj_b = my_b - c.theta * wa * (mx_b - mx_a)
        return adj_b / adj_a - 1

    point = np.array([ya.mean(), xa.mean(), yb.mean(), xb.mean()])
    grad = np.array([(rel(point + h) - rel(point - h)) / (2 * 1e-6) for h in np.eye(4) * 1e-6])
    cov = np.zeros((4, 4))
    cov[:2, :2] = np.cov(ya, xa) / ya.size
    cov[2:, 2:] = np.cov(yb, xb) / yb.size
    assert c.rel_lift == pytest.approx(rel(point), rel=1e-10)
    assert c.rel_se == pytest.approx(np.sqrt(grad @ cov @ grad), rel=1e-6)


# --- calibration by seeded simulation -----------------------------------------------------
#
# Each test simulates thousands of experiments at once on sufficient statistics, drawn
# either exactly from their sampling distributions (normal data: ``normal_stats`` of
# conftest.py; 0/1 data: the sum is binomial) or as small vectorised arrays where no
# closed form exists (CUPED, ratio metrics). The comparisons work elementwise on arrays,
# so every check is one call. Seeds are fixed; a failing check means the method is
# wrong, not the seed.

SIMS = 10_000
ALPHA = 0.05
FPR_RANGE = (0.035, 0.065)
COVERAGE_RANGE = (0.93, 0.97)


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


def test_aa_false_positive_rate_welch_unequal_variances(normal_stats) -> None:
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


def test_coverage_welch_absolute_and_relative(normal_stats) -> None:
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
