"""Stage 05_clustering: per-customer features and the clusters they form.

The features are the clustering's own output: one row per buying customer at ``as_of``
(:mod:`customer_analytics.clustering.features`), which later stages read (:data:`FEATURES`).
Each customer's cluster at the snapshot (``as_of - snapshot_offset_days``) is assigned by
the same fitted model, so persona movement compares like with like.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd

from customer_analytics.clean.stage import clean_tables_of
from customer_analytics.clustering import CustomerClusters
from customer_analytics.clustering.assign import assign_clusters
from customer_analytics.clustering.features import CustomerFeatures, build_features, group_of
from customer_analytics.clustering.truth import RFM_ONLY, truth_scores
from customer_analytics.clv.stage import CUSTOMERS_CLV
from customer_analytics.config import Config
from customer_analytics.i18n import N_
from customer_analytics.pipeline import engine
from customer_analytics.pipeline.outputs import Outputs, run_as_of
from customer_analytics.rfm.stage import CUSTOMERS_RFM
from customer_analytics.utils import progress
from customer_analytics.utils.dates import snapshot_day

OUTPUTS = Outputs(__name__)
FEATURES = OUTPUTS.declare(
    "features.parquet", "one row per buying customer at as_of: every feature of every group"
)
CLUSTERS = OUTPUTS.declare(
    "clusters.parquet",
    "each customer's cluster at as_of, at the snapshot (customers who had bought by then) "
    "and RFM segment at as_of when stage 03_rfm ran",
)
CRITERIA = OUTPUTS.declare("criteria.parquet", "the k-selection criteria per k, with stability")
ZSCORES = OUTPUTS.declare("zscores.parquet", "each feature's mean z-score per cluster")
EMBEDDING = OUTPUTS.declare(
    "embedding.parquet", "2-D PCA coordinates of up to 20,000 customers, with their cluster"
)
CROSSTAB = OUTPUTS.declare("crosstab.parquet", "customers per (cluster, RFM segment)")
SNAPSHOT_FEATURES = OUTPUTS.declare(
    "features_at_snapshot.parquet",
    "one row per customer who had bought by the snapshot: the clustering features the "
    "snapshot's clusters are assigned from",
)

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
#: Below this share of established buyers everyone is fitted (:func:`established`): a
#: shop that is mostly new has no settled behaviour to build personas on without them.
ESTABLISHED_MIN_SHARE = 0.5


def features_at(cfg: Config, inputs: dict[str, Path], day: dt.date) -> CustomerFeatures:
    """The feature table on ``day``, with CLV and P(alive) when stage 04_clv ran for it."""
    value = None
    if CUSTOMERS_CLV.exists(inputs) and day == run_as_of(inputs):
        clv = pd.read_parquet(CUSTOMERS_CLV.path(inputs))
        value = clv.set_index("customer_id")[["clv", "p_alive"]]
    return build_features(
        clean_tables_of(inputs),
        day,
        cfg.shop.timezone,
        value=value,
        festivals=cfg.shop.festivals,
        festival_days=cfg.shop.festival_days,
        engine_settings=cfg.engine,
    )


def clustering_columns(table: pd.DataFrame, exclude: tuple[str, ...]) -> list[str]:
    """The feature columns the distance uses: every feature group's, less ``exclude``."""
    return [c for c in table.columns if group_of(c) and c not in exclude]


