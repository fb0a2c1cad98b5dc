"""A/B analysis on sufficient statistics.

The database reduces unit-level rows to counts, sums, sums of squares and cross-products
per arm and segment (:mod:`.reduce`); every test takes those statistics
(:mod:`.stats`), never raw rows: Welch, two-proportion, ratio (delta method) and CUPED
comparisons (:mod:`.compare`), sample ratio mismatch (:mod:`.srm`), multiplicity
(:mod:`.multiple`), a Bayesian reading (:mod:`.bayes`), power (:mod:`.power`),
confidence sequences (:mod:`.sequential`) and heterogeneity across segments
(:mod:`.heterogeneity`). The design follows GrowthBook's stats engine (gbstats); the code
is our own.
"""

from __future__ import annotations

from customer_analytics.experiments.bayes import BayesResult, bayesian_view, gaussian_posterior
from customer_analytics.experiments.compare import (
    Comparison,
    cuped,
    ratio,
    two_proportion,
    welch,
)
from customer_analytics.experiments.heterogeneity import (
    HeterogeneityResult,
    cochran_q,
    segment_heterogeneity,
)
from customer_analytics.experiments.multiple import (
    FamilyMember,
    FamilyResult,
    adjust_pvalues,
    correct_family,
)
from customer_analytics.experiments.power import (
    SampleSize,
    achieved_power,
    mde_from_se,
    minimum_detectable_effect,
    power_from_se,
    sample_size,
)
from customer_analytics.experiments.reduce import (
    collapse,
    covariate_stats,
    per_arm,
    ratio_stats,
    sample_stats,
    sufficient_stats,
    sufficient_stats_expr,
)
from customer_analytics.experiments.sequential import (
    SequentialResult,
    confidence_sequence,
    sequential_interval,
    tuning_rho2,
)
from customer_analytics.experiments.srm import SRMResult, srm_check
from customer_analytics.experiments.stats import CovariateStats, RatioStats, SampleStats

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
    "collapse",
    "confidence_sequence",
    "correct_family",
    "covariate_stats",
    "cuped",
    "gaussian_posterior",
    "mde_from_se",
    "minimum_detectable_effect",
    "per_arm",
    "power_from_se",
    "ratio",
    "ratio_stats",
    "sample_size",
    "sample_stats",
    "segment_heterogeneity",
    "sequential_interval",
    "srm_check",
    "sufficient_stats",
    "sufficient_stats_expr",
    "tuning_rho2",
    "two_proportion",
    "welch",
]
