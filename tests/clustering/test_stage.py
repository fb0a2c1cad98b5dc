"""Stage 05_clustering: every buyer clustered once, negative money made fit for the log,
the planted personas recovered on the default shop, and Online Retail clustered on the
features it has."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from support import CliRun, on_run, shared_file

from customer_analytics.clustering import CustomerClusters
from customer_analytics.clustering.stage import CLUSTERS, FEATURES, SKEWED, _for_distance
from customer_analytics.rfm.stage import CUSTOMERS_RFM


def test_negative_money_is_clipped_for_the_log(customer_table) -> None:
    """A buyer whose returns or discounts exceed purchases has negative net spend and
    average order; the stage clips them at 0 so the log transform can cluster them."""
    X, _ = customer_table()
    X = X.rename(columns={"monetary": "aov"}).assign(monetary=X["monetary"])
    X.iloc[:3, X.columns.get_loc("aov")] = [-5.0, -0.01, -120.0]
    X.iloc[:2, X.columns.get_loc("monetary")] = [-40.0, -1.0]
    ready = _for_distance(X)
    assert (ready[["aov", "monetary"]].min() >= 0).all()
    assert ready.iloc[5:].equals(X.iloc[5:])
    model = CustomerClusters(k=6, n_bootstrap=2, skewed=[c for c in SKEWED if c in X]).fit(ready)
    assert len(model.labels_) == len(X)


@on_run("tiny")
def test_every_buyer_has_one_cluster(config_run: Callable[[str], CliRun]) -> None:
    tiny = config_run("tiny").stages
    features = pd.read_parquet(FEATURES.path(tiny))
    clusters = pd.read_parquet(CLUSTERS.path(tiny))
    rfm = pd.read_parquet(CUSTOMERS_RFM.path(tiny))
    assert clusters["customer_id"].is_unique
    assert set(clusters["customer_id"]) == set(features["customer_id"]) == set(rfm["customer_id"])


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
