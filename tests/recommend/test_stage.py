"""Stage 08_recommend through the command line: the tiny shop's findings carry every
candidate's metrics with intervals, and on Online Retail the chosen model beats recent
popularity and is not worse than buy-again, beyond their paired intervals."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from support import CliRun, on_run, shared_file

from customer_analytics.recommend.candidates import BASELINES, CANDIDATES
from customer_analytics.recommend.metrics import METRICS
from customer_analytics.recommend.stage import BY_GROUP, SCORES, TUNING


@on_run("tiny")
def test_the_findings_carry_every_candidate_with_intervals(
    config_run: Callable[[str], CliRun],
) -> None:
    run = config_run("tiny")
    found = run.findings("08_recommend")
    assert set(found["models"]) == set(CANDIDATES)
    for model in found["models"].values():
        assert set(METRICS) <= set(model)
        for name in ("hr_at_10", "ndcg_at_10", "map_at_10", "recall_at_20"):
            assert model[f"{name}_low"] <= model[name] <= model[f"{name}_high"]
    validation = found["validation_ndcg_at_10"]
    assert found["chosen"] == max(validation, key=validation.get)
    assert set(found["vs_baselines"]) == set(BASELINES) - {found["chosen"]}
    test = found["customers"]["test"]
    assert test["evaluated"] > 0
    assert (
        test["window_buyers"]
        == test["evaluated"] + test["new_customers"] + test["only_new_products"]
    )
    stage = run.stages["08_recommend"]
    scores = pd.read_parquet(SCORES.at(stage))
    assert set(scores["model"]) == set(CANDIDATES)
    tuning = pd.read_parquet(TUNING.at(stage))
    best = tuning.groupby("model")["ndcg_at_10"].max().round(4)
    assert best.to_dict() == validation
    groups = pd.read_parquet(BY_GROUP.at(stage))
    assert groups.groupby("model")["customers"].sum().eq(test["evaluated"]).all()


@pytest.mark.slow
@on_run("online_retail")
def test_online_retail_beats_popularity_and_holds_against_buy_again(
    config_run: Callable[[str], CliRun],
) -> None:
    shared_file("online_retail.parquet")
    found = config_run("online_retail").findings("08_recommend")
    print({name: model["ndcg_at_10"] for name, model in found["models"].items()})
    print(found["chosen_reason"], found["vs_baselines"])
    assert found["customers"]["test"]["evaluated"] > 500
    if found["chosen"] != "popular":
        assert found["vs_baselines"]["popular"]["ndcg_at_10_diff_low"] > 0
    if found["chosen"] != "buy_again":
        assert found["vs_baselines"]["buy_again"]["ndcg_at_10_diff_high"] >= 0
    assert "als_default" in found["models"]
