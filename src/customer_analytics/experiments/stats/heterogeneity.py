"""Does a lift differ across segments? Cochran's Q and I-squared.

Each segment's comparison gives an effect estimate ``e_i`` with variance ``v_i``. Under
the hypothesis of one common effect, the inverse-variance weighted sum of squared
deviations from the pooled (fixed-effect) estimate

    Q = sum(w_i * (e_i - e_pooled)**2),  w_i = 1 / v_i,  e_pooled = sum(w_i e_i) / sum(w_i)

is chi-square with ``k - 1`` degrees of freedom (Cochran 1954). ``I**2 = max(0, (Q - df)
/ Q)`` is the share of the variation between segments beyond chance (Higgins & Thompson
2002). Segments must be disjoint so their estimates are independent. Q has little power
with few segments; a non-significant Q is not evidence that the lift is the same
everywhere.

References
----------
Cochran, W. G. (1954). The combination of estimates from different experiments.
Biometrics 10(1), 101-129.
Higgins, J. P. T. & Thompson, S. G. (2002). Quantifying heterogeneity in a
meta-analysis. Statistics in Medicine 21(11), 1539-1558.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as sps

from customer_analytics.experiments.stats.compare import Comparison, Scale


@dataclass(frozen=True)
class HeterogeneityResult:
    """Cochran's Q test of a common effect across segments.

    Attributes
    ----------
    q : float
        Cochran's Q.
    df : int
        Segments minus one.
    p : float
        Upper tail of chi-square(df) at ``q``.
    i_squared : float
        Higgins & Thompson's I-squared in [0, 1].
    pooled_estimate, pooled_se : float
        Fixed-effect (inverse-variance) estimate and its standard error.
    """

    q: float
    df: int
    p: float
    i_squared: float
    pooled_estimate: float
    pooled_se: float


def cochran_q(estimates: ArrayLike, variances: ArrayLike) -> HeterogeneityResult:
    """Cochran's Q, its p-value and I-squared from per-segment estimates and variances.

    Parameters
    ----------
    estimates : array_like
        Effect estimate per segment.
    variances : array_like
        Its variance (squared standard error), positive.

    Returns
    -------
    HeterogeneityResult
    """
    e = np.asarray(estimates, dtype=float)
    v = np.asarray(variances, dtype=float)
    if e.shape != v.shape or e.ndim != 1:
        raise ValueError("estimates and variances must be 1-d and of equal length")
    if e.size < 2:
        raise ValueError("heterogeneity needs at least two segments")
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ValueError("estimates must be finite and variances finite and positive")
    w = 1 / v
    pooled = float(np.sum(w * e) / np.sum(w))
    q = float(np.sum(w * (e - pooled) ** 2))
    df = e.size - 1
    i_squared = max(0.0, (q - df) / q) if q > 0 else 0.0
    return HeterogeneityResult(
        q=q,
        df=df,
        p=float(sps.chi2.sf(q, df)),
        i_squared=i_squared,
        pooled_estimate=pooled,
        pooled_se=float(np.sqrt(1 / np.sum(w))),
    )


def segment_heterogeneity(
    comparisons: Mapping[str, Comparison], scale: Scale = "relative"
) -> HeterogeneityResult:
    """Cochran's Q over the per-segment comparisons of one treatment against control.

    Parameters
    ----------
    comparisons : mapping of str to Comparison
        One comparison per disjoint segment.
    scale : {"relative", "absolute"}, default "relative"
        Whether the relative or the absolute lift is tested for a common value.
    """
    lifts = [c.lift(scale) for c in comparisons.values()]
    return cochran_q([e for e, _ in lifts], [se**2 for _, se in lifts])
