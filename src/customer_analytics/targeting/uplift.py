"""Uplift (conditional treatment effect) models learned from a randomised experiment's
units, with the assignment probability known from its planned split.

- :class:`TwoModels` (the T-learner): one outcome model per arm, the effect their
  difference (Kunzel et al. 2019, PNAS 116(10)).
- :class:`DoublyRobust` (the DR-learner): cross-fitted outcome models give each
  customer the doubly robust pseudo-outcome ``mu1 - mu0 + t (y - mu1) / e - (1 - t)
  (y - mu0) / (1 - e)``, with ``e`` the known probability of treatment, and a second
  model regresses it on the features (Kennedy 2023, Electronic Journal of Statistics
  17(2)). With ``e`` known the pseudo-outcome is unbiased for the effect whatever the
  outcome models' errors, which only add variance.
- :class:`Response`: the usual practice the others must beat, the treated customers'
  outcome model alone (rank by who responds when treated, not by who is moved).
- :class:`ValueModel`: the effect on margin from its less noisy parts (the effect on
  orders, the margin of an order, the chance a coupon is redeemed).

Each takes scikit-learn regressors (a binary outcome is regressed as 0/1, so the model's
prediction is its probability), follows scikit-learn's ``fit`` / ``predict`` habit and
predicts the effect (or, for :class:`Response`, the treated outcome) per customer.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import StratifiedKFold


def booster(seed: int = 0, loss: str = "squared_error") -> HistGradientBoostingRegressor:
    """The default learner: histogram gradient boosting, small and early-stopped, fast
    on a million rows of tens of features (``loss="poisson"`` for counts)."""
    return HistGradientBoostingRegressor(
        loss=loss, max_iter=200, learning_rate=0.15, max_leaf_nodes=15, min_samples_leaf=100, max_bins=63,
        early_stopping=True, validation_fraction=0.2, n_iter_no_change=5, random_state=seed,
    )  # fmt: skip


class TwoModels:
    """The T-learner: ``mu1(x) - mu0(x)``, one model per arm."""

    def __init__(self, estimator: RegressorMixin | None = None, seed: int = 0) -> None:
        self.estimator = estimator
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray, treatment: np.ndarray) -> TwoModels:
        t = np.asarray(treatment).astype(bool)
        base = self.estimator if self.estimator is not None else booster(self.seed)
        self.treated_ = clone(base).fit(X[t], y[t])
        self.control_ = clone(base).fit(X[~t], y[~t])
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.treated_.predict(X) - self.control_.predict(X)


class DoublyRobust:
    """The DR-learner with ``folds``-fold cross-fitting and a known propensity.

    Parameters
    ----------
    propensity
        The probability of treatment (the planned split: treated share of the treated
        and control units).
    estimator, effect_estimator
        Regressors for the outcome models and for the effect (default :func:`booster`).
    folds
        Cross-fitting folds: each customer's pseudo-outcome uses outcome models that
        never saw them.
    """

    def __init__(
        self,
        propensity: float,
        estimator: RegressorMixin | None = None,
        effect_estimator: RegressorMixin | None = None,
        folds: int = 3,
        seed: int = 0,
    ) -> None:
        self.propensity = propensity
        self.estimator = estimator
        self.effect_estimator = effect_estimator
        self.folds = folds
        self.seed = seed

    def pseudo_outcomes(self, X: np.ndarray, y: np.ndarray, treatment: np.ndarray) -> np.ndarray:
        """Each customer's cross-fitted doubly robust pseudo-outcome."""
        t = np.asarray(treatment).astype(bool)
        e = self.propensity
        mu0, mu1 = np.empty(len(y)), np.empty(len(y))
        split = StratifiedKFold(self.folds, shuffle=True, random_state=self.seed)
        for fit_rows, held_out in split.split(X, t):
            arms = TwoModels(self.estimator, self.seed).fit(X[fit_rows], y[fit_rows], t[fit_rows])
            mu1[held_out] = arms.treated_.predict(X[held_out])
            mu0[held_out] = arms.control_.predict(X[held_out])
        return mu1 - mu0 + np.where(t, (y - mu1) / e, -(y - mu0) / (1 - e))

    def fit(self, X: np.ndarray, y: np.ndarray, treatment: np.ndarray) -> DoublyRobust:
        if not 0 < self.propensity < 1:
            raise ValueError(f"propensity must be between 0 and 1, not {self.propensity}")
        effect = self.effect_estimator if self.effect_estimator is not None else booster(self.seed)
        self.effect_ = clone(effect).fit(X, self.pseudo_outcomes(X, y, treatment))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.effect_.predict(X)


class Response(TwoModels):
    """The treated customers' outcome model: ranks by response under treatment."""

    @classmethod
    def of(cls, fitted: TwoModels) -> Response:
        """The response model inside a fitted two-model learner (its treated model)."""
        response = cls(fitted.estimator, fitted.seed)
        response.treated_ = fitted.treated_
        return response

    def fit(self, X: np.ndarray, y: np.ndarray, treatment: np.ndarray) -> Response:
        t = np.asarray(treatment).astype(bool)
        base = self.estimator if self.estimator is not None else booster(self.seed)
        self.treated_ = clone(base).fit(X[t], y[t])
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.treated_.predict(X)


class ValueModel:
    """The effect on margin from its parts: the effect on orders times the margin of an
    order, less a coupon's face value times the chance of buying when treated.

    Profit decomposition of revenue uplift (Gubela, Lessmann & Jaroszewicz 2020, European
    Journal of Operational Research 283(2)): the orders and conversion it is built from
    are far less noisy than margin itself, and the coupon's cost on customers who buy
    anyway, the term that makes a coupon lose money, is known once ``P(buy | treated)``
    is. It assumes the extra orders are worth what the customer's orders usually are.
    With ``proportional`` the effect on orders is the treatment's overall relative lift
    times the customer's expected orders without it (a campaign that moves everyone's
    buying by the same share), else the two-model learner's.

    ``fit`` takes ``parts``: per customer their orders and margin.
    """

    def __init__(self, face_value: float = 0.0, proportional: bool = False,
                 estimator: RegressorMixin | None = None, seed: int = 0) -> None:  # fmt: skip
        self.face_value = face_value
        self.proportional = proportional
        self.estimator = estimator
        self.seed = seed

    def fit(self, X: np.ndarray, parts: np.ndarray, treatment: np.ndarray) -> ValueModel:
        t = np.asarray(treatment).astype(bool)
        orders, margin = parts[:, 0], parts[:, 1]
        base = self.estimator if self.estimator is not None else booster(self.seed)
        counts = self.estimator if self.estimator is not None else booster(self.seed, "poisson")
        self.orders_ = TwoModels(counts, self.seed).fit(X, orders, t)
        self.lift_ = orders[t].mean() / max(orders[~t].mean(), 1e-12) - 1
        bought = ~t & (orders > 0)  # the control's orders: no coupon in their margin
        self.per_order_ = clone(base).fit(X[bought], margin[bought] / orders[bought])
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.proportional:
            extra = self.lift_ * self.orders_.control_.predict(X).clip(0)
        else:
            extra = self.orders_.predict(X)
        buy = 1 - np.exp(-self.orders_.treated_.predict(X).clip(0))  # P(any order), Poisson
        return extra * self.per_order_.predict(X) - self.face_value * buy
