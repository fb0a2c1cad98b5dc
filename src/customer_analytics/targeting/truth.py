"""The targeting stage against the synthetic shop's planted effects.

The generator writes every exposed customer's expected outcome under every arm
(``truth/experiment_customers.parquet``). On the held-out customers who were exposed in
every planned action's experiment, with the features the models learned from:

- each model's Spearman correlation of predicted and true effects, per experiment, arm
  and outcome;
- plans at the same budget (scaled to these customers' share), each scored by its true
  expected profit (true incremental margin less the sends) and cash out: ours; the
  oracle (the same allocation on the true effects); the best action on average sent to
  everyone the budget and the channel reach, in random order; random customers with
  random actions; the RFM segment rule
  (``baselines.yaml``); and the per-persona A/B plan (each persona's average effects,
  the usual practice, through the same allocation);
- the money-losing coupon: the true profit of sending it where our model predicts a
  profit against sending it to everyone, with precision and recall of the customers it
  truly pays on;
- the A/A test: whether the chosen model's Qini band covers 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from customer_analytics.config import TargetingSettings
from customer_analytics.targeting import learn
from customer_analytics.targeting.pricing import Action, Anchor, allocate, price_action

BASELINES = yaml.safe_load((Path(__file__).parent / "baselines.yaml").read_text())
TRUE_OUTCOMES = ("conversion", "orders", "revenue", "margin")


def truth_checks(
    truth_dir: Path | None, fitted: dict[tuple[str, str, str], learn.Fitted],
    anchors: dict[str, Anchor], units: pd.DataFrame, features: pd.DataFrame, labels: pd.DataFrame,
    actions: list[Action], controls: dict[str, str], settings: TargetingSettings,
) -> dict[str, Any] | None:  # fmt: skip
    """The checks of the module docstring (``controls``: each experiment's control arm);
    None without a planted truth."""
    path = None if truth_dir is None else Path(truth_dir) / "experiment_customers.parquet"
    if path is None or not path.exists():
        return None
    truth = pd.read_parquet(path).set_index(["experiment_id", "arm", "customer_id"])
    found: dict[str, Any] = {"spearman": _spearman(fitted, truth)}
    aa = [f for (e, _, o), f in fitted.items() if e == "aa_test" and o == settings.outcomes[0]]
    if aa:
        scores = aa[0].scores[aa[0].chosen]
        found["aa_qini_band"] = [scores["qini_low"], scores["qini_high"]]
        found["aa_band_covers_zero"] = bool(scores["qini_low"] <= 0 <= scores["qini_high"])
    if actions:
        found |= _plans(
            fitted, anchors, units, features, labels, actions, controls, settings, truth
        )
    return found


def _spearman(fitted: dict[tuple[str, str, str], learn.Fitted], truth: pd.DataFrame) -> dict:
    out: dict[str, Any] = {}
    for (e, a, o), f in fitted.items():
        if o not in TRUE_OUTCOMES:
            continue
        true = truth[f"effect_{o}"].reindex(pd.MultiIndex.from_arrays(
            [np.full(len(f.test_id), e), np.full(len(f.test_id), a), f.test_id]
        )).to_numpy()  # fmt: skip
        known = np.isfinite(true)
        if known.sum() < 20 or np.std(true[known]) == 0:
            continue
        out.setdefault(e, {}).setdefault(a, {})[o] = {
            m: float(pd.Series(p[known]).corr(pd.Series(true[known]), method="spearman"))
            for m, p in f.test_predicted.items()
        }
    return out


def _plans(
    fitted: dict[tuple[str, str, str], learn.Fitted], anchors: dict[str, Anchor],
    units: pd.DataFrame, features: pd.DataFrame, labels: pd.DataFrame, actions: list[Action],
    controls: dict[str, str], settings: TargetingSettings, truth: pd.DataFrame,
) -> dict[str, Any]:  # fmt: skip
    """Every plan's true profit and cash out on the held-out customers exposed to all
    the planned actions' experiments."""
    ids = features.index[
        learn.held_out(features.index.to_series(), settings.test_share, settings.seed)
    ]
    true_profit, true_cash = [], []
    for a in actions:
        rows = truth.loc[(a.experiment, a.arm)].reindex(ids)
        true_profit.append(rows["effect_margin"].to_numpy() - a.send_cost)
        true_cash.append(a.send_cost + a.face_value * rows["expected_conversion"].to_numpy())
    profit, cash = np.column_stack(true_profit), np.column_stack(true_cash)
    known = np.isfinite(profit).all(axis=1)
    ids, profit, cash = ids[known], profit[known], cash[known]
    share = len(ids) / len(labels)
    budget = settings.budget * share
    groups = labels["group"].reindex(ids).fillna("other")
    X = features.reindex(ids).to_numpy()
    priced = [
        price_action(a, fitted, X, groups.to_numpy(), anchors[a.name], settings) for a in actions
    ]
    predicted = np.column_stack([p["profit"] for p in priced])
    predicted_cash = np.column_stack([p["cash"] for p in priced])

    def score(sends: pd.DataFrame) -> dict[str, float]:
        c, o = sends["customer"].to_numpy(), sends["option"].to_numpy()
        return {"true_profit": float(profit[c, o].sum()), "true_cash_out": float(cash[c, o].sum()),
                "customers": len(np.unique(c))}  # fmt: skip

    rng = np.random.default_rng(settings.seed)
    plans = {
        "ours": score(allocate(predicted, predicted_cash, groups, actions, budget, settings, share)),
        "oracle": score(allocate(profit, cash, groups, actions, budget, settings, share)),
        "random": score(_until_budget(rng.permutation(len(ids)), rng.integers(len(actions), size=len(ids)), cash, budget)),
        "everyone": score(_everyone(rng, profit, cash, _average_profit(units, actions, controls), actions, budget, settings, share)),
        "per_persona_ab": score(_per_persona(units, labels, ids, actions, controls, groups, budget, settings, share)),
    }  # fmt: skip
    if "rfm_segment" in labels:
        plans["rfm_rule"] = score(
            _rfm_rule(labels["rfm_segment"].reindex(ids), actions, cash, budget, rng)
        )
    plans["ours"]["share_of_oracle"] = plans["ours"]["true_profit"] / plans["oracle"]["true_profit"]
    found: dict[str, Any] = {"customers": len(ids), "budget": budget, "plans": plans}
    coupons = [i for i, a in enumerate(actions) if a.face_value > 0]
    if coupons:
        i = coupons[0]
        pays, picked = profit[:, i] > 0, predicted[:, i] > 0
        found["coupon"] = {
            "action": actions[i].name,
            "ours_true_profit": float(profit[picked, i].sum()),
            "everyone_true_profit": float(profit[:, i].sum()),
            "best_true_profit": float(profit[pays, i].sum()),
            "share_it_pays_on": float(pays.mean()),
            "share_picked": float(picked.mean()),
            "precision": float(pays[picked].mean()) if picked.any() else float("nan"),
            "recall": float(picked[pays].mean()) if pays.any() else float("nan"),
        }
    return found


def _average_profit(
    units: pd.DataFrame, actions: list[Action], controls: dict[str, str]
) -> np.ndarray:
    """Each action's average effect on margin over all its units, less the send: what
    the A/B stage's headline says it is worth per customer."""
    out = []
    for a in actions:
        by = units[units["experiment_id"] == a.experiment].groupby("variant")["margin"].mean()
        out.append(by[a.arm] - by[controls[a.experiment]] - a.send_cost)
    return np.array(out)


def _everyone(
    rng: np.random.Generator, profit: np.ndarray, cash: np.ndarray, average: np.ndarray,
    actions: list[Action], budget: float, settings: TargetingSettings, share: float,
) -> pd.DataFrame:  # fmt: skip
    """The best action on average to every customer, in random order while the budget
    and the channel's capacity last."""
    best = int(np.argmax(average))
    capacity = settings.channels[actions[best].channel].capacity
    order = rng.permutation(len(profit))
    if capacity is not None:
        order = order[: int(capacity * share)]
    return _until_budget(order, np.full(len(profit), best), cash, budget)


def _until_budget(
    order: np.ndarray, option: np.ndarray, cash: np.ndarray, budget: float
) -> pd.DataFrame:
    """Customers in ``order``, each with ``option[customer]``, while the cash lasts."""
    spent = np.cumsum(cash[order, option[order]])
    keep = order[spent <= budget]
    return pd.DataFrame({"customer": keep, "option": option[keep]})


def _rfm_rule(
    segment: pd.Series, actions: list[Action], cash: np.ndarray, budget: float,
    rng: np.random.Generator,
) -> pd.DataFrame:  # fmt: skip
    """Discounts to the lapsing segments, messages to the engaged (``baselines.yaml``)."""
    kinds = {"discount": [i for i, a in enumerate(actions) if a.face_value > 0],
             "message": [i for i, a in enumerate(actions) if a.face_value == 0]}  # fmt: skip
    rule = {
        s: kinds[kind][0]
        for kind, names in BASELINES["rfm_rule"].items()
        if kinds[kind]
        for s in names
    }
    ranks = {s: r for r, s in enumerate(rule)}
    option = segment.map(rule)
    eligible = np.flatnonzero(option.notna().to_numpy())
    order = eligible[
        np.lexsort((rng.random(len(eligible)), segment.iloc[eligible].map(ranks).to_numpy()))
    ]
    return _until_budget(order, option.fillna(0).astype(int).to_numpy(), cash, budget)


def _per_persona(
    units: pd.DataFrame, labels: pd.DataFrame, ids: pd.Index, actions: list[Action],
    controls: dict[str, str], groups: pd.Series, budget: float, settings: TargetingSettings,
    share: float,
) -> pd.DataFrame:  # fmt: skip
    """The usual practice: every customer of a persona is worth the persona's average
    effect in the experiment (the A/B stage's effects by segment), through the same
    allocation."""
    persona = labels["persona"] if "persona" in labels else labels["group"]
    profit, cash = [], []
    for a in actions:
        mine = units[units["experiment_id"] == a.experiment].assign(
            persona=lambda d: persona.reindex(d["customer_id"]).to_numpy()
        )
        means = (
            mine.groupby(["persona", "variant"])[["margin", "conversion"]].mean().unstack("variant")
        )
        control = controls[a.experiment]
        lift = (
            (means["margin"][a.arm] - means["margin"][control])
            .reindex(persona.reindex(ids))
            .fillna(0.0)
        )
        redeem = means["conversion"][a.arm].reindex(persona.reindex(ids)).fillna(0.0)
        profit.append(lift.to_numpy() - a.send_cost)
        cash.append(a.send_cost + a.face_value * redeem.to_numpy())
    return allocate(
        np.column_stack(profit), np.column_stack(cash), groups, actions, budget, settings, share
    )
