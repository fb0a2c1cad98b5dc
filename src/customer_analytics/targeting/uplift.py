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

Each takes scikit-learn regressors (a binary outcome is regressed as 0/1, so the model's
prediction is its probability), follows scikit-learn's ``fit`` / ``predict`` habit and
predicts the effect (or, for :class:`Response`, the treated outcome) per customer.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import StratifiedKFold


def booster(seed: int = 0) -> HistGradientBoostingRegressor:
    """The default learner: histogram gradient boosting, small and early-stopped, fast
    on a million rows of tens of features."""
    return HistGradientBoostingRegressor(
        max_iter=200, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=100,
        early_stopping=True, validation_fraction=0.2, n_iter_no_change=10, random_state=seed,
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

    def fit(self, X: np.ndarray, y: np.ndarray, treatment: np.ndarray) -> Response:
        t = np.asarray(treatment).astype(bool)
        base = self.estimator if self.estimator is not None else booster(self.seed)
        self.treated_ = clone(base).fit(X[t], y[t])
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.treated_.predict(X)
