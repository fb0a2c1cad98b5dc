"""Clusters checked against the synthetic shop's planted personas (no real data set has any)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from customer_analytics.clustering.estimator import CustomerClusters
from customer_analytics.synthetic.truth import planted_personas

#: The usual practice the features must beat: clusters on RFM alone.
RFM_ONLY = ["recency_days", "frequency", "monetary"]


def truth_scores(
    truth_dir: Path | None,
    X: pd.DataFrame,
    fitted: np.ndarray,
    clusters: pd.DataFrame,
    rfm_only: CustomerClusters,
) -> dict[str, Any]:
    """The adjusted Rand index (Hubert & Arabie 1985) of the clusters against the planted
    personas, and of ``rfm_only`` (the same method on :data:`RFM_ONLY`, given the planted
    number of personas): the baseline that shows the features, not the generator, do
    the work. Nothing for a real shop (``truth_dir`` None).

    Parameters
    ----------
    truth_dir
        The synthetic shop's truth folder (``Config.truth_dir``).
    X
        Every customer's clustering features, indexed by customer id.
    fitted
        The positions in ``X`` of the customers the clusters were fitted on; the
        baseline is fitted on the same ones and assigns everyone.
    clusters
        ``customer_id`` and ``cluster`` per customer, in ``X``'s order.
    rfm_only
        An unfitted clusterer for the baseline.
    """
    planted = planted_personas(truth_dir)
    if planted is None:
        return {}
    persona, traits = planted
    truth = persona.reindex(clusters["customer_id"]).to_numpy()
    known = pd.notna(truth)
    baseline = rfm_only.set_params(k=len(traits)).fit(X[RFM_ONLY].iloc[fitted])
    labels = baseline.predict(X[RFM_ONLY])
    return {
        "truth": {
            "customers_matched": int(known.sum()),
            "planted_personas": len(traits),
            "ari": round(float(adjusted_rand_score(truth[known], clusters["cluster"][known])), 4),
            "ari_rfm_only": round(float(adjusted_rand_score(truth[known], labels[known])), 4),
        }
    }
