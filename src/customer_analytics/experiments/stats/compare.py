"""Two-arm comparisons on sufficient statistics: absolute and relative lift.

Every test takes the statistics of :mod:`customer_analytics.experiments.stats.sufficient`, never raw
rows, and returns a :class:`Comparison` with the absolute lift (treatment minus control)
and the relative lift (treatment over control, minus one), each with a standard error,
a two-sided confidence interval and a p-value. The relative lift is always by the delta
method (its variance treats the control mean in the denominator as random), with the
degrees of freedom of the absolute test, as GrowthBook's frequentist engine does.

All functions work elementwise when the statistics hold numpy arrays.

References
----------
Welch, B. L. (1947). The generalization of "Student's" problem when several different
population variances are involved. Biometrika 34(1/2), 28-35.
Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
components. Biometrics Bulletin 2(6), 110-114.
Deng, A., Knoblich, U. & Lu, J. (2018). Applying the delta method in metric analytics: a
practical guide with novel ideas. KDD '18, 233-242.
Deng, A., Xu, Y., Kohavi, R. & Walker, T. (2013). Improving the sensitivity of online
controlled experiments by utilizing pre-experiment data. WSDM '13, 123-132.
GrowthBook, "Frequentist statistics" (https://docs.growthbook.io/statistics/frequentist)
and ``gbstats/frequentist/tests.py``: relative lift with delta-method variance and
Welch-Satterthwaite degrees of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy import stats as sps

from customer_analytics.experiments.stats.sufficient import (
    CovariateStats,
    FloatLike,
    RatioStats,
    SampleStats,
)

Scale = Literal["absolute", "relative"]
Interval = tuple[FloatLike, FloatLike]


def interval(
    estimate: FloatLike, se: FloatLike, df: FloatLike, alpha: float
) -> tuple[Interval, FloatLike]:
    """Two-sided ``1 - alpha`` interval and p-value of ``estimate`` against zero.

    Student's t with ``df`` degrees of freedom; ``df = inf`` gives the normal (z) test.

    Parameters
    ----------
    estimate, se : float or ndarray
        Point estimate and its standard error.
    df : float or ndarray
        Degrees of freedom.
    alpha : float
        Significance level.

    Returns
    -------
    ((low, high), p_value)
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        half = sps.t.ppf(1 - alpha / 2, df) * se
        p = 2 * sps.t.sf(np.abs(estimate / se), df)
    return (estimate - half, estimate + half), p


