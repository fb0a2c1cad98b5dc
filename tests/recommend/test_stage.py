"""Stage 08_recommend through the command line: the tiny shop's findings carry every
candidate's metrics with intervals, and on Online Retail the chosen model beats recent
popularity and is not worse than buy-again, beyond their paired intervals."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from support import CliRun, on_run, shared_file

from customer_analytics.personas.stage import CUSTOMERS_PERSONAS
from customer_analytics.privacy import has_pii
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


@on_run("tiny")
def test_activation_files_hold_consenting_customers_only(
    config_run: Callable[[str], CliRun],
) -> None:
    run = config_run("tiny")
    found = run.findings("08_recommend")
    folder = run.report / "activation"  # copied where marketing tools read it
    picks = pd.read_csv(folder / "picks.csv")
    customers = pd.read_parquet(CUSTOMERS_PERSONAS.path(run.stages)).set_index("customer_id")
    assert (customers.loc[picks["customer_id"].unique(), "consent"] == 1).all()
    assert (customers["consent"] != 1).any()  # some did not consent, and got no picks
    assert not has_pii(picks.columns)
    assert picks.groupby("customer_id")["rank"].max().max() == 10
    assert found["picks"]["customers"] == picks["customer_id"].nunique()
    assert sum(found["picks"]["by_reason"].values()) == len(picks)
    for name, rows in found["activation_files"].items():
        assert len(pd.read_csv(folder / name)) == rows, name
    for example in found["examples"]:
        assert example["orders"] >= 3 and len(example["picks"]) == 5
