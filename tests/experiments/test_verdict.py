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
