"""Choosing k: the criteria vote among the k that bootstrap stability keeps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_analytics.clustering import choose_k


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
