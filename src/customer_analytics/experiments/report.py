"""What notebook 07_ab_test shows: sentences, tables and the forest plot, from the stage's
``experiments.json`` and findings (:mod:`customer_analytics.experiments.stage`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from customer_analytics.experiments.stats.power import minimum_detectable_effect, sample_size
from customer_analytics.experiments.verdict import signed_percent


def _pct(value: float | None) -> str:
    return "n/a" if value is None else signed_percent(value)


def _interval(ci: list[float | None]) -> str:
    low, high = ci
    return f"{_pct(low)}..{_pct(high)}"


def _lift(e: dict[str, Any], arm: str, metric: str, named: bool = False) -> str | None:
    """``+30.7% conversion (95% CI +17.1%..+44.3%, family-wide)``, or None; ``named``:
    ``conversion +30.7% (...)``."""
    row = e["metrics"].get(f"{arm} / {metric}")
    if row is None:
        return None
    if e["decided_by"] == "sequential":
        ci, label = row["sequential_ci"], "always-valid"
    else:
        ci, label = row["family_ci"], "family-wide"
    lift = f"{metric} {_pct(row['rel_lift'])}" if named else f"{_pct(row['rel_lift'])} {metric}"
    text = f"{lift} ({1 - e['alpha']:.0%} CI {_interval(ci)}, {label})"
    if row.get("ci_disagrees"):
        text += " [interval and corrected p-value disagree at the margin]"
    return text


def _clause(e: dict[str, Any], arm: str, verdict: dict[str, Any]) -> str:
    """``treatment: ship, +30.7% conversion (95% CI +17.1%..+44.3%, family-wide)``."""
    head = f"{arm}: {verdict['decision']}"
    lift = _lift(e, arm, verdict["metric"]) if verdict["metric"] else None
    if lift is None:
        return f"{head} ({verdict['reason']})"
    text = f"{head}, {lift}"
    if verdict.get("guardrail"):
        guard = _lift(e, arm, verdict["guardrail"], named=True)
        text += f", but guardrail {guard} cannot rule out a larger drop than tolerated"
    return text


def ab_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the A/B stage for the run's index page.

    Parameters
    ----------
    found : dict
        The stage's findings (:func:`customer_analytics.experiments.stage.run`).

    Returns
    -------
    list of str
        One sentence per experiment: each arm's decision with the lift and interval it
        rests on (the family-wide interval, or the always-valid one with
        ``ab.sequential``), and the guardrail that kept a goal win from shipping.
    """
    if not found["experiments"]:
        return [f"No experiment analysed: {found.get('skipped', '')}."]
    sentences = []
    for name, e in found["experiments"].items():
        verdicts = e["verdicts"]
        if e["verdict"] == "blocked":
            reason = next(iter(verdicts.values()))["reason"]
            sentences.append(f"{name} — blocked: {reason}.")
            continue
        clauses = [_clause(e, arm, v) for arm, v in verdicts.items()]
        sentences.append(f"{name} — {'; '.join(clauses)}.")
    return sentences


def detail_frame(e: dict[str, Any]) -> pd.DataFrame:
    """Every arm and metric of one experiment as a table.

    Parameters
    ----------
    e : dict
        One experiment of ``experiments.json``.

    Returns
    -------
    pandas.DataFrame
        Per arm and metric: lifts with their 95% and family-wide intervals, p-values,
        decision, chance to win, power, MDE, a guardrail's one-sided bound, CUPED's
        variance reduction and, with ``ab.sequential``, the always-valid interval
        (format with :data:`DETAIL_FORMATS`).
    """
    sequential = e.get("sequential") is not None
    rows = []
    for r in e["metrics"]:
        row = {
            "arm / metric": r["key"],
            "role": r["role"],
            "control": r["control_mean"],
            "treatment": r["treatment_mean"],
            "abs lift [95% CI]": f"{r['abs_lift']:,.4g} [{r['abs_ci'][0]:,.4g}, {r['abs_ci'][1]:,.4g}]",
            "rel lift [95% CI]": f"{_pct(r['rel_lift'])} [{_interval(r['rel_ci'])}]",
            "family-wide CI": f"[{_interval(r['family_ci'])}]"
            + (" (disagrees)" if r["ci_disagrees"] else ""),
            "p": r["rel_p"],
            "p corrected": r["p_adjusted"],
            "significant": r["significant"],
            "chance to win": r["chance_to_win"],
            "power": r["power_at_min_effect"],
            "MDE": r["mde"],
            "CUPED variance removed": r["variance_reduction"],
            "unadjusted rel lift": r.get("unadjusted_rel_lift"),
        }
        if r["role"] == "guardrail":
            row["guardrail bound"] = r["harm_bound"]
        if sequential:
            row["always-valid CI"] = f"[{_interval(r['sequential_ci'])}]"
            row["significant (sequential)"] = r["sequential_significant"]
        rows.append(row)
    return pd.DataFrame(rows)


