"""What the 09_targeting notebook shows: the plan in one sentence, every uplift model's
held-out scores beside the usual practice, Qini curves, calibration by decile, the plan
per group and action, and on the synthetic shop the plans scored by the planted effects.

Every function a page shows speaks the current report language (:mod:`customer_analytics.i18n`):
the notebook calls each once per language through ``st.show`` and ``st.figure``. The
names of actions, experiments and arms come from the experiments YAML's language blocks,
those of groups from the stages that made them (:class:`Names`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from pandas.io.formats.style import Styler

from customer_analytics.experiments.words import (
    arm_label,
    experiment_label,
    is_source,
    listed,
    metric_label,
)
from customer_analytics.i18n import N_, _, formats
from customer_analytics.personas.cards import card_word
from customer_analytics.targeting.learn import MODELS

NAMES = {"response": N_("response model (usual practice)"),
         "two_model": N_("two models (T-learner)"),
         "doubly_robust": N_("doubly robust (DR-learner)"),
         "value": N_("value model (orders x margin - coupon)"),
         "value_proportional": N_("value model, proportional lift")}  # fmt: skip
#: The plans scored by the planted effects (``truth.plans``).
PLANS = {
    "ours": N_("our plan"),
    "oracle": N_("oracle (knows the effects)"),
    "random": N_("random targeting"),
    "everyone": N_("best action on average, at random"),
    "per_persona_ab": N_("per-persona A/B plan"),
    "rfm_rule": N_("RFM segment rule"),
}
#: Groups a plan falls back to when the customers have no persona or segment.
GROUPS = {"other": N_("other"), "all customers": N_("all customers")}
GROUP_COLUMNS = {
    "persona": N_("persona"),
    "rfm_segment": N_("RFM segment"),
    "none": N_("no groups"),
}


@dataclass
class Names:
    """The words of a plan's names in the current language.

    Attributes
    ----------
    specs
        The run's experiments by name (``Config.experiments()``): actions are their arms.
    personas
        Stage 06's persona cards by (English) name (``personas.json``); each names its
        persona in every report language (``personas.cards.card_word``).
    segments
        The RFM segment scheme (``rfm.segments.load_segments``), or None.
    """

    specs: Mapping[str, Any] = field(default_factory=dict)
    personas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    segments: Any = None

    def action(self, name: str) -> str:
        """An action (``experiment:arm``): as the data names it in English, by its arm's
        word in another language."""
        experiment, _sep, arm = name.partition(":")
        if is_source() or not arm:
            return name
        return arm_label(arm, self.specs.get(experiment), experiment)

    def experiment(self, name: str) -> str:
        return experiment_label(name, self.specs.get(name))

    def arm(self, experiment: str, arm: str) -> str:
        return arm_label(arm, self.specs.get(experiment), experiment)

    def group(self, name: str) -> str:
        """A group of the plan: a persona, an RFM segment, or a campaign's segment."""
        if is_source():
            return name
        if name in self.personas:
            return card_word(self.personas[name], "name")
        if self.segments is not None and name in self.segments.names:
            return self.segments.label(name)
        if name in GROUPS:
            return _(GROUPS[name])
        return name


def _name(text: str) -> str:
    """A name for an HTML page: left in Latin on a page in another language, it is
    marked as a name (``translate="no"``)."""
    escaped = html.escape(text)
    if is_source() or not text.isascii():
        return escaped
    return f'<span translate="no">{escaped}</span>'


def _money(value: float, currency: str) -> str:
    return formats.money(value, currency, digits=0)


def _amount(value: float, currency: str) -> str:
    """Money in a table: whole units, with the cents of amounts below ten (a send costs
    a few cents)."""
    return formats.money(value, currency, digits=0 if abs(value) >= 10 else 2)


