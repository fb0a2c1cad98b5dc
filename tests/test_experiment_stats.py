"""The A/B statistics core against known values, scipy/statsmodels and raw-data numpy."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import integrate
from scipy import stats as sps
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower, normal_power_het
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    power_proportions_2indep,
    proportions_ztest,
)

from customer_analytics.experiments import (
    CovariateStats,
    RatioStats,
    SampleStats,
    achieved_power,
    adjust_pvalues,
    bayesian_view,
    cochran_q,
    collapse,
    confidence_sequence,
    correct_family,
    cuped,
    minimum_detectable_effect,
    per_arm,
    ratio,
    sample_size,
    segment_heterogeneity,
    srm_check,
    sufficient_stats,
    tuning_rho2,
    two_proportion,
    welch,
)
from customer_analytics.experiments.compare import Comparison

# GrowthBook gbstats, tests/frequentist/test_tests.py (two-sided t-test): control mean
# 0.41 sd 3.9, treatment mean 0.70 sd 6.2, as count/sum/sum of squares.
GB_CONTROL = SampleStats(n=3407, sum=1396.87, sum_sq=52377.9767)
GB_TREATMENT = SampleStats(n=3461, sum=2422.7, sum_sq=134698.29)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- statistics ----------------------------------------------------------------------


def test_sample_stats_match_numpy() -> None:
    x = rng().gamma(2.0, 10.0, 1000)
    s = SampleStats.from_values(x)
    assert s.n == 1000
    assert s.mean == pytest.approx(x.mean(), rel=1e-12)
    assert s.variance == pytest.approx(x.var(ddof=1), rel=1e-10)
    assert s.mean_variance == pytest.approx(x.var(ddof=1) / 1000, rel=1e-10)


def test_golden_stats_are_growthbooks_means_and_sds() -> None:
    assert GB_CONTROL.mean == pytest.approx(0.41)
    assert np.sqrt(GB_CONTROL.variance) == pytest.approx(3.9)
    assert GB_TREATMENT.mean == pytest.approx(0.70)
    assert np.sqrt(GB_TREATMENT.variance) == pytest.approx(6.2)


def test_strata_add_up_to_the_concatenated_data() -> None:
    g = rng(1)
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
    g = rng(2)
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
    g = rng(3)
    x = g.normal(10, 3, 500)
    y = 2 * x + g.normal(0, 1, 500)
    s = CovariateStats.from_values(y, x)
    assert s.covariance == pytest.approx(np.cov(x, y)[0, 1], rel=1e-10)
    assert s.correlation == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-10)


# --- comparisons ---------------------------------------------------------------------


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
    g = rng(seed)
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
    g = rng(4)
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
    g = rng(5)
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
    g = rng(seed)
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


# --- SRM, multiplicity, Bayes, heterogeneity -----------------------------------------


def test_srm_kohavi_example() -> None:
    # Kohavi, Tang & Xu (2020), ch. 3: 821,588 vs 815,482 on a 50/50 plan, p = 1.8e-6.
    r = srm_check({"control": 821_588, "treatment": 815_482}, {"control": 1, "treatment": 1})
    assert round(r.p, 7) == 1.8e-6
    assert not r.passed
    assert r.expected == {"control": 818_535.0, "treatment": 818_535.0}
    assert r.observed_share["control"] == pytest.approx(821_588 / 1_637_070)


def test_srm_three_arms_and_validation() -> None:
    r = srm_check({"a": 3400, "b": 3300, "c": 3300}, {"a": 0.34, "b": 0.33, "c": 0.33})
    assert r.passed and r.df == 2 and r.chi2 == pytest.approx(0.0)
    with pytest.raises(ValueError, match="arms differ"):
        srm_check({"a": 1, "b": 2}, {"a": 1, "c": 1})


def _comparison(estimate: float, se: float) -> Comparison:
    """A z-test comparison with the given relative and absolute lift."""
    p = 2 * sps.norm.sf(abs(estimate / se))
    ci = (estimate - 1.959963984540054 * se, estimate + 1.959963984540054 * se)
    return Comparison(
        "mean", "z", 1.0, 1.0 + estimate, 1e4, 1e4, estimate, se, ci, p,
        estimate, se, ci, p, np.inf, 0.05,
    )  # fmt: skip


def test_multiplicity_matches_statsmodels_with_the_method_named() -> None:
    estimates = [0.05, 0.021, 0.019, 0.002, -0.03]
    family = {f"m{i}": _comparison(e, 0.01) for i, e in enumerate(estimates)}
    p = np.array([c.rel_p for c in family.values()])
    for method, sm_name in (("holm", "holm"), ("bh", "fdr_bh")):
        reject, p_adj, _, _ = multipletests(p, alpha=0.05, method=sm_name)
        ours_p, ours_reject = adjust_pvalues(p, method)
        np.testing.assert_allclose(ours_p, p_adj)
        np.testing.assert_array_equal(ours_reject, reject)
        result = correct_family(family, method)
        np.testing.assert_allclose([m.p_adjusted for m in result.members], p_adj)
    # Holm is not statsmodels' default Holm-Sidak.
    assert not np.allclose(adjust_pvalues(p)[0], multipletests(p)[1])
    # Our own Holm step-down equals statsmodels' on random families, ties included.
    rng = np.random.default_rng(5)
    for size in (1, 2, 3, 7, 20):
        for _ in range(10):  # statsmodels' Holm runs gc.collect() each call: few calls
            p = np.round(rng.random(size) ** 3, 3)
            reject, p_adj, _, _ = multipletests(p, alpha=0.05, method="holm")
            ours_p, ours_reject = adjust_pvalues(p, "holm")
            np.testing.assert_allclose(ours_p, p_adj)
            np.testing.assert_array_equal(ours_reject, reject)


def test_family_intervals_and_the_disagreement_flag() -> None:
    # Holm rejects m2 at its second step (p < 0.05/4) but Bonferroni's 0.05/5 interval
    # covers zero: flagged.
    family = {
        "m1": _comparison(0.06, 0.01),
        "m2": _comparison(0.0253, 0.01),
        "m3": _comparison(0.001, 0.01),
        "m4": _comparison(0.002, 0.01),
        "m5": _comparison(0.003, 0.01),
    }
    holm = correct_family(family, "holm")
    assert holm.ci_alpha == pytest.approx(0.01)
    assert holm["m1"].reject and not holm["m1"].disagrees
    assert holm["m2"].reject and not holm["m2"].ci_excludes_zero and holm["m2"].disagrees
    assert not any(holm[k].disagrees for k in ("m3", "m4", "m5"))
    half = sps.norm.ppf(1 - 0.01 / 2) * 0.01
    assert holm["m1"].ci == pytest.approx((0.06 - half, 0.06 + half))
    bh = correct_family(family, "bh")
    rejected = sum(m.reject for m in bh.members)
    assert bh.ci_alpha == pytest.approx(0.05 * rejected / 5)
    # Benjamini-Yekutieli intervals agree with BH's decisions.
    assert not any(m.disagrees for m in bh.members)


def test_bayes_chance_to_win_is_not_one_minus_p() -> None:
    c = _comparison(0.0196, 0.01)
    b = bayesian_view(c)
    assert b.chance_to_win == pytest.approx(1 - c.rel_p / 2, rel=1e-12)
    assert b.chance_to_win != pytest.approx(1 - c.rel_p, abs=1e-3)
    post = sps.norm(0.0196, 0.01)
    loss_ship = integrate.quad(lambda x: -x * post.pdf(x), -np.inf, 0)[0]
    loss_keep = integrate.quad(lambda x: x * post.pdf(x), 0, np.inf)[0]
    assert b.risk_treatment == pytest.approx(loss_ship, rel=1e-7)
    assert b.risk_control == pytest.approx(loss_keep, rel=1e-7)


def test_cochran_q_matches_statsmodels_meta_analysis() -> None:
    e = np.array([0.10, 0.30, 0.20, 0.50])
    v = np.array([0.010, 0.020, 0.015, 0.030])
    r = cochran_q(e, v)
    ref = combine_effects(e, v)
    assert r.q == pytest.approx(ref.q, rel=1e-12)
    assert r.i_squared == pytest.approx(ref.i2, rel=1e-12)
    assert r.pooled_estimate == pytest.approx(ref.mean_effect_fe, rel=1e-12)
    assert r.pooled_se == pytest.approx(ref.sd_eff_w_fe, rel=1e-12)
    assert r.p == pytest.approx(sps.chi2.sf(ref.q, 3))
    same = segment_heterogeneity({k: _comparison(0.05, 0.01) for k in "abc"})
    assert same.q == 0 and same.i_squared == 0 and same.p == 1


# --- power ---------------------------------------------------------------------------


@pytest.mark.parametrize("share", [0.5, 0.3])
def test_sample_size_for_means_matches_statsmodels(share: float) -> None:
    s = sample_size(0.05, mean=40.0, sd=60.0, alpha=0.05, power=0.8, treatment_share=share)
    nobs1 = NormalIndPower().solve_power(
        effect_size=0.05 * 40 / 60, alpha=0.05, power=0.8, ratio=share / (1 - share)
    )
    assert s.n_control == int(np.ceil(nobs1 - 1e-6))
    assert s.n_treatment == pytest.approx(nobs1 * share / (1 - share), abs=1)
    mde = minimum_detectable_effect(s.n_control, s.n_treatment, mean=40.0, sd=60.0)
    assert mde == pytest.approx(0.05, rel=1e-3)


def test_sample_size_for_proportions_matches_statsmodels() -> None:
    s = sample_size(0.10, proportion=0.05)
    got = power_proportions_2indep(
        0.005, 0.05, s.n_treatment, ratio=s.n_control / s.n_treatment, return_results=False
    )
    assert got == pytest.approx(0.8, abs=2e-4)
    assert got >= 0.8
    smaller = power_proportions_2indep(
        0.005, 0.05, s.n_treatment - 10, ratio=1.0, return_results=False
    )
    assert smaller < 0.8
    mde = minimum_detectable_effect(s.n_control, s.n_treatment, proportion=0.05)
    assert mde == pytest.approx(0.10, rel=1e-3)


def test_achieved_power_matches_statsmodels() -> None:
    g = rng(8)
    a = SampleStats.from_values(g.normal(20, 5, 1500))
    b = SampleStats.from_values(g.normal(20, 7, 1700))
    got = achieved_power(a, b, 0.02)
    se = np.sqrt(a.mean_variance + b.mean_variance)
    ref = normal_power_het(0.02 * a.mean, 1, 0.05, std_null=se)
    assert got == pytest.approx(ref, rel=1e-12)


# --- sequential ----------------------------------------------------------------------


def test_confidence_sequence_is_the_normal_mixture_boundary() -> None:
    g = rng(9)
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


# --- reduce --------------------------------------------------------------------------


@pytest.fixture
def units() -> pd.DataFrame:
    g = rng(10)
    n = 600
    frame = pd.DataFrame(
        {
            "arm": g.choice(["control", "treatment"], n),
            "segment": g.choice(["new", "returning", "vip"], n),
            "converted": g.integers(0, 2, n).astype("int8"),
            "revenue": np.round(g.gamma(2, 30, n), 2),
            "orders": g.poisson(1.5, n),
            "pre_revenue": np.round(g.gamma(2, 25, n), 2),
        }
    )
    frame.loc[frame.index[::17], "revenue"] = np.nan  # exposed, no outcome row
    return frame


def _pandas_stats(frame: pd.DataFrame, keys: list[str], cap: float | None) -> pd.DataFrame:
    f = frame.fillna({"revenue": 0.0}).astype({"converted": float, "orders": float})
    if cap is not None:
        f["revenue"] = f["revenue"].clip(upper=cap)
    f["revenue_sq"] = f.revenue**2
    f["rev_x_pre"] = f.revenue * f.pre_revenue
    f["rev_x_orders"] = f.revenue * f.orders
    g = f.groupby(keys)
    return pd.DataFrame(
        {
            "n": g.size(),
            "revenue__sum": g.revenue.sum(),
            "revenue__sum_sq": g.revenue_sq.sum(),
            "revenue__x__pre_revenue": g.rev_x_pre.sum(),
            "revenue__x__orders": g.rev_x_orders.sum(),
            "converted__sum": g.converted.sum(),
        }
    ).reset_index()


@pytest.mark.parametrize("winsor", [None, 0.95])
def test_reduce_matches_pandas(units: pd.DataFrame, winsor: float | None) -> None:
    table = ibis.memtable(units)
    frame = sufficient_stats(
        table,
        "arm",
        ["converted", "revenue"],
        segments=["segment"],
        covariate="pre_revenue",
        denominator="orders",
        winsorize={"revenue": winsor} if winsor else None,
    )
    cap = units.revenue.fillna(0.0).quantile(winsor) if winsor else None
    expected = _pandas_stats(units, ["arm", "segment"], cap)
    assert len(frame) == 6
    pd.testing.assert_frame_equal(frame[expected.columns], expected, check_dtype=False, rtol=1e-10)
    if winsor:
        assert frame["revenue__cap"].eq(cap).all()
    per = collapse(frame, ["arm"])
    expected_per = _pandas_stats(units, ["arm"], cap)
    pd.testing.assert_frame_equal(
        per[expected_per.columns],
        expected_per,
        check_dtype=False,
        rtol=1e-10,
    )


def test_reduce_rows_become_the_dataclasses_of_the_raw_data(units: pd.DataFrame) -> None:
    frame = sufficient_stats(
        ibis.memtable(units), "arm", ["revenue"], segments=["segment"], covariate="pre_revenue"
    )
    control = units[units.arm == "control"].fillna({"revenue": 0.0})
    got = per_arm(frame, "arm", "revenue", covariate="pre_revenue")["control"]
    want = CovariateStats.from_values(control.revenue, control.pre_revenue)
    for field in want.__dataclass_fields__:
        assert getattr(got, field) == pytest.approx(getattr(want, field), rel=1e-12)
    plain = per_arm(frame, "arm", "revenue")["control"]
    assert plain == SampleStats(want.n, pytest.approx(want.y_sum), pytest.approx(want.y_sum_sq))


def test_reduce_validates_columns(units: pd.DataFrame) -> None:
    table = ibis.memtable(units)
    with pytest.raises(KeyError, match="no column"):
        sufficient_stats(table, "arm", ["nope"])
    with pytest.raises(KeyError, match="winsorize"):
        sufficient_stats(table, "arm", ["revenue"], winsorize={"orders": 0.9})