def run(cfg: Config, inputs: dict[str, Path], out: Path) -> dict[str, Any]:
    """Compute the clustering stage's outputs into ``out``; return its headline figures."""
    as_of = run_as_of(inputs)
    earlier = snapshot_day(as_of, cfg.run.snapshot_offset_days)
    progress.step(f"building every buyer's features at {as_of}")
    built = features_at(cfg, inputs, as_of)
    built.table.reset_index().to_parquet(FEATURES.at(out), index=False)
    columns = clustering_columns(built.table, cfg.clustering.exclude)
    progress.step(f"the snapshot: features at {earlier}")
    snapshot = features_at(cfg, inputs, earlier).table.reindex(columns=columns)
    snapshot.reset_index().to_parquet(SNAPSHOT_FEATURES.at(out), index=False)

    con = engine.connect(cfg.engine)
    try:
        now = for_distance(con.read_parquet(FEATURES.at(out)), columns)
        X = now.execute().set_index("customer_id")
        tenure = (
            built.table["tenure_days"].reindex(X.index) if "tenure_days" in built.table else None
        )
        pool, newer = established(
            tenure, len(X), cfg.clustering.established_days, cfg.clustering.k_max
        )
        fitted = pool[fit_sample(len(pool), cfg.clustering.fit_sample, cfg.clustering.seed)]
        progress.step(f"clustering {len(fitted):,} of {len(X):,} buyers: the k search")
        model = _clusterer(cfg, columns).fit(X.iloc[fitted])
        progress.step(f"assigning all {len(X):,} buyers to the clusters on the engine")
        clusters = assign_clusters(model, now).execute()
        before = for_distance(con.read_parquet(SNAPSHOT_FEATURES.at(out)), columns)
        before = assign_clusters(model, before).execute().set_index("customer_id")["cluster"]
    finally:
        engine.close(con)
    clusters["cluster_at_snapshot"] = clusters["customer_id"].map(before).astype("Int64")
    if CUSTOMERS_RFM.exists(inputs):
        rfm = pd.read_parquet(CUSTOMERS_RFM.path(inputs), columns=["customer_id", "segment"])
        clusters["segment"] = clusters["customer_id"].map(rfm.set_index("customer_id")["segment"])
    clusters.to_parquet(CLUSTERS.at(out), index=False)

    criteria = model.criteria_.reset_index()
    criteria.to_parquet(CRITERIA.at(out), index=False)
    model.zscores_.reset_index().to_parquet(ZSCORES.at(out), index=False)
    sample = X.sample(min(len(X), EMBEDDING_ROWS), random_state=cfg.clustering.seed)
    coords, explained = model.embed_2d(sample)
    embedding = pd.DataFrame(coords, columns=["pc1", "pc2"], index=sample.index)
    embedding["cluster"] = clusters.set_index("customer_id").loc[sample.index, "cluster"].to_numpy()
    embedding.reset_index().to_parquet(EMBEDDING.at(out), index=False)
    if "segment" in clusters:
        segment = clusters["segment"].astype(object).fillna("(none)")
        crosstab = pd.crosstab(clusters["cluster"], segment)
        crosstab.columns = crosstab.columns.astype(str)
        crosstab.reset_index().to_parquet(CROSSTAB.at(out), index=False)

    found = {
        "as_of": str(as_of),
        "snapshot": str(earlier),
        "customers": len(X),
        "customers_at_snapshot": len(before),
        "fit_sample": {
            "customers_fitted": len(fitted),
            "setting": cfg.clustering.fit_sample,
            "established_days": cfg.clustering.established_days,
            # buyers newer than that, assigned but not fitted on (None: fitted on everyone)
            "newer_not_fitted": newer,
            # The engine's assignment of the fitted customers against the fit's own labels.
            "assignment_agreement": round(
                float((clusters["cluster"].to_numpy()[fitted] == model.labels_).mean()), 6
            ),
        },
        "features": columns,
        "missing_features": built.missing,
        "k": int(model.k_),
        "k_fixed": cfg.clustering.k is not None,
        "k_reason": model.k_reason_,
        "k_summary": model.k_summary_,
        "k_choice": model.k_facts_,
        "method": cfg.clustering.method,
        "criteria": _records(criteria),
        "stability_ari": round(float(pd.Series(model.stability_).mean()), 3),
        "merged_small_clusters": model.merged_,
        "cluster_sizes": {str(k): int(v) for k, v in clusters["cluster"].value_counts().items()},
        "pca_explained": [round(float(v), 3) for v in explained],
        **truth_scores(cfg.truth_dir, X, fitted, clusters, _rfm_only(cfg)),
    }
    return {**found, "headline": _headline(found)}


def fit_sample(customers: int, size: int, seed: int) -> np.ndarray:
    """Positions of the customers the model is fitted on: ``size`` of them drawn at
    random (``seed``), in order, or all when there are no more. The customers are sorted
    by id on the engine, so every engine fits the same rows in the same order."""
    if customers <= size:
        return np.arange(customers)
    return np.sort(np.random.default_rng(seed).choice(customers, size, replace=False))


