"""Stage 05_clustering: per-customer features and the clusters they form.

Outputs (Parquet) in the stage's folder:

- ``features``: one row per buying customer at ``as_of`` (:mod:`customer_analytics.features`);
- ``clusters``: each customer's cluster at ``as_of``, and at the snapshot
  (``as_of - snapshot_offset_days``) for customers who had bought by then, assigned by
  the same fitted model (so persona movement compares like with like), and their RFM
  segment at ``as_of`` when stage 03_rfm ran;
- ``criteria``: the k-selection criteria per k, with bootstrap stability;
- ``zscores``: each feature's mean z-score per cluster (the profile heatmap);
- ``embedding``: 2-D PCA coordinates of up to 20,000 customers, with their cluster;
- ``crosstab``: customers per (cluster, RFM segment).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.metrics import adjusted_rand_score

from customer_analytics.clustering import CustomerClusters
from customer_analytics.config import Config
from customer_analytics.features import CustomerFeatures, build_features, group_of
from customer_analytics.stage import run_as_of
from customer_analytics.truth import planted_personas

#: Non-negative, right-skewed features: log-transformed before scaling.
SKEWED = (
    "recency_days",
    "tenure_days",
    "frequency",
    "monetary",
    "aov",
    "rhythm_days",
    "basket_lines",
    "price_index",
    "cart_abandonment",
)
EMBEDDING_ROWS = 20_000


def features_at(cfg: Config, inputs: dict[str, Path], day: dt.date) -> CustomerFeatures:
    """The feature table on ``day``, with CLV and P(alive) when stage 04_clv ran for it."""
    value = None
    if "04_clv" in inputs and day == run_as_of(inputs):
        clv = pd.read_parquet(inputs["04_clv"] / "customers_clv.parquet")
        value = clv.set_index("customer_id")[["clv", "p_alive"]]
    return build_features(
        inputs["02_clean"],
        day,
        cfg.shop.timezone,
        value=value,
        festivals=cfg.shop.festivals,
        festival_days=cfg.shop.festival_days,
    )


def clustering_columns(table: pd.DataFrame, exclude: tuple[str, ...]) -> list[str]:
    """The feature columns the distance uses: every feature group's, less ``exclude``."""
    return [c for c in table.columns if group_of(c) and c not in exclude]


def run_clustering(cfg: Config, inputs: dict[str, Path], out: Path) -> dict[str, Any]:
    """Compute the clustering stage's outputs into ``out``; return its headline figures."""
    as_of = run_as_of(inputs)
    earlier = as_of - dt.timedelta(days=cfg.run.snapshot_offset_days)
    built = features_at(cfg, inputs, as_of)
    features = built.table
    features.reset_index().to_parquet(out / "features.parquet", index=False)
    columns = clustering_columns(features, cfg.clustering.exclude)
    X = _for_distance(features[columns])

    model = _clusterer(cfg, columns).fit(X)

    clusters = pd.DataFrame({"customer_id": features.index, "cluster": model.labels_})
    snapshot = features_at(cfg, inputs, earlier).table
    before = pd.Series(
        model.predict(_for_distance(snapshot.reindex(columns=columns))), index=snapshot.index
    )
    clusters["cluster_at_snapshot"] = clusters["customer_id"].map(before).astype("Int64")
    if "03_rfm" in inputs:
        rfm = pd.read_parquet(
            inputs["03_rfm"] / "customers_rfm.parquet", columns=["customer_id", "segment"]
        )
        clusters["segment"] = clusters["customer_id"].map(rfm.set_index("customer_id")["segment"])
    clusters.to_parquet(out / "clusters.parquet", index=False)

    criteria = model.criteria_.reset_index()
    criteria.to_parquet(out / "criteria.parquet", index=False)
    model.zscores_.reset_index().to_parquet(out / "zscores.parquet", index=False)
    sample = X.sample(min(len(X), EMBEDDING_ROWS), random_state=cfg.clustering.seed)
    coords, explained = model.embed_2d(sample)
    embedding = pd.DataFrame(coords, columns=["pc1", "pc2"], index=sample.index)
    embedding["cluster"] = clusters.set_index("customer_id").loc[sample.index, "cluster"].to_numpy()
    embedding.reset_index().to_parquet(out / "embedding.parquet", index=False)
    if "segment" in clusters:
        segment = clusters["segment"].astype(object).fillna("(none)")
        crosstab = pd.crosstab(clusters["cluster"], segment)
        crosstab.columns = crosstab.columns.astype(str)
        crosstab.reset_index().to_parquet(out / "crosstab.parquet", index=False)

    found = {
        "as_of": str(as_of),
        "snapshot": str(earlier),
        "customers": len(features),
        "customers_at_snapshot": len(snapshot),
        "features": columns,
        "missing_features": built.missing,
        "k": int(model.k_),
        "k_fixed": cfg.clustering.k is not None,
        "k_reason": model.k_reason_,
        "k_summary": model.k_summary_,
        "method": cfg.clustering.method,
        "criteria": _records(criteria),
        "stability_ari": round(float(pd.Series(model.stability_).mean()), 3),
        "merged_small_clusters": model.merged_,
        "cluster_sizes": {str(k): int(v) for k, v in clusters["cluster"].value_counts().items()},
        "pca_explained": [round(float(v), 3) for v in explained],
        **_truth_scores(cfg, inputs, X, clusters),
    }
    return {**found, "headline": _headline(found)}


