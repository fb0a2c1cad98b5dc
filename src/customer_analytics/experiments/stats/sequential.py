"""Always-valid confidence sequences for the difference of means (peeking allowed).

A fixed-sample interval is valid at one planned look; checking it every day and stopping
at the first significant one inflates the false-positive rate far above ``alpha``. A
confidence sequence covers the true lift at every look simultaneously with probability
``1 - alpha``, so an experiment can be stopped whenever its interval excludes zero.

The boundary is the two-sided normal-mixture boundary of Howard, Ramdas, McAuliffe &
Sekhon (2021) in the asymptotic form of Waudby-Smith, Arnold, Wu, Howard & Ramdas
(2023): with ``N`` units so far and ``s2`` the unit-level variance of the estimator
(``N`` times its squared standard error), the half-width is

    sqrt(s2) * sqrt(2 * (N * rho2 + 1) / (N**2 * rho2) * log(sqrt(N * rho2 + 1) / alpha))

The tuning ``rho2 = (-2 log(alpha) + log(-2 log(alpha) + 1)) / N_planned`` makes the
boundary tightest near the planned sample size (the closed-form approximate optimum
used by Waudby-Smith et al. 2023). GrowthBook's sequential testing uses the same boundary.

References
----------
Howard, S. R., Ramdas, A., McAuliffe, J. & Sekhon, J. (2021). Time-uniform,
nonparametric, nonasymptotic confidence sequences. Annals of Statistics 49(2), 1055-1080.
Waudby-Smith, I., Arnold, D., Wu, S., Howard, S. R. & Ramdas, A. (2023). Time-uniform
central limit theory and asymptotic confidence sequences. arXiv:2103.06476.
GrowthBook, "Sequential testing" (https://docs.growthbook.io/statistics/sequential).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from customer_analytics.experiments.stats.compare import Comparison, Scale
from customer_analytics.experiments.stats.sufficient import FloatLike, SampleStats


@dataclass(frozen=True)
class SequentialResult:
    """A confidence sequence's interval at one look.

    Attributes
    ----------
    estimate : float
        The lift (difference of means unless built from a relative comparison).
    ci : tuple of float
        Always-valid ``1 - alpha`` interval.
    halfwidth : float
    n : float
        Units in both arms at this look.
    planned_n : float
        Units the tuning was chosen for.
    rho2 : float
        Mixture tuning parameter.
    alpha : float
    excludes_zero : bool or ndarray
        The interval excludes zero: the experiment can stop with a decision.
    """

    estimate: FloatLike
    ci: tuple[FloatLike, FloatLike]
    halfwidth: FloatLike
    n: FloatLike
    planned_n: float
    rho2: float
    alpha: float
    excludes_zero: bool | np.ndarray


def tuning_rho2(planned_n: float, alpha: float = 0.05) -> float:
    """Mixture variance ``rho2`` that makes the boundary tightest at ``planned_n`` units.

    ``(-2 log(alpha) + log(-2 log(alpha) + 1)) / planned_n``: the approximate optimum
    of the normal-mixture width at ``planned_n`` (Howard et al. 2021; Waudby-Smith et
    al. 2023).
    """
    if planned_n <= 0:
        raise ValueError("planned_n must be positive")
    log_term = -2 * np.log(alpha)
    return float((log_term + np.log(log_term + 1)) / planned_n)


def halfwidth(
    unit_variance: FloatLike, n: FloatLike, rho2: float, alpha: float = 0.05
) -> FloatLike:
    """Half-width of the asymptotic normal-mixture confidence sequence at ``n`` units.

    Parameters
    ----------
    unit_variance : float or ndarray
        ``n`` times the variance of the estimator.
    n : float or ndarray
        Units so far.
    rho2 : float
        From :func:`tuning_rho2`.
    alpha : float, default 0.05
    """
    a = n * rho2 + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.sqrt(2 * a / (n**2 * rho2) * np.log(np.sqrt(a) / alpha))
    return np.sqrt(unit_variance) * width


def _result(
    estimate: FloatLike, se: FloatLike, n: FloatLike, planned_n: float, alpha: float
) -> SequentialResult:
    rho2 = tuning_rho2(planned_n, alpha)
    half = halfwidth(n * se**2, n, rho2, alpha)
    low, high = estimate - half, estimate + half
    excludes = (low > 0) | (high < 0)
    return SequentialResult(
        estimate=estimate,
        ci=(low, high),
        halfwidth=half,
        n=n,
        planned_n=planned_n,
        rho2=rho2,
        alpha=alpha,
        excludes_zero=bool(excludes) if np.ndim(excludes) == 0 else excludes,
    )


def confidence_sequence(
    control: SampleStats, treatment: SampleStats, planned_n: float, alpha: float = 0.05
) -> SequentialResult:
    """Always-valid interval for ``mean(treatment) - mean(control)`` at the current look.

    Call it at every look with the cumulative statistics so far; the intervals hold
    simultaneously over all looks with probability ``1 - alpha`` (asymptotically).

    Parameters
    ----------
    control, treatment : SampleStats
        Cumulative statistics at this look (arrays of looks work elementwise).
    planned_n : float
        Units in both arms the experiment is planned to reach; only tunes the width.
    alpha : float, default 0.05

    Returns
    -------
    SequentialResult
    """
    se = np.sqrt(control.mean_variance + treatment.mean_variance)
    estimate = treatment.mean - control.mean
    return _result(estimate, se, control.n + treatment.n, planned_n, alpha)


def sequential_interval(
    comparison: Comparison, planned_n: float, scale: Scale = "absolute"
) -> SequentialResult:
    """The confidence sequence around any :class:`Comparison` (CUPED, ratio, relative).

    Uses the comparison's estimate and standard error and its ``alpha``; valid as far as
    the estimate is asymptotically normal, as in Waudby-Smith et al. (2023).
    """
    estimate, se = comparison.lift(scale)
    n = comparison.control_n + comparison.treatment_n
    return _result(estimate, se, n, planned_n, comparison.alpha)
