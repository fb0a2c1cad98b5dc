"""Uplift models per experiment, arm and outcome, chosen on held-out customers.

For every treated arm of an experiment (against its control, the first arm) and every
per-customer outcome it measured, three models are fitted on the training customers:
the response model (the usual practice), the two-model learner and the doubly robust
learner with the planned split's probability of treatment (:mod:`.uplift`). Each is
scored on the held-out customers by its Qini coefficient and AUUC with bootstrap bands,
uplift at 10, 20 and 30% and predicted against observed uplift by decile (:mod:`.qini`);
the chosen uplift model is the one whose predictions within groups a validation quarter
of the training customers bears out most surely (:func:`fit_arm`). The split is by customer, the same in every
experiment, so a customer held out of one model is held out of all of them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from customer_analytics.config import ExperimentSpec
from customer_analytics.experiments.stage import SIGNIFICANT_DIGITS
from customer_analytics.targeting import qini
from customer_analytics.targeting.uplift import DoublyRobust, Response, TwoModels, ValueModel

#: The models compared, the usual practice first; the others predict effects (the value
#: models only for margin, where the units carry orders and conversion).
MODELS = ("response", "two_model", "doubly_robust", "value", "value_proportional")
UPLIFT_MODELS = MODELS[1:]
#: The unit columns the value model is built from, in its order.
VALUE_PARTS = ("orders", "margin")
#: Shares of customers, best first, at which the observed uplift is reported.
TOP_SHARES = (0.1, 0.2, 0.3)


@dataclass
class Fitted:
    """One experiment arm's models of one outcome, and how they scored held out."""

    experiment: str
    arm: str
    outcome: str
    models: dict[str, Any]
    scores: dict[str, dict[str, float]]
    chosen: str
    test_predicted: dict[str, np.ndarray]
    deciles: pd.DataFrame
    curve: pd.DataFrame
    test_id: np.ndarray
    test_y: np.ndarray
    test_treated: np.ndarray

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The chosen model's predicted effect per customer."""
        return self.models[self.chosen].predict(X)

    def findings(self) -> dict[str, Any]:
        """``chosen`` and each model's scores, as the manifest carries them."""
        return {"chosen": self.chosen, "models": self.scores}


def settle(values: np.ndarray, digits: int = SIGNIFICANT_DIGITS) -> np.ndarray:
    """Every finite, non-zero value rounded to ``digits`` significant digits: inputs
    that differ between runs only in their last bits (DuckDB's sums) then give the same
    models, and predictions that differ only there tie, as they should, when ranked."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values) & (values != 0)
    places = np.zeros_like(values)
    places[finite] = digits - 1 - np.floor(np.log10(np.abs(values[finite])))
    scale = 10.0**places
    return np.where(finite, np.round(values * scale) / scale, values)


def held_out(customer_id: pd.Series, share: float, seed: int) -> np.ndarray:
    """True for the customers held out: a hash of the id, so the same customer is held
    out of every experiment and of every run with the same seed."""
    hashed = pd.util.hash_pandas_object(
        customer_id.astype(str), index=False, hash_key=f"{seed:016d}"
    )
    return (hashed.to_numpy() % 10_000) < share * 10_000


def propensity(spec: ExperimentSpec, arm: str) -> float:
    """The planned probability of ``arm`` among its units and the control's."""
    split = dict(zip(spec.arms, spec.planned_split, strict=True))
    return split[arm] / (split[arm] + split[spec.arms[0]])


