"""One experiment from its unit table: units, verdicts, power and MDE, the sequential
option, and clear errors for data that cannot answer the configured question."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from customer_analytics.ab_report import ab_sentences, detail_frame, plan_frame
from customer_analytics.ab_stage import ExperimentDataError, _findings, check_metric_columns
from customer_analytics.config import AbSettings, ExperimentSpec
from customer_analytics.experiments import SampleStats, achieved_power, minimum_detectable_effect
from customer_analytics.experiments.analysis import analyse_experiment
from customer_analytics.experiments.power import mde_from_se, power_from_se
from customer_analytics.experiments.units import outcome_aggregations, units_from_outcomes
from customer_analytics.experiments.verdict import arm_verdict


def spec(
    *metrics: dict, arms: tuple[str, ...] = ("control", "treatment"), **extra
) -> ExperimentSpec:
    return ExperimentSpec(
        arms=arms, planned_split=tuple(1 for _ in arms), metrics=list(metrics), **extra
    )


def analyse(units: pd.DataFrame, experiment: ExperimentSpec, **settings) -> dict:
    return analyse_experiment(
        "x", ibis.memtable(units), experiment, AbSettings(segments=(), **settings), 10
    )


REVENUE_PER_ORDER_GUARD = {
    "name": "revenue_per_order",
    "type": "ratio",
    "numerator": "revenue",
    "denominator": "orders",
    "role": "guardrail",
}


def shop_units(seed: int, n: int, lift: float = 0.0) -> pd.DataFrame:
    """Orders and revenue per customer: Poisson orders, Gamma order values."""
    g = np.random.default_rng(seed)
    variant = np.repeat(["control", "treatment"], n)
    orders = g.poisson(np.where(variant == "treatment", 1.0 + lift, 1.0)).astype(float)
    revenue = np.array([g.gamma(2.0, 50.0, int(k)).sum() for k in orders])
    return pd.DataFrame({"variant": variant, "orders": orders, "revenue": revenue})


# --- the unit table from a campaign's outcomes ------------------------------------------

ASSIGNED = pd.DataFrame(
    {
        "experiment_id": "spring",
        "customer_id": ["c1", "c2", "c3", "c4"],
        "variant": ["A", "A", "B", "B"],
        "assigned_ts": pd.to_datetime(["2024-05-01 07:00"] * 4),
    }
)
# c1 has two outcome rows (two purchases); c2 none; c3 one; c4's was quarantined as n/a.
OUTCOMES = pd.DataFrame(
    {
        "experiment_id": "spring",
        "customer_id": ["c1", "c1", "c3"],
        "spend": ["10.5", "4", "7"],
        "visit": ["1", "1", "0"],
        "history": ["100", "100", "80"],
        "channel": ["Web", "Phone", "Web"],
        "outcome_ts_utc": pd.to_datetime(["2024-05-02", "2024-05-20", "2024-05-03"]),
        "_row": [1, 4, 3],
    }
)
SPRING = spec(
    {"name": "visit", "type": "proportion"},
    {"name": "spend", "type": "mean", "covariate": "history"},
    arms=("A", "B"),
)


def spring_units(window_days: int = 30) -> pd.DataFrame:
    how = outcome_aggregations("spring", SPRING, list(OUTCOMES.columns))
    unknown = ibis.memtable({"experiment_id": ["spring"], "customer_id": ["c4"]})
    units = units_from_outcomes(
        ibis.memtable(ASSIGNED), ibis.memtable(OUTCOMES), how, window_days, unknown
    )
    return units.to_pandas().set_index("customer_id").sort_index()


def test_every_exposure_is_one_unit_and_outcome_rows_add_up() -> None:
    units = spring_units()
    assert list(units.index) == ["c1", "c2", "c3", "c4"]
    assert units.loc["c1", "spend"] == pytest.approx(14.5)  # two purchases summed
    assert units.loc["c1", "visit"] == 1.0  # a proportion: visited on any row
    assert units.loc["c1", "history"] == 100.0 and units.loc["c1", "channel"] == "Web"  # first row
    assert units["outcome_status"].to_dict() == {
        "c1": "delivered",
        "c2": "missing",
        "c3": "delivered",
        "c4": "unknown",
    }
    # No outcome row: zeros, by the convention of campaign files (a customer who did
    # nothing has no purchase to record); the segment stays unknown.
    assert units.loc["c2", ["spend", "visit", "history"]].tolist() == [0.0, 0.0, 0.0]
    assert pd.isna(units.loc["c2", "channel"])


def test_outcomes_after_the_window_are_not_counted() -> None:
    units = spring_units(window_days=14)
    assert units.loc["c1", "spend"] == pytest.approx(10.5)  # the purchase on day 19 is out
    assert units.loc["c1", "outcome_status"] == "delivered"


def test_one_column_cannot_be_a_proportion_and_a_sum() -> None:
    both = spec({"name": "visit", "type": "proportion"}, {"name": "visit2", "numerator": "visit",
                "type": "ratio", "denominator": "spend"})  # fmt: skip
    with pytest.raises(ValueError, match="'visit' is both a proportion and a summed metric"):
        outcome_aggregations("x", both, ["visit", "spend"])


# --- checks before the analysis ---------------------------------------------------------


def test_a_metric_column_the_data_lacks_is_named_with_the_config_key() -> None:
    experiment = spec({"name": "margin_per_order", "type": "ratio", "numerator": "margin",
                       "denominator": "orders", "role": "guardrail"})  # fmt: skip
    columns = ["experiment_id", "customer_id", "variant", "orders", "revenue", "conversion"]
    with pytest.raises(ExperimentDataError) as err:
        check_metric_columns(
            "free_shipping",
            experiment,
            columns,
            "ab.experiments.free_shipping.metrics",
            {"margin": "margin needs shop.carrier_cost_per_order"},
        )
    message = str(err.value)
    assert "experiment free_shipping: metric 'margin_per_order'" in message
    assert "(ab.experiments.free_shipping.metrics)" in message
    assert "['margin']" in message and "carrier_cost_per_order" in message
    assert "columns available: ['conversion', 'orders', 'revenue']" in message
    check_metric_columns("free_shipping", experiment, [*columns, "margin"], "k")  # passes


def test_an_arm_outside_the_configuration_is_a_clear_error_not_a_crash() -> None:
    units = shop_units(1, 50).replace({"variant": {"control": "Control"}})
    with pytest.raises(
        ValueError, match=r"arm value\(s\) \['Control'\] .* \['control', 'treatment'\]"
    ):
        analyse(units, spec({"name": "orders"}))


# --- verdicts ---------------------------------------------------------------------------


def test_an_inconclusive_ratio_goal_gets_a_verdict_with_its_power() -> None:
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


def test_verdict_guardrail_bound_is_the_one_sided_bound_of_the_lift() -> None:
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


def test_mde_is_the_effect_the_test_has_eighty_percent_power_for() -> None:
    control = SampleStats(4000, 4000 * 2.0, 4000 * (2.0**2 + 9.0))
    treatment = SampleStats(3000, 3000 * 2.0, 3000 * (2.0**2 + 16.0))
    se = float(np.sqrt(control.mean_variance + treatment.mean_variance))
    mde = mde_from_se(se, control.mean)
    assert achieved_power(control, treatment, mde) == pytest.approx(0.8, abs=1e-4)
    assert power_from_se(se, control.mean, mde) == pytest.approx(0.8, abs=1e-4)
    # With equal variances it is the planning MDE of experiments/power.py.
    same = SampleStats(3000, 3000 * 2.0, 3000 * (2.0**2 + 9.0))
    se_same = float(np.sqrt(control.mean_variance + same.mean_variance))
    sd = float(np.sqrt(control.variance))
    assert mde_from_se(se_same, 2.0) == pytest.approx(
        minimum_detectable_effect(4000, 3000, mean=2.0, sd=sd), rel=1e-3
    )


def test_every_row_has_power_and_mde_and_the_plan_covers_proportions_and_means() -> None:
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


def test_sequential_intervals_are_wider_and_decide_the_verdict() -> None:
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


# --- findings and sentences --------------------------------------------------------------


def test_findings_carry_lifts_intervals_mde_and_each_arms_reason_and_the_sentence_reads() -> None:
    units = shop_units(5, 3000, lift=0.3)
    result = analyse(units, spec({"name": "orders"}, {"name": "revenue"}))
    result["alpha"] = 0.05
    found = _findings(result)
    metric = found["metrics"]["treatment / orders"]
    for key in ("abs_lift", "abs_ci", "rel_ci", "family_ci", "ci_disagrees", "mde"):
        assert key in metric
    assert found["verdicts"]["treatment"]["decision"] == "ship"
    assert found["verdicts"]["treatment"]["reason"].startswith("orders, revenue significantly")
    (sentence,) = ab_sentences({"experiments": {"push": found}})
    low, high = metric["family_ci"]
    assert sentence == (
        f"push — treatment: ship, +{metric['rel_lift']:.1%} orders "
        f"(95% CI +{low:.1%}..+{high:.1%}, family-wide)."
    )


def test_settled_figures_do_not_carry_the_order_of_floating_point_sums() -> None:
    from customer_analytics.ab_stage import settled

    jittered = [357.54528409090904, 357.54528409090926]  # one sum, two thread orders
    assert settled(jittered)[0] == settled(jittered)[1] == 357.54528
    assert settled({"p": 1.234567891e-12, "n": 3, "ok": True}) == {
        "p": 1.2345679e-12,
        "n": 3,
        "ok": True,
    }