def targeting_sentences(
    found: dict[str, Any], currency: str, names: Names | None = None
) -> list[str]:
    """Plain-language findings for the run's index page: the plan and what it beats."""
    names = names or Names()
    if "skipped" in found:
        skipped = found["skipped"]
        return [_("No targeting plan: {reason}.").format(reason=_(skipped))]
    plan = found["plan"]
    if not plan.get("customers"):
        why = plan.get("reason") or N_("no customer is worth an action")
        return [_("No targeting plan: {reason}.").format(reason=_(why))]
    groups = listed(
        [
            _("{action} to {group}").format(action=names.action(a), group=names.group(g))
            for g, a in plan["top_cells"]
        ]
    )
    everyone = plan["everyone"]
    lines = [
        _(
            "With {budget}, send {groups}: {customers} customers, expected {profit} extra "
            "profit ({low} to {high}) for {cash} cash out, against {everyone_profit} for "
            "sending {action} to {everyone_customers} customers at random, as many as the "
            "budget and the channel allow (cash out {everyone_cash})."
        ).format(
            budget=_money(plan["budget"], currency),
            groups=groups,
            customers=formats.number(plan["customers"]),
            profit=_money(plan["expected_profit"], currency),
            low=_money(plan["expected_profit_low"], currency),
            high=_money(plan["expected_profit_high"], currency),
            cash=_money(plan["cash_out"], currency),
            everyone_profit=_money(everyone["expected_profit"], currency),
            action=names.action(everyone["action"]),
            everyone_customers=formats.number(everyone["customers"]),
            everyone_cash=_money(everyone["cash_out"], currency),
        ),
    ]
    if plan.get("holdout_customers"):
        lines.append(
            _(
                "{customers} planned customers are held out at random so the plan's real "
                "effect can be measured; the smallest change in {outcome} this can detect "
                "is {mde}."
            ).format(
                customers=formats.number(plan["holdout_customers"]),
                outcome=metric_label(plan["holdout_outcome"]),
                mde=formats.percent(plan["holdout_mde_rel"], 0),
            )
        )
    truth = found.get("truth", {}).get("plans")
    if truth:
        lines.append(
            _(
                "Scored by the planted effects, the plan earns {share} of what a plan that "
                "knew them would."
            ).format(share=formats.percent(truth["ours"]["share_of_oracle"], 0))
        )
    return lines


def key_figures_text(found: dict[str, Any], names: Names | None = None) -> str:
    """The chosen model per experiment, arm and outcome, and the plan's size (a
    markdown list, in a fixed order)."""
    names = names or Names()
    lines = []
    for experiment, arms in found.get("experiments", {}).items():
        for arm, outcomes in arms.items():
            for outcome, fit in outcomes.items():
                lines.append(
                    _("{experiment} {arm} {outcome}: chosen {model}").format(
                        experiment=names.experiment(experiment),
                        arm=names.arm(experiment, arm),
                        outcome=metric_label(outcome),
                        model=_(NAMES.get(fit["chosen"], fit["chosen"])),
                    )
                )
    plan = found.get("plan", {})
    if plan.get("customers"):
        groups = plan["groups"]
        lines.append(
            _("plan: {customers} customers, groups by {groups}").format(
                customers=formats.number(plan["customers"]),
                groups=_(GROUP_COLUMNS[groups]) if groups in GROUP_COLUMNS else groups,
            )
        )
    return "\n".join(f"- {line}" for line in lines)


def _band(point: float, low: float, high: float, digits: int) -> str:
    return _("{point} ({low} to {high})").format(
        point=formats.number(point, digits),
        low=formats.number(low, digits),
        high=formats.number(high, digits),
    )


def models_table(found: dict[str, Any], names: Names | None = None) -> Styler:
    """Every model's Qini and AUUC with bands and uplift at 10/20/30%, held out."""
    names = names or Names()
    rows = []
    for experiment, arms in found["experiments"].items():
        for arm, outcomes in arms.items():
            for outcome, fit in outcomes.items():
                for model in (m for m in MODELS if m in fit["models"]):
                    s = fit["models"][model]
                    row = {
                        _("experiment"): names.experiment(experiment),
                        _("arm"): names.arm(experiment, arm),
                        _("outcome"): metric_label(outcome),
                        _("model"): _(NAMES[model]) + (" ✓" if model == fit["chosen"] else ""),
                        _("Qini"): _band(s["qini"], s["qini_low"], s["qini_high"], 3),
                        _("AUUC"): _band(s["auuc"], s["auuc_low"], s["auuc_high"], 4),
                    }
                    for k in (10, 20, 30):
                        label = _("uplift at {share}").format(share=formats.percent(k / 100, 0))
                        row[label] = s[f"uplift_at_{k}"]
                    rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table.style
    index = [_("experiment"), _("arm"), _("outcome"), _("model")]
    table = table.set_index(index)
    return table.style.format(lambda v: formats.number(v, 3), subset=list(table.columns[2:]))


