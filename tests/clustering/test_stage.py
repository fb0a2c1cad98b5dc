"""Stage 05_clustering: every buyer clustered once, negative money made fit for the log,
the planted personas recovered on the default shop, and Online Retail clustered on the
features it has."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from support import CliRun, on_run, run_config, shared_file

from customer_analytics.clustering import CustomerClusters
from customer_analytics.clustering.stage import (
    CLUSTERS,
    FEATURES,
    SKEWED,
    established,
    fit_sample,
    for_distance,
)
from customer_analytics.rfm.stage import CUSTOMERS_RFM


def test_negative_money_is_clipped_for_the_log(customer_table) -> None:
    """A buyer whose returns or discounts exceed purchases has negative net spend and
    average order; the stage clips them at 0 so the log transform can cluster them."""
    X, _ = customer_table()
    X = X.rename(columns={"monetary": "aov"}).assign(monetary=X["monetary"])
    X.iloc[:3, X.columns.get_loc("aov")] = [-5.0, -0.01, -120.0]
    X.iloc[:2, X.columns.get_loc("monetary")] = [-40.0, -1.0]
    columns = list(X.columns)
    ready = for_distance(ibis.memtable(X.reset_index()), columns).execute()
    ready = ready.set_index("customer_id")
    assert (ready[["aov", "monetary"]].min() >= 0).all()
    assert ready["monetary"].isna().sum() == X["monetary"].isna().sum()  # missing stays missing
    pd.testing.assert_frame_equal(ready.iloc[5:], X.iloc[5:], check_names=False)
    model = CustomerClusters(k=6, n_bootstrap=2, skewed=[c for c in SKEWED if c in X]).fit(ready)
    assert len(model.labels_) == len(X)


def test_the_fit_sample_is_drawn_in_order_and_is_everyone_when_small() -> None:
    assert fit_sample(50, 100, seed=0).tolist() == list(range(50))
    drawn = fit_sample(1000, 100, seed=0)
    assert len(set(drawn)) == 100 and (np.diff(drawn) > 0).all()
    assert (fit_sample(1000, 100, seed=0) == drawn).all()
    assert not (fit_sample(1000, 100, seed=1) == drawn).all()


def test_personas_are_fitted_on_the_established_buyers_unless_the_shop_is_mostly_new() -> None:
    """Buyers whose first order is under ``days`` old are left out of the fit and counted;
    an unknown tenure counts as established; everyone is fitted when ``days`` is 0, when
    there is no tenure, or when fewer than half the buyers (or no more than k_max) are
    established."""
    tenure = pd.Series([400.0, 10.0, 90.0, np.nan, 89.9, 365.0, 200.0, 120.0])
    positions, newer = established(tenure, len(tenure), days=90, k_max=3)
    assert positions.tolist() == [0, 2, 3, 5, 6, 7] and newer == 2
    everyone = list(range(len(tenure)))
    assert established(tenure, len(tenure), days=0, k_max=3)[0].tolist() == everyone
    assert established(None, 8, days=90, k_max=3) == (pytest.approx(everyone), None)
    mostly_new = pd.Series([400.0, 400.0, 400.0, 5.0, 5.0, 5.0, 5.0, 5.0])
    assert established(mostly_new, 8, days=90, k_max=2)[1] is None
    assert established(tenure, len(tenure), days=90, k_max=6)[1] is None  # 6 <= k_max


@on_run("tiny")
def test_every_buyer_has_one_cluster(config_run: Callable[[str], CliRun]) -> None:
    tiny = config_run("tiny").stages
    features = pd.read_parquet(FEATURES.path(tiny))
    clusters = pd.read_parquet(CLUSTERS.path(tiny))
    rfm = pd.read_parquet(CUSTOMERS_RFM.path(tiny))
    assert clusters["customer_id"].is_unique
    assert set(clusters["customer_id"]) == set(features["customer_id"]) == set(rfm["customer_id"])
    sample = config_run("tiny").findings("05_clustering")["fit_sample"]
    # all established buyers are fitted (fewer than fit_sample), the newer ones assigned
    assert sample["customers_fitted"] + sample["newer_not_fitted"] == len(clusters)
    assert 0 < sample["newer_not_fitted"] < 0.5 * len(clusters)
    assert sample["assignment_agreement"] == 1.0


@pytest.mark.slow
@on_run("default")
def test_default_shop_clusters_recover_the_planted_personas(
    config_run: Callable[[str], CliRun],
) -> None:
    """Clusters match the planted personas (ARI >= 0.8) with k chosen equal to the planted
    number; recency, frequency and monetary value alone do not (ARI < 0.5)."""
    clustering = config_run("default").findings("05_clustering")
    truth = clustering["truth"]
    assert truth["customers_matched"] > 15_000
    assert not clustering["k_fixed"] and clustering["k"] == truth["planted_personas"] == 6
    assert truth["ari"] >= 0.8
    assert truth["ari_rfm_only"] < 0.5


@pytest.mark.slow
@on_run("default")
def test_a_sample_of_10000_finds_the_groups_of_the_full_fit(
    config_run: Callable[[str], CliRun], tmp_path: Path
) -> None:
    """The default shop's 17,064 established buyers (of 20,235) are all fitted by default;
    fitted on 10,000 of them and assigned on the engine, they fall into the same groups
    (what the 05 notebook says to explain the sample size). Run through the command line on the
    default run's data folder, so only the clustering and later stages run again."""
    full = config_run("default")
    assert full.findings("05_clustering")["customers"] == 20_235  # as the notebook says
    assert full.findings("05_clustering")["fit_sample"]["customers_fitted"] == 17_064
    root = Path(full.manifest["paths"]["data"]).parents[1]
    sets = ("--set", f"data.dir={root}", "--set", "clustering.fit_sample=10000")
    sampled_run = run_config("default", tmp_path, *sets)
    assert sampled_run.ok, sampled_run.process.stderr
    found = sampled_run.findings("05_clustering")
    assert found["fit_sample"]["customers_fitted"] == 10_000 < found["customers"]
    assert found["fit_sample"]["assignment_agreement"] == 1.0
    assert found["k"] == full.findings("05_clustering")["k"]
    assert found["truth"]["ari"] >= 0.85
    sampled = pd.read_parquet(CLUSTERS.path(sampled_run.stages))
    everyone = pd.read_parquet(CLUSTERS.path(full.stages))
    assert sampled["customer_id"].tolist() == everyone["customer_id"].tolist()
    agreement = adjusted_rand_score(everyone["cluster"], sampled["cluster"])
    print(f"ARI of the 10,000-buyer fit against the full fit: {agreement:.4f}")
    assert agreement >= 0.95


@pytest.mark.slow
@on_run("online_retail")
def test_online_retail_is_clustered_with_the_features_it_has(
    config_run: Callable[[str], CliRun],
) -> None:
    shared_file("online_retail.parquet")
    clustering = config_run("online_retail").findings("05_clustering")
    assert clustering["customers"] > 4_000
    assert {"demographics", "preference", "browse_to_buy, cart_abandonment"} <= set(
        clustering["missing_features"]
    )
