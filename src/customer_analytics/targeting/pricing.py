"""What an action is worth per customer, and the budget's best split over customers.

An action is an experiment's arm sent on a channel. :func:`price_action` turns its uplift
models into each customer's expected profit and cash out; :func:`allocate` hands the
priced matrix to :mod:`.allocation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from customer_analytics.config import TargetingSettings
from customer_analytics.targeting import allocation, learn


@dataclass(frozen=True)
class Action:
    """An experiment's arm sent on a channel, with what it costs."""

    experiment: str
    arm: str
    channel: str
    send_cost: float
    face_value: float

    @property
    def name(self) -> str:
        return f"{self.experiment}:{self.arm}"


#: Units per arm below which a group's own average effect is not trusted: it takes the
#: experiment's overall average instead.
MIN_GROUP_UNITS = 30
#: The figures a plan states per cell, besides profit (each an outcome of the units).
FIGURES = ("orders", "revenue")


@dataclass(frozen=True)
class Anchor:
    """What an action does per group, and how far its uplift model's word is borne out.

    Attributes
    ----------
    outcome
        The planned outcome (the first of ``targeting.outcomes`` the experiment measured).
    effects
        Per group: ``effect_<outcome>`` (treated mean minus control mean over all the
        experiment's units of the group), its standard error ``se_<outcome>`` and the
        treated mean ``treated_<outcome>``, for the
        planned outcome, conversion, orders and revenue where measured; a group with too
        few units takes the overall row (index ``None``).
    centre
        Per group, the model's mean predicted effect over the group's units.
    slope, slope_se
        How much of a predicted deviation from the group's centre is real: the
        treatment-by-deviation coefficient of the held-out customers' outcome, regressed
        on treatment, deviation and their product (calibration of the deviations).
    """

    outcome: str
    effects: pd.DataFrame
    overall: pd.Series
    centre: pd.Series
    slope: float
    slope_se: float


def anchor(
    action: Action, fitted: dict[tuple[str, str, str], learn.Fitted], units: pd.DataFrame,
    control: str, groups: pd.Series, features: pd.DataFrame, settings: TargetingSettings,
) -> Anchor:  # fmt: skip
    """The action's :class:`Anchor`, from its experiment's units (``groups``: each
    customer's group, ``features``: the features its model learned from)."""
    models = {o: f for (e, a, o), f in fitted.items() if (e, a) == (action.experiment, action.arm)}
    part = units[
        (units["experiment_id"] == action.experiment) & units["variant"].isin([control, action.arm])
    ]
    outcome = next(o for o in settings.outcomes if o in part)
    group = groups.reindex(part["customer_id"]).fillna("other").to_numpy()
    treated = (part["variant"] == action.arm).to_numpy()
    measured = [o for o in dict.fromkeys([outcome, "conversion", *FIGURES]) if o in part]
    overall = _effects(part[measured], treated)
    effects = pd.DataFrame(
        {g: _effects(part.loc[group == g, measured], treated[group == g]) for g in np.unique(group)}
    ).T
    small = effects["n"] < MIN_GROUP_UNITS
    effects.loc[small, overall.index] = overall.to_numpy()
    if outcome not in models:  # too small to model: the group averages alone
        return Anchor(outcome, effects, overall, pd.Series(dtype=float), 0.0, float("inf"))
    model = models[outcome]
    predicted = pd.Series(model.predict(features.reindex(part["customer_id"]).to_numpy()))
    centre = predicted.groupby(group).mean()
    test = pd.Series(group, index=part["customer_id"].to_numpy()).reindex(model.test_id)
    deviation = model.test_predicted[model.chosen] - centre.reindex(test.fillna("other")).to_numpy()
    slope, slope_se = learn.calibration_slope(model.test_y, model.test_treated, deviation)
    return Anchor(outcome, effects, overall, centre, slope, slope_se)


