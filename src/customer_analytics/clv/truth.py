"""CLV checked against the synthetic shop's planted truth (no real data set has one).

Two checks, each against something the model never saw: P(alive) against who was
really still active at the data's end (ROC AUC, beside ranking by recency alone), and
the share of the true next-12-month value that the top 10% of customers capture when
ranked by predicted CLV, by RFM score or by past spend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from customer_analytics.synthetic.truth import planted_customers


def load_truth(truth_dir: Path | None) -> pd.DataFrame | None:
    """Per person (the oldest account's id): alive at the end, next-12-month value."""
    truth = planted_customers(truth_dir)
    if truth is None:
        return None
    alive = truth["alive_at_end"].astype("boolean").fillna(False).astype(bool)
    return (
        truth.assign(alive=alive)
        .groupby("canonical_customer_id")
        .agg(alive=("alive", "max"), value_next_12m=("value_next_12m", "sum"))
        .rename_axis("customer_id")
    )


def top_share(score: pd.Series, value: pd.Series, share: float = 0.10) -> float:
    """Share of ``value``'s total held by the top ``share`` of rows ranked by ``score``.

    Rows tied with the last one admitted count in proportion to the places left for
    them (the expected share under a random tie-break), so the figure does not depend on
    the rows' order: an RFM score sum ties hundreds of customers.
    """
    total = value.sum()
    if not total:
        return float("nan")
    n = max(int(np.ceil(share * len(score))), 1)
    groups = (
        pd.DataFrame({"score": score.to_numpy(), "value": value.to_numpy()})
        .groupby("score")["value"]
        .agg(["sum", "size"])
        .sort_index(ascending=False)
    )
    before = groups["size"].cumsum() - groups["size"]
    places = (n - before).clip(lower=0, upper=groups["size"])
    return float((groups["sum"] * places / groups["size"]).sum() / total)


def truth_scores(truth_dir: Path | None, customers: pd.DataFrame) -> dict[str, Any]:
    """The checks against the truth, or nothing for a real shop.

    Parameters
    ----------
    truth_dir
        The synthetic shop's truth folder (``Config.truth_dir``); None for a real shop.
    customers
        ``customer_id, p_alive, clv, days_since_last, r_score, f_score, m_score, monetary``.
    """
    truth = load_truth(truth_dir)
    if truth is None:
        return {}
    scored = customers.join(truth, on="customer_id", how="inner")
    rfm_score = scored[["r_score", "f_score", "m_score"]].sum(axis=1)
    value = scored["value_next_12m"]
    return {
        "truth": {
            "customers_matched": len(scored),
            "p_alive_auc": round(float(roc_auc_score(scored["alive"], scored["p_alive"])), 4),
            "recency_auc": round(
                float(roc_auc_score(scored["alive"], -scored["days_since_last"])), 4
            ),
            "top10_share_by_clv": round(top_share(scored["clv"], value), 4),
            "top10_share_by_rfm": round(top_share(rfm_score, value), 4),
            "top10_share_by_past_spend": round(top_share(scored["monetary"], value), 4),
        }
    }