def fit_arm(
    experiment: str,
    spec: ExperimentSpec,
    arm: str,
    outcome: str,
    X: np.ndarray,
    y: np.ndarray,
    treated: np.ndarray,
    test: np.ndarray,
    ids: np.ndarray,
    groups: np.ndarray,
    n_bootstrap: int,
    seed: int,
    parts: np.ndarray | None = None,
    face_value: float = 0.0,
) -> Fitted:
    """Fit the models on the training customers, choose an uplift model on a quarter of
    them kept for validation (choosing on the held-out customers would flatter the
    choice), and score every model on the held-out.

    The plan prices a customer as their group's average effect plus the model's
    deviation from the group's centre, scaled by how far such deviations are borne out
    (:mod:`.pricing`). So the chosen model is the one whose deviations within
    ``groups`` the validation customers bear out most surely: the largest t-statistic
    of :func:`calibration_slope`. ``parts`` (the units' :data:`VALUE_PARTS`, for
    margin) adds the value models, with the arm's coupon ``face_value``."""
    e = propensity(spec, arm)
    validation = ~test & held_out(pd.Series(ids), 0.25, seed + 7)
    train = ~test & ~validation
    two = TwoModels(seed=seed).fit(X[train], y[train], treated[train])
    models = {
        "response": Response.of(two),
        "two_model": two,
        "doubly_robust": DoublyRobust(e, folds=2, seed=seed).fit(
            X[train], y[train], treated[train]
        ),
    }
    if parts is not None:
        value = ValueModel(face_value, seed=seed).fit(X[train], parts[train], treated[train])
        models["value"] = value
        models["value_proportional"] = copy.copy(value)
        models["value_proportional"].proportional = True
    chosen_on = {}
    for name, model in models.items():
        predicted = pd.Series(settle(model.predict(X[validation])))
        deviation = predicted - predicted.groupby(groups[validation]).transform("mean")
        slope, se = calibration_slope(y[validation], treated[validation], deviation.to_numpy())
        chosen_on[name] = slope / se if se > 0 else 0.0
    predicted = {name: settle(m.predict(X[test])) for name, m in models.items()}
    scores = qini.models_with_bands(y[test], predicted, treated[test], n_bootstrap, seed)
    for name, found in scores.items():
        for share in TOP_SHARES:
            found[f"uplift_at_{round(share * 100)}"] = qini.uplift_at(
                y[test], predicted[name], treated[test], share
            )
    # The response model ranks by the treated outcome, not by the effect: it is the
    # baseline to beat, never a plan's prices.
    chosen = max((m for m in UPLIFT_MODELS if m in models), key=lambda m: chosen_on[m])
    curve = _curves(y[test], predicted, treated[test])
    return Fitted(
        experiment, arm, outcome, models, scores, chosen, predicted,
        qini.by_decile(y[test], predicted[chosen], treated[test]), curve, ids[test], y[test],
        treated[test],
    )  # fmt: skip


def _curves(y: np.ndarray, predicted: dict[str, np.ndarray], treated: np.ndarray) -> pd.DataFrame:
    """Each model's Qini curve on the held-out customers, at most 101 points apiece."""
    parts = []
    for name, score in predicted.items():
        targeted, gain, _ = qini.curves(y, score, treated)
        share = targeted / targeted[-1]
        keep = np.unique(np.searchsorted(share, np.linspace(0, 1, 101)).clip(max=len(share) - 1))
        parts.append(pd.DataFrame({"model": name, "share": share[keep], "qini": gain[keep]}))
    return pd.concat(parts, ignore_index=True)


def calibration_slope(
    y: np.ndarray, treated: np.ndarray, deviation: np.ndarray
) -> tuple[float, float]:
    """The coefficient of treatment x deviation in an OLS of ``y`` on treatment,
    deviation and their product, and its standard error (0 and inf when it cannot be
    estimated)."""
    t = treated.astype(float)
    design = np.column_stack([np.ones_like(t), t, deviation, t * deviation])
    if len(y) < 10 or np.linalg.matrix_rank(design) < 4:
        return 0.0, float("inf")
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    sigma2 = resid @ resid / (len(y) - 4)
    cov = sigma2 * np.linalg.inv(design.T @ design)
    return float(coef[3]), float(np.sqrt(cov[3, 3]))