DETAIL_FORMATS = {
    "control": "{:,.4g}",
    "treatment": "{:,.4g}",
    "p": "{:.4f}",
    "p corrected": "{:.4f}",
    "chance to win": "{:.1%}",
    "power": "{:.0%}",
    "MDE": "{:+.1%}",
    "guardrail bound": "{:+.1%}",
    "CUPED variance removed": "{:.1%}",
    "unadjusted rel lift": "{:+.1%}",
}


def plan_frame(
    experiments: dict[str, Any],
    lifts: tuple[float, ...] = (0.05, 0.10, 0.20, 0.30),
    alpha: float = 0.05,
    power: float = 0.8,
) -> pd.DataFrame:
    """Planning the next test: customers per arm to detect each relative lift, and the
    MDE each finished test had, per proportion and mean metric.

    Baselines are each experiment's control: the plain mean and, for mean metrics, the
    unit-level standard deviation (CUPED would need fewer customers; the plan ignores it).
    Ratio metrics need the joint distribution of numerator and denominator and are left
    out, as are proportions of 0 or 1 (nothing to detect a relative lift on). Sample
    sizes and MDEs are those of :mod:`customer_analytics.experiments.stats.power`.

    Parameters
    ----------
    experiments : dict
        ``experiments.json``.
    lifts : tuple of float
        Relative lifts to plan for.
    alpha, power : float
        Two-sided level and power.

    Returns
    -------
    pandas.DataFrame
        Per experiment and metric: baseline, sd, customers per arm for each lift (None
        where the lift would push a proportion past 1) and the finished test's MDE.
    """
    rows = []
    for name, e in experiments.items():
        control = e["arms"][0]
        seen = set()
        for r in e["metrics"]:
            if r["metric"] in seen or r["type"] == "ratio":
                continue
            seen.add(r["metric"])
            base = e["arm_means"][r["metric"]][control]
            if r["type"] == "proportion":
                if not base or not 0 < base < 1:
                    continue
                baseline = {"proportion": base}
            else:
                if not base or not r["control_sd"]:
                    continue
                baseline = {"mean": base, "sd": r["control_sd"]}
            row = {"experiment": name, "metric": r["metric"], "type": r["type"], "baseline": base,
                   "sd": baseline.get("sd")}  # fmt: skip
            for lift in lifts:
                try:
                    n = sample_size(lift, alpha=alpha, power=power, **baseline).n_control
                except ValueError:  # a proportion pushed past 1
                    n = None
                row[f"per arm for {lift:+.0%}"] = n
            row["MDE of this test"] = minimum_detectable_effect(
                r["control_n"], r["treatment_n"], alpha=alpha, power=power, **baseline
            )
            rows.append(row)
    return pd.DataFrame(rows)


def forest_rows(experiments: dict[str, Any]) -> pd.DataFrame:
    """One row per arm and metric for the forest plot.

    Parameters
    ----------
    experiments : dict
        ``experiments.json``.

    Returns
    -------
    pandas.DataFrame
        ``label`` (with a dagger where interval and decision disagree), ``rel_lift``,
        ``low`` and ``high`` of the family-wide interval, ``significant``, ``role``,
        ``disagrees``.
    """
    rows = [
        {
            "label": f"{name} · {r['key']}" + (" †" if r["ci_disagrees"] else ""),
            "rel_lift": r["rel_lift"],
            "low": r["family_ci"][0],
            "high": r["family_ci"][1],
            "significant": r["significant"],
            "role": r["role"],
            "disagrees": r["ci_disagrees"],
        }
        for name, e in experiments.items()
        for r in e["metrics"]
    ]
    return pd.DataFrame(rows)


def forest_figure(experiments: dict[str, Any], palette: list[str]) -> Any:
    """The forest plot of every arm and metric.

    Parameters
    ----------
    experiments : dict
        ``experiments.json``.
    palette : list of str
        Colours of goal and guardrail metrics (``plots.PALETTE``).

    Returns
    -------
    matplotlib.figure.Figure or None
        None without metrics. A dagger marks a family-wide interval that disagrees with
        the corrected decision, explained under the plot.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    lifts = forest_rows(experiments)
    if lifts.empty:
        return None
    lifts = lifts.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(lifts) + 1.5))
    for i, row in lifts.iterrows():
        colour = palette[0] if row["role"] == "goal" else palette[1]
        ax.plot([row["low"], row["high"]], [i, i], color=colour)
        face = colour if row["significant"] else "white"
        ax.plot(row["rel_lift"], i, "o", color=colour, markerfacecolor=face)
    ax.axvline(0, color="#5b6774", linewidth=1)
    ax.set_yticks(range(len(lifts)), lifts["label"])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("relative lift against control (family-wide interval)")
    ax.set_title("Every arm and metric")
    if lifts["disagrees"].any():
        fig.text(
            0.01,
            -0.02,
            "† the family-wide interval and the corrected decision disagree at the margin",
            fontsize=8,
        )
    return fig


def verdict_table(experiments: dict[str, Any]) -> pd.DataFrame:
    """Every arm's decision and why, per experiment."""
    return pd.DataFrame(
        [
            {"experiment": name, "arm": arm, "decision": v["decision"], "why": v["reason"]}
            for name, e in experiments.items()
            for arm, v in e["verdicts"].items()
        ]
    )