def _effects(part: pd.DataFrame, treated: np.ndarray) -> pd.Series:
    """Treated minus control mean of each column, its standard error, and the smaller
    arm's units (``n``)."""
    t, c = part[treated], part[~treated]
    out = {"n": min(len(t), len(c))}
    for column in part.columns:
        out[f"treated_{column}"] = t[column].mean() if len(t) else np.nan
        out[f"effect_{column}"] = t[column].mean() - c[column].mean() if out["n"] else np.nan
        out[f"se_{column}"] = (
            np.sqrt(t[column].var() / len(t) + c[column].var() / len(c)) if out["n"] > 1 else np.nan
        )
    return pd.Series(out)


def price_action(
    action: Action, fitted: dict[tuple[str, str, str], learn.Fitted], X: np.ndarray,
    groups: np.ndarray, anchored: Anchor, settings: TargetingSettings,
) -> dict[str, Any]:  # fmt: skip
    """Per customer, an action's expected effects, profit and cash out.

    A customer's effect on the planned outcome is their group's average effect in the
    experiment plus the model's predicted deviation from the group's centre times the
    calibration slope (clipped to [0, 1]; with ``targeting.prudence``, the slope's lower
    95% bound): where the model's ranking is not borne out on the held-out customers,
    the plan falls back to the per-group A/B averages, and where it is, it moves each
    customer by what the model adds. The profit is that effect less the send; the cash
    out the send plus the face value times the predicted chance of buying when treated
    (the two-model learner's treated model of conversion, else the group's treated
    rate). Orders and revenue are the group's averages; every figure carries its
    group's standard error (``se_<figure>``).
    """
    models = {o: f for (e, a, o), f in fitted.items() if (e, a) == (action.experiment, action.arm)}
    rows = anchored.effects.reindex(groups)
    rows = rows.fillna(anchored.overall)
    slope = anchored.slope - (1.96 * anchored.slope_se if settings.prudence else 0.0)
    slope = float(np.clip(slope, 0.0, 1.0))
    effect = rows[f"effect_{anchored.outcome}"].to_numpy()
    if anchored.outcome in models:
        centre = anchored.centre.reindex(groups).fillna(anchored.centre.mean()).to_numpy()
        effect = effect + slope * (models[anchored.outcome].predict(X) - centre)
    found: dict[str, Any] = {
        "outcome": anchored.outcome,
        "slope": slope,
        "profit": effect - action.send_cost,
        "se_profit": rows[f"se_{anchored.outcome}"].to_numpy(),
    }
    for figure in FIGURES:
        if f"effect_{figure}" in rows:
            found[figure] = rows[f"effect_{figure}"].to_numpy()
            found[f"se_{figure}"] = rows[f"se_{figure}"].to_numpy()
    if "conversion" in models:
        redeem = models["conversion"].models["two_model"].treated_.predict(X).clip(0, 1)
    else:
        redeem = rows["treated_conversion"].to_numpy() if "treated_conversion" in rows else 0.0
    found["cash"] = action.send_cost + action.face_value * np.asarray(redeem)
    return found


def allocate(
    profit: np.ndarray, cash: np.ndarray, groups: pd.Series, actions: list[Action],
    budget: float, settings: TargetingSettings, share: float = 1.0,
) -> pd.DataFrame:  # fmt: skip
    """The sends that spend ``budget`` best (:mod:`.allocation`), under the channels'
    capacities (times ``share``, for a plan on part of the customers) and the contact
    limit of ``settings``."""
    channels = sorted({a.channel for a in actions})
    limit = len(profit) * settings.contacts
    capacity = np.array(
        [limit if settings.channels[c].capacity is None else settings.channels[c].capacity * share
         for c in channels],
        dtype=float,
    )  # fmt: skip
    problem = allocation.Problem(
        profit, cash, pd.factorize(groups, sort=True)[0],
        np.array([channels.index(a.channel) for a in actions]), budget, capacity,
        settings.contacts,
    )  # fmt: skip
    score = allocation.adjusted(problem, allocation.prices(problem, seed=settings.seed))
    counts = allocation.plan_cells(problem, score)
    return allocation.assign(problem, counts, score)
