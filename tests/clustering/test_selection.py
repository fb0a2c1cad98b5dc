"""Choosing k: the criteria vote among the k that bootstrap stability keeps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from customer_analytics.clustering import choose_k
from customer_analytics.clustering.selection import SampleSilhouette


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


def test_the_silhouette_of_every_k_on_one_sample_equals_scikit_learn_s() -> None:
    """The sample's distances are computed once for every k; each k's silhouette is
    still exactly scikit-learn's on the same sample."""
    rng = np.random.default_rng(3)
    Z = np.vstack([rng.normal(c, 1.0, (400, 5)) for c in (0, 4, 8)]).astype(np.float32)
    silhouette = SampleSilhouette(Z, sample_size=500, random_state=7)
    for k in (2, 3, 5):
        labels = KMeans(k, n_init=3, random_state=0).fit_predict(Z)
        expected = silhouette_score(Z, labels, sample_size=500, random_state=7)
        assert silhouette(labels) == expected
    small = SampleSilhouette(Z[:300], sample_size=500, random_state=7)  # all of them
    labels = KMeans(3, n_init=3, random_state=0).fit_predict(Z[:300])
    assert small(labels) == silhouette_score(Z[:300], labels)


def test_a_bootstrap_sample_as_weighted_distinct_rows_has_the_same_objective() -> None:
    """Refitting on a bootstrap sample's distinct customers, each weighted by how often
    it was drawn, minimises the same inertia as refitting on the repeated rows."""
    rng = np.random.default_rng(5)
    Z = np.vstack([rng.normal(c, 1.0, (300, 4)) for c in (0, 5)]).astype(np.float64)
    drawn = rng.integers(0, len(Z), len(Z))
    rows, counts = np.unique(drawn, return_counts=True)
    start = Z[rows[:2]]
    weighted = KMeans(2, init=start, n_init=1).fit(Z[rows], sample_weight=counts)
    repeated = KMeans(2, init=start, n_init=1).fit(Z[drawn])
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-9)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-9)
    assert len(rows) < 0.7 * len(drawn)


def test_the_silhouette_votes_for_the_smallest_k_within_one_standard_error_of_its_best() -> None:
    """Two k whose silhouettes differ by a quarter of the standard error of their paired
    difference (the default shop six weeks before its end: k=9 0.1569, k=6 0.1568): the
    silhouette votes for the smaller; by many standard errors, for the better."""
    rng = np.random.default_rng(11)
    base = rng.normal(0.15, 0.2, 10_000)
    criteria = pd.DataFrame(
        {
            "silhouette": np.nan,
            "calinski_harabasz": [1000.0, 900.0, 800.0],
            "davies_bouldin": [2.2, 2.1, 2.3],
            "bic": np.nan,
            "ari_mean": [0.99, 0.99, 0.85],
            "ari_min": [0.98, 0.98, 0.80],
        },
        index=pd.Index([2, 6, 9], name="k"),
    )
    noise = rng.normal(0.0, 0.04, 10_000)
    for lead, expected in ((0.0001, 6), (0.005, 9)):
        each = {2: base - 0.01, 6: base, 9: base + lead + noise - noise.mean()}
        criteria["silhouette"] = [float(v.mean()) for v in each.values()]
        choice = choose_k(criteria, silhouettes=each)
        # Calinski–Harabasz votes 2, Davies–Bouldin 6, the silhouette 6 or 9
        assert choice.k == expected
        assert ("within one standard error of the best (k=9" in choice.reason) == (expected == 6)
    assert choose_k(criteria).k == 9  # without the customers' silhouettes: the maximum
