"""The estimator: models, small-cluster merging and profiles (:class:`CustomerClusters`).

Models (``model_``)
-------------------
k-means with ``N_INIT`` restarts (k-means++ seeding); above ``minibatch_over`` customers
mini-batch k-means (Sculley 2010) on all of them, seeded by the best of the restarts on a
random sample of ``minibatch_over`` customers (Bradley & Fayyad 1998), since restarting
it on every customer is what mini-batches are meant to avoid. Or a Gaussian mixture with
full (``"gmm"``) or diagonal (``"gmm_diag"``) covariances, fitted by EM on such a sample
when there are more customers, then assigning everyone.

Small clusters: clusters with fewer than ``min_size`` customers or less than ``min_share``
of them are merged into the nearest remaining cluster (distance between model centres in
the transformed space) and recorded in ``merged_``; the final clusters are numbered
0, 1, ... by size, largest first, and :meth:`CustomerClusters.predict` applies the same
merges.
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from customer_analytics.clustering.prepare import fit_pipeline
from customer_analytics.clustering.selection import CRITERIA, SampleSilhouette, choose_k, score
from customer_analytics.utils import progress
from customer_analytics.utils.processes import end_with_parent

#: Below this many customers everything runs on one thread. The k search is hundreds of
#: small k-means fits, where OpenMP's spinning workers cost more than they save and,
#: on a shared machine, fight every other process: on 385 customers with the other core
#: busy the search took 37 s on two threads against 3.8 s on one; on 20,000, 110 s
#: against 56 s (42 s against 50 s on an idle machine).
PARALLEL_FROM = 100_000
#: k-means restarts, best inertia kept. Segments of unequal size trap single runs: on 20,000
#: customers with a 4% segment, 3 restarts still missed it in 1 of 10 bootstraps, 5 and
#: 10 in none.
N_INIT = 10
#: Mini-batch size: large batches stop early and cleanly on a million rows (1024, the
#: default, ran 50 times longer here and was no better).
BATCH_SIZE = 4096
#: Variance floor of mixture components, in standardised units. Flags and imputed columns
#: are constant within some segments; at scikit-learn's 1e-6 a component fitted to a
#: constant column has a likelihood that all but ignores the other columns.
REG_COVAR = 1e-3
Method = Literal["kmeans", "gmm", "gmm_diag"]
Model = KMeans | MiniBatchKMeans | GaussianMixture


class CustomerClusters(ClusterMixin, BaseEstimator):
    """Segments of customers from a numeric per-customer feature table.

    Parameters
    ----------
    k : int or None
        Number of clusters; None chooses it from ``k_range`` (see :mod:`.selection`).
        Given, the criteria are still computed for it.
    k_range : tuple of int
        Smallest and largest k to try, both included.
    method : {"kmeans", "gmm", "gmm_diag"}
        k-means (mini-batch above ``minibatch_over`` rows, Sculley 2010) or a Gaussian
        mixture with full or diagonal covariances, which fills the BIC criterion and is
        far slower than k-means.
    transform : {"log", "quantile"}
        For the ``skewed`` columns: ``log1p``, or ``QuantileTransformer`` to a normal.
    skewed : list of str or None
        Columns to transform; names absent from the data are ignored. None picks the
        non-negative columns that reach beyond [0, 1] (not shares or flags) with a
        skewness of at least ``SKEWNESS``.
    pca : float, int or None
        PCA after scaling and weighting: a share of variance to keep, or a number of
        components; None for none.
    weights : dict of str to float or None
        Feature group -> its total weight. A column belongs to the longest key that is
        its name or a prefix of it (``{"category_share_": 1}``) and is multiplied by
        ``sqrt(weight / columns in the group)``; columns of no group keep weight 1.
    n_bootstrap : int
        Bootstrap refits per k for the stability criterion; 0 skips it (every k is then
        a candidate).
    bootstrap_size : int
        Customers per bootstrap sample and in the stability evaluation sample (capped at
        the number of customers).
    silhouette_sample : int
        Customers on which the silhouette is computed.
    minibatch_over : int
        Above this many customers, k-means becomes mini-batch k-means on all of them,
        seeded by the best of ``N_INIT`` k-means restarts on a random sample of this
        many; a mixture is fitted to such a sample and assigns everyone.
    min_size, min_share : int, float
        Clusters with fewer customers, or a smaller share of them, are merged into the
        nearest larger cluster (centroid distance in the transformed space).
    random_state : int
        Seed for everything random: same seed and data, same labels, criteria and k.
    n_jobs : int or None
        Processes that search the k in parallel (joblib; -1: one per core, None: 1). Each
        k's fits are seeded on their own, so the result does not depend on it.

    Attributes
    ----------
    labels_ : ndarray of int
        Final cluster of each customer, 0..n_clusters_-1 by size, largest first.
    k_ : int
        The k chosen (the ``criteria_`` row and the fitted model's number of clusters).
    n_clusters_ : int
        Clusters left after merging the small ones (``k_`` minus ``len(merged_)``).
    k_reason_ : str
        Why ``k_`` was chosen, in plain English.
    k_facts_ : dict
        The choice of k as data (:class:`~.selection.KChoice` ``facts``), for reports.
    k_summary_ : str
        The same in one short sentence: the criteria that chose it and its stability.
    criteria_ : DataFrame
        Indexed by k: the columns of ``CRITERIA``.
    stability_ : ndarray
        ARI of each bootstrap refit for ``k_``.
    merged_ : list of dict
        ``{"from": model label, "into": final label, "size": customers}`` per merged
        cluster.
    pipeline_ : Pipeline
        The fitted preparation: steps ``float32``, ``columns`` (the column transformer),
        ``weights`` and ``pca`` (``"passthrough"`` when unused).
    model_ : KMeans, MiniBatchKMeans or GaussianMixture
        The fitted model for ``k_``, in its own labels (``label_map_`` maps them).
    label_map_ : ndarray of int
        Model label -> final label.
    centers_ : ndarray of shape (n_clusters_, n_dimensions)
        Mean of each final cluster in the transformed space.
    profile_ : DataFrame
        Per final cluster: ``size``, ``share`` and the mean of every original feature
        (over the customers who have it).
    zscores_ : DataFrame
        Per final cluster: mean of each scaled column (before weights and PCA), in
        standard deviations from the average customer; for a heatmap.
    features_in_ : list of str
        Columns used (all-empty columns are dropped).
    skewed_ : list of str
        Columns that were log- or quantile-transformed.
    weights_ : Series
        Effective weight of each scaled column (its squared multiplier).
    """

    def __init__(
        self,
        k: int | None = None,
        k_range: tuple[int, int] = (2, 10),
        method: Method = "kmeans",
        transform: Literal["log", "quantile"] = "log",
        skewed: list[str] | None = None,
        pca: float | int | None = None,
        weights: dict[str, float] | None = None,
        n_bootstrap: int = 10,
        bootstrap_size: int = 20000,
        silhouette_sample: int = 10000,
        minibatch_over: int = 100_000,
        min_size: int = 10,
        min_share: float = 0.01,
        random_state: int = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.method = method
        self.transform = transform
        self.skewed = skewed
        self.pca = pca
        self.weights = weights
        self.n_bootstrap = n_bootstrap
        self.bootstrap_size = bootstrap_size
        self.silhouette_sample = silhouette_sample
        self.minibatch_over = minibatch_over
        self.min_size = min_size
        self.min_share = min_share
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ----------------------------------------------------------------- fitting
    def fit(self, X: pd.DataFrame, y: object = None) -> CustomerClusters:
        """Prepare the features, choose k, fit, merge small clusters and profile them.

        Parameters
        ----------
        X : DataFrame
            One row per customer, numeric columns only; NaN where a customer lacks a
            feature.
        y : ignored

        Returns
        -------
        CustomerClusters
            self, fitted.
        """
        self._check_params()
        X = self._check_frame(X)
        with threadpool_limits(limits=1 if len(X) < PARALLEL_FROM else None):
            return self._fit(X)

    def _fit(self, X: pd.DataFrame) -> CustomerClusters:
        n = len(X)
        ks = [self.k] if self.k is not None else list(range(self.k_range[0], self.k_range[1] + 1))
        if n <= max(ks):
            raise ValueError(f"{n} customers cannot form {max(ks)} clusters")
        prepared = fit_pipeline(
            X,
            skewed=self.skewed,
            transform=self.transform,
            weights=self.weights,
            pca=self.pca,
            random_state=self.random_state,
        )
        self.pipeline_ = prepared.pipeline
        self.skewed_, self.weights_ = prepared.skewed, prepared.weights
        scaled, Z = prepared.scaled, prepared.Z

        seeds = np.random.SeedSequence(self.random_state).generate_state(self.n_bootstrap + 2)
        rng = np.random.default_rng(seeds[0])
        size = min(n, self.bootstrap_size)
        # Common random numbers: every k is refitted on the same bootstrap samples, each
        # as its distinct customers weighted by how often they were drawn: the same
        # objective as the sample's repeated rows, on about 63% of them.
        boots = [np.unique(rng.integers(0, n, size), return_counts=True) for _ in range(self.n_bootstrap)]  # fmt: skip
        evaluate = np.sort(rng.choice(n, size, replace=False))
        # The workers end with this process: a killed run leaves none computing. The
        # largest k, the longest fits, go first, so neither worker waits on one at the end.
        pool = Parallel(
            n_jobs=self.n_jobs,
            backend="loky",
            initializer=end_with_parent,
            initargs=(os.getpid(),),
            return_as="generator_unordered",
        )
        order = sorted(ks, reverse=True)
        searched = {}
        for k, *result in pool(delayed(self._search)(Z, k, boots, evaluate, seeds) for k in order):
            searched[k] = result
            progress.step(
                f"k search: k={k} fitted to everyone and to {len(boots)} bootstrap samples",
                len(searched),
                len(ks),
            )
        silhouette = SampleSilhouette(Z, self.silhouette_sample, self.random_state)
        # each customer's silhouette, for the one-standard-error rule; their mean is the
        # silhouette (scikit-learn's silhouette_score is that mean)
        each = {k: silhouette.samples(searched[k][2]) for k in ks}
        rows = {
            k: {**searched[k][0], "silhouette": np.nan if v is None else float(v.mean())}
            for k, v in each.items()
        }
        fits = {k: (searched[k][1], searched[k][2]) for k in ks}
        aris = {k: searched[k][3] for k in ks}
        self.criteria_ = pd.DataFrame.from_dict(rows, orient="index", columns=list(CRITERIA))
        self.criteria_.index.name = "k"
        choice = choose_k(self.criteria_, self.k, self.n_bootstrap, each)
        self.k_, reason, self.k_summary_ = choice.k, choice.reason, choice.summary
        self.k_facts_ = choice.facts
        self.model_, raw = fits[self.k_]
        self.stability_ = aris[self.k_]

        self._merge_small(raw, n)
        self.labels_ = self.label_map_[raw]
        self.n_clusters_ = int(self.labels_.max()) + 1
        if self.merged_:
            moved = sum(m["size"] for m in self.merged_)
            reason += (
                f"; {len(self.merged_)} cluster(s) under min_size={self.min_size} or "
                f"min_share={self.min_share:g} merged ({moved:,} customers), "
                f"leaving {self.n_clusters_}"
            )
        self.k_reason_ = reason
        self._describe(X, scaled, Z)
        return self

    def _search(
        self, Z: np.ndarray, k: int, boots: list[np.ndarray], evaluate: np.ndarray, seeds
    ) -> tuple[int, dict[str, float], Model, np.ndarray, np.ndarray]:
        """One k: the fit on everyone, its refits on the bootstrap samples, its criteria."""
        with threadpool_limits(limits=1 if len(Z) < PARALLEL_FROM else None):
            model = self._fit_model(Z, k, int(seeds[1]))
            labels = model.labels_ if self.method == "kmeans" else model.predict(Z)
            refits = [
                self._fit_model(Z[rows], k, int(seed), weight)
                for (rows, weight), seed in zip(boots, seeds[2:], strict=True)
            ]
            ari = np.array(
                [adjusted_rand_score(labels[evaluate], m.predict(Z[evaluate])) for m in refits]
            )
            return k, self._score(Z, k, model, labels, ari), model, labels, ari

    def fit_predict(self, X: pd.DataFrame, y: object = None) -> np.ndarray:
        """Fit and return ``labels_``.

        Parameters
        ----------
        X : DataFrame
            As for :meth:`fit`.
        y : ignored

        Returns
        -------
        ndarray of int
        """
        return self.fit(X).labels_

    # --------------------------------------------------------------- applying
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Assign customers (an earlier snapshot, say) to the fitted clusters.

        The fitted preparation and model are applied, then the same merge map, so a
        customer near a merged small cluster lands where its members went.

        Parameters
        ----------
        X : DataFrame
            Holding at least the columns of ``features_in_``.

        Returns
        -------
        ndarray of int
            Final cluster labels, as in ``labels_``.
        """
        check_is_fitted(self, "labels_")
        with threadpool_limits(limits=1 if len(X) < PARALLEL_FROM else None):
            return self.label_map_[self.model_.predict(self._transform(X))]

    def embed_2d(self, X: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Two principal components of the transformed data, for a scatter by cluster.

        The components are those of the training data, so snapshots share axes.

        Parameters
        ----------
        X : DataFrame
            Holding at least the columns of ``features_in_``.

        Returns
        -------
        DataFrame
            Columns ``pc1`` and ``pc2``, indexed like ``X``.
        ndarray
            Share of the transformed data's variance each component explains.
        """
        check_is_fitted(self, "labels_")
        coords = self.embedding_pca_.transform(self._transform(X))
        frame = pd.DataFrame(coords, index=X.index, columns=["pc1", "pc2"][: coords.shape[1]])
        return frame, self.embedding_pca_.explained_variance_ratio_

    def _transform(self, X: pd.DataFrame) -> np.ndarray:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame, not {type(X).__name__}")
        absent = [c for c in self.features_in_ if c not in X.columns]
        if absent:
            raise KeyError(f"X lacks the fitted feature(s) {absent}")
        return self.pipeline_.transform(X[self.features_in_])

    # ------------------------------------------------------------ preparation
    def _check_params(self) -> None:
        if self.method not in ("kmeans", "gmm", "gmm_diag"):
            raise ValueError(f"method must be 'kmeans', 'gmm' or 'gmm_diag', not {self.method!r}")
        if self.transform not in ("log", "quantile"):
            raise ValueError(f"transform must be 'log' or 'quantile', not {self.transform!r}")
        low, high = (self.k, self.k) if self.k is not None else tuple(self.k_range)
        if not 2 <= low <= high:
            raise ValueError(f"k must be at least 2 (k={self.k}, k_range={self.k_range})")
        if any(w < 0 for w in (self.weights or {}).values()):
            raise ValueError(f"weights must not be negative: {self.weights}")

    def _check_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """Set ``features_in_``: the numeric columns, without all-empty ones."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame, not {type(X).__name__}")
        text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
        if text:
            raise TypeError(f"non-numeric column(s) {text}: encode them as shares or flags")
        # A source may lack a feature for everyone; the imputer could not fill it.
        self.features_in_ = [c for c in X.columns if X[c].notna().any()]
        if not self.features_in_:
            raise ValueError("X has no column with values")
        if np.isinf(X[self.features_in_].to_numpy(dtype=np.float32, na_value=np.nan)).any():
            raise ValueError("X holds infinite values")
        return X[self.features_in_]

    # -------------------------------------------------------------- modelling
    def _fit_model(
        self, Z: np.ndarray, k: int, seed: int, weight: np.ndarray | None = None
    ) -> Model:
        """k-means or a Gaussian mixture with k clusters, fitted to the rows of ``Z``,
        each counted ``weight`` times (a bootstrap sample's distinct rows)."""
        if weight is not None and self.method != "kmeans":
            Z, weight = np.repeat(Z, weight, axis=0), None  # mixtures take no weights
        sample, sample_weight = Z, weight
        if len(Z) > self.minibatch_over:
            # Restarts (k-means) and EM (mixtures) are affordable on this many rows.
            rows = np.random.default_rng(seed).choice(len(Z), self.minibatch_over, replace=False)
            sample = Z[np.sort(rows)]
            sample_weight = None if weight is None else weight[np.sort(rows)]
        if self.method == "kmeans":
            restarted = KMeans(k, n_init=N_INIT, random_state=seed)
            restarted.fit(sample, sample_weight=sample_weight)
            if sample is Z:
                return restarted
            # Mini-batch k-means ends in whichever optimum its seeds lead to, like Lloyd's,
            # and restarting it on every customer is what we cannot afford; the best of
            # the restarts on the sample seeds it instead (Bradley & Fayyad 1998).
            return MiniBatchKMeans(
                k,
                init=restarted.cluster_centers_,
                n_init=1,
                batch_size=BATCH_SIZE,
                random_state=seed,
            ).fit(Z, sample_weight=weight)
        covariance = "full" if self.method == "gmm" else "diag"
        model = GaussianMixture(
            k, covariance_type=covariance, reg_covar=REG_COVAR, random_state=seed
        )
        # EM's variances lose their floor in float32 when a column is constant in a cluster.
        return model.fit(sample.astype(np.float64))

    def _score(
        self, Z: np.ndarray, k: int, model: Model, labels: np.ndarray, aris: np.ndarray
    ) -> dict[str, float]:
        """One row of ``criteria_``: the model's inertia (and BIC), then :func:`score`."""
        if self.method == "kmeans":
            inertia, bic = model.inertia_, np.nan
        else:
            inertia = float(((Z - model.means_[labels].astype(np.float32)) ** 2).sum())
            bic = model.bic(Z)
        return score(Z, k, labels, aris, inertia=inertia, bic=bic)

    def _merge_small(self, raw: np.ndarray, n: int) -> None:
        """Set ``label_map_`` and ``merged_``: small clusters into their nearest large one."""
        sizes = np.bincount(raw, minlength=self.k_)
        small = (sizes < self.min_size) | (sizes < self.min_share * n)
        if small.all():
            small[np.argmax(sizes)] = False  # keep one cluster rather than none
        centers = self.model_.cluster_centers_ if self.method == "kmeans" else self.model_.means_
        large = np.flatnonzero(~small)
        into = np.arange(self.k_)
        for c in np.flatnonzero(small):
            into[c] = large[np.argmin(((centers[large] - centers[c]) ** 2).sum(axis=1))]
        merged_sizes = np.bincount(into, weights=sizes, minlength=self.k_)
        # Largest first, ties by model label: same data and seed, same numbering.
        order = large[np.argsort(-merged_sizes[large], kind="stable")]
        final = np.empty(self.k_, dtype=np.intp)
        final[order] = np.arange(len(order))
        self.label_map_ = final[into]
        self.merged_ = [
            {"from": int(c), "into": int(self.label_map_[c]), "size": int(sizes[c])}
            for c in np.flatnonzero(small)
        ]

    def _describe(self, X: pd.DataFrame, scaled: np.ndarray, Z: np.ndarray) -> None:
        """Set ``centers_``, ``profile_``, ``zscores_`` and the 2-D embedding."""
        labels = self.labels_
        self.centers_ = pd.DataFrame(Z).groupby(labels).mean().to_numpy(dtype=float)
        sizes = np.bincount(labels)
        profile = X.groupby(labels).mean()
        profile.insert(0, "share", sizes / len(X))
        profile.insert(0, "size", sizes)
        names = self.pipeline_.named_steps["columns"].get_feature_names_out()
        zscores = pd.DataFrame(scaled, columns=names).groupby(labels).mean()
        profile.index.name = zscores.index.name = "cluster"
        self.profile_, self.zscores_ = profile, zscores.astype(float)
        self.embedding_pca_ = PCA(min(2, Z.shape[1]), random_state=self.random_state).fit(Z)
