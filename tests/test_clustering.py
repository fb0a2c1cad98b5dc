"""CustomerClusters: the choice of k, small-cluster merging, determinism and each model path.

The data are ``make_blobs`` groups turned into a feature table as the feature stage
builds it: skewed non-negative value columns (exponentials), channel shares that sum to
one, a coupon share, an hour of day, age in years, ``is_female`` drawn as 0/1, a review
score that one whole group lacks (it never reviews) and a monetary value missing for 2%
of customers at random.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from customer_analytics.clustering import CRITERIA, CustomerClusters, choose_k

SIZES = [500, 450, 400, 350, 300, 250]  # six planted groups, unequal as real segments


def customer_table(
    sizes: list[int] = SIZES, tiny: int = 0, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """A per-customer feature table with planted groups; ``tiny`` far-off customers
    form one more group (label ``len(sizes)``)."""
    z, planted = make_blobs(sizes, n_features=9, center_box=(-5, 5), random_state=seed)
    if tiny:
        z = np.vstack([z, np.full((tiny, 9), 15.0)])
        planted = np.concatenate([planted, np.full(tiny, len(sizes))])
    n = len(z)
    rng = np.random.default_rng(seed)
    channel = np.exp(z[:, 3:6] / 2)
    channel /= channel.sum(axis=1, keepdims=True)
    table = pd.DataFrame(
        {
            "recency": np.exp(3 + z[:, 0] / 2),
            "frequency": 1 + np.round(np.exp(z[:, 1] / 2)),
            "monetary": np.exp(4 + z[:, 2] / 2),
            "share_web": channel[:, 0],
            "share_app": channel[:, 1],
            "share_store": channel[:, 2],
            "coupon_share": 1 / (1 + np.exp(-z[:, 6] / 2)),
            "hour_mean": np.clip(13 + z[:, 7], 0, 23),
            "age": np.clip(40 + 2 * z[:, 8], 18, 90),
            "is_female": (rng.random(n) < 1 / (1 + np.exp(-z[:, 8] / 3))).astype(float),
            "review_score": np.clip(3 + z[:, 0] / 4, 1, 5),
        },
        index=pd.Index(np.arange(n) + 10_000, name="customer_id"),
    )
    table.loc[planted == 2, "review_score"] = np.nan
    table.loc[rng.random(n) < 0.02, "monetary"] = np.nan
    return table, planted


@pytest.fixture(scope="module")
def blobs() -> tuple[pd.DataFrame, np.ndarray]:
    return customer_table()


@pytest.fixture(scope="module")
def fitted(blobs: tuple[pd.DataFrame, np.ndarray]) -> CustomerClusters:
    return CustomerClusters(random_state=0).fit(blobs[0])


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
    X, _ = blobs
    profile = fitted.profile_
    assert list(profile.index) == list(range(6))
    assert profile["size"].is_monotonic_decreasing
    assert np.allclose(profile["size"], SIZES, rtol=0.02)
    assert profile["size"].sum() == len(X) and profile["share"].sum() == pytest.approx(1)
    assert list(profile.columns) == ["size", "share", *X.columns]
    # The group that never reviews has no review score, not the median.
    assert profile["review_score"].isna().sum() == 1
    assert fitted.zscores_.shape == (6, X.shape[1] + 1)
    assert fitted.centers_.shape == (6, fitted.zscores_.shape[1])
    coords, ratio = fitted.embed_2d(X)
    assert coords.shape == (len(X), 2) and coords.index.equals(X.index)
    assert len(ratio) == 2 and 0 < ratio.sum() <= 1


def test_preparation(fitted: CustomerClusters) -> None:
    assert fitted.skewed_ == ["recency", "frequency", "monetary"]
    names = list(fitted.zscores_.columns)
    # One group lacks review scores (a trait); 2% missing monetary values are not one.
    assert "missingindicator_review_score" in names
    assert "missingindicator_monetary" not in names
    assert (fitted.weights_ == 1).all()
    assert fitted.zscores_.abs().max().max() < 5


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


def test_tiny_cluster_is_merged() -> None:
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


def _k(criteria: pd.DataFrame) -> tuple[int, str]:
    choice = choose_k(criteria)
    return choice.k, choice.reason


def test_rule_votes_among_stable_k() -> None:
    criteria = pd.DataFrame(
        {
            "silhouette": [0.30, 0.35, 0.41, 0.45],
            "calinski_harabasz": [900.0, 1000.0, 950.0, 990.0],
            "davies_bouldin": [0.9, 1.1, 1.0, 0.8],
            "bic": np.nan,
            "ari_mean": [0.95, 0.90, 0.85, 0.62],
            "ari_min": [0.9, 0.8, 0.7, 0.5],
        },
        index=pd.Index([3, 4, 5, 6], name="k"),
    )
    k, reason = _k(criteria)
    # k=6 scores best but is unstable; among k=3-5 each criterion names another k, so the
    # three-way tie goes to the best silhouette.
    assert k == 5
    assert reason.startswith("k=5: best silhouette (0.41) among the stable k")
    assert "a tie between k=3–5 broken by silhouette" in reason
    assert "Calinski–Harabasz preferred k=4, Davies–Bouldin preferred k=3" in reason
    assert "unstable: k=6 (ARI 0.62)" in reason
    assert choose_k(criteria).summary == (
        "k=5, chosen by silhouette among the stable k (3–5), as the criteria split between "
        "k=3, 4 and 5; bootstrap stability (ARI) 0.85"
    )
    assert choose_k(criteria, fixed=6).summary == (
        "k=6, fixed by parameter; bootstrap stability (ARI) 0.62"
    )
    criteria["ari_mean"] = 0.5
    k, reason = _k(criteria)
    assert k == 6 and "none reached bootstrap ARI ≥ 0.8" in reason


def test_negative_money_is_clipped_for_the_log() -> None:
    """A buyer whose returns or discounts exceed purchases has negative net spend and
    average order; the stage clips them at 0 so the log transform can cluster them."""
    from customer_analytics.clustering_stage import SKEWED, _for_distance

    X, _ = customer_table()
    X = X.rename(columns={"monetary": "aov"}).assign(monetary=X["monetary"])
    X.iloc[:3, X.columns.get_loc("aov")] = [-5.0, -0.01, -120.0]
    X.iloc[:2, X.columns.get_loc("monetary")] = [-40.0, -1.0]
    ready = _for_distance(X)
    assert (ready[["aov", "monetary"]].min() >= 0).all()
    assert ready.iloc[5:].equals(X.iloc[5:])
    model = CustomerClusters(k=6, n_bootstrap=2, skewed=[c for c in SKEWED if c in X]).fit(ready)
    assert len(model.labels_) == len(X)
