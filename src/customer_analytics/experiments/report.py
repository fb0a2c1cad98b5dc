"""What notebook 07_ab_test shows: sentences, tables and the forest plot, from the stage's
``experiments.json`` and findings (:mod:`customer_analytics.experiments.stage`).

Every function a page shows speaks the current report language (:mod:`customer_analytics.i18n`):
the notebook calls each once per language through ``st.show`` and ``st.figure``.
Experiments' names, descriptions and arms come from the experiments YAML's language
blocks (``specs``, the run's :class:`~customer_analytics.config.ExperimentSpec` by name;
without them, the ids), verdicts and reasons from :mod:`.words`.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from customer_analytics.experiments.stats.power import minimum_detectable_effect, sample_size
from customer_analytics.experiments.verdict import signed_percent
from customer_analytics.experiments.words import (
    ROLES,
    arm_label,
    decision,
    experiment_label,
    is_source,
    key_label,
    listed,
    metric_label,
    reason,
    signed,
)
from customer_analytics.i18n import N_, _, formats

Specs = dict[str, Any] | None


def _pct(value: float | None) -> str:
    return "n/a" if value is None else signed_percent(value)


def _interval(ci: list[float | None]) -> str:
    low, high = ci
    return f"{_pct(low)}..{_pct(high)}"


def _span(ci: list[float | None]) -> str:
    """An interval in the current language (``+17.1%..+44.3%``)."""
    low, high = ci
    return _("{low}..{high}").format(low=signed(low), high=signed(high))


def _spec(specs: Specs, name: str) -> Any:
    return (specs or {}).get(name)


def _lift(
    e: dict[str, Any], arm: str, metric: str, named: bool = False, spec: Any = None
) -> str | None:
    """``+30.7% conversion (95% CI +17.1%..+44.3%, family-wide)``, or None; ``named``:
    ``conversion +30.7% (...)``."""
    row = e["metrics"].get(f"{arm} / {metric}")
    if row is None:
        return None
    if e["decided_by"] == "sequential":
        ci, kind = row["sequential_ci"], _("always-valid")
    else:
        ci, kind = row["family_ci"], _("family-wide")
    change, label = signed(row["rel_lift"]), metric_label(metric, spec)
    if named:
        lift = _("{metric} {change}").format(metric=label, change=change)
    else:
        lift = _("{change} {metric}").format(metric=label, change=change)
    text = _("{lift} ({level} CI {interval}, {kind})").format(
        lift=lift, level=formats.percent(1 - e["alpha"], 0), interval=_span(ci), kind=kind
    )
    if row.get("ci_disagrees"):
        text = _("{text} [interval and corrected p-value disagree at the margin]").format(text=text)
    return text


def _clause(
    e: dict[str, Any], arm: str, verdict: dict[str, Any], spec: Any = None, name: str = ""
) -> str:
    """``treatment: ship, +30.7% conversion (95% CI +17.1%..+44.3%, family-wide)``."""
    head = _("{arm}: {decision}").format(
        arm=arm_label(arm, spec, name), decision=decision(verdict["decision"])
    )
    lift = _lift(e, arm, verdict["metric"], spec=spec) if verdict["metric"] else None
    if lift is None:
        return _("{head} ({reason})").format(head=head, reason=reason(verdict, spec, name))
    text = _("{head}, {lift}").format(head=head, lift=lift)
    if verdict.get("guardrail"):
        guard = _lift(e, arm, verdict["guardrail"], named=True, spec=spec)
        text = _(
            "{text}, but guardrail {guard} cannot rule out a larger drop than tolerated"
        ).format(text=text, guard=guard)
    return text


def ab_sentences(found: dict[str, Any], specs: Specs = None) -> list[str]:
    """Plain-language findings of the A/B stage for the run's index page.

    Parameters
    ----------
    found : dict
        The stage's findings (:func:`customer_analytics.experiments.stage.run`).
    specs : dict, optional
        The run's experiments by name (their words in other languages).

    Returns
    -------
    list of str
        One sentence per experiment: each arm's decision with the lift and interval it
        rests on (the family-wide interval, or the always-valid one with
        ``ab.sequential``), and the guardrail that kept a goal win from shipping.
    """
    if not found["experiments"]:
        skipped = found.get("skipped", "")
        return [_("No experiment analysed: {reason}.").format(reason=_(skipped) if skipped else "")]
    sentences = []
    for name, e in found["experiments"].items():
        spec = _spec(specs, name)
        verdicts = e["verdicts"]
        label = experiment_label(name, spec)
        if e["verdict"] == "blocked":
            why = reason(next(iter(verdicts.values())), spec, name)
            sentences.append(_("{name} — blocked: {reason}.").format(name=label, reason=why))
            continue
        clauses = [_clause(e, arm, v, spec, name) for arm, v in verdicts.items()]
        sentences.append(_("{name} — {clauses}.").format(name=label, clauses=_("; ").join(clauses)))
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


def forest_rows(experiments: dict[str, Any], specs: Specs = None) -> pd.DataFrame:
    """One row per arm and metric for the forest plot.

    Parameters
    ----------
    experiments : dict
        ``experiments.json``.
    specs : dict, optional
        The run's experiments by name (their words in other languages).

    Returns
    -------
    pandas.DataFrame
        ``label`` (with a dagger where interval and decision disagree), ``rel_lift``,
        ``low`` and ``high`` of the family-wide interval, ``significant``, ``role``,
        ``disagrees``.
    """
    rows = [
        {
            "label": _("{experiment} · {key}").format(
                experiment=experiment_label(name, _spec(specs, name)),
                key=key_label(r["key"], _spec(specs, name), name),
            )
            + (" †" if r["ci_disagrees"] else ""),
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


def has_metrics(experiments: dict[str, Any]) -> bool:
    """Some experiment has a metric to plot."""
    return any(e.get("metrics") for e in experiments.values())


def forest_figure(experiments: dict[str, Any], specs: Specs, palette: list[str]) -> Any:
    """The forest plot of every arm and metric.

    Parameters
    ----------
    experiments : dict
        ``experiments.json``.
    specs : dict or None
        The run's experiments by name (their words in other languages).
    palette : list of str
        Colours of goal and guardrail metrics (``plots.PALETTE``).

    Returns
    -------
    matplotlib.figure.Figure or None
        None without metrics. A dagger marks a family-wide interval that disagrees with
        the corrected decision, explained under the plot.
    """
    import matplotlib.pyplot as plt

    lifts = forest_rows(experiments, specs)
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
    ax.xaxis.set_major_formatter(formats.axis("percent"))
    ax.set_xlabel(_("relative lift against control (family-wide interval)"))
    ax.set_title(_("Every arm and metric"))
    if lifts["disagrees"].any():
        fig.text(
            0.01,
            -0.02,
            _("† the family-wide interval and the corrected decision disagree at the margin"),
            fontsize=8,
        )
    return fig


def verdict_table(experiments: dict[str, Any], specs: Specs = None) -> Styler:
    """Every arm's decision and why, per experiment."""
    names = {
        "experiment": _("experiment"),
        "arm": _("arm"),
        "decision": _("decision"),
        "why": _("why"),
    }
    table = pd.DataFrame(
        [
            {
                "experiment": experiment_label(name, _spec(specs, name)),
                "arm": arm_label(arm, _spec(specs, name), name),
                "decision": decision(v["decision"]),
                "why": reason(v, _spec(specs, name), name),
            }
            for name, e in experiments.items()
            for arm, v in e["verdicts"].items()
        ],
        columns=list(names),
    )
    return table.rename(columns=names).style.hide(axis="index")


