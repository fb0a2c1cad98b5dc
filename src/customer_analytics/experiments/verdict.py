"""The verdict per arm: ship, don't ship, inconclusive or blocked, with the reason.

The rule is the one of Schultzberg, Ankargren & Frånberg (2024): ship an arm when at
least one goal metric is significantly better (after the family correction, or by the
always-valid interval with ``ab.sequential``), no goal or guardrail is significantly
worse, and every guardrail is shown *non-inferior*: its one-sided ``1 - alpha`` bound
rules out a change in the bad direction larger than the guardrail's ``min_effect``, the
largest harm tolerated. A guardrail that is not significantly worse is not thereby
safe: an underpowered test "passes" any guardrail, so a goal win with a guardrail whose
interval still reaches past the tolerated harm is inconclusive, and the verdict says
which guardrail and how far its bound reaches. Guardrails are tested at ``alpha``
without a multiplicity correction: the arm ships only if *all* of them pass (an
intersection-union test, which needs none).

A sample-ratio mismatch or an arm without customers blocks every verdict.

References
----------
Schultzberg, M., Ankargren, S. & Frånberg, M. (2024). Risk-aware product decisions in
A/B tests with multiple metrics. arXiv:2402.11609.
Berger, R. L. (1982). Multiparameter hypothesis testing and acceptance sampling.
Technometrics 24(4), 295-300 (intersection-union tests).
"""

from __future__ import annotations

from typing import Any

Verdict = dict[str, Any]


def good_direction(row: dict[str, Any]) -> bool:
    """The observed relative lift points the way the metric should move."""
    return (row["rel_lift"] > 0) == (row["direction"] == "increase")


def guardrail_cleared(row: dict[str, Any]) -> bool:
    """The guardrail's one-sided bound rules out a harm larger than its ``min_effect``."""
    bound = row.get("harm_bound")
    if bound is None:
        return False
    if row["direction"] == "increase":
        return bound > -row["min_effect"]
    return bound < row["min_effect"]


def signed_percent(value: float) -> str:
    """``+30.7%`` or ``−14.2%`` (a true minus sign), for sentences and tables."""
    return f"{value:+.1%}".replace("-", "\u2212")


