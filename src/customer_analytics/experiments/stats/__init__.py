"""Pure statistics on sufficient statistics: numpy, scipy and statsmodels only.

Every test takes counts, sums, sums of squares and cross-products per arm
(:mod:`.sufficient`), never raw rows: Welch, two-proportion, ratio (delta method) and
CUPED comparisons (:mod:`.compare`), sample ratio mismatch (:mod:`.srm`), multiplicity
(:mod:`.multiple`), a Bayesian reading (:mod:`.bayes`), power (:mod:`.power`),
confidence sequences (:mod:`.sequential`) and heterogeneity across segments
(:mod:`.heterogeneity`). The design follows GrowthBook's stats engine (gbstats); the code
is our own. A layer contract (pyproject's import-linter section) keeps pandas, Ibis,
DuckDB, scikit-learn and the rest of the package out of here.
"""

from __future__ import annotations

from customer_analytics.experiments.stats.bayes import (
    BayesResult,
    bayesian_view,
    gaussian_posterior,
)
from customer_analytics.experiments.stats.compare import (
    Comparison,
    cuped,
    ratio,
    two_proportion,
    welch,
)
from customer_analytics.experiments.stats.heterogeneity import (
    HeterogeneityResult,
    cochran_q,
    segment_heterogeneity,
)
from customer_analytics.experiments.stats.multiple import (
    FamilyMember,
    FamilyResult,
    adjust_pvalues,
    correct_family,
)
from customer_analytics.experiments.stats.power import (
    SampleSize,
    achieved_power,
    mde_from_se,
    minimum_detectable_effect,
    power_from_se,
    sample_size,
)
from customer_analytics.experiments.stats.sequential import (
    SequentialResult,
    confidence_sequence,
    sequential_interval,
    tuning_rho2,
)
from customer_analytics.experiments.stats.srm import SRMResult, srm_check
from customer_analytics.experiments.stats.sufficient import CovariateStats, RatioStats, SampleStats

__all__ = [
    "BayesResult",
    "Comparison",
    "CovariateStats",
    "FamilyMember",
    "FamilyResult",
    "HeterogeneityResult",
    "RatioStats",
    "SRMResult",
    "SampleSize",
    "SampleStats",
    "SequentialResult",
    "achieved_power",
    "adjust_pvalues",
    "bayesian_view",
    "cochran_q",
    "confidence_sequence",
    "correct_family",
    "cuped",
    "gaussian_posterior",
    "mde_from_se",
    "minimum_detectable_effect",
    "power_from_se",
    "ratio",
    "sample_size",
    "segment_heterogeneity",
    "sequential_interval",
    "srm_check",
    "tuning_rho2",
    "two_proportion",
    "welch",
]