def overall_label(e: dict[str, Any], spec: Any = None, name: str = "") -> str:
    """An experiment's one-line verdict (:func:`.verdict.overall`) in the current language."""
    verdicts = e["verdicts"]
    decisions = {v["decision"] for v in verdicts.values()}
    for code in ("blocked", "ship", "don't ship"):
        if code in decisions:
            if code == "blocked":
                return decision(code)
            arms = [arm_label(a, spec, name) for a, v in verdicts.items() if v["decision"] == code]
            return _("{decision}: {arms}").format(decision=decision(code), arms=listed(arms))
    return decision("inconclusive")


def key_figures_text(found: dict[str, Any], specs: Specs = None) -> str:
    """Per experiment: the verdict, the sample-ratio check and the customers per arm (a
    markdown list)."""
    lines = []
    for name, e in found["experiments"].items():
        spec = _spec(specs, name)
        counts = listed(
            [
                _("{arm} {customers}").format(
                    arm=arm_label(arm, spec, name), customers=formats.number(n)
                )
                for arm, n in e["counts"].items()
            ]
        )
        srm = _("passed") if e["srm_passed"] else _("FAILED")
        lines.append(
            _("{experiment}: {verdict} | SRM {srm} (p={p}) | {counts}").format(
                experiment=experiment_label(name, spec),
                verdict=overall_label(e, spec, name),
                srm=srm,
                p=formats.number(e["srm_p"], 4),
                counts=counts,
            )
        )
    return "\n".join(f"- {line}" for line in lines)


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