def arm_verdict(
    arm: str,
    rows: list[dict[str, Any]],
    srm_passed: bool,
    missing_arms: list[str],
    basis: str = "significant",
) -> Verdict:
    """Ship, don't ship, inconclusive or blocked for one arm.

    Parameters
    ----------
    arm : str
        The treatment arm.
    rows : list of dict
        Every metric row of the experiment (:func:`.analysis.analyse_experiment`), with
        ``role``, ``direction``, ``rel_lift``, ``min_effect``, ``harm_bound``,
        ``power_at_min_effect`` and the decision field named by ``basis``.
    srm_passed : bool
    missing_arms : list of str
        Arms without customers.
    basis : str, default "significant"
        The row field read as "significant": the corrected decision, or
        ``"sequential_significant"``.

    Returns
    -------
    dict
        ``decision``, ``reason`` and ``metric``, the metric the decision rests on
        (None when blocked); ``guardrail``, the guardrail that kept a goal win from
        shipping, where one did; ``why``, what the reason says as data (a ``code`` and
        its metrics, arms and bounds), for pages in other languages
        (:func:`customer_analytics.experiments.words.reason`).
    """
    if missing_arms:
        reason = f"arm(s) {', '.join(missing_arms)} have no customers"
        why = {"code": "missing_arms", "arms": list(missing_arms)}
        return {"decision": "blocked", "reason": reason, "metric": None, "why": why}
    if not srm_passed:
        reason = (
            "sample-ratio mismatch: the arms' sizes do not match the planned split, so "
            "assignment or logging is broken and no lift can be trusted"
        )
        return {"decision": "blocked", "reason": reason, "metric": None, "why": {"code": "srm"}}
    how = "the always-valid interval" if basis != "significant" else "the correction"
    # What the reason says, for pages in other languages (experiments/words.py).
    read = "sequential" if basis != "significant" else "correction"
    mine = [r for r in rows if r["arm"] == arm]
    goals = [r for r in mine if r["role"] == "goal"]
    guardrails = [r for r in mine if r["role"] == "guardrail"]
    harmed = [r["metric"] for r in guardrails if r[basis] and not good_direction(r)]
    worse = [r["metric"] for r in goals if r[basis] and not good_direction(r)]
    better = [r["metric"] for r in goals if r[basis] and good_direction(r)]
    if harmed:
        reason = f"guardrail {', '.join(harmed)} significantly worse after {how}"
        why = {"code": "harmed", "metrics": harmed, "how": read}
        return {"decision": "don't ship", "reason": reason, "metric": harmed[0], "why": why}
    if worse:
        reason = f"{', '.join(worse)} significantly worse after {how}"
        why = {"code": "worse", "metrics": worse, "how": read}
        return {"decision": "don't ship", "reason": reason, "metric": worse[0], "why": why}
    if better:
        uncleared = [r for r in guardrails if not guardrail_cleared(r)]
        if uncleared:
            risks = "; ".join(
                f"guardrail {r['metric']} cannot rule out a change of more than "
                f"{signed_percent(-r['min_effect'] if r['direction'] == 'increase' else r['min_effect'])}"
                f" (one-sided {r['harm_bound_level']:.0%} bound {signed_percent(r['harm_bound'])})"
                if r.get("harm_bound") is not None
                else f"guardrail {r['metric']} could not be estimated"
                for r in uncleared
            )
            reason = f"{', '.join(better)} significantly better after {how}, but {risks}"
            return {
                "decision": "inconclusive",
                "reason": reason,
                "metric": better[0],
                "guardrail": uncleared[0]["metric"],
                "why": {
                    "code": "uncleared",
                    "metrics": better,
                    "how": read,
                    "risks": [_risk(r) for r in uncleared],
                },
            }
        reason = f"{', '.join(better)} significantly better after {how}"
        if guardrails:
            reason += ", every guardrail within its tolerated change"
        why = {"code": "ship", "metrics": better, "how": read, "guardrails": bool(guardrails)}
        return {"decision": "ship", "reason": reason, "metric": better[0], "why": why}
    low = [
        r["metric"]
        for r in goals
        if r["power_at_min_effect"] is not None and r["power_at_min_effect"] < 0.8
    ]
    reason = f"no goal metric moved significantly after {how}"
    if low:
        reason += f"; power to see the planned effect was under 80% for {', '.join(low)}"
    return {
        "decision": "inconclusive",
        "reason": reason,
        "metric": goals[0]["metric"] if goals else None,
        "why": {"code": "no_move", "how": read, "low_power": low},
    }


def _risk(row: dict[str, Any]) -> dict[str, Any]:
    """A guardrail that kept a goal win from shipping: the harm tolerated (``limit``) and
    how far its one-sided bound reaches (``bound``, None if it could not be estimated)."""
    if row.get("harm_bound") is None:
        return {"metric": row["metric"], "bound": None}
    limit = -row["min_effect"] if row["direction"] == "increase" else row["min_effect"]
    return {
        "metric": row["metric"],
        "limit": limit,
        "level": row["harm_bound_level"],
        "bound": row["harm_bound"],
    }


def overall(verdicts: dict[str, Verdict]) -> str:
    """One line for the experiment: blocked, else the arms to ship or not, else
    inconclusive."""
    decisions = {v["decision"] for v in verdicts.values()}
    for decision in ("blocked", "ship", "don't ship"):
        if decision in decisions:
            arms = [a for a, v in verdicts.items() if v["decision"] == decision]
            return decision if decision == "blocked" else f"{decision}: {', '.join(arms)}"
    return "inconclusive"
