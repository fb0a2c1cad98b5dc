"""Every customer's cluster on the engine: the fitted preparation and model written out
as one Ibis expression give what ``CustomerClusters.predict`` gives, on DuckDB."""

from __future__ import annotations

import ibis
import numpy as np
import pytest

from customer_analytics.clustering import CustomerClusters
from customer_analytics.clustering.assign import assign_clusters

SKEWED = ["recency", "frequency", "monetary"]


@pytest.mark.parametrize(
    "params",
    [
        {"method": "kmeans"},
        {"method": "kmeans", "weights": {"share_": 1.0, "coupon_share": 2.0}, "pca": 0.9},
        {"method": "gmm"},
        {"method": "gmm_diag", "pca": 4},
    ],
    ids=["kmeans", "kmeans-weights-pca", "gmm", "gmm_diag"],
)
def test_the_engine_assigns_as_predict_does(customer_table, params) -> None:
    X, _ = customer_table()
    model = CustomerClusters(k=6, n_bootstrap=0, skewed=SKEWED, **params).fit(X)
    # Customers the fit never saw, with values missing where the fit had none missing.
    other, _ = customer_table(seed=1)
    other.iloc[::7, other.columns.get_loc("age")] = np.nan
    for frame in (X, other):
        table = ibis.memtable(frame.reset_index())
        assigned = assign_clusters(model, table).execute()
        assert assigned["customer_id"].tolist() == sorted(frame.index)
        np.testing.assert_array_equal(
            assigned["cluster"].to_numpy(), model.predict(frame.sort_index())
        )
    np.testing.assert_array_equal(
        assign_clusters(model, ibis.memtable(X.reset_index())).execute()["cluster"], model.labels_
    )


def test_merged_small_clusters_are_assigned_where_their_members_went(customer_table) -> None:
    X, planted = customer_table(tiny=8)
    model = CustomerClusters(k=7, n_bootstrap=0, skewed=SKEWED, min_size=20).fit(X)
    assert model.merged_
    assigned = assign_clusters(model, ibis.memtable(X.reset_index())).execute()
    np.testing.assert_array_equal(assigned["cluster"].to_numpy(), model.labels_)
    assert assigned["cluster"].max() == model.n_clusters_ - 1


def test_a_quantile_transform_cannot_be_written_out(customer_table) -> None:
    X, _ = customer_table()
    model = CustomerClusters(k=3, n_bootstrap=0, skewed=SKEWED, transform="quantile").fit(X)
    with pytest.raises(NotImplementedError, match="transform='log'"):
        assign_clusters(model, ibis.memtable(X.reset_index()))