def welch_df(var_a: FloatLike, n_a: FloatLike, var_b: FloatLike, n_b: FloatLike) -> FloatLike:
    """Welch-Satterthwaite degrees of freedom from unit-level variances and counts.

    ``(va/na + vb/nb)**2 / ((va/na)**2/(na-1) + (vb/nb)**2/(nb-1))``
    (Satterthwaite 1946; Welch 1947).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ma, mb = var_a / n_a, var_b / n_b
        return (ma + mb) ** 2 / (ma**2 / (n_a - 1) + mb**2 / (n_b - 1))


def relative_variance(
    mean_a: FloatLike, mean_b: FloatLike, var_mean_a: FloatLike, var_mean_b: FloatLike
) -> FloatLike:
    """Delta-method variance of ``mean_b / mean_a - 1`` for independent arms.

    ``var_b / a**2 + var_a * b**2 / a**4`` with ``var_*`` the variances of the means
    (Deng, Knoblich & Lu 2018, section 3.3; the formula of GrowthBook's ``TTest``).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return var_mean_b / mean_a**2 + var_mean_a * mean_b**2 / mean_a**4


@dataclass(frozen=True)
class Comparison:
    """Result of a two-arm comparison.

    Attributes
    ----------
    metric : str
        Kind of metric: ``"mean"``, ``"proportion"``, ``"ratio"`` or ``"cuped"``.
    method : str
        Test that produced it (``"welch-t"``, ``"two-proportion-z"``, ``"delta-method"``,
        ``"cuped"``).
    control_mean, treatment_mean : float
        Arm means (ratio of means for ratio metrics, CUPED-adjusted means for CUPED).
    control_n, treatment_n : float
        Units per arm.
    abs_lift, abs_se, abs_ci, abs_p : float
        ``treatment_mean - control_mean``, its standard error, ``1 - alpha`` interval and
        two-sided p-value.
    rel_lift, rel_se, rel_ci, rel_p : float
        The same for ``treatment_mean / control_mean - 1`` (delta method).
    df : float
        Degrees of freedom of both tests (``inf`` for z-tests).
    alpha : float
        Level of the intervals.
    variance_reduction : float or None
        CUPED only: ``1 - var_adjusted / var_unadjusted`` of the absolute lift.
    theta : float or None
        CUPED only: the regression coefficient on the covariate.
    """

    metric: str
    method: str
    control_mean: FloatLike
    treatment_mean: FloatLike
    control_n: FloatLike
    treatment_n: FloatLike
    abs_lift: FloatLike
    abs_se: FloatLike
    abs_ci: Interval
    abs_p: FloatLike
    rel_lift: FloatLike
    rel_se: FloatLike
    rel_ci: Interval
    rel_p: FloatLike
    df: FloatLike
    alpha: float
    variance_reduction: FloatLike | None = None
    theta: FloatLike | None = None

    def lift(self, scale: Scale = "relative") -> tuple[FloatLike, FloatLike]:
        """``(estimate, standard error)`` of the lift on the given scale."""
        if scale == "absolute":
            return self.abs_lift, self.abs_se
        if scale == "relative":
            return self.rel_lift, self.rel_se
        raise ValueError(f"scale must be 'absolute' or 'relative', not {scale!r}")

    def at_level(self, alpha: float) -> Comparison:
        """The same comparison with ``1 - alpha`` intervals (p-values are unchanged)."""
        (a_lo, a_hi), _ = interval(self.abs_lift, self.abs_se, self.df, alpha)
        (r_lo, r_hi), _ = interval(self.rel_lift, self.rel_se, self.df, alpha)
        return replace(
            self,
            abs_ci=(_tidy(a_lo), _tidy(a_hi)),
            rel_ci=(_tidy(r_lo), _tidy(r_hi)),
            alpha=alpha,
        )


def _tidy(value: FloatLike) -> FloatLike:
    """Plain floats for scalar results (readable reprs, JSON); arrays stay arrays."""
    return float(value) if np.ndim(value) == 0 else np.asarray(value)


def _build(
    metric: str,
    method: str,
    means: tuple[FloatLike, FloatLike],
    ns: tuple[FloatLike, FloatLike],
    abs_se: FloatLike,
    rel_se: FloatLike,
    df: FloatLike,
    alpha: float,
    abs_p: FloatLike | None = None,
    **extra: FloatLike,
) -> Comparison:
    mean_a, mean_b = means
    abs_lift = mean_b - mean_a
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_lift = mean_b / mean_a - 1
    abs_ci, p = interval(abs_lift, abs_se, df, alpha)
    rel_ci, rel_p = interval(rel_lift, rel_se, df, alpha)
    return Comparison(
        metric=metric,
        method=method,
        control_mean=_tidy(mean_a),
        treatment_mean=_tidy(mean_b),
        control_n=_tidy(ns[0]),
        treatment_n=_tidy(ns[1]),
        abs_lift=_tidy(abs_lift),
        abs_se=_tidy(abs_se),
        abs_ci=(_tidy(abs_ci[0]), _tidy(abs_ci[1])),
        abs_p=_tidy(p if abs_p is None else abs_p),
        rel_lift=_tidy(rel_lift),
        rel_se=_tidy(rel_se),
        rel_ci=(_tidy(rel_ci[0]), _tidy(rel_ci[1])),
        rel_p=_tidy(rel_p),
        df=_tidy(df),
        alpha=alpha,
        **{k: _tidy(v) for k, v in extra.items()},
    )


def welch(control: SampleStats, treatment: SampleStats, alpha: float = 0.05) -> Comparison:
    """Welch's unequal-variance t-test on the difference of means, plus relative lift.

    The absolute lift's t statistic, degrees of freedom and p-value are those of
    ``scipy.stats.ttest_ind_from_stats(..., equal_var=False)`` (Welch 1947; Satterthwaite
    1946). The relative lift uses the delta-method variance of
    :func:`relative_variance` with the same Welch-Satterthwaite degrees of freedom, which
    is GrowthBook's two-sided frequentist test.

    Parameters
    ----------
    control, treatment : SampleStats
        Statistics of the two arms.
    alpha : float, default 0.05
        Intervals are ``1 - alpha``.

    Returns
    -------
    Comparison
    """
    va, vb = control.mean_variance, treatment.mean_variance
    df = welch_df(control.variance, control.n, treatment.variance, treatment.n)
    rel_var = relative_variance(control.mean, treatment.mean, va, vb)
    return _build(
        "mean",
        "welch-t",
        (control.mean, treatment.mean),
        (control.n, treatment.n),
        np.sqrt(va + vb),
        np.sqrt(rel_var),
        df,
        alpha,
    )


def _check_binary(stats: SampleStats, arm: str) -> None:
    if not np.allclose(stats.sum_sq, stats.sum, rtol=1e-9, atol=1e-9):
        raise ValueError(f"{arm}: not a proportion metric (sum_sq != sum, values not 0/1)")


def two_proportion(control: SampleStats, treatment: SampleStats, alpha: float = 0.05) -> Comparison:
    """Two-proportion z-test for a 0/1 metric, plus relative lift.

    The p-value of the absolute difference uses the pooled standard error
    ``sqrt(p(1-p)(1/na + 1/nb))`` with ``p`` the pooled proportion (the score test: under
    the null both arms share one proportion). The confidence interval uses the unpooled
    (Wald) standard error ``sqrt(pa(1-pa)/na + pb(1-pb)/nb)``, which ``abs_se`` holds, as
    the interval must be valid where the proportions differ. The relative lift uses the
    delta method with the unpooled variances. Both are normal approximations
    (``df = inf``); see Agresti (2013), Categorical Data Analysis, section 3.1 and 3.2.

    Parameters
    ----------
    control, treatment : SampleStats
        Statistics of 0/1 values (``sum_sq == sum``).
    alpha : float, default 0.05

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        If either arm's values are not 0/1.
    """
    _check_binary(control, "control")
    _check_binary(treatment, "treatment")
    pa, pb = control.mean, treatment.mean
    na, nb = control.n, treatment.n
    va, vb = pa * (1 - pa) / na, pb * (1 - pb) / nb
    pooled = (control.sum + treatment.sum) / (na + nb)
    pooled_se = np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    _, p = interval(pb - pa, pooled_se, np.inf, alpha)
    return _build(
        "proportion",
        "two-proportion-z",
        (pa, pb),
        (na, nb),
        np.sqrt(va + vb),
        np.sqrt(relative_variance(pa, pb, va, vb)),
        np.inf,
        alpha,
        abs_p=p,
    )


def ratio(control: RatioStats, treatment: RatioStats, alpha: float = 0.05) -> Comparison:
    """Ratio metric (e.g. revenue per order) by the delta method.

    Each arm's ratio of means has the delta-method variance of
    :attr:`RatioStats.mean_variance` (Deng, Knoblich & Lu 2018); the absolute lift is
    their difference (independent arms) and the relative lift applies the delta method
    once more (:func:`relative_variance`). Degrees of freedom: Welch-Satterthwaite on the
    unit-scale delta-method variances, as for means.

    Parameters
    ----------
    control, treatment : RatioStats
    alpha : float, default 0.05

    Returns
    -------
    Comparison
    """
    va, vb = control.mean_variance, treatment.mean_variance
    df = welch_df(control.variance, control.n, treatment.variance, treatment.n)
    return _build(
        "ratio",
        "delta-method",
        (control.mean, treatment.mean),
        (control.n, treatment.n),
        np.sqrt(va + vb),
        np.sqrt(relative_variance(control.mean, treatment.mean, va, vb)),
        df,
        alpha,
    )


def _quadratic(gy: FloatLike, gx: FloatLike, s: CovariateStats) -> FloatLike:
    """``g' Sigma g / n`` for the gradient ``g = (gy, gx)`` and the arm's (y, x) covariance."""
    q = gy**2 * s.y.variance + 2 * gy * gx * s.covariance + gx**2 * s.x.variance
    with np.errstate(divide="ignore", invalid="ignore"):
        return q / s.n


def cuped(control: CovariateStats, treatment: CovariateStats, alpha: float = 0.05) -> Comparison:
    """CUPED: the difference of means adjusted by a pre-period covariate.

    Deng, Xu, Kohavi & Walker (2013): each unit's metric becomes
    ``y - theta * (x - mean(x))`` with ``theta = cov(x, y) / var(x)``. ``theta`` is pooled
    across arms from the within-arm covariances (the arms' centred cross-products added
    up), so the absolute lift ``(yb - ya) - theta * (xb - xa)`` equals the treatment
    coefficient of the OLS regression ``y ~ 1 + treatment + x`` (ANCOVA). Pooling within
    arms keeps a treatment effect on ``y`` out of ``theta``. As in the paper, ``theta``
    is treated as known: its estimation error is of smaller order.

    The standard error is Welch's on the adjusted metric, whose unit variance per arm is
    ``var(y) - 2 theta cov(x, y) + theta**2 var(x)``; degrees of freedom are
    Welch-Satterthwaite on those variances. The reported means are the adjusted means
    ``mean(y) - theta * (mean_arm(x) - mean_pooled(x))``; the relative lift is their ratio
    minus one with a delta-method variance over ``(mean(y), mean(x))`` of both arms
    (Deng, Knoblich & Lu 2018, section 3.4).

    Parameters
    ----------
    control, treatment : CovariateStats
    alpha : float, default 0.05

    Returns
    -------
    Comparison
        With ``theta`` and ``variance_reduction = 1 - var_adj / var_unadj`` of the
        absolute lift.
    """
    a, b = control, treatment
    sxx = (a.n - 1) * a.x.variance + (b.n - 1) * b.x.variance
    sxy = (a.n - 1) * a.covariance + (b.n - 1) * b.covariance
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = _tidy(np.where(sxx > 0, sxy / sxx, 0.0))

    def adjusted_unit_variance(s: CovariateStats) -> FloatLike:
        v = s.y.variance - 2 * theta * s.covariance + theta**2 * s.x.variance
        return np.maximum(v, 0.0)

    var_a, var_b = adjusted_unit_variance(a), adjusted_unit_variance(b)
    abs_var = var_a / a.n + var_b / b.n
    df = welch_df(var_a, a.n, var_b, b.n)

    wa, wb = a.n / (a.n + b.n), b.n / (a.n + b.n)
    mean_a = a.y.mean - theta * wb * (a.x.mean - b.x.mean)
    mean_b = b.y.mean - theta * wa * (b.x.mean - a.x.mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Gradient of mean_b / mean_a with respect to (ya, xa) and (yb, xb).
        c = theta * (wa * mean_a + wb * mean_b) / mean_a**2
        rel_var = _quadratic(-mean_b / mean_a**2, c, a) + _quadratic(1 / mean_a, -c, b)
        reduction = 1 - abs_var / (a.y.mean_variance + b.y.mean_variance)
    return _build(
        "cuped",
        "cuped",
        (mean_a, mean_b),
        (a.n, b.n),
        np.sqrt(abs_var),
        np.sqrt(rel_var),
        df,
        alpha,
        variance_reduction=reduction,
        theta=theta,
    )
