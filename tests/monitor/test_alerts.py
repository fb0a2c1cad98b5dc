"""Alert rules as data on small frames: measures, thresholds, minimum bases, noise,
directions, subjects, verdicts, the generic rule over findings, and bad rule files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from customer_analytics.monitor.alerts import AlertRule, evaluate, findings_series, load_rules


def kpis(**rows: tuple[float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [(name, before, after) for name, (before, after) in rows.items()],
        columns=["subject", "before", "after"],
    )


def test_a_relative_change_beyond_the_threshold_alerts_either_way() -> None:
    rule = AlertRule("kpi_change", "kpi_weeks", "relative_change", beyond=0.2)
    table = kpis(revenue=(100.0, 125.0), orders=(100.0, 79.0), aov=(100.0, 119.0),
                 new=(0.0, 5.0))  # fmt: skip
    found = evaluate([rule], {"kpi_weeks": table})
    assert found == [
        {"rule": "kpi_change", "subject": "revenue", "before": 100.0, "after": 125.0},
        {"rule": "kpi_change", "subject": "orders", "before": 100.0, "after": 79.0},
    ]  # aov within 20%; new has no relative change from 0
    up = AlertRule("kpi_rise", "kpi_weeks", "relative_change", beyond=0.2, direction="up")
    assert [a["subject"] for a in evaluate([up], {"kpi_weeks": table})] == ["revenue"]


def test_minimum_base_and_noise_keep_small_or_noisy_changes_quiet() -> None:
    rule = AlertRule("kpi_change", "kpi_weeks", "relative_change", beyond=0.2, min_base=400,
                     min_z=3)  # fmt: skip
    table = pd.DataFrame(
        {
            "subject": ["small shop", "noisy", "real", "unknown noise"],
            "before": [100.0, 100.0, 100.0, 100.0],
            "after": [150.0, 150.0, 150.0, 150.0],
            "base": [76.0, 2000.0, 2000.0, 2000.0],  # orders behind each
            "noise": [5.0, 20.0, 10.0, float("nan")],  # 50 is 10, 2.5, 5 noises
        }
    )
    subjects = [a["subject"] for a in evaluate([rule], {"kpi_weeks": table})]
    assert subjects == ["real", "unknown noise"]
    # without a base column the size of the value before stands for it
    bare = AlertRule("big", "kpi_weeks", "relative_change", beyond=0.2, min_base=50)
    assert [a["subject"] for a in evaluate([bare], {"kpi_weeks": kpis(a=(40.0, 80.0),
                                                                      b=(60.0, 120.0))})] == ["b"]  # fmt: skip


def test_shares_in_points_values_and_changed_verdicts() -> None:
    shares = kpis(**{"Bargain hunters": (0.30, 0.33), "Fans": (0.20, 0.21)})
    points = AlertRule("persona_share", "persona_share", "absolute_change", beyond=0.02)
    assert [a["subject"] for a in evaluate([points], {"persona_share": shares})] == [
        "Bargain hunters"
    ]
    changed = pd.DataFrame({"subject": ["customers"], "before": [None], "after": [0.2],
                            "base": [5000]})  # fmt: skip
    value = AlertRule("persona_changed", "persona_changed", "value", beyond=0.15, min_base=2000)
    assert evaluate([value], {"persona_changed": changed}) == [
        {"rule": "persona_changed", "subject": "customers", "before": None, "after": 0.2}
    ]
    verdicts = pd.DataFrame({"subject": ["coupon", "push", "new"],
                             "before": ["inconclusive", "ship", None],
                             "after": ["ship", "ship", "inconclusive"]})  # fmt: skip
    rule = AlertRule("verdict_changed", "verdicts", "changed")
    found = evaluate([rule], {"verdicts": verdicts})
    assert [(a["subject"], a["before"], a["after"]) for a in found] == [
        ("coupon", "inconclusive", "ship"),
        ("new", None, "inconclusive"),
    ]


def test_subjects_and_exclusions_pick_the_rows_a_rule_watches() -> None:
    table = kpis(open_rate=(0.2, 0.1), click_through_rate=(0.05, 0.01), revenue=(1.0, 2.0))
    rule = AlertRule("rates", "kpi_weeks", "relative_change", beyond=0.1, subjects=("*_rate",),
                     exclude=("open_*",))  # fmt: skip
    assert [a["subject"] for a in evaluate([rule], {"kpi_weeks": table})] == ["click_through_rate"]


def test_a_series_the_comparison_lacks_leaves_its_rules_silent() -> None:
    rule = AlertRule("clv", "clv_params", "relative_change", beyond=0.25)
    assert evaluate([rule], {}) == []


def test_the_generic_rule_watches_any_numbers_of_the_findings() -> None:
    """A later stage's per-channel figures are watched by a rule, not code."""
    before = {"10_monitor": {"attribution": {"shapley": {"push": 0.30, "sms": 0.10}}}}
    after = {"10_monitor": {"attribution": {"shapley": {"push": 0.20, "sms": 0.11, "mail": 0.4}},
                            "holdout": {"lift": 0.05}}}  # fmt: skip
    series = findings_series("10_monitor/attribution/shapley", before, after)
    assert series["subject"].tolist() == ["push", "sms", "mail"]
    assert series["after"].tolist() == [0.20, 0.11, 0.4]
    assert series["before"].tolist()[:2] == [0.30, 0.10] and pd.isna(series["before"].iloc[2])
    rule = AlertRule("channel_share", "findings", "absolute_change", beyond=0.05,
                     path="10_monitor/attribution/shapley")  # fmt: skip
    found = evaluate([rule], {}, before, after)
    assert [(a["subject"], a["before"], a["after"]) for a in found] == [("push", 0.3, 0.2)]
    lift = AlertRule("lift", "findings", "value", beyond=0.01, path="10_monitor/holdout/lift")
    assert evaluate([lift], {}, before, after)[0]["after"] == 0.05
    assert findings_series("10_monitor/nothing/here", before, after).empty


def test_rule_files_are_read_and_bad_rules_are_named(tmp_path: Path) -> None:
    rules = load_rules()
    assert {r.watch for r in rules} == {"kpi_weeks", "persona_share", "persona_changed",
                                        "clv_params", "verdicts"}  # fmt: skip
    assert all(r.about for r in rules)
    own = tmp_path / "alerts.yaml"
    own.write_text("rules:\n  - {name: mine, watch: kpi_weeks, measure: value, subjects: orders}\n")
    assert load_rules(own)[0].subjects == ("orders",)
    for body, says in [
        ("{name: x, watch: weather, measure: value}", "unknown series 'weather'"),
        ("{name: x, watch: kpi_weeks, measure: mood}", "unknown measure 'mood'"),
        ("{name: x, watch: findings, measure: value}", "it needs a path"),
        ("{name: x, watch: kpi_weeks, measure: value, treshold: 1}", "treshold"),
    ]:
        own.write_text(f"rules:\n  - {body}\n")
        with pytest.raises(ValueError, match=says):
            load_rules(own)