def key_figures_text(found: dict[str, Any]) -> str:
    """Per experiment: the verdict, the sample-ratio check and the customers per arm."""
    lines = []
    for name, e in found["experiments"].items():
        counts = ", ".join(f"{arm} {n:,}" for arm, n in e["counts"].items())
        srm = "passed" if e["srm_passed"] else "FAILED"
        lines.append(f"{name}: {e['verdict']} | SRM {srm} (p={e['srm_p']:.4f}) | {counts}")
    return "\n".join(lines)


def srm_table(experiments: dict[str, Any]) -> pd.DataFrame:
    """Observed against planned share of customers per arm, with the SRM test."""
    return pd.DataFrame(
        [
            {
                "experiment": name,
                "arm": arm,
                "customers": e["counts"][arm],
                "observed share": e["srm"]["observed_share"][arm],
                "planned share": e["srm"]["planned_share"][arm],
                "SRM p": e["srm"]["p"],
                "passed": e["srm"]["passed"],
            }
            for name, e in experiments.items()
            for arm in e["arms"]
        ]
    )


def outcome_table(experiments: dict[str, Any]) -> pd.DataFrame:
    """Customers per arm by outcome status (delivered, missing, unknown): campaign files."""
    return pd.DataFrame(
        [
            {"experiment": name, "arm": arm, "outcome": status, "customers": n}
            for name, e in experiments.items()
            for status, arms in e.get("outcomes", {}).items()
            for arm, n in arms.items()
        ]
    )


def disagreements(e: dict[str, Any]) -> list[str]:
    """The comparisons whose family-wide interval and corrected decision disagree."""
    return [r["key"] for r in e["metrics"] if r.get("ci_disagrees")]


def sequential_table(experiments: dict[str, Any]) -> pd.DataFrame:
    """The sequential option's settings per experiment (``ab.sequential`` on)."""
    looks = {name: e["sequential"] for name, e in experiments.items() if e.get("sequential")}
    return pd.DataFrame.from_dict(looks, orient="index")


def heterogeneity_table(experiments: dict[str, Any]) -> pd.DataFrame:
    """Per experiment, segment column and arm: Cochran's Q of the first goal metric."""
    rows = []
    for name, e in experiments.items():
        for column, arms in e["segments"].get("by", {}).items():
            for arm, view in arms.items():
                h = view["heterogeneity"]
                rows.append(
                    {
                        "experiment": name,
                        "segment": column,
                        "arm": arm,
                        "metric": e["segments"]["metric"],
                        "values": len(view["values"]),
                        "Cochran Q": h["q"],
                        "p": h["p"],
                        "I²": h["i_squared"],
                    }
                )
    return pd.DataFrame(rows)


def persona_lift_figure(experiments: dict[str, Any], palette: list[str]) -> Any:
    """The first goal metric's absolute lift per persona, a panel per experiment and
    arm; None without a persona view."""
    import matplotlib.pyplot as plt

    views = [
        (name, arm, view)
        for name, e in experiments.items()
        for arm, view in e["segments"].get("by", {}).get("persona", {}).items()
    ]
    if not views:
        return None
    fig, axes = plt.subplots(
        1, len(views), figsize=(4.2 * len(views), 3.8), sharey=True, squeeze=False
    )
    for ax, (name, arm, view) in zip(axes[0], views, strict=True):
        values = view["values"]
        ax.barh(
            [v["value"] for v in values],
            [v["abs_lift"] for v in values],
            color=palette[0],
            xerr=[
                [v["abs_lift"] - v["abs_ci"][0] for v in values],
                [v["abs_ci"][1] - v["abs_lift"] for v in values],
            ],
        )
        ax.axvline(0, color="#5b6774", linewidth=1)
        ax.set_title(f"{name}: {arm}", fontsize=10)
    fig.suptitle("Absolute lift of the first goal metric by persona")
    fig.tight_layout()
    return fig
