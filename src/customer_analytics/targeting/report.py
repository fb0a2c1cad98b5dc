"""What the 09_targeting notebook shows: the plan in one sentence, every uplift model's
held-out scores beside the usual practice, Qini curves, calibration by decile, the plan
per group and action, and on the synthetic shop the plans scored by the planted effects."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from customer_analytics.targeting.learn import MODELS

NAMES = {"response": "response model (usual practice)", "two_model": "two models (T-learner)",
         "doubly_robust": "doubly robust (DR-learner)",
         "value": "value model (orders x margin - coupon)",
         "value_proportional": "value model, proportional lift"}  # fmt: skip


def money(value: float, currency: str = "") -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}{currency}{abs(value):,.0f}"


def targeting_sentences(found: dict[str, Any], currency: str = "") -> list[str]:
    """Plain-language findings for the run's index page: the plan and what it beats."""
    if "skipped" in found:
        return [f"No targeting plan: {found['skipped']}."]
    plan = found["plan"]
    if not plan.get("customers"):
        return [f"No targeting plan: {plan.get('reason', 'no customer is worth an action')}."]
    groups = ", ".join(f"{a} to {g}" for g, a in plan["top_cells"])
    everyone = plan["everyone"]
    lines = [
        f"With {money(plan['budget'], currency)}, send {groups}: {plan['customers']:,} customers, "
        f"expected {money(plan['expected_profit'], currency)} extra profit "
        f"({money(plan['expected_profit_low'], currency)} to "
        f"{money(plan['expected_profit_high'], currency)}) for "
        f"{money(plan['cash_out'], currency)} cash out, against "
        f"{money(everyone['expected_profit'], currency)} for sending {everyone['action']} "
        f"to {everyone['customers']:,} customers at random, as many as the budget and the "
        f"channel allow (cash out {money(everyone['cash_out'], currency)}).",
    ]
    if plan.get("holdout_customers"):
        lines.append(
            f"{plan['holdout_customers']:,} planned customers are held out at random so the "
            f"plan's real effect can be measured; the smallest change in "
            f"{plan['holdout_outcome']} this can detect is {plan['holdout_mde_rel']:.0%}."
        )
    truth = found.get("truth", {}).get("plans")
    if truth:
        lines.append(
            f"Scored by the planted effects, the plan earns {truth['ours']['share_of_oracle']:.0%} "
            "of what a plan that knew them would."
        )
    return lines


def key_figures_text(found: dict[str, Any]) -> str:
    """The headline figures, rounded, in a fixed order (checked by nbval)."""
    lines = []
    for experiment, arms in found.get("experiments", {}).items():
        for arm, outcomes in arms.items():
            for outcome, fit in outcomes.items():
                lines.append(f"{experiment} {arm} {outcome}: chosen {fit['chosen']}")
    plan = found.get("plan", {})
    if plan.get("customers"):
        lines.append(f"plan: {plan['customers']} customers, groups by {plan['groups']}")
    return "\n".join(lines)


def models_table(found: dict[str, Any]) -> pd.DataFrame:
    """Every model's Qini and AUUC with bands and uplift at 10/20/30%, held out."""
    rows = []
    for experiment, arms in found["experiments"].items():
        for arm, outcomes in arms.items():
            for outcome, fit in outcomes.items():
                for model in (m for m in MODELS if m in fit["models"]):
                    s = fit["models"][model]
                    rows.append({
                        "experiment": experiment, "arm": arm, "outcome": outcome,
                        "model": NAMES[model] + (" ✓" if model == fit["chosen"] else ""),
                        "Qini": f"{s['qini']:.3f} ({s['qini_low']:.3f} to {s['qini_high']:.3f})",
                        "AUUC": f"{s['auuc']:.4f} ({s['auuc_low']:.4f} to {s['auuc_high']:.4f})",
                        **{f"uplift at {k}%": round(s[f"uplift_at_{k}"], 3) for k in (10, 20, 30)},
                    })  # fmt: skip
    return pd.DataFrame(rows).set_index(["experiment", "arm", "outcome", "model"])


def qini_figure(curves: pd.DataFrame, outcome: str) -> plt.Figure:
    """Qini curves of every model, one panel per experiment arm, for ``outcome``."""
    part = curves[curves["outcome"] == outcome]
    panels = part[["experiment", "arm"]].drop_duplicates().to_numpy()
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4), squeeze=False)
    for ax, (experiment, arm) in zip(axes[0], panels, strict=True):
        mine = part[(part["experiment"] == experiment) & (part["arm"] == arm)]
        for model, curve in mine.groupby("model"):
            ax.plot(curve["share"], curve["qini"], label=NAMES[model])
        end = mine.groupby("model")["qini"].last().mean()
        ax.plot([0, 1], [0, end], color="grey", linestyle="--", label="random")
        ax.set_title(f"{experiment}: {arm}")
        ax.set_xlabel("share of held-out customers targeted")
    return _finished(fig, axes, f"incremental {outcome}")


def calibration_figure(models: dict[str, Any], outcome: str) -> plt.Figure:
    """Predicted against observed uplift by decile of the chosen model, per arm."""
    panels = [(e, a, fit) for e, arms in models.items() for a, outs in arms.items()
              for o, fit in outs.items() if o == outcome]  # fmt: skip
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4), squeeze=False)
    for ax, (experiment, arm, fit) in zip(axes[0], panels, strict=True):
        deciles = pd.DataFrame(fit["deciles"])
        ax.bar(deciles["decile"], deciles["observed"], color="#9ecae1", label="observed")
        ax.plot(
            deciles["decile"], deciles["predicted"], marker="o", color="#08519c", label="predicted"
        )
        ax.set_title(f"{experiment}: {arm} ({fit['chosen']})")
        ax.set_xlabel("decile of predicted uplift (1 = highest)")
    return _finished(fig, axes, f"uplift in {outcome}")


def _finished(fig: plt.Figure, axes: Any, ylabel: str) -> plt.Figure:
    """One y label on the first panel, one legend on the last."""
    axes[0][0].set_ylabel(ylabel)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plan_table(plan: pd.DataFrame) -> pd.DataFrame:
    """The plan per group and action, with intervals and ROI."""
    if plan.empty:
        return plan
    table = plan.copy()
    table["ROI"] = (table["expected_profit"] / table["cash_out"]).round(2)
    return table.round(1).set_index(["group", "action"])


def truth_table(found: dict[str, Any]) -> pd.DataFrame:
    """Every plan's true profit at the same budget (synthetic shop)."""
    plans = found.get("truth", {}).get("plans", {})
    return pd.DataFrame(plans).T.round(1)


def notes_markdown(found: dict[str, Any]) -> str:
    notes = found.get("notes", [])
    return "\n".join(f"- {n}" for n in notes) if notes else "Nothing was left out."