def _yes_no(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _("yes") if value else _("no")


def _named(table: pd.DataFrame, specs: Specs) -> pd.DataFrame:
    """``experiment`` and ``arm`` columns in the current language."""
    table = table.copy()
    if "arm" in table:
        table["arm"] = [
            arm_label(a, _spec(specs, n), n)
            for n, a in zip(table["experiment"], table["arm"], strict=True)
        ]
    if "experiment" in table:
        table["experiment"] = [experiment_label(n, _spec(specs, n)) for n in table["experiment"]]
    return table


def srm_view(experiments: dict[str, Any], specs: Specs = None) -> Styler:
    """:func:`srm_table` with its words and numbers in the current language."""
    names = {
        "experiment": _("experiment"),
        "arm": _("arm"),
        "customers": _("customers"),
        "observed share": _("observed share"),
        "planned share": _("planned share"),
        "SRM p": _("sample-ratio p-value"),
        "passed": _("passed"),
    }
    table = _named(srm_table(experiments), specs).reindex(columns=list(names))
    share = lambda v: formats.percent(v, 1)  # noqa: E731
    style = {
        names["observed share"]: share,
        names["planned share"]: share,
        names["SRM p"]: lambda v: formats.number(v, 4),
        names["customers"]: formats.number,
        names["passed"]: _yes_no,
    }
    return table.rename(columns=names).style.format(style, na_rep="").hide(axis="index")


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


OUTCOMES = {"delivered": N_("delivered"), "missing": N_("missing"), "unknown": N_("unknown")}


def who_counts(experiments: dict[str, Any], found: dict[str, Any], specs: Specs = None) -> Any:
    """Customers per arm by outcome status (a table), or what outcomes are (markdown);
    with the exposures of experiments the config does not name, if any."""
    extra = found.get("unconfigured_experiments")
    note = ""
    if extra:
        shown = listed(
            [
                _("{experiment} ({exposures})").format(
                    experiment=f"`{name}`", exposures=formats.number(n)
                )
                for name, n in extra.items()
            ]
        )
        note = _("Exposures of experiments not configured (not analysed): {experiments}.").format(
            experiments=shown
        )
    outcomes = outcome_table(experiments)
    if not len(outcomes):
        text = _(
            "Outcomes are the shop's orders in each experiment's window after assignment: "
            "every exposed customer has them (none is zero)."
        )
        return "\n\n".join(t for t in (note, text) if t)
    outcomes = _named(outcomes, specs)
    outcomes["outcome"] = [_(OUTCOMES[o]) if o in OUTCOMES else o for o in outcomes["outcome"]]
    names = {
        "experiment": _("experiment"),
        "arm": _("arm"),
        "outcome": _("outcome"),
        "customers": _("customers"),
    }
    style = (
        outcomes.rename(columns=names)
        .style.format({names["customers"]: formats.number})
        .hide(axis="index")
    )
    if note:
        style = style.set_caption(re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(note)))
    return style


