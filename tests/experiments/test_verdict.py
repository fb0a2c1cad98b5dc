"""An arm's verdict: a goal win ships only when every guardrail rules out the harm."""

from __future__ import annotations

from customer_analytics.experiments.verdict import arm_verdict


def _row(metric: str, role: str, lift: float, significant: bool, bound: float | None) -> dict:
    return {"arm": "b", "metric": metric, "role": role, "direction": "increase",
            "rel_lift": lift, "significant": significant, "min_effect": 0.10,
            "harm_bound": bound, "harm_bound_level": 0.95, "power_at_min_effect": 0.5}  # fmt: skip


def test_a_goal_win_ships_only_when_every_guardrail_rules_out_the_tolerated_harm() -> None:
    goal = _row("conversion", "goal", 0.3, True, 0.2)
    safe = _row("margin_per_order", "guardrail", -0.02, False, -0.07)
    unsure = _row("margin_per_order", "guardrail", -0.04, False, -0.17)
    harmed = _row("margin_per_order", "guardrail", -0.3, True, -0.4)
    assert arm_verdict("b", [goal, safe], True, [])["decision"] == "ship"
    verdict = arm_verdict("b", [goal, unsure], True, [])
    assert verdict["decision"] == "inconclusive"
    assert (verdict["metric"], verdict["guardrail"]) == ("conversion", "margin_per_order")
    assert "cannot rule out a change of more than \u221210.0%" in verdict["reason"]
    assert "one-sided 95% bound \u221217.0%" in verdict["reason"]
    assert arm_verdict("b", [goal, harmed], True, [])["decision"] == "don't ship"
    assert arm_verdict("b", [goal, safe], False, [])["decision"] == "blocked"


def test_every_reason_is_said_again_from_its_why_in_each_language() -> None:
    """A page says the reason from the verdict's ``why``: in English the words of the
    findings' ``reason`` (metrics by their names), in Chinese with no English left."""
    from customer_analytics import i18n
    from customer_analytics.experiments.words import reason

    goal = _row("conversion", "goal", 0.3, True, 0.2)
    flat = _row("conversion", "goal", 0.01, False, 0.2)
    worse = _row("conversion", "goal", -0.3, True, -0.4)
    safe = _row("margin", "guardrail", -0.02, False, -0.07)
    unsure = _row("margin", "guardrail", -0.04, False, -0.17)
    unknown = _row("margin", "guardrail", -0.04, False, None)
    harmed = _row("margin", "guardrail", -0.3, True, -0.4)
    cases = [
        ([goal, safe], True, [], "significant"),
        ([goal, unsure, unknown], True, [], "significant"),
        ([goal, harmed], True, [], "significant"),
        ([worse], True, [], "sequential_significant"),
        ([flat], True, [], "significant"),
        ([goal], False, [], "significant"),
        ([goal], True, ["a"], "significant"),
    ]
    for rows, srm, missing, basis in cases:
        rows = [{**r, "sequential_significant": r["significant"]} for r in rows]
        verdict = arm_verdict("b", rows, srm, missing, basis)
        with i18n.language("en"):
            assert reason(verdict) == verdict["reason"]
        with i18n.language("zh"):
            said = reason(verdict)
        assert said and not any(w in said for w in ("significantly", "guardrail", "after"))
