"""Power analysis: sample size per arm, minimum detectable effect, achieved power.

Normal approximation for a two-sided test of the difference between two arms. Effects are
relative to the baseline (a 5% lift is ``relative_mde = 0.05``), the way they are planned.

* Means: both arms share the baseline standard deviation ``sd``; the test statistic's
  standard error is ``sd * sqrt(1/n_control + 1/n_treatment)``.
* Proportions: the two-proportion z-test of
  :func:`customer_analytics.experiments.stats.compare.two_proportion`, with the pooled variance
  under the null and the unpooled variance under the alternative (Fleiss, Levin & Paik
  2003, chapter 4), as ``statsmodels.stats.proportion.power_proportions_2indep``.

Sample sizes and MDEs solve ``z_{1-alpha/2} * se_null + z_power * se_alt = effect`` and
ignore the far tail (rejections in the wrong direction), which at any useful power is
below 1e-6; :func:`achieved_power` counts both tails.

References
----------
Cohen, J. (1988). Statistical Power Analysis for the Behavioral Sciences, 2nd ed.
Fleiss, J. L., Levin, B. & Paik, M. C. (2003). Statistical Methods for Rates and
Proportions, 3rd ed.
Hoenig, J. M. & Heisey, D. M. (2001). The abuse of power: the pervasive fallacy of power
calculations for data analysis. The American Statistician 55(1), 19-24.
Kohavi, R., Tang, D. & Xu, Y. (2020). Trustworthy Online Controlled Experiments,
chapter 17 (sample size, MDE).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy import stats as sps

from customer_analytics.experiments.stats.sufficient import SampleStats


@dataclass(frozen=True)
class SampleSize:
    """Units needed per arm (rounded up) for a planned relative MDE."""

    n_control: int
    n_treatment: int
    n_total: int
    relative_mde: float
    absolute_mde: float
    alpha: float
    power: float


def _baseline(
    mean: float | None, sd: float | None, proportion: float | None
) -> tuple[float, float | None]:
    """``(baseline mean, sd)``; ``sd`` is None for a proportion."""
    if proportion is not None:
        if mean is not None or sd is not None:
            raise ValueError("give either mean and sd, or proportion, not both")
        if not 0 < proportion < 1:
            raise ValueError(f"proportion must be in (0, 1), not {proportion}")
        return proportion, None
    if mean is None or sd is None:
        raise ValueError("give mean and sd (a continuous metric) or proportion")
    if sd <= 0 or mean == 0:
        raise ValueError("sd must be positive and mean non-zero")
    return mean, sd


def _proportion_se_units(p1: float, p2: float, share: float) -> tuple[float, float]:
    """Null (pooled) and alternative standard errors times ``sqrt(total units)``."""
    w = 1 / (1 - share) + 1 / share
    pooled = (1 - share) * p1 + share * p2
    se_null = math.sqrt(pooled * (1 - pooled) * w)
    se_alt = math.sqrt(p1 * (1 - p1) / (1 - share) + p2 * (1 - p2) / share)
    return se_null, se_alt


def sample_size(
    relative_mde: float,
    *,
    mean: float | None = None,
    sd: float | None = None,
    proportion: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    treatment_share: float = 0.5,
) -> SampleSize:
    """Units per arm to detect a relative lift with the given power.

    Parameters
    ----------
    relative_mde : float
        Smallest relative lift worth detecting (0.05 for +5%); negative for a drop.
    mean, sd : float, optional
        Baseline mean and unit-level standard deviation of a continuous metric.
    proportion : float, optional
        Baseline rate of a 0/1 metric (instead of ``mean`` and ``sd``).
    alpha : float, default 0.05
        Two-sided level.
    power : float, default 0.8
    treatment_share : float, default 0.5
        Share of units in the treatment arm.

    Returns
    -------
    SampleSize

    Notes
    -----
    Means: ``N = (z_{1-alpha/2} + z_power)**2 * sd**2 * (1/s + 1/(1-s)) / delta**2`` units
    in total with ``s`` the treatment share (Cohen 1988, ch. 2). Proportions: the
    pooled/unpooled form of Fleiss, Levin & Paik (2003, chapter 4) generalised to
    unequal arms.
    """
    if not 0 < treatment_share < 1:
        raise ValueError("treatment_share must be in (0, 1)")
    base, sd = _baseline(mean, sd, proportion)
    delta = relative_mde * base
    if delta == 0:
        raise ValueError("relative_mde must be non-zero")
    z_a, z_b = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)
    if sd is not None:
        w = 1 / treatment_share + 1 / (1 - treatment_share)
        root_n = (z_a + z_b) * sd * math.sqrt(w) / abs(delta)
    else:
        p2 = base + delta
        if not 0 < p2 < 1:
            raise ValueError(f"treatment proportion {p2} is outside (0, 1)")
        se_null, se_alt = _proportion_se_units(base, p2, treatment_share)
        root_n = (z_a * se_null + z_b * se_alt) / abs(delta)
    total = root_n**2
    n_c = math.ceil(total * (1 - treatment_share))
    n_t = math.ceil(total * treatment_share)
    return SampleSize(n_c, n_t, n_c + n_t, relative_mde, delta, alpha, power)


def minimum_detectable_effect(
    n_control: int,
    n_treatment: int,
    *,
    mean: float | None = None,
    sd: float | None = None,
    proportion: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Smallest positive relative lift detectable with the given arm sizes and power.

    Parameters
    ----------
    n_control, n_treatment : int
        Units per arm.
    mean, sd, proportion, alpha, power
        As for :func:`sample_size`.

    Returns
    -------
    float
        Relative MDE (``nan`` for a proportion whose MDE would push the rate past 1).
    """
    base, sd = _baseline(mean, sd, proportion)
    if sd is not None:
        return mde_from_se(sd * math.sqrt(1 / n_control + 1 / n_treatment), base, alpha, power)
    z_a, z_b = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)
    total = n_control + n_treatment
    share = n_treatment / total

    def gap(p2: float) -> float:
        se_null, se_alt = _proportion_se_units(base, p2, share)
        return (z_a * se_null + z_b * se_alt) / math.sqrt(total) - (p2 - base)

    # gap > 0 near the baseline (no effect is detectable) and falls as p2 grows.
    upper = 1 - 1e-12
    if gap(upper) > 0:
        return float("nan")
    p2 = optimize.brentq(gap, base + 1e-15, upper, xtol=1e-14)
    return (p2 - base) / base