def disagreements(e: dict[str, Any]) -> list[str]:
    """The comparisons whose family-wide interval and corrected decision disagree."""
    return [r["key"] for r in e["metrics"] if r.get("ci_disagrees")]


def _sig(value: Any) -> str:
    """A figure to four significant digits, as the locale writes numbers."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if value == 0:
        return formats.number(0)
    digits = max(0, 3 - math.floor(math.log10(abs(value))))
    return formats.number(round(value, digits), digits)


DETAIL_NAMES = {
    "arm / metric": N_("arm / metric"),
    "role": N_("role"),
    "control": N_("control"),
    "treatment": N_("treatment"),
    "abs lift [95% CI]": N_("absolute lift [95% CI]"),
    "rel lift [95% CI]": N_("relative lift [95% CI]"),
    "family-wide CI": N_("family-wide CI"),
    "p": N_("p-value"),
    "p corrected": N_("corrected p-value"),
    "significant": N_("significant"),
    "chance to win": N_("chance to win"),
    "power": N_("power"),
    "MDE": N_("MDE"),
    "CUPED variance removed": N_("CUPED variance removed"),
    "unadjusted rel lift": N_("unadjusted relative lift"),
    "guardrail bound": N_("guardrail bound"),
    "always-valid CI": N_("always-valid CI"),
    "significant (sequential)": N_("significant (sequential)"),
}


def detail_table(name: str, e: dict[str, Any], spec: Any = None) -> Styler:
    """Every arm and metric of one experiment (:func:`detail_frame`) in the current
    language."""
    rows = []
    sequential = e.get("sequential") is not None
    for r in e["metrics"]:
        row = {
            "arm / metric": key_label(r["key"], spec, name),
            "role": _role(r["role"]),
            "control": r["control_mean"],
            "treatment": r["treatment_mean"],
            "abs lift [95% CI]": _("{lift} [{low}, {high}]").format(
                lift=_sig(r["abs_lift"]), low=_sig(r["abs_ci"][0]), high=_sig(r["abs_ci"][1])
            ),
            "rel lift [95% CI]": _("{lift} [{interval}]").format(
                lift=signed(r["rel_lift"]), interval=_span(r["rel_ci"])
            ),
            "family-wide CI": (
                _("[{interval}] (disagrees)") if r["ci_disagrees"] else _("[{interval}]")
            ).format(interval=_span(r["family_ci"])),
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
            row["always-valid CI"] = _("[{interval}]").format(interval=_span(r["sequential_ci"]))
            row["significant (sequential)"] = r["sequential_significant"]
        rows.append(row)
    table = pd.DataFrame(rows)
    p4 = lambda v: formats.number(v, 4)  # noqa: E731
    pct = lambda digits: lambda v: formats.percent(v, digits)  # noqa: E731
    formats_by_column = {
        "control": _sig, "treatment": _sig, "p": p4, "p corrected": p4,
        "significant": _yes_no, "significant (sequential)": _yes_no,
        "chance to win": pct(1), "power": pct(0), "MDE": signed, "guardrail bound": signed,
        "CUPED variance removed": pct(1), "unadjusted rel lift": signed,
    }  # fmt: skip
    names = {c: _(DETAIL_NAMES[c]) for c in table.columns}
    style = {names[c]: f for c, f in formats_by_column.items() if c in names}
    return table.rename(columns=names).style.format(style, na_rep="").hide(axis="index")


def _role(role: str) -> str:
    return _(ROLES[role]) if role in ROLES else role


def details_html(experiments: dict[str, Any], specs: Specs = None) -> Any:
    """Per experiment: its name and description, every arm and metric in detail, and the
    comparisons whose family-wide interval and corrected decision disagree."""
    from IPython.display import HTML

    parts = []
    for name, e in experiments.items():
        spec = _spec(specs, name)
        title = html.escape(experiment_label(name, spec))
        if not is_source():
            title += f" <code>{html.escape(name)}</code>"
        description = spec.word(name, "description") if spec is not None else e["description"]
        parts.append(f"<h3>{title}</h3>")
        if description:
            parts.append(f"<p>{html.escape(description)}</p>")
        parts.append(detail_table(name, e, spec).to_html())
        if disagreements(e):
            text = _(
                "At the margin, the family-wide interval and the {correction} decision "
                "disagree for: {comparisons}."
            ).format(
                correction=e["correction"].capitalize() if e["correction"] == "holm" else "BH",
                comparisons=listed([key_label(k, spec, name) for k in disagreements(e)]),
            )
            parts.append(f"<p>{html.escape(text)}</p>")
    return HTML("\n".join(parts))


def sequential_table(experiments: dict[str, Any]) -> pd.DataFrame:
    """The sequential option's settings per experiment (``ab.sequential`` on)."""
    looks = {name: e["sequential"] for name, e in experiments.items() if e.get("sequential")}
    return pd.DataFrame.from_dict(looks, orient="index")