def qini_figure(curves: pd.DataFrame, outcome: str, names: Names | None = None) -> plt.Figure:
    """Qini curves of every model, one panel per experiment arm, for ``outcome``."""
    names = names or Names()
    part = curves[curves["outcome"] == outcome]
    panels = part[["experiment", "arm"]].drop_duplicates().to_numpy()
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4), squeeze=False)
    for ax, (experiment, arm) in zip(axes[0], panels, strict=True):
        mine = part[(part["experiment"] == experiment) & (part["arm"] == arm)]
        for model, curve in mine.groupby("model"):
            ax.plot(curve["share"], curve["qini"], label=_(NAMES[model]))
        end = mine.groupby("model")["qini"].last().mean()
        ax.plot([0, 1], [0, end], color="grey", linestyle="--", label=_("random"))
        ax.set_title(_panel_title(names, experiment, arm))
        ax.set_xlabel(_("share of held-out customers targeted"))
        ax.xaxis.set_major_formatter(formats.axis("percent", digits=0))
        ax.yaxis.set_major_formatter(formats.axis("number"))
    label = _("incremental {outcome}").format(outcome=metric_label(outcome))
    return _finished(fig, axes, label)


def _panel_title(names: Names, experiment: str, arm: str, model: str = "") -> str:
    title = _("{experiment}: {arm}").format(
        experiment=names.experiment(experiment), arm=names.arm(experiment, arm)
    )
    if model:
        title = _("{title} ({model})").format(title=title, model=_(NAMES.get(model, model)))
    return title


def calibration_figure(
    models: dict[str, Any], outcome: str, names: Names | None = None
) -> plt.Figure:
    """Predicted against observed uplift by decile of the chosen model, per arm."""
    names = names or Names()
    panels = [(e, a, fit) for e, arms in models.items() for a, outs in arms.items()
              for o, fit in outs.items() if o == outcome]  # fmt: skip
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4), squeeze=False)
    for ax, (experiment, arm, fit) in zip(axes[0], panels, strict=True):
        deciles = pd.DataFrame(fit["deciles"])
        ax.bar(deciles["decile"], deciles["observed"], color="#9ecae1", label=_("observed"))
        ax.plot(
            deciles["decile"],
            deciles["predicted"],
            marker="o",
            color="#08519c",
            label=_("predicted"),
        )
        ax.set_title(_panel_title(names, experiment, arm, fit["chosen"]), fontsize=9)
        ax.set_xlabel(_("decile of predicted uplift (1 = highest)"))
        ax.yaxis.set_major_formatter(formats.axis("number", digits=2))
    label = _("uplift in {outcome}").format(outcome=metric_label(outcome))
    return _finished(fig, axes, label)


def _finished(fig: plt.Figure, axes: Any, ylabel: str) -> plt.Figure:
    """One y label on the first panel, one legend on the last."""
    axes[0][0].set_ylabel(ylabel)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


PLAN_COLUMNS = {
    "channel": N_("channel"),
    "customers": N_("customers"),
    "cash_out": N_("cash out"),
    "ROI": N_("ROI"),
}
FIGURE_WORDS = {
    "profit": N_("profit"),
    "orders": N_("orders"),
    "revenue": N_("revenue"),
    "margin": N_("margin"),
    "conversion": N_("conversion"),
}
CHANNELS = {"push": N_("push"), "sms": N_("SMS"), "email": N_("e-mail")}


def _plan_column(column: str) -> str | None:
    """A plan column's header: ``expected_profit_low`` is "expected profit, low"."""
    if column in PLAN_COLUMNS:
        return _(PLAN_COLUMNS[column])
    if not column.startswith("expected_"):
        return None
    figure = column.removeprefix("expected_")
    end = ""
    for suffix in ("_low", "_high"):
        if figure.endswith(suffix):
            figure, end = figure.removesuffix(suffix), suffix
    word = _(FIGURE_WORDS[figure]) if figure in FIGURE_WORDS else figure
    if end == "_low":
        return _("expected {figure}, low").format(figure=word)
    if end == "_high":
        return _("expected {figure}, high").format(figure=word)
    return _("expected {figure}").format(figure=word)


def plan_table(plan: pd.DataFrame, currency: str, names: Names | None = None) -> Any:
    """The plan per group and action, with intervals and ROI."""
    names = names or Names()
    if plan.empty:
        return _("Nothing is planned.")
    table = plan.copy()
    table["ROI"] = table["expected_profit"] / table["cash_out"]
    table["group"] = [_name(names.group(g)) for g in table["group"]]
    table["action"] = [_name(names.action(a)) for a in table["action"]]
    if "channel" in table:
        table["channel"] = [_(CHANNELS[c]) if c in CHANNELS else c for c in table["channel"]]
    table = table.set_index(["group", "action"]).rename_axis([_("group"), _("action")])
    headers = {c: _plan_column(c) for c in table.columns}
    table = table.rename(columns={c: h for c, h in headers.items() if h})
    money = [h for c, h in headers.items() if h and ("profit" in c or "revenue" in c
             or "margin" in c or c == "cash_out")]  # fmt: skip
    style: dict[str, Any] = {h: (lambda v: _amount(v, currency)) for h in money}
    style[_("customers")] = formats.number
    style[_("ROI")] = lambda v: formats.number(v, 2)
    for c, h in headers.items():
        if h and h not in style and c.startswith("expected_"):
            style[h] = lambda v: formats.number(v, 1)
    return table.style.format(style, na_rep="")


