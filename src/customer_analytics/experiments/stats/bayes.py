"""A Bayesian reading of a comparison: chance to beat control and expected loss.

With a flat (uninformative) prior on the lift and the Gaussian approximation to the
likelihood of its estimate, the posterior of the lift is ``Normal(estimate, se**2)``:
GrowthBook's Bayesian engine with its default, improper flat prior. From it:

* chance to win ``P(lift > 0) = Phi(estimate / se)``;
* risk (expected loss) of shipping the treatment ``E[max(0, -lift)]`` and of keeping
  control ``E[max(0, lift)]``: the lift given up, on average, if the choice is wrong.
  For ``L ~ Normal(mu, s**2)``: ``E[max(0, -L)] = s*phi(mu/s) - mu*Phi(-mu/s)`` and
  ``E[max(0, L)] = s*phi(mu/s) + mu*Phi(mu/s)``.

Chance to win is not ``1 - p``. Under this prior it is ``1 - p/2`` when the estimate is
positive (and ``p/2`` when negative), since the two-sided p-value is
``2 * Phi(-|estimate| / se)``: an estimate with ``p = 0.05`` has a 97.5% chance to win,
not 95%, and ``p = 0.5`` means 75% (or 25%), not 50%. The t degrees of freedom are
ignored here (normal posterior), so the identity is exact only for z-tests.

References
----------
GrowthBook, "Bayesian statistics" (https://docs.growthbook.io/statistics/bayesian): the
Gaussian posterior of relative lift, chance to win and risk.
Stucchio, C. (2015). Bayesian A/B testing at VWO (the expected-loss decision rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from customer_analytics.experiments.stats.compare import Comparison, Scale
from customer_analytics.experiments.stats.sufficient import FloatLike


@dataclass(frozen=True)
class BayesResult:
    """The posterior summary of :func:`bayesian_view`.

    Attributes
    ----------
    scale : str
        ``"relative"`` or ``"absolute"``.
    mean, sd : float
        Posterior mean and standard deviation of the lift.
    credible_interval : tuple of float
        Equal-tailed posterior interval.
    chance_to_win : float
        ``P(lift > 0)``.
    risk_treatment : float
        Expected loss of shipping the treatment, ``E[max(0, -lift)]``.
    risk_control : float
        Expected loss of keeping control, ``E[max(0, lift)]``.
    """

    scale: str
    mean: FloatLike
    sd: FloatLike
    credible_interval: tuple[FloatLike, FloatLike]
    chance_to_win: FloatLike
    risk_treatment: FloatLike
    risk_control: FloatLike


def gaussian_posterior(
    estimate: FloatLike, se: FloatLike, level: float = 0.95, scale: Scale = "relative"
) -> BayesResult:
    """Posterior summary of a lift with flat prior and Normal(estimate, se**2) posterior.

    Parameters
    ----------
    estimate, se : float or ndarray
        The lift estimate and its standard error (elementwise for arrays).
    level : float, default 0.95
        Coverage of the credible interval.
    scale : {"relative", "absolute"}
        Recorded in the result.

    Returns
    -------
    BayesResult
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        z = estimate / se
    density = sps.norm.pdf(z)
    half = sps.norm.ppf(0.5 + level / 2) * se
    return BayesResult(
        scale=scale,
        mean=estimate,
        sd=se,
        credible_interval=(estimate - half, estimate + half),
        chance_to_win=sps.norm.cdf(z),
        risk_treatment=se * density - estimate * sps.norm.cdf(-z),
        risk_control=se * density + estimate * sps.norm.cdf(z),
    )


def bayesian_view(
    comparison: Comparison, scale: Scale = "relative", level: float = 0.95
) -> BayesResult:
    """Chance to beat control and risk of a :class:`Comparison` (flat prior).

    Parameters
    ----------
    comparison : Comparison
    scale : {"relative", "absolute"}, default "relative"
        Lift to read: relative (GrowthBook's default) or absolute.
    level : float, default 0.95
        Coverage of the credible interval.

    Returns
    -------
    BayesResult
        Chance to win is not ``1 - p``; see the module docstring.
    """
    estimate, se = comparison.lift(scale)
    return gaussian_posterior(estimate, se, level, scale)