def sequential_view(experiments: dict[str, Any], specs: Specs = None) -> Any:
    """The sequential option's settings per experiment, or a note that it is off."""
    looks = sequential_table(experiments)
    if not len(looks):
        return _(
            "`ab.sequential` is off: the intervals above are valid for one look at the planned end."
        )
    looks.index = [experiment_label(n, _spec(specs, n)) for n in looks.index]
    return looks.rename_axis(_("experiment")).style.format(precision=4)


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


SEGMENT_COLUMNS = {
    "persona": N_("persona"),
    "rfm_segment": N_("RFM segment"),
    "channel": N_("channel"),
    "customer_type": N_("new or returning"),
}


def heterogeneity_view(experiments: dict[str, Any], specs: Specs = None) -> Any:
    """:func:`heterogeneity_table` in the current language, or a note that there is none."""
    table = heterogeneity_table(experiments)
    if not len(table):
        return _("No segment view: no segment has enough customers.")
    table = table.assign(
        metric=[
            metric_label(m, _spec(specs, n))
            for n, m in zip(table["experiment"], table["metric"], strict=True)
        ],
        segment=[_(SEGMENT_COLUMNS[c]) if c in SEGMENT_COLUMNS else c for c in table["segment"]],
    )
    table = _named(table, specs)
    names = {
        "experiment": _("experiment"), "segment": _("segment"), "arm": _("arm"),
        "metric": _("metric"), "values": _("values"), "Cochran Q": _("Cochran Q"),
        "p": _("p-value"), "I²": "I²",
    }  # fmt: skip
    style = {
        names["Cochran Q"]: lambda v: formats.number(v, 2),
        names["p"]: lambda v: formats.number(v, 4),
        names["I²"]: lambda v: formats.percent(v, 0),
        names["values"]: formats.number,
    }
    return table.rename(columns=names).style.format(style, na_rep="").hide(axis="index")


def has_persona_view(experiments: dict[str, Any]) -> bool:
    """Some experiment has effects by persona."""
    return any(e["segments"].get("by", {}).get("persona") for e in experiments.values())


def persona_lift_figure(experiments: dict[str, Any], specs: Specs, palette: list[str]) -> Any:
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
        ax.xaxis.set_major_formatter(formats.axis("number", digits=2))
        spec = _spec(specs, name)
        ax.set_title(
            _("{experiment}: {arm}").format(
                experiment=experiment_label(name, spec), arm=arm_label(arm, spec, name)
            ),
            fontsize=10,
        )
    fig.suptitle(_("Absolute lift of the first goal metric by persona"))
    fig.tight_layout()
    return fig


