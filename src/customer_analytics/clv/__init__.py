"""Customer lifetime value: BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma on lifetimes 0.11.3.

Only :mod:`~customer_analytics.clv.models` imports lifetimes; it fits on
de-duplicated customer histories and returns numpy arrays aligned to the input rows.
:mod:`~customer_analytics.clv.formulas` holds input checks and our own formulas (with
:mod:`~customer_analytics.clv.pareto`, the log-space Pareto/NBD), and
:mod:`~customer_analytics.clv.compact` the engine's compact inputs (weighted
calibration/holdout rows, purchase days counted), :mod:`~customer_analytics.clv.holdout`
the holdout scores and tracking data computed from them.
"""

from customer_analytics.clv.holdout import (
    calibration_frame,
    evaluate_holdout,
    naive_holdout_forecast,
    repeat_transactions_tracking,
)
from customer_analytics.clv.models import (
    BetaGeoModel,
    ClvFitError,
    ClvInputError,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
)

__all__ = [
    "BetaGeoModel",
    "ClvFitError",
    "ClvInputError",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "calibration_frame",
    "customer_lifetime_value",
    "evaluate_holdout",
    "naive_holdout_forecast",
    "repeat_transactions_tracking",
]
