"""The words of the experiment pages in the reader's language: decisions, roles, metric
and arm names, and each verdict's reason, rendered from the structured ``why`` that
:func:`customer_analytics.experiments.verdict.arm_verdict` records beside its English
``reason``.

An experiment's own words (its name, description and arms) live in the experiments
YAML, in a block per language beside the English (``zh: {name: ..., arms: {...}}``,
:meth:`customer_analytics.config.ExperimentSpec.word`); the usual metric and arm names
(``conversion``, ``control``...) are in the catalogue, and a name neither knows stays as
the data has it.
"""

from __future__ import annotations

from typing import Any

from customer_analytics import i18n
from customer_analytics.i18n import N_, _, formats

#: A verdict's decision as the findings hold it (English codes) and as a reader sees it.
DECISIONS = {
    "ship": N_("ship"),
    "don't ship": N_("don't ship"),
    "inconclusive": N_("inconclusive"),
    "blocked": N_("blocked"),
}
ROLES = {"goal": N_("goal"), "guardrail": N_("guardrail")}
#: The usual outcome columns of a unit table (an experiment's YAML may name others).
METRICS = {
    "conversion": N_("conversion"),
    "orders": N_("orders"),
    "revenue": N_("revenue"),
    "margin": N_("margin"),
    "revenue_per_order": N_("revenue per order"),
    "margin_per_order": N_("margin per order"),
    "visit": N_("visit"),
    "spend": N_("spend"),
}
ARMS = {"control": N_("control"), "treatment": N_("treatment")}
#: What a decision was read from: the corrected p-values or the always-valid intervals.
HOW = {"correction": N_("the correction"), "sequential": N_("the always-valid interval")}


def is_source() -> bool:
    """The page is in English, the language of the data's names."""
    return i18n.current() == i18n.SOURCE


def signed(value: float | None, digits: int = 1) -> str:
    """A relative change with its sign (``+30.7%``, ``−14.2%`` with a true minus)."""
    if value is None or value != value:
        return formats.MISSING
    sign = "+" if value >= 0 else "\u2212"
    return sign + formats.percent(abs(value), digits)


def decision(code: str) -> str:
    """A decision (``ship``...) in the current language."""
    return _(DECISIONS[code]) if code in DECISIONS else code


def experiment_label(name: str, spec: Any = None) -> str:
    """An experiment's name: its id in English, its YAML name in another language."""
    if spec is None or is_source():
        return name
    return spec.word(name)


def arm_label(arm: str, spec: Any = None, experiment: str = "") -> str:
    """An arm's name: the experiment's own word for it, else the usual word, else the id."""
    if is_source():
        return arm
    own = spec.term("arms", arm) if spec is not None else None
    if own:
        return str(own)
    if arm in ARMS:
        return _(ARMS[arm])
    return i18n.word({"arm": arm}, "arm", what=f"experiment {experiment}: arm {arm}")


def metric_label(metric: str, spec: Any = None) -> str:
    """A metric's name: the experiment's own word, else the usual word, else the column."""
    own = spec.term("metrics", metric) if spec is not None and not is_source() else None
    if own:
        return str(own)
    return _(METRICS[metric]) if metric in METRICS else metric


def key_label(key: str, spec: Any = None, experiment: str = "") -> str:
    """``treatment / conversion`` (an arm and metric, as the results key them)."""
    arm, _sep, metric = key.partition(" / ")
    if not metric:
        return key
    return _("{arm} / {metric}").format(
        arm=arm_label(arm, spec, experiment), metric=metric_label(metric, spec)
    )


def listed(items: list[str]) -> str:
    """Names joined as the language lists them (``a, b``; ``a、b``)."""
    return _(", ").join(items)


def reason(verdict: dict[str, Any], spec: Any = None, experiment: str = "") -> str:
    """Why an arm got its decision, in the current language (the English ``reason`` of
    findings recorded before verdicts carried their ``why``)."""
    why = verdict.get("why")
    if why is None:
        return str(verdict.get("reason", ""))

    def metrics(names: list[str]) -> str:
        return listed([metric_label(m, spec) for m in names])

    read = why.get("how")
    how = _(HOW[read]) if read in HOW else ""
    code = why["code"]
    if code == "missing_arms":
        arms = listed([arm_label(a, spec, experiment) for a in why["arms"]])
        return _("arm(s) {arms} have no customers").format(arms=arms)
    if code == "srm":
        return _(
            "sample-ratio mismatch: the arms' sizes do not match the planned split, so "
            "assignment or logging is broken and no lift can be trusted"
        )
    if code == "harmed":
        return _("guardrail {metrics} significantly worse after {how}").format(
            metrics=metrics(why["metrics"]), how=how
        )
    if code == "worse":
        return _("{metrics} significantly worse after {how}").format(
            metrics=metrics(why["metrics"]), how=how
        )
    if code == "uncleared":
        risks = _("; ").join(_risk(r, spec) for r in why["risks"])
        return _("{metrics} significantly better after {how}, but {risks}").format(
            metrics=metrics(why["metrics"]), how=how, risks=risks
        )
    if code == "ship":
        if why.get("guardrails"):
            return _(
                "{metrics} significantly better after {how}, every guardrail within its "
                "tolerated change"
            ).format(metrics=metrics(why["metrics"]), how=how)
        return _("{metrics} significantly better after {how}").format(
            metrics=metrics(why["metrics"]), how=how
        )
    if why.get("low_power"):
        return _(
            "no goal metric moved significantly after {how}; power to see the planned "
            "effect was under 80% for {metrics}"
        ).format(how=how, metrics=metrics(why["low_power"]))
    return _("no goal metric moved significantly after {how}").format(how=how)


def _risk(risk: dict[str, Any], spec: Any) -> str:
    metric = metric_label(risk["metric"], spec)
    if risk.get("bound") is None:
        return _("guardrail {metric} could not be estimated").format(metric=metric)
    return _(
        "guardrail {metric} cannot rule out a change of more than {limit} (one-sided "
        "{level} bound {bound})"
    ).format(
        metric=metric,
        limit=signed(risk["limit"]),
        level=formats.percent(risk["level"], 0),
        bound=signed(risk["bound"]),
    )
