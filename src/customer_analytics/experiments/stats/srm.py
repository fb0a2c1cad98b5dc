"""Sample ratio mismatch: are the arms' sizes consistent with the planned split?

A mismatch means assignment or logging is broken and the arms are no longer comparable;
the lift estimates of such an experiment should not be read at all. The test is Pearson's
chi-square goodness of fit of the observed counts against the planned shares, at a strict
level (``alpha = 0.001`` by default) because it runs on every experiment and a false alarm
discards good data.

References
----------
Fabijan, A., Gupchup, J., Gupta, S., Omhover, J., Qin, W., Vermeer, L. & Dmitriev, P.
(2019). Diagnosing sample ratio mismatch in online controlled experiments. KDD '19.
Kohavi, R., Tang, D. & Xu, Y. (2020). Trustworthy Online Controlled Experiments,
chapters 3 (the 821,588 / 815,482 example, p = 1.8e-6) and 21.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps


@dataclass(frozen=True)
class SRMResult:
    """Outcome of :func:`srm_check`.

    Attributes
    ----------
    chi2 : float
        Pearson's statistic ``sum((observed - expected)**2 / expected)``.
    df : int
        Arms minus one.
    p : float
        Upper tail probability of ``chi2`` under the chi-square distribution.
    passed : bool
        ``p >= alpha``: no evidence of a mismatch.
    alpha : float
    expected : dict[str, float]
        Expected counts per arm under the planned split.
    observed_share, planned_share : dict[str, float]
        Observed and planned share of units per arm (planned shares normalised to sum 1).
    """

    chi2: float
    df: int
    p: float
    passed: bool
    alpha: float
    expected: dict[str, float]
    observed_share: dict[str, float]
    planned_share: dict[str, float]


def srm_check(
    counts: Mapping[str, int], planned: Mapping[str, float], alpha: float = 0.001
) -> SRMResult:
    """Chi-square goodness-of-fit test of arm sizes against the planned split.

    Parameters
    ----------
    counts : mapping of str to int
        Units assigned per arm.
    planned : mapping of str to float
        Planned weight per arm, same arms; normalised, so ``{"a": 1, "b": 1}`` is 50/50.
    alpha : float, default 0.001
        The test fails (``passed = False``) when ``p < alpha``.

    Returns
    -------
    SRMResult

    Raises
    ------
    ValueError
        If the arms differ between ``counts`` and ``planned``, a planned weight is not
        positive, there are fewer than two arms or no units.
    """
    if set(counts) != set(planned):
        raise ValueError(f"arms differ: counts {sorted(counts)}, planned {sorted(planned)}")
    arms = list(planned)
    if len(arms) < 2:
        raise ValueError("an SRM check needs at least two arms")
    weights = np.array([planned[a] for a in arms], dtype=float)
    if np.any(weights <= 0):
        raise ValueError(f"planned weights must be positive: {dict(planned)}")
    observed = np.array([counts[a] for a in arms], dtype=float)
    total = observed.sum()
    if total <= 0:
        raise ValueError("no units to check")
    share = weights / weights.sum()
    expected = total * share
    chi2, p = sps.chisquare(observed, expected)
    return SRMResult(
        chi2=float(chi2),
        df=len(arms) - 1,
        p=float(p),
        passed=bool(p >= alpha),
        alpha=alpha,
        expected=dict(zip(arms, expected.tolist(), strict=True)),
        observed_share=dict(zip(arms, (observed / total).tolist(), strict=True)),
        planned_share=dict(zip(arms, share.tolist(), strict=True)),
    )