def established(
    tenure: pd.Series | None, n: int, days: int, k_max: int
) -> tuple[np.ndarray, int | None]:
    """The positions of the buyers the personas are fitted on: those whose first order is
    at least ``days`` before ``as_of`` (``clustering.established_days``).

    A buyer of the last weeks has one order or two and the recency, tenure and rhythm of
    a newcomer, whatever their persona: fitted among the established buyers, enough
    newcomers form a lifecycle cluster of their own and take the place of a persona
    (the default shop's, with the planted growth of one persona, went from 6 personas to
    3 groups). Personas describe settled behaviour; newcomers are assigned to the
    nearest one, as every buyer is: new customers are scored into a segmentation built
    on customers with history, which keeps the segments stable over time, one of the
    criteria of a useful segmentation (Wedel & Kamakura 2000, *Market Segmentation*,
    ch. 1).

    Parameters
    ----------
    tenure
        Each buyer's days since their first order, in the fit's row order (NaN: unknown,
        counted as established); None when there is no such feature.
    n
        The number of buyers.
    days
        The least tenure fitted on; 0 fits everyone.
    k_max
        The largest k searched.

    Returns
    -------
    tuple
        The positions (sorted), and how many newer buyers were left out of the fit:
        None when everyone is fitted, because ``days`` is 0, there is no tenure, or fewer
        than :data:`ESTABLISHED_MIN_SHARE` of the buyers (and no more than ``k_max``) are
        established, as in a shop that is mostly new: its newcomers are its customers.
    """
    if tenure is None or days == 0:
        return np.arange(n), None
    old = np.flatnonzero(tenure.to_numpy(dtype=float, na_value=np.inf) >= days)
    if len(old) < ESTABLISHED_MIN_SHARE * n or len(old) <= k_max:
        return np.arange(n), None
    return old, n - len(old)


def for_distance(features: ibis.Table, columns: list[str]) -> ibis.Table:
    """The clustering columns by customer id, skewed features clipped at 0 for their log.

    Money can fall below zero: net spend where returns exceed purchases, and an
    order's revenue (so the average order) where its discount exceeds the lines kept,
    as some buyers of a million-customer synthetic shop did. Such a customer sits with
    those who spend nothing.
    """
    clipped = {
        c: ibis.ifelse(features[c] < 0, 0.0, features[c]) if c in SKEWED else features[c]
        for c in columns
    }
    return features.select("customer_id", **clipped).order_by("customer_id")


def _headline(found: dict[str, Any]) -> dict[str, Any]:
    """The figures the run's index shows for this stage, most important first."""
    headline = {
        N_("Buyers"): found["customers"],
        N_("Groups (k)"): found["k"],
        N_("Stability (bootstrap ARI)"): found["stability_ari"],
        N_("Small groups merged"): len(found["merged_small_clusters"]),
        N_("Features"): len(found["features"]),
    }
    if "truth" in found:
        truth = found["truth"]
        headline[N_("Planted personas")] = truth["planted_personas"]
        headline[N_("ARI against the planted personas")] = truth["ari"]
        headline[N_("ARI on recency, frequency, monetary alone")] = truth["ari_rfm_only"]
    return headline


def _rfm_only(cfg: Config) -> CustomerClusters:
    """The baseline the truth check sets beside the clusters: the same method on
    recency, frequency and monetary value alone (its k is set to the planted one)."""
    return _clusterer(cfg, RFM_ONLY, n_bootstrap=2)


def _clusterer(cfg: Config, columns: list[str], **overrides: Any) -> CustomerClusters:
    settings = cfg.clustering
    params = {
        "k": settings.k,
        "k_range": (settings.k_min, settings.k_max),
        "method": settings.method,
        "transform": "log",  # what assign_clusters writes out for the engine
        "skewed": [c for c in SKEWED if c in columns],
        "pca": settings.pca,
        "n_bootstrap": settings.n_bootstrap,
        "min_size": cfg.privacy.min_group_size,
        "min_share": settings.min_share,
        "random_state": settings.seed,
        "n_jobs": settings.n_jobs,
    }
    return CustomerClusters(**{**params, **overrides})


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            k: (round(v, 4) if v == v else None) if isinstance(v, float) else v
            for k, v in row.items()
        }
        for row in frame.to_dict("records")
    ]