def truth_view(found: dict[str, Any], specs: Specs = None) -> Any:
    """Each planted effect against our interval, and the planted effects not checked,
    with why; a note on a real campaign."""
    from IPython.display import HTML

    truth = found.get("truth")
    if not truth:
        return _("A real campaign: there is no planted truth to compare with.")
    effects = pd.DataFrame(truth["effects"])
    if len(effects):
        effects["metric"] = [
            metric_label(m, _spec(specs, n))
            for n, m in zip(effects["experiment"], effects["metric"], strict=True)
        ]
    effects = _named(effects, specs)
    names = {
        "experiment": _("experiment"), "arm": _("arm"), "metric": _("metric"),
        "true_abs_lift": _("true absolute lift"), "estimate": _("estimate"),
        "ci": _("interval"), "covered": _("covered"),
    }  # fmt: skip
    interval = lambda ci: _("[{low}, {high}]").format(low=_sig(ci[0]), high=_sig(ci[1]))  # noqa: E731
    style = {
        names["true_abs_lift"]: _sig, names["estimate"]: _sig, names["ci"]: interval,
        names["covered"]: _yes_no,
    }  # fmt: skip
    shown = effects.reindex(columns=list(names)).rename(columns=names)
    parts = [shown.style.format(style, na_rep="").hide(axis="index").to_html()]
    if truth["not_checked"]:
        missed = pd.DataFrame(truth["not_checked"])
        missed["metric"] = [metric_label(m) for m in missed["metric"]]
        missed["reason"] = [_truth_reason(r) for r in missed["reason"]]
        missed = _named(missed, specs)
        names = {
            "experiment": _("experiment"), "arm": _("arm"), "metric": _("metric"),
            "true_abs_lift": _("true absolute lift"), "reason": _("why"),
        }  # fmt: skip
        heading = _("Planted effects not checked:")
        parts.append(f"<p>{html.escape(heading)}</p>")
        table = missed.reindex(columns=list(names)).rename(columns=names)
        parts.append(
            table.style.format({names["true_abs_lift"]: _sig}).hide(axis="index").to_html()
        )
    return HTML("\n".join(parts))


TRUTH_REASONS = {
    "experiment not configured": N_("experiment not configured"),
    "arm not configured": N_("arm not configured"),
    "experiment not analysed (an arm has no customers)": N_(
        "experiment not analysed (an arm has no customers)"
    ),
}


def _truth_reason(text: str) -> str:
    if text in TRUTH_REASONS:
        return _(TRUTH_REASONS[text])
    prefix = "metric not analysed (not in "
    if text.startswith(prefix) and text.endswith(")"):
        key = text[len(prefix) : -1]
        return _("metric not analysed (not in {key})").format(key=f"<code>{key}</code>")
    return text


def plan_view(experiments: dict[str, Any], specs: Specs = None) -> Any:
    """:func:`plan_frame` in the current language, or a note that there is nothing to
    plan from."""
    plan = plan_frame(experiments)
    if not len(plan):
        return _("No proportion or mean metric to plan from.")
    plan = plan.assign(
        metric=[
            metric_label(m, _spec(specs, n))
            for n, m in zip(plan["experiment"], plan["metric"], strict=True)
        ],
        type=[_(TYPES.get(t, t)) for t in plan["type"]],
    )
    plan = _named(plan, specs)
    counts = [c for c in plan.columns if c.startswith("per arm for ")]
    names = {
        "experiment": _("experiment"), "metric": _("metric"), "type": _("type"),
        "baseline": _("baseline"), "sd": _("standard deviation"),
        "MDE of this test": _("MDE of this test"),
    }  # fmt: skip
    for column in counts:
        lift = float(column.removeprefix("per arm for ").rstrip("%")) / 100
        names[column] = _("per arm for {lift}").format(lift=signed(lift, 0))
    style = {names["baseline"]: _sig, names["sd"]: _sig, names["MDE of this test"]: signed}
    style |= {names[c]: formats.number for c in counts}
    return plan.rename(columns=names).style.format(style, na_rep="").hide(axis="index")


TYPES = {"proportion": N_("proportion"), "mean": N_("mean"), "ratio": N_("ratio")}
