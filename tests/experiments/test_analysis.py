"""One experiment from its unit table: verdicts, power and MDE, the sequential option,
and clear errors for data that cannot answer the configured question (the unit tables
and specs of ``conftest.py``)."""

from __future__ import annotations

import pytest

from customer_analytics.experiments.report import detail_frame, plan_frame
from customer_analytics.experiments.stats import minimum_detectable_effect

REVENUE_PER_ORDER_GUARD = {
    "name": "revenue_per_order",
    "type": "ratio",
    "numerator": "revenue",
    "denominator": "orders",
    "role": "guardrail",
}


# --- checks before the analysis ----------------------------------------------------------


def test_an_arm_outside_the_configuration_is_a_clear_error_not_a_crash(
    spec, analyse, shop_units
) -> None:
    units = shop_units(1, 50).replace({"variant": {"control": "Control"}})
    with pytest.raises(
        ValueError, match=r"arm value\(s\) \['Control'\] .* \['control', 'treatment'\]"
    ):
        analyse(units, spec({"name": "orders"}))


# --- verdicts ---------------------------------------------------------------------------


def test_an_inconclusive_ratio_goal_gets_a_verdict_with_its_power(
    spec, analyse, shop_units
) -> None:
    """A ratio goal used to raise TypeError (power None compared with 0.8)."""
    result = analyse(
        shop_units(0, 400),
        spec(
            {
                "name": "revenue_per_order",
                "type": "ratio",
                "numerator": "revenue",
                "denominator": "orders",
                "role": "goal",
                "min_effect": 0.05,
            }
        ),  # fmt: skip
    )
    row = result["metrics"][0]
    assert 0 < row["power_at_min_effect"] < 0.8 and row["mde"] > 0.05
    verdict = result["verdicts"]["treatment"]
    assert verdict["decision"] == "inconclusive"
    assert "under 80% for revenue_per_order" in verdict["reason"]


def test_verdict_guardrail_bound_is_the_one_sided_bound_of_the_lift(
    spec, analyse, shop_units
) -> None:
    units = shop_units(2, 3000, lift=0.3)
    result = analyse(
        units,
        spec({"name": "orders", "role": "goal"}, REVENUE_PER_ORDER_GUARD),
    )
    guard = next(r for r in result["metrics"] if r["role"] == "guardrail")
    # One-sided 95% = the lower end of the two-sided 90% interval.
    z90 = 1.6448536
    expected = guard["rel_lift"] - z90 * (guard["rel_ci"][1] - guard["rel_lift"]) / 1.959964
    assert guard["harm_bound"] == pytest.approx(expected, rel=1e-3)
    # Orders rise by 30% and the value per order is unchanged: ship, guardrail cleared.
    assert result["verdicts"]["treatment"]["decision"] == "ship"
    assert guard["harm_bound"] > -0.10


# --- power, MDE and the planning table ---------------------------------------------------


def test_every_row_has_power_and_mde_and_the_plan_covers_proportions_and_means(
    spec, analyse, shop_units
) -> None:
    units = shop_units(3, 800)
    units["conversion"] = (units["orders"] > 0).astype(float)
    result = analyse(
        units,
        spec(
            {"name": "conversion", "type": "proportion"},
            {"name": "revenue", "type": "mean"},
            REVENUE_PER_ORDER_GUARD,
        ),  # fmt: skip
    )
    for row in result["metrics"]:
        assert 0 < row["power_at_min_effect"] < 1 and row["mde"] > 0, row["key"]
    conversion = result["metrics"][0]
    assert conversion["mde"] == pytest.approx(
        minimum_detectable_effect(800, 800, proportion=conversion["control_mean"])
    )
    plan = plan_frame({"x": result}).set_index("metric")
    assert list(plan.index) == ["conversion", "revenue"]  # the ratio is left out
    assert plan.loc["revenue", "sd"] == pytest.approx(
        units[units.variant == "control"]["revenue"].std()
    )
    assert (plan["per arm for +5%"] > plan["per arm for +10%"]).all()
    assert plan.loc["conversion", "MDE of this test"] == pytest.approx(conversion["mde"])
    assert set(detail_frame(result)["MDE"]) == {r["mde"] for r in result["metrics"]}


# --- the sequential option ---------------------------------------------------------------


def test_sequential_intervals_are_wider_and_decide_the_verdict(spec, analyse, shop_units) -> None:
    units = shop_units(4, 2000, lift=0.12)
    experiment = spec({"name": "orders"}, {"name": "revenue"}, planned_units=8000)
    fixed = analyse(units, experiment)
    looked = analyse(units, experiment, sequential=True)
    assert fixed["sequential"] is None and looked["decided_by"] == "sequential"
    assert looked["sequential"]["planned_units"] == 8000
    for row in looked["metrics"]:
        low, high = row["sequential_ci"]
        assert low < row["family_ci"][0] and high > row["family_ci"][1]
        assert row["sequential_significant"] == (low > 0 or high < 0)
    assert fixed["verdicts"]["treatment"]["decision"] == "ship"
    significant = [r["metric"] for r in looked["metrics"] if r["sequential_significant"]]
    decision = looked["verdicts"]["treatment"]
    assert (decision["decision"] == "ship") == bool(significant)
    assert "always-valid" in decision["reason"]
    assert "always-valid CI" in detail_frame(looked).columns
