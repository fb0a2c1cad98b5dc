"""Preparing features for distance: skewed columns, missing-value indicators, weights per
feature group, the quantile transform and PCA (on the planted groups of ``conftest.py``)."""

from __future__ import annotations

import pytest
from sklearn.metrics import adjusted_rand_score

from customer_analytics.clustering import CustomerClusters


def test_preparation(fitted: CustomerClusters) -> None:
    assert fitted.skewed_ == ["recency", "frequency", "monetary"]
    names = list(fitted.zscores_.columns)
    # One group lacks review scores (a trait); 2% missing monetary values are not one.
    assert "missingindicator_review_score" in names
    assert "missingindicator_monetary" not in names
    assert (fitted.weights_ == 1).all()
    assert fitted.zscores_.abs().max().max() < 5


def test_quantile_transform_and_pca(blobs) -> None:
    X, planted = blobs
    model = CustomerClusters(k=6, transform="quantile", pca=0.9, n_bootstrap=0).fit(X)
    assert model.centers_.shape[1] < X.shape[1]
    assert adjusted_rand_score(planted, model.labels_) >= 0.95


def test_group_weights_split_across_columns(blobs) -> None:
    X, _ = blobs
    weights = {"share_": 1.0, "missingindicator_": 0.0, "age": 2.0}
    model = CustomerClusters(k=3, n_bootstrap=0, weights=weights).fit(X)
    w = model.weights_
    assert w[["share_web", "share_app", "share_store"]].tolist() == pytest.approx([1 / 3] * 3)
    assert w["missingindicator_review_score"] == 0 and w["age"] == pytest.approx(2)
    assert w["recency"] == 1
