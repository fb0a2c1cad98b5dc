"""Stage 09_targeting through the command line: the tiny shop's findings carry every
model's held-out scores and the plan's totals, its lists hold consenting customers only
and never the holdout, and the plan is written as an experiment the A/B stage reads; on
the default shop the plan is scored by the planted effects; on Hillstrom it plans per
campaign segment; bad settings get messages naming the key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from support import CliRun, on_run, shared_file

from customer_analytics.config import ExperimentSpec, load_config
from customer_analytics.personas.stage import CUSTOMERS_PERSONAS
from customer_analytics.privacy import has_pii
from customer_analytics.synthetic.truth import planted_effects
from customer_analytics.targeting import stage
from customer_analytics.targeting.learn import MODELS

SCORES = ("qini", "auuc")


def _check_models(found: dict) -> None:
    for arms in found["experiments"].values():
        for outcomes in arms.values():
            for fit in outcomes.values():
                assert fit["chosen"] in MODELS[1:]  # never the response model
                for scores in fit["models"].values():
                    for name in SCORES:
                        assert scores[f"{name}_low"] <= scores[name] <= scores[f"{name}_high"]


@on_run("tiny")
def test_the_plan_its_lists_and_its_holdout(config_run: Callable[[str], CliRun]) -> None:
    run = config_run("tiny")
    found = run.findings("09_targeting")
    _check_models(found)
    assert {"push_personalised", "coupon_test", "free_shipping"} <= set(found["experiments"])
    plan = found["plan"]
    for key in ("budget", "cash_out", "expected_profit", "roi"):
        assert key in plan
    assert plan["expected_profit_low"] <= plan["expected_profit"] <= plan["expected_profit_high"]
    assert plan["cash_out"] <= plan["budget"] + 1e-6
    folder = run.stages["09_targeting"]
    table = pd.read_parquet(stage.PLAN.at(folder))
    assert table["customers"].sum() == plan["listed_customers"] + plan["holdout_customers"]
    customers = pd.read_parquet(CUSTOMERS_PERSONAS.path(run.stages)).set_index("customer_id")
    holdout = pd.read_csv(stage.HOLDOUT.at(folder))
    lists = pd.concat([pd.read_csv(f) for f in stage.LISTS.at(folder).glob("*.csv")])
    assert not has_pii(lists.columns) and not has_pii(holdout.columns)
    assert (customers.loc[lists["customer_id"].unique(), "consent"] == 1).all()
    assert not set(lists["customer_id"]) & set(holdout["customer_id"])
    assert (
        lists.groupby("customer_id").size().max()
        <= load_config("configs/tiny.yaml").targeting.contacts
    )
    ((name, spec),) = yaml.safe_load(stage.NEXT_EXPERIMENT.at(folder).read_text()).items()
    spec = ExperimentSpec.model_validate(spec)
    assert spec.arms == ("holdout", "plan") and spec.planned_split[0] == 0.05
    assert any("aa_test:b" in note for note in found["notes"])


@pytest.mark.slow
@on_run("default")
def test_default_shop_plan_against_the_planted_effects(
    config_run: Callable[[str], CliRun],
) -> None:
    """At the same budget the plan earns at least 80% of the oracle's true profit and
    more than the best action to everyone, random targeting, the RFM rule and the
    per-persona A/B plan; the A/A test's chosen model has a Qini band covering 0; the
    broken experiment is left out; the coupon, which loses money sent to everyone, makes
    money sent where the plan prices it above zero; the planted expected effects average
    to the realised true effects."""
    run = config_run("default")
    found = run.findings("09_targeting")
    print(found["plan"], found["truth"])
    _check_models(found)
    truth = found["truth"]
    plans = truth["plans"]
    assert plans["ours"]["share_of_oracle"] >= 0.8
    for baseline in ("everyone", "random", "rfm_rule", "per_persona_ab"):
        assert plans["ours"]["true_profit"] > plans[baseline]["true_profit"], baseline
    assert truth["aa_band_covers_zero"]
    assert "srm_broken" not in found["experiments"]
    coupon = truth["coupon"]
    assert coupon["everyone_true_profit"] < 0 < coupon["best_true_profit"]
    assert coupon["ours_true_profit"] > 0
    assert coupon["share_it_pays_on"] < 0.5
    for arms in truth["spearman"].values():
        for outcomes in arms.values():
            for by_model in outcomes.values():
                assert set(by_model) >= set(MODELS[:3])  # the value models: margin only

    truth_dir = Path(run.manifest["paths"]["truth"])
    expected = pd.read_parquet(truth_dir / "experiment_customers.parquet")
    realised = planted_effects(truth_dir)
    realised = realised[realised["segment"] == "all"].set_index(["experiment_id", "arm", "metric"])
    for (experiment, arm), rows in expected.groupby(["experiment_id", "arm"]):
        for metric in ("conversion", "orders", "revenue", "margin"):
            mean = rows[f"effect_{metric}"].mean()
            true = realised.loc[(experiment, arm, metric), "true_lift_abs"]
            scale = rows[f"expected_{metric}"].mean()
            # the realised effect is one draw of the extra orders; the expected one its mean
            assert abs(mean - true) <= 0.1 * abs(true) + 0.02 * scale, (experiment, arm, metric)


@pytest.mark.slow
@on_run("hillstrom")
def test_hillstrom_plans_per_campaign_segment(config_run: Callable[[str], CliRun]) -> None:
    shared_file("hillstrom.csv")
    run = config_run("hillstrom")
    found = run.findings("09_targeting")
    _check_models(found)
    assert found["plan"]["groups"] == "history_segment"
    assert found["plan"]["outcome"] == "spend"
    assert "consent" in found["plan"]["consent"]
    assert any("campaign file's own columns" in note for note in found["notes"])
    assert not list(stage.LISTS.at(run.stages["09_targeting"]).glob("*.csv"))
    womens = found["experiments"]["hillstrom_email"]["Womens E-Mail"]
    assert {"spend", "conversion"} <= set(womens)


def _rerun(run: CliRun, tmp_path: Path, **overrides: object) -> dict:
    """The stage once more on the tiny run's earlier stages, with ``overrides``."""
    sets = {"data.dir": run.manifest["paths"]["data"], **overrides}
    cfg = load_config("configs/tiny.yaml", overrides=sets)
    tmp_path.mkdir()
    return stage.run(cfg, run.stages, tmp_path)


@on_run("tiny")
def test_bad_settings_are_named(config_run: Callable[[str], CliRun], tmp_path: Path) -> None:
    run = config_run("tiny")
    found = _rerun(run, tmp_path / "zero", **{"targeting.budget": 0})
    assert found["plan"]["actions"] == 0 and any("budget is 0" in n for n in found["notes"])
    found = _rerun(run, tmp_path / "small", **{"targeting.min_units": 10_000})
    assert found["experiments"] == {}
    assert any("A/B averages" in n for n in found["notes"])
    assert found["plan"]["customers"] > 0  # planned on the averages all the same
    with pytest.raises(stage.TargetingDataError, match="targeting.actions.coupon_test.coupon"):
        _rerun(run, tmp_path / "channel", **{"targeting.actions.coupon_test.coupon.channel": "fax"})
    found = _rerun(
        run, tmp_path / "unknown", **{"targeting.actions.no_such_test": {"x": {"channel": "sms"}}}
    )
    assert any("targeting.actions.no_such_test.x" in n for n in found["notes"])
    assert np.isfinite(found["plan"]["expected_profit"])
