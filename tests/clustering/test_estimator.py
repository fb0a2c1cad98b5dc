"""CustomerClusters: the choice of k, small-cluster merging, determinism and each model
path, on the planted groups of ``conftest.py``."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from customer_analytics.clustering import CRITERIA, CustomerClusters


def test_finds_the_planted_groups(blobs, fitted: CustomerClusters) -> None:
    X, planted = blobs
    assert fitted.k_ == 6 and fitted.n_clusters_ == 6
    assert adjusted_rand_score(planted, fitted.labels_) >= 0.95
    assert isinstance(fitted.model_, KMeans)
    criteria = fitted.criteria_
    assert list(criteria.index) == list(range(2, 11))
    assert list(criteria.columns) == list(CRITERIA)
    assert criteria.drop(columns="bic").notna().all().all()
    assert criteria["bic"].isna().all()  # k-means has no likelihood
    assert fitted.k_reason_.startswith("k=6: best silhouette")
    assert len(fitted.stability_) == 10 and fitted.stability_.min() >= 0.8


def test_describes_clusters_largest_first(blobs, fitted: CustomerClusters) -> None:
    X, planted = blobs
    profile = fitted.profile_
    assert list(profile.index) == list(range(6))
    assert profile["size"].is_monotonic_decreasing
    assert np.allclose(profile["size"], sorted(np.bincount(planted), reverse=True), rtol=0.02)
    assert profile["size"].sum() == len(X) and profile["share"].sum() == pytest.approx(1)
    assert list(profile.columns) == ["size", "share", *X.columns]
    # The group that never reviews has no review score, not the median.
    assert profile["review_score"].isna().sum() == 1
    assert fitted.zscores_.shape == (6, X.shape[1] + 1)
    assert fitted.centers_.shape == (6, fitted.zscores_.shape[1])
    coords, ratio = fitted.embed_2d(X)
    assert coords.shape == (len(X), 2) and coords.index.equals(X.index)
    assert len(ratio) == 2 and 0 < ratio.sum() <= 1


def test_deterministic_and_predict_reproduces_labels(blobs, fitted: CustomerClusters) -> None:
    X, _ = blobs
    # The k search in two processes gives what one gives.
    again = CustomerClusters(random_state=0, n_jobs=2).fit(X)
    np.testing.assert_array_equal(again.labels_, fitted.labels_)
    pd.testing.assert_frame_equal(again.criteria_, fitted.criteria_)
    assert (again.k_, again.k_reason_) == (fitted.k_, fitted.k_reason_)
    np.testing.assert_array_equal(fitted.predict(X), fitted.labels_)
    np.testing.assert_array_equal(fitted.fit_predict(X), again.labels_)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).predict(X), fitted.labels_)
    # Columns in another order and extra columns do not matter to predict.
    shuffled = X[X.columns[::-1]].assign(extra=1.0)
    np.testing.assert_array_equal(fitted.predict(shuffled), fitted.labels_)


def test_fixed_k_is_respected(blobs) -> None:
    X, _ = blobs
    model = CustomerClusters(k=4, n_bootstrap=3).fit(X)
    assert model.k_ == 4 and model.n_clusters_ == 4
    assert list(model.criteria_.index) == [4]
    assert model.criteria_.drop(columns="bic").notna().all().all()
    assert model.k_reason_.startswith("k=4: fixed by parameter")
    assert len(model.stability_) == 3


def test_tiny_cluster_is_merged(customer_table) -> None:
    X, planted = customer_table(tiny=5)
    model = CustomerClusters(k=7, n_bootstrap=2, min_size=10, min_share=0.0).fit(X)
    tiny = planted == 6
    (merged,) = model.merged_
    assert merged["size"] == 5
    # The model gave the five their own cluster; the final labels fold it away.
    assert set(model.model_.predict(model.pipeline_.transform(X[tiny]))) == {merged["from"]}
    assert model.n_clusters_ == 6 and set(model.labels_) == set(range(6))
    assert set(model.labels_[tiny]) == {merged["into"]}
    assert np.bincount(model.labels_).min() >= 10
    assert "merged (5 customers), leaving 6" in model.k_reason_
    assert adjusted_rand_score(planted[~tiny], model.labels_[~tiny]) >= 0.95
    np.testing.assert_array_equal(model.predict(X), model.labels_)


def test_min_share_merges_too(blobs) -> None:
    X, _ = blobs
    # The smallest planted group holds 250 / 2250 = 11% of customers.
    model = CustomerClusters(k=6, n_bootstrap=0, min_share=0.12).fit(X)
    assert [m["size"] for m in model.merged_] == [250]
    assert model.n_clusters_ == 5


def test_minibatch_above_the_threshold(blobs) -> None:
    X, planted = blobs
    model = CustomerClusters(k_range=(5, 7), n_bootstrap=3, minibatch_over=1000).fit(X)
    assert isinstance(model.model_, MiniBatchKMeans)
    assert model.k_ == 6
    assert adjusted_rand_score(planted, model.labels_) >= 0.95
    np.testing.assert_array_equal(model.predict(X), model.labels_)


@pytest.mark.parametrize("method", ["gmm", "gmm_diag"])
def test_gaussian_mixture_fills_bic(blobs, method: str) -> None:
    X, planted = blobs
    model = CustomerClusters(method=method, k_range=(4, 8), n_bootstrap=3).fit(X)
    assert isinstance(model.model_, GaussianMixture)
    assert model.criteria_["bic"].notna().all()
    assert model.criteria_.notna().all().all()
    assert model.k_ == 6
    assert adjusted_rand_score(planted, model.labels_) >= 0.95
    np.testing.assert_array_equal(model.predict(X), model.labels_)


def test_missing_columns_and_bad_input(blobs) -> None:
    X, planted = blobs
    lacking = X.drop(columns="coupon_share").assign(n_reviews=np.nan)
    model = CustomerClusters(k=6, n_bootstrap=0, skewed=["recency", "monetary", "clv"]).fit(lacking)
    assert "n_reviews" not in model.features_in_ and "coupon_share" not in model.features_in_
    assert model.skewed_ == ["recency", "monetary"]
    with pytest.raises(KeyError, match="recency"):
        model.predict(X.drop(columns="recency"))
    with pytest.raises(TypeError, match="segment"):
        CustomerClusters(k=2).fit(X.assign(segment="a"))
    with pytest.raises(ValueError, match="at least 2"):
        CustomerClusters(k=1).fit(X)
