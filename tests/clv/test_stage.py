"""Stage 04_clv on the runs: every buyer valued, the holdout choice against the naive
baseline, CDNOW's published fits reproduced, and value ranked against the planted truth."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import yaml
from support import ROOT, CliRun, on_run, shared_file

from customer_analytics.clv.stage import (
    CUSTOMERS_CLV,
    PARAMS,
    PERIOD_TRANSACTIONS,
    PUBLISHED_FILE,
)
from customer_analytics.config import load_config
from customer_analytics.pipeline.outputs import stage_findings
from customer_analytics.rfm.stage import BTYD_SUMMARY

#: The published calibration fits on CDNOW's first 39 weeks: Fader, Hardie & Lee (2005)
#: for BG/NBD and Pareto/NBD, BTYDplus for MBG/NBD (to 3 decimals), Fader & Hardie's 2013
#: note for Gamma-Gamma (to 2).
CDNOW_PUBLISHED = {
    "BG/NBD": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "MBG/NBD": {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614},
    "Pareto/NBD": {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
    "Gamma-Gamma": {"p": 6.25, "q": 3.74, "gamma": 15.44},
}


# --- the tiny shop -------------------------------------------------------------------------


@on_run("tiny")
def test_every_customer_is_valued_and_has_a_lifecycle_stage(
    config_run: Callable[[str], CliRun],
) -> None:
    tiny = config_run("tiny").stages
    customers = pd.read_parquet(CUSTOMERS_CLV.path(tiny))
    summary = pd.read_parquet(BTYD_SUMMARY.path(tiny))
    assert len(customers) == len(summary)
    assert customers[["p_alive", "expected_purchases", "p_purchase", "clv"]].notna().all().all()
    assert customers["p_alive"].between(0, 1).all() and customers["p_purchase"].between(0, 1).all()
    assert (customers["clv"] >= 0).all()
    assert set(customers["lifecycle"]) <= {"new", "active", "at risk", "churned"}
    # A stage from each customer's own rhythm: churned customers are less likely alive.
    by_stage = customers.groupby("lifecycle")["p_alive"].mean()
    assert by_stage["churned"] < by_stage["at risk"] < by_stage["active"]


@on_run("tiny")
def test_holdout_choice_beats_the_naive_baseline(config_run: Callable[[str], CliRun]) -> None:
    found = config_run("tiny").findings("04_clv")
    chosen = found["holdout"][found["chosen_model"]]
    assert chosen["mae"] < found["holdout"]["naive"]["mae"]
    assert chosen["rmse"] < found["holdout"]["naive"]["rmse"]


@on_run("tiny")
def test_other_data_has_calibration_fits_but_no_published_figures(
    config_run: Callable[[str], CliRun],
) -> None:
    found = config_run("tiny").findings("04_clv")
    assert "published" not in found
    fitted = set(found["holdout"]) - {"naive"}  # the tiny shop's Pareto/NBD fit fails
    assert fitted and set(found["calibration_params"]) == fitted | {"Gamma-Gamma"}


@on_run("tiny")
def test_customers_whose_returns_exceed_their_purchases_are_still_valued(
    config_run: Callable[[str], CliRun],
) -> None:
    """Net of returns a mean repeat spend can be negative (the 1M-customer benchmark shop
    has four such buyers); valuing the shop must not fail on them."""
    from customer_analytics.clv import BetaGeoModel
    from customer_analytics.clv.stage import value_customers

    summary = pd.read_parquet(BTYD_SUMMARY.path(config_run("tiny").stages))
    repeat = summary.index[summary["frequency"] > 0][0]
    summary.loc[repeat, "monetary_value"] = -49.17
    cfg = load_config(ROOT / "configs/tiny.yaml")
    model = BetaGeoModel(time_unit="weeks").fit(summary)
    customers, _ = value_customers(cfg, model, summary)
    assert np.isfinite(customers["clv"]).all() and (customers["clv"] >= 0).all()
    assert customers.loc[repeat, "expected_spend"] < customers["expected_spend"].median()


# --- CDNOW: the papers' data ----------------------------------------------------------------


@pytest.mark.slow
@on_run("cdnow")
def test_cdnow_pipeline_reproduces_the_papers(config_run: Callable[[str], CliRun]) -> None:
    """Ingest, clean, RFM and the CLV stage on CDNOW: the calibration fits are the
    published ones (Fader, Hardie & Lee 2005; BTYDplus for MBG/NBD)."""
    stages = config_run("cdnow").stages
    params = json.loads(PARAMS.path(stages).read_text())
    for model in ("BG/NBD", "MBG/NBD", "Pareto/NBD"):
        ours = {k: round(v, 3) for k, v in params["calibration"][model].items()}
        assert ours == CDNOW_PUBLISHED[model], model
    ll = params["calibration_log_likelihood"]
    assert (round(ll["BG/NBD"], 1), round(ll["Pareto/NBD"], 1)) == (-9582.4, -9595.0)
    found = stage_findings(stages["04_clv"])
    assert found["holdout"]["BG/NBD"]["actual"] == 1882  # repeat purchase days, weeks 40-78
    # Figure 1 of the paper: 1,411 of the 2,357 customers made no repeat purchase in the
    # calibration period, and the fitted BG/NBD expects about as many.
    periods = pd.read_parquet(PERIOD_TRANSACTIONS.path(stages))
    assert periods["actual"].iloc[0] == 1411
    assert periods["BG/NBD"].sum() == pytest.approx(2357)
    assert periods["BG/NBD"].iloc[0] == pytest.approx(1411, rel=0.02)
    assert found["holdout"][found["chosen_model"]]["mae"] < found["holdout"]["naive"]["mae"]


@pytest.mark.slow
@on_run("cdnow")
def test_cdnow_findings_set_the_published_figures_beside_ours(
    config_run: Callable[[str], CliRun],
) -> None:
    """The findings carry every calibration fit, Gamma-Gamma's included, and the figures
    published for this data and period (``clv/published.yaml``); ours round to them."""
    found = config_run("cdnow").findings("04_clv")
    ours = found["calibration_params"]
    assert set(ours) == set(CDNOW_PUBLISHED)
    published = found["published"]
    (entry,) = yaml.safe_load(PUBLISHED_FILE.read_text()).values()
    assert published["params"] == entry["params"] == CDNOW_PUBLISHED
    assert published["data"].startswith("CDNOW sample") and "Fader" in published["reference"]
    for model in ("BG/NBD", "MBG/NBD", "Pareto/NBD"):
        rounded = {k: round(v, 3) for k, v in ours[model].items()}
        assert rounded == published["params"][model], model
    gamma_gamma = published["params"]["Gamma-Gamma"]
    assert ours["Gamma-Gamma"] == pytest.approx(gamma_gamma, abs=0.01)


# --- the default shop and Online Retail ------------------------------------------------------


@pytest.mark.slow
@on_run("default")
def test_default_shop_value_ranking_against_the_planted_truth(
    config_run: Callable[[str], CliRun],
) -> None:
    """Top 10% by predicted CLV hold more of the true next-12-month value than the top
    10% by RFM score or by past spend; P(alive) beats recency at telling who is active."""
    truth = config_run("default").findings("04_clv")["truth"]
    assert truth["customers_matched"] > 15_000
    assert truth["top10_share_by_clv"] > truth["top10_share_by_rfm"]
    assert truth["top10_share_by_clv"] > truth["top10_share_by_past_spend"]
    assert truth["p_alive_auc"] > truth["recency_auc"]


@pytest.mark.slow
@on_run("online_retail")
def test_online_retail_runs_end_to_end_and_beats_the_baseline(
    config_run: Callable[[str], CliRun],
) -> None:
    shared_file("online_retail.parquet")
    found = config_run("online_retail").findings("04_clv")
    assert found["customers"] > 4_000
    chosen = found["holdout"][found["chosen_model"]]
    assert chosen["mae"] < found["holdout"]["naive"]["mae"]
    assert set(found["failed_models"]) < {"bgnbd", "mbgnbd", "pareto_nbd"}