def _headline(found: dict[str, Any]) -> dict[str, Any]:
    """The figures the run's index shows for this stage, most important first."""
    headline = {
        "Buyers": found["customers"],
        "Groups (k)": found["k"],
        "Stability (bootstrap ARI)": found["stability_ari"],
        "Small groups merged": len(found["merged_small_clusters"]),
        "Features": len(found["features"]),
    }
    if "truth" in found:
        truth = found["truth"]
        headline["Planted personas"] = truth["planted_personas"]
        headline["ARI against the planted personas"] = truth["ari"]
        headline["ARI on recency, frequency, monetary alone"] = truth["ari_rfm_only"]
    return headline


def _clusterer(cfg: Config, columns: list[str], **overrides: Any) -> CustomerClusters:
    settings = cfg.clustering
    params = {
        "k": settings.k,
        "k_range": (settings.k_min, settings.k_max),
        "method": settings.method,
        "transform": settings.transform,
        "skewed": [c for c in SKEWED if c in columns],
        "pca": settings.pca,
        "n_bootstrap": settings.n_bootstrap,
        "min_size": cfg.privacy.min_group_size,
        "min_share": settings.min_share,
        "random_state": settings.seed,
        "n_jobs": settings.n_jobs,
    }
    return CustomerClusters(**{**params, **overrides})


def _truth_scores(
    cfg: Config, inputs: dict[str, Path], X: pd.DataFrame, clusters: pd.DataFrame
) -> dict[str, Any]:
    """Against the synthetic shop's planted personas: the adjusted Rand index of the
    clusters, and of clusters on recency, frequency and monetary value alone with the
    planted k (the baseline that shows the features, not the generator, do the work)."""
    planted = planted_personas(inputs["01_ingest"])
    if planted is None:
        return {}
    persona, traits = planted
    truth = persona.reindex(clusters["customer_id"]).to_numpy()
    known = pd.notna(truth)
    rfm = ["recency_days", "frequency", "monetary"]
    rfm_only = _clusterer(cfg, rfm, k=len(traits), n_bootstrap=2).fit(X[rfm])
    return {
        "truth": {
            "customers_matched": int(known.sum()),
            "planted_personas": len(traits),
            "ari": round(float(adjusted_rand_score(truth[known], clusters["cluster"][known])), 4),
            "ari_rfm_only": round(
                float(adjusted_rand_score(truth[known], rfm_only.labels_[known])), 4
            ),
        }
    }


def _for_distance(table: pd.DataFrame) -> pd.DataFrame:
    """The skewed features clipped at 0 for their log.

    Money can fall below zero: net spend where returns exceed purchases, and an
    order's revenue (so the average order) where its discount exceeds the lines kept,
    as some buyers of a million-customer synthetic shop did. Such a customer sits with
    those who spend nothing.
    """
    clipped = {c: table[c].clip(lower=0) for c in SKEWED if c in table}
    return table.assign(**clipped)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            k: (round(v, 4) if v == v else None) if isinstance(v, float) else v
            for k, v in row.items()
        }
        for row in frame.to_dict("records")
    ]


def clustering_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the clustering stage for the run's index page."""
    how = "fixed by the config" if found["k_fixed"] else "chosen by the criteria"
    lines = [
        f"{found['customers']:,} buyers form {found['k']} groups ({how}): {found['k_summary']}.",
        f"The groups are built from {len(found['features'])} features of value, behaviour, "
        "preferences, promotions, returns and demographics.",
    ]
    if found["merged_small_clusters"]:
        lines.append(
            f"{len(found['merged_small_clusters'])} group(s) too small to act on were merged "
            "into their nearest neighbour."
        )
    if "truth" in found:
        truth = found["truth"]
        lines.append(
            f"Against the {truth['planted_personas']} planted personas the groups score an "
            f"adjusted Rand index of {truth['ari']:.2f}; recency, frequency and monetary "
            f"value alone score {truth['ari_rfm_only']:.2f}."
        )
    if found["missing_features"]:
        lines.append("Not available in this source: " + ", ".join(found["missing_features"]) + ".")
    return lines
