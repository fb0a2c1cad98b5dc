"""Stage 09_targeting: who gets which action, and how a budget is spent.

Uplift models are learned from the experiments' unit tables (stage 07_ab_test; an
experiment whose sample-ratio check failed is left out) with each customer's features
from before the first assignment (stage 05_clustering), or, for a campaign file without
them (Hillstrom), the file's own covariates and segments (:mod:`.learn`). Every action
(an experiment's arm with a channel and costs, ``targeting.actions``) is then priced per
current customer: incremental margin less the send is the profit, the send plus the face
value times the chance of redeeming it the cash out, and the budget is split over groups
(personas, else RFM segments, else the campaign's segments), actions and channels by
:mod:`.allocation`. A random ``holdout_share`` of the planned customers is kept out of
every list and the plan is written as the next experiment, so that a later run's A/B
stage measures what it really did. Tables and sentences are in :mod:`.report`; the
checks against the synthetic shop's planted effects in :mod:`.truth`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from customer_analytics.clustering.stage import FEATURES, features_at
from customer_analytics.config import Config, ExperimentSpec, TargetingSettings
from customer_analytics.experiments.stage import (
    BOOKKEEPING,
    EXPERIMENTS,
    UNITS,
    settled,
)
from customer_analytics.experiments.stats.power import mde_from_se
from customer_analytics.i18n import N_
from customer_analytics.personas.stage import CUSTOMERS_PERSONAS, reachable_customers
from customer_analytics.pipeline.outputs import Outputs, run_as_of
from customer_analytics.rfm.stage import CUSTOMERS_RFM
from customer_analytics.targeting import learn
from customer_analytics.targeting.pricing import (
    FIGURES,
    Action,
    Anchor,
    allocate,
    anchor,
    price_action,
)
from customer_analytics.targeting.truth import truth_checks
from customer_analytics.utils import progress

OUTPUTS = Outputs(__name__)
MODELS = OUTPUTS.declare(
    "models.json",
    "per experiment, arm and outcome: each model's Qini and AUUC with bands and uplift at "
    "10/20/30% on the held-out customers, the chosen model and its deciles",
)
CURVES = OUTPUTS.declare("curves.parquet", "every model's Qini curve on the held-out customers")
PLAN = OUTPUTS.declare(
    "plan.parquet",
    "the campaign plan per group and action: customers, cash out, expected incremental "
    "orders, revenue and profit with intervals, ROI",
)
LISTS = OUTPUTS.declare(
    "lists", "a CSV per action: the consenting customers to send it to (id, channel, group)"
)
HOLDOUT = OUTPUTS.declare(
    "holdout.csv", "the planned customers kept out of every list at random, and their action"
)
NEXT_EXPERIMENT = OUTPUTS.declare(
    "next_experiment.yaml", "the plan as an experiment description (ab.experiments_file)"
)

#: What the lists and the holdout say of each send (no personal data).
SEND_COLUMNS = ("customer_id", "action", "channel", "group")
#: Outcome columns of a unit table: never features.
OUTCOMES = ("conversion", "orders", "revenue", "margin", "visit", "spend")


class Notes(list[str]):
    """What the stage left out or planned without: English sentences (``notes`` of the
    findings) and, in ``why``, the same as data (a ``code`` and the names and numbers it
    speaks of), from which pages in other languages say it (``report.note_text``)."""

    def __init__(self) -> None:
        super().__init__()
        self.why: list[dict[str, Any]] = []

    def add(self, text: str, *, code: str, **fields: Any) -> None:
        self.append(text)
        self.why.append({"code": code, **fields})


def _ints(counts: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in counts.items()}


class TargetingDataError(ValueError):
    """The targeting settings name something the run does not have; the message names
    the key."""


def run(cfg: Config, inputs: dict[str, Path], out: Path) -> dict[str, Any]:
    """Compute the targeting stage's outputs into ``out``; return its headline figures.

    Parameters
    ----------
    cfg : Config
        The run's configuration (``targeting``, ``ab``, ``personas``).
    inputs : dict of str to Path
        Output folders of the earlier stages: 07_ab_test (units and verdicts) and, when
        they ran, 05_clustering (features), 06_personas (personas and consent) and
        03_rfm (segments).
    out : Path
        An empty folder for the declared outputs.

    Returns
    -------
    dict
        Per experiment, arm and outcome the chosen model and every model's scores; the
        plan's totals; what the stage lacked and planned without; on the synthetic shop
        the checks against the planted effects.
    """
    settings = cfg.targeting
    specs = cfg.experiments()
    if not UNITS.exists(inputs):
        return _nothing(out, N_("stage 07_ab_test wrote no unit table (no experiments)"))
    units = _settled(pd.read_parquet(UNITS.path(inputs)))
    verdicts = json.loads(EXPERIMENTS.path(inputs).read_text())
    notes = Notes()
    usable, averaged = _usable(specs, verdicts, units, settings, notes)
    features, lacked = _training_features(cfg, inputs, units)
    for text, why in lacked:
        notes.add(text, **why)
    customers, labels, group_name = _customers(cfg, inputs, features, units)
    fitted: dict[tuple[str, str, str], learn.Fitted] = {}
    for number, (name, spec) in enumerate(usable.items(), start=1):
        progress.step(f"uplift models for {name}", number, len(usable))
        fitted |= _fit_experiment(name, spec, units, features, labels["group"], settings)
    actions = _actions(settings, {**usable, **averaged}, fitted, notes)
    if settings.budget == 0:
        notes.add(
            "targeting.budget is 0: nothing to spend, so nothing is planned", code="no_budget"
        )
        actions = []
    controls = {name: spec.arms[0] for name, spec in {**usable, **averaged}.items()}
    anchors = {
        a.name: anchor(
            a, fitted, units, controls[a.experiment], labels["group"], features, settings
        )
        for a in actions
    }
    plan, sends, found = _plan(actions, fitted, anchors, customers, labels["group"], settings)
    found["groups"] = group_name
    reachable, consent = _reachable(inputs, customers, cfg.personas.consent_basis)
    found["consent"] = consent
    holdout = _holdout(sends, settings)
    _write(out, fitted, plan, sends, holdout, reachable, actions, settings, run_as_of(inputs))
    found |= _holdout_figures(sends, holdout, units, actions, settings)
    truth = truth_checks(
        cfg.truth_dir, fitted, anchors, units, features, labels, actions, controls, settings
    )
    headline = {
        N_("budget"): found.get("budget"),
        N_("customers planned"): found.get("customers", 0),
        N_("expected extra profit"): found.get("expected_profit"),
        N_("ROI"): found.get("roi"),
    }
    return settled({
        "headline": {k: v for k, v in headline.items() if v is not None},
        "experiments": _by_experiment(fitted, learn.Fitted.findings),
        "plan": found,
        "notes": list(notes),
        "notes_why": notes.why,
        **({"truth": truth} if truth else {}),
    })  # fmt: skip


def _nothing(out: Path, reason: str) -> dict[str, Any]:
    MODELS.at(out).write_text("{}")
    return {"experiments": {}, "skipped": reason}


def _usable(
    specs: dict[str, ExperimentSpec], verdicts: dict[str, Any], units: pd.DataFrame,
    settings: TargetingSettings, notes: Notes,
) -> tuple[dict[str, ExperimentSpec], dict[str, ExperimentSpec]]:  # fmt: skip
    """The experiments to learn uplift from, and those too small to learn from whose A/B
    averages per group can still be planned on; each one left out or only averaged gets
    a note naming it and why."""
    usable, averaged = {}, {}
    for name, spec in specs.items():
        mine = units[units["experiment_id"] == name]
        counts = mine["variant"].value_counts().reindex(spec.arms, fill_value=0)
        if not verdicts.get(name, {}).get("srm", {}).get("passed", False):
            notes.add(
                f"{name}: left out, its sample-ratio check failed (stage 07_ab_test)",
                code="srm_failed", experiment=name,
            )  # fmt: skip
        elif (counts > 0).sum() < 2 or counts.iloc[0] == 0:
            notes.add(
                f"{name}: left out, it needs units in its control and another arm "
                f"({counts.to_dict()})",
                code="no_units", experiment=name, counts=_ints(counts),
            )  # fmt: skip
        elif counts.min() < settings.min_units:
            averaged[name] = spec
            notes.add(
                f"{name}: too small to learn uplift from (an arm has fewer than "
                f"targeting.min_units = {settings.min_units} units: {counts.to_dict()}); "
                "its actions are planned on its A/B averages per group",
                code="too_small", experiment=name, min_units=settings.min_units,
                counts=_ints(counts),
            )  # fmt: skip
        else:
            usable[name] = spec
    return usable, averaged


def _training_features(
    cfg: Config, inputs: dict[str, Path], units: pd.DataFrame
) -> tuple[pd.DataFrame, list[tuple[str, dict[str, Any]]]]:
    """The features models learn from, one row per customer, indexed by id.

    Stage 05's features on the day before the first assignment (a customer's behaviour
    after it would carry the treatment's effect); without stage 05, the unit tables' own
    numeric columns and segments (a campaign file's covariates, taken before the test).
    """
    if FEATURES.exists(inputs):
        first = pd.to_datetime(units["assigned_ts"]).min().date() - dt.timedelta(days=1)
        table = features_at(cfg, inputs, first).table
        table = table.drop(columns=["consent", "order_hour"], errors="ignore").astype(float)
        return _settled(table).sort_index(), []
    columns = [c for c in units.columns if c not in BOOKKEEPING and c not in OUTCOMES]
    own = units.drop_duplicates("customer_id").set_index("customer_id")[columns]
    numeric = own.select_dtypes("number")
    labels = own.drop(columns=numeric.columns)
    table = numeric.join(pd.get_dummies(labels, dtype=float)).astype(float)
    if table.shape[1] == 0:
        raise TargetingDataError(
            "no customer features: stage 05_clustering did not run and the unit tables "
            "carry no covariates or segments (source.campaign.covariates, segments)"
        )
    text = (
        "no customer features from stage 05_clustering: the models learn from the "
        f"campaign file's own columns ({', '.join(columns)})"
    )
    return table, [(text, {"code": "no_features", "columns": columns})]


def _settled(table: pd.DataFrame) -> pd.DataFrame:
    """The table's numbers to :data:`~customer_analytics.experiments.stage.SIGNIFICANT_DIGITS`
    (:func:`.learn.settle`): DuckDB's sums differ in their last bits between runs, and
    a model fitted on them must not."""
    numbers = table.select_dtypes("number").columns
    settled_numbers = learn.settle(table[numbers].to_numpy(dtype=float))
    return table.assign(**{c: settled_numbers[:, k] for k, c in enumerate(numbers)})


def _fit_experiment(
    name: str, spec: ExperimentSpec, units: pd.DataFrame, features: pd.DataFrame,
    groups: pd.Series, settings: TargetingSettings,
) -> dict[tuple[str, str, str], learn.Fitted]:  # fmt: skip
    """Every treated arm's models of every per-customer outcome the experiment measured."""
    mine = units[units["experiment_id"] == name]
    # The planned outcome, conversion (the chance a coupon is redeemed) and a campaign's
    # visits; each more outcome would cost the stage as much again.
    planned = next((o for o in settings.outcomes if o in mine), None)
    outcomes = [o for o in dict.fromkeys([planned, "conversion", "visit"]) if o in mine]
    fitted = {}
    for arm in spec.arms[1:]:
        part = mine[mine["variant"].isin([spec.arms[0], arm])]
        X = features.reindex(part["customer_id"]).to_numpy()
        treated = (part["variant"] == arm).to_numpy()
        test = learn.held_out(part["customer_id"], settings.test_share, settings.seed)
        cost = settings.actions.get(name, {}).get(arm)
        for outcome in outcomes:
            y = part[outcome].to_numpy(dtype=float)
            value = outcome == "margin" and all(c in part for c in learn.VALUE_PARTS)
            fitted[(name, arm, outcome)] = learn.fit_arm(
                name, spec, arm, outcome, X, y, treated, test, part["customer_id"].to_numpy(),
                groups.reindex(part["customer_id"]).fillna("other").to_numpy(),
                settings.n_bootstrap, settings.seed,
                parts=part[list(learn.VALUE_PARTS)].to_numpy(dtype=float) if value else None,
                face_value=cost.face_value if cost is not None else 0.0,
            )  # fmt: skip
    return fitted


def _actions(
    settings: TargetingSettings, planned: dict[str, ExperimentSpec],
    fitted: dict[tuple[str, str, str], learn.Fitted], notes: Notes,
) -> list[Action]:  # fmt: skip
    """The actions the plan chooses among: the configured arms of the experiments that
    can be planned on (``planned``), each with its channel's cost."""
    actions = []
    for experiment, arms in settings.actions.items():
        for arm, cost in arms.items():
            if cost.channel not in settings.channels:
                raise TargetingDataError(
                    f"targeting.actions.{experiment}.{arm}: channel {cost.channel!r} has no "
                    f"cost in targeting.channels (known: {sorted(settings.channels)})"
                )
            if experiment not in planned or arm not in planned[experiment].arms[1:]:
                notes.add(
                    f"targeting.actions.{experiment}.{arm}: not planned, no usable experiment "
                    "arm of that name (see above)",
                    code="unusable_action", experiment=experiment, arm=arm,
                )  # fmt: skip
                continue
            channel = settings.channels[cost.channel]
            actions.append(Action(experiment, arm, cost.channel, channel.cost, cost.face_value))
    for experiment, arm in sorted({(e, a) for e, a, _ in fitted}):
        if arm not in settings.actions.get(experiment, {}):
            notes.add(
                f"{experiment}:{arm}: modelled, not planned: no cost in "
                f"targeting.actions.{experiment}.{arm}",
                code="no_cost", experiment=experiment, arm=arm,
            )  # fmt: skip
    return actions


def _customers(
    cfg: Config, inputs: dict[str, Path], training: pd.DataFrame, units: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The customers a plan is for: their features today, and their labels (``group``,
    with ``persona`` and ``rfm_segment`` where those stages ran).

    Stage 05's features at ``as_of`` for every buyer; without them, the campaign's own
    customers with the features the models learned from. The group is the first of
    ``targeting.groups`` the customers have.
    """
    if FEATURES.exists(inputs):
        table = pd.read_parquet(FEATURES.path(inputs)).set_index("customer_id")
        features = _settled(table.reindex(columns=training.columns).astype(float)).sort_index()
    else:
        features = training
    labels = pd.DataFrame(index=features.index)
    if CUSTOMERS_PERSONAS.exists(inputs):
        known = pd.read_parquet(CUSTOMERS_PERSONAS.path(inputs)).set_index("customer_id")
        labels["persona"] = known["persona"].reindex(labels.index)
    if CUSTOMERS_RFM.exists(inputs):
        known = pd.read_parquet(CUSTOMERS_RFM.path(inputs)).set_index("customer_id")
        labels["rfm_segment"] = known["segment"].reindex(labels.index)
    own = units.drop_duplicates("customer_id").set_index("customer_id")
    for column in cfg.targeting.groups:
        if column in labels and labels[column].notna().any():
            group = labels[column]
            break
        if column in own and own[column].dtype == object:
            group = own[column].reindex(labels.index)
            break
    else:
        group, column = pd.Series("all customers", index=labels.index), "none"
    labels.insert(0, "group", group.fillna("other").astype(str))
    return features, labels, column


def _plan(
    actions: list[Action], fitted: dict[tuple[str, str, str], learn.Fitted],
    anchors: dict[str, Anchor], customers: pd.DataFrame, groups: pd.Series,
    settings: TargetingSettings,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:  # fmt: skip
    """The plan per group and action, the sends (one row per customer and action) and
    the plan's totals, beside sending the best action to everyone it can reach.

    A cell's interval is its expected figure plus or minus 1.96 times its customers
    times their group's standard error (the customers of a cell share a group); the
    total's adds the cells' errors in quadrature.
    """
    if not actions:
        return pd.DataFrame(), pd.DataFrame(columns=[*SEND_COLUMNS, "cash"]), {
            "budget": settings.budget, "actions": 0,
            "reason": N_("no action has both an uplift model and costs (targeting.actions)"),
        }  # fmt: skip
    X, group = customers.to_numpy(), groups.to_numpy()
    priced = [price_action(a, fitted, X, group, anchors[a.name], settings) for a in actions]
    profit = np.column_stack([p["profit"] for p in priced])
    cash = np.column_stack([p["cash"] for p in priced])
    sends = allocate(profit, cash, groups, actions, settings.budget, settings)
    sends["customer_id"] = customers.index.to_numpy()[sends["customer"]]
    sends["group"] = group[sends["customer"]]
    sends["action"] = [actions[o].name for o in sends["option"]]
    sends["channel"] = [actions[o].channel for o in sends["option"]]
    rows, errors = [], []
    for (name, option), part in sends.groupby(["group", "option"]):
        p, who = priced[option], part["customer"].to_numpy()
        row = {"group": name, "action": actions[option].name, "channel": actions[option].channel,
               "customers": len(who), "cash_out": float(part["cash"].sum())}  # fmt: skip
        for figure in ("profit", *FIGURES):
            if figure in p:
                point, se = float(p[figure][who].sum()), float(p[f"se_{figure}"][who].sum())
                row |= {f"expected_{figure}": point, f"expected_{figure}_low": point - 1.96 * se,
                        f"expected_{figure}_high": point + 1.96 * se}  # fmt: skip
                if figure == "profit":
                    errors.append(se)
        rows.append(row)
    plan = pd.DataFrame(rows)
    total = float(plan["expected_profit"].sum())
    margin = 1.96 * float(np.sqrt(np.sum(np.square(errors))))
    totals = {
        "budget": settings.budget,
        "cash_out": float(plan["cash_out"].sum()),
        "customers": int(sends["customer_id"].nunique()),
        "outcome": priced[0]["outcome"],
        "expected_profit": total,
        "expected_profit_low": total - margin,
        "expected_profit_high": total + margin,
        "slopes": {a.name: p["slope"] for a, p in zip(actions, priced, strict=True)},
    }
    totals["roi"] = total / totals["cash_out"] if totals["cash_out"] else float("nan")
    totals["top_cells"] = (
        plan.nlargest(3, "expected_profit")[["group", "action"]].to_numpy().tolist()
    )
    everyone = {a.name: _everyone(a, p, settings) for a, p in zip(actions, priced, strict=True)}
    totals["everyone"] = max(everyone.values(), key=lambda e: e["expected_profit"])
    return plan, sends, totals


def _everyone(action: Action, priced: dict[str, Any], settings: TargetingSettings) -> dict:
    """The action sent to customers at random, all of them if the budget and the
    channel's capacity allow, else as many as they do: its expected totals."""
    n, cash = len(priced["profit"]), float(priced["cash"].sum())
    capacity = settings.channels[action.channel].capacity
    reach = min(1.0, settings.budget / cash if cash > 0 else 1.0,
                capacity / n if capacity is not None and n else 1.0)  # fmt: skip
    return {
        "action": action.name,
        "customers": round(n * reach),
        "expected_profit": float(priced["profit"].sum()) * reach,
        "cash_out": cash * reach,
    }


def _reachable(
    inputs: dict[str, Path], customers: pd.DataFrame, basis: str | None
) -> tuple[pd.Index | None, str]:
    """The planned customers lists may name (consent, stage 06_personas), and why."""
    consent = pd.DataFrame({"consent": np.nan}, index=customers.index)
    if CUSTOMERS_PERSONAS.exists(inputs):
        known = pd.read_parquet(CUSTOMERS_PERSONAS.path(inputs)).set_index("customer_id")
        consent["consent"] = known["consent"].reindex(customers.index)
    reachable, why = reachable_customers(consent, basis)
    return (None if reachable is None else reachable.index), why


def _holdout(sends: pd.DataFrame, settings: TargetingSettings) -> pd.Series:
    """True for the planned customers kept out of every list, at random."""
    ids = pd.Series(sends["customer_id"].unique())
    kept_out = learn.held_out(ids, settings.holdout_share, settings.seed + 1)
    return sends["customer_id"].isin(ids[kept_out])


def _holdout_figures(
    sends: pd.DataFrame, holdout: pd.Series, units: pd.DataFrame, actions: list[Action],
    settings: TargetingSettings,
) -> dict[str, Any]:  # fmt: skip
    """The holdout's size and the smallest lift of the planned outcome it can detect
    (alpha 0.05, power 0.8), from the spread of that outcome among the experiments'
    treated units."""
    n_holdout = int(sends.loc[holdout, "customer_id"].nunique())
    n_sent = int(sends.loc[~holdout, "customer_id"].nunique())
    found: dict[str, Any] = {"holdout_customers": n_holdout, "listed_customers": n_sent}
    if not actions or not n_holdout or not n_sent:
        return found
    outcome = next(o for o in settings.outcomes if o in units)
    mine = units[units["experiment_id"].isin({a.experiment for a in actions})]
    treated = mine[mine["variant"].isin({a.arm for a in actions})][outcome]
    control = mine[~mine["variant"].isin({a.arm for a in actions})][outcome]
    se = float(treated.std() * np.sqrt(1 / n_sent + 1 / n_holdout))
    found["holdout_outcome"] = outcome
    found["holdout_mde_rel"] = mde_from_se(se, float(control.mean()))
    found["holdout_mde_abs"] = found["holdout_mde_rel"] * abs(float(control.mean()))
    return found


def _write(
    out: Path, fitted: dict[tuple[str, str, str], learn.Fitted], plan: pd.DataFrame,
    sends: pd.DataFrame, holdout: pd.Series, reachable: pd.Index | None,
    actions: list[Action], settings: TargetingSettings, as_of: dt.date,
) -> None:  # fmt: skip
    models = _by_experiment(
        fitted, lambda f: {**f.findings(), "deciles": f.deciles.to_dict(orient="records")}
    )
    MODELS.at(out).write_text(json.dumps(models, indent=1, default=float))
    curves = [f.curve.assign(experiment=e, arm=a, outcome=o) for (e, a, o), f in fitted.items()]
    (pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()).to_parquet(CURVES.at(out))
    plan.to_parquet(PLAN.at(out), index=False)
    columns = list(SEND_COLUMNS)
    sends.loc[holdout, columns].to_csv(HOLDOUT.at(out), index=False)
    folder = LISTS.at(out)
    folder.mkdir()
    if reachable is not None:
        listed = sends[~holdout & sends["customer_id"].isin(reachable)]
        for action, part in listed.groupby("action"):
            part[columns].to_csv(folder / f"{action.replace(':', '__')}.csv", index=False)
    if actions:
        spec = next_experiment(actions, settings, as_of)
        NEXT_EXPERIMENT.at(out).write_text(
            yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
        )


def next_experiment(actions: list[Action], settings: TargetingSettings, as_of: dt.date) -> dict:
    """The plan as an experiment a later run's A/B stage reads (``ab.experiments_file``):
    the listed customers against the holdout, on conversion and the planned outcome;
    the exposures are ``holdout.csv`` and the lists, assigned on the day they are sent."""
    name = f"targeting_plan_{as_of:%Y%m%d}"
    spec = {
        "description": "The targeting plan's sends against its random holdout: "
        + ", ".join(a.name for a in actions),
        "arms": ["holdout", "plan"],
        "planned_split": [settings.holdout_share, 1 - settings.holdout_share],
        "window_days": 14,
        "metrics": [
            {"name": "conversion", "type": "proportion", "role": "goal", "min_effect": 0.05},
            {"name": settings.outcomes[0], "type": "mean", "role": "goal", "min_effect": 0.05},
        ],
    }
    ExperimentSpec.model_validate(spec)
    return {name: spec}


def _by_experiment(
    fitted: dict[tuple[str, str, str], learn.Fitted], view: Callable[[learn.Fitted], Any]
) -> dict[str, Any]:
    """``view`` of every fitted arm and outcome, nested by experiment, arm and outcome."""
    found: dict[str, Any] = {}
    for (e, a, o), f in fitted.items():
        found.setdefault(e, {}).setdefault(a, {})[o] = view(f)
    return found