def truth_table(found: dict[str, Any], currency: str) -> Any:
    """Every plan's true profit at the same budget (synthetic shop)."""
    plans = found.get("truth", {}).get("plans", {})
    if not plans:
        return _("A real campaign: there are no planted effects to score the plans by.")
    columns = {
        "true_profit": _("true profit"),
        "true_cash_out": _("true cash out"),
        "customers": _("customers"),
        "share_of_oracle": _("share of the oracle's profit"),
    }
    table = pd.DataFrame(plans).T.reindex(columns=list(columns))
    table.index = [_(PLANS[p]) if p in PLANS else p for p in table.index]
    table = table.rename(columns=columns).rename_axis(_("plan"))
    style = {
        columns["true_profit"]: lambda v: _amount(v, currency),
        columns["true_cash_out"]: lambda v: _amount(v, currency),
        columns["customers"]: formats.number,
        columns["share_of_oracle"]: lambda v: formats.percent(v, 0),
    }
    return table.style.format(style, na_rep="")


def _counts(counts: Mapping[str, int], names: Names, experiment: str) -> str:
    return listed(
        [
            _("{arm} {units}").format(arm=names.arm(experiment, a), units=formats.number(n))
            for a, n in counts.items()
        ]
    )


def note_text(why: Mapping[str, Any], names: Names | None = None) -> str:
    """One note of what the stage left out (``notes_why``) in the current language."""
    names = names or Names()
    code, experiment = why["code"], why.get("experiment", "")
    shown = f"`{experiment}`" if is_source() else names.experiment(experiment)
    arm = names.arm(experiment, why["arm"]) if "arm" in why else ""
    if code == "srm_failed":
        return _(
            "{experiment}: left out, its sample-ratio check failed (stage 07_ab_test)."
        ).format(experiment=shown)
    if code == "no_units":
        return _(
            "{experiment}: left out, it needs units in its control and another arm ({counts})."
        ).format(experiment=shown, counts=_counts(why["counts"], names, experiment))
    if code == "too_small":
        return _(
            "{experiment}: too small to learn uplift from (an arm has fewer than "
            "`targeting.min_units` = {min_units} units: {counts}); its actions are planned "
            "on its A/B averages per group."
        ).format(
            experiment=shown,
            min_units=formats.number(why["min_units"]),
            counts=_counts(why["counts"], names, experiment),
        )
    if code == "no_features":
        return _(
            "No customer features from stage 05_clustering: the models learn from the campaign file's "
            "own columns ({columns})."
        ).format(columns=", ".join(f"`{c}`" for c in why["columns"]))
    if code == "no_budget":
        return _("`targeting.budget` is 0: nothing to spend, so nothing is planned.")
    if code == "unusable_action":
        return _(
            "{experiment}, {arm} (`targeting.actions.{key}`): not planned, no usable "
            "experiment arm of that name (see above)."
        ).format(experiment=shown, arm=arm, key=f"{experiment}.{why['arm']}")
    if code == "no_cost":
        return _(
            "{experiment}, {arm}: modelled, not planned: no cost in `targeting.actions.{key}`."
        ).format(experiment=shown, arm=arm, key=f"{experiment}.{why['arm']}")
    return str(why.get("text", code))


def notes_markdown(found: dict[str, Any], names: Names | None = None) -> str:
    """What the stage left out, as a markdown list: the findings' English ``notes``, in
    another language said again from their ``notes_why``."""
    whys = found.get("notes_why")
    if whys is not None and not is_source():
        notes = [note_text(w, names) for w in whys]
    else:
        notes = list(found.get("notes", []))
    return "\n".join(f"- {n}" for n in notes) if notes else _("Nothing was left out.")


def persona_cards(cards: Any) -> dict[str, Mapping[str, Any]]:
    """Stage 06's persona cards (``personas.json``) by name, for :class:`Names`."""
    if not isinstance(cards, list):
        return {}
    return {c["name"]: c for c in cards if isinstance(c, Mapping) and "name" in c}