def power_from_se(se: float, baseline: float, relative_effect: float, alpha: float = 0.05) -> float:
    """Power of a two-sided z-test whose estimate has standard error ``se``.

    The probability of rejecting at ``alpha`` if the true lift were ``relative_effect``
    of ``baseline``, counting both tails: ``Phi(d/se - z) + Phi(-d/se - z)`` with
    ``d = relative_effect * baseline`` (Cohen 1988, ch. 2; the normal approximation of
    every test in :mod:`customer_analytics.experiments.stats.compare` at large samples). Works
    for any comparison with a standard error: CUPED-adjusted, ratio (delta method).

    Parameters
    ----------
    se : float
        Standard error of the absolute lift.
    baseline : float
        Control mean (the relative effect's base).
    relative_effect : float
    alpha : float, default 0.05

    Returns
    -------
    float
        ``nan`` when ``se`` is not positive.
    """
    if not se > 0:
        return float("nan")
    shift = relative_effect * baseline / se
    z = sps.norm.ppf(1 - alpha / 2)
    return float(sps.norm.cdf(shift - z) + sps.norm.cdf(-shift - z))


def mde_from_se(se: float, baseline: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest relative lift a test with standard error ``se`` detects with ``power``.

    ``(z_{1-alpha/2} + z_power) * se / |baseline|`` (Kohavi, Tang & Xu 2020, ch. 17),
    ignoring the far tail as :func:`minimum_detectable_effect` does; for a mean metric
    with ``se = sqrt(var_c/n_c + var_t/n_t)`` it is that function's MDE with the arms'
    own variances.

    Returns
    -------
    float
        ``nan`` when ``se`` is not positive or the baseline is zero.
    """
    if not se > 0 or baseline == 0:
        return float("nan")
    z = sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)
    return float(z * se / abs(baseline))


def achieved_power(
    control: SampleStats,
    treatment: SampleStats,
    relative_effect: float,
    alpha: float = 0.05,
) -> float:
    """Power a finished test had against a planned relative effect.

    Uses the arms' observed sizes and variances and the control mean: the probability
    that a two-sided z-test at ``alpha`` rejects if the true lift were
    ``relative_effect``, counting both tails (:func:`power_from_se`). Pass the effect
    the test was planned for (the MDE), not the observed lift: "observed power" at the
    observed effect is a function of the p-value and says nothing more (Hoenig &
    Heisey 2001).

    Parameters
    ----------
    control, treatment : SampleStats
    relative_effect : float
        Hypothesised relative lift.
    alpha : float, default 0.05

    Returns
    -------
    float
    """
    se = float(np.sqrt(control.mean_variance + treatment.mean_variance))
    return power_from_se(se, float(control.mean), relative_effect, alpha)
