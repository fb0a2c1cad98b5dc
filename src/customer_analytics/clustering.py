"""Customer segments from a per-customer feature table: a scikit-learn style estimator.

:class:`CustomerClusters` takes one row per customer (index = customer id) of numeric
features, prepares them for Euclidean distance, chooses the number of clusters from
several criteria and bootstrap stability, merges clusters too small to act on and
describes the rest in the units of the original features::

    model = CustomerClusters(random_state=0).fit(features)
    model.k_reason_        # why this k
    model.criteria_        # every criterion for every k tried
    model.profile_         # per cluster: size, share and mean of every original feature
    model.predict(older)   # an earlier snapshot, assigned to the same clusters

Preparation (``pipeline_``, a scikit-learn ``Pipeline``)
-------------------------------------------------------
1. Median imputation (``SimpleImputer``). A missing value here means the customer did
   not do the thing (no reviews), so where at least ``MISSING_INDICATOR_SHARE`` (5%) and
   at most 95% of customers lack a feature, a 0/1 indicator ``missingindicator_<col>`` is
   added and scaled like any other column: imputing alone would put those customers at
   the median and lose the trait. Rarer (or near-universal) gaps get no indicator: it
   would only carve out a handful of customers, a cluster too small to act on. If a
   column is missing at random (not collected for some sources), switch its indicator
   off with ``weights={"missingindicator_<col>": 0}``.
2. Skewed value features (recency, frequency, monetary, CLV, order value) go through
   ``log1p`` or a normal-output ``QuantileTransformer``: on the raw scale a few big
   spenders would stretch the axis and every other customer would sit in one clump.
3. ``StandardScaler`` for every column, so a feature's unit does not decide its say.
4. Optional group weights: each column of a group is multiplied by
   ``sqrt(weight / columns in the group)``. Squared Euclidean distance sums the squared
   column differences, so this gives the group ``weight`` times the say of one scaled
   column however many columns it has; without it twelve category shares would outvote
   recency, frequency and monetary value together four to one.
5. Optional ``PCA``.

Categorical traits must arrive as shares (share of orders per channel or category) or
as one binary or ordinal column (``is_female``, city tier). Do not feed raw one-hot
columns: after scaling, a level held by 2% of customers becomes a jump of seven standard
deviations, so rare levels carve out their own clusters; a trait with many levels gets
as many dimensions as levels and outweighs behaviour; and a cluster mean of one-hot
columns is not a level. For genuinely nominal segmentations use k-prototypes or a Gower
distance instead.

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

Choosing k (``criteria_``, ``k_``, ``k_reason_``)
-------------------------------------------------
For every k in ``k_range`` the model is fitted to all customers and scored by

* silhouette (Rousseeuw 1987), on a random sample of ``silhouette_sample`` customers
  because it needs all pairwise distances; higher is better;
* Calinski–Harabasz (Caliński & Harabasz 1974), higher is better;
* Davies–Bouldin (Davies & Bouldin 1979), lower is better;
* inertia (within-cluster sum of squares), shown for an elbow plot, not voted on, as it
  always falls with k;
* BIC (Schwarz 1978) for Gaussian mixtures, on all customers, lower is better; NaN for
  k-means, which has no likelihood;
* bootstrap stability (Lange et al. 2004; Hennig 2007): the model is refitted on
  ``n_bootstrap`` bootstrap samples of ``bootstrap_size`` customers; each refit assigns a
  fixed random evaluation sample of customers (``bootstrap_size`` of them) and its
  labels are compared with the full fit's labels there by the adjusted Rand index
  (Hubert & Arabie 1985), which needs no matching of label numbers. The evaluation sample
  estimates the ARI on all customers to within about 1/sqrt(size) at a fraction of the
  cost. The same bootstrap samples are used for every k, so k are compared on equal
  terms. ``criteria_`` holds the mean and the minimum over the refits;
* the share of customers in the smallest cluster (before merging), not voted on: it
  shows from which k on clusters become too small to act on.

The rule: the candidates are the *stable* k, whose mean bootstrap ARI is at least
``STABLE_ARI`` (0.8; Hennig 2007 reads mean bootstrap Jaccard similarities of 0.75 and
above as stable, 0.85 and above as highly stable): a k whose clusters change with the
sample cannot be acted on however well it scores. Too large a k splits a segment anew in
every sample, which is what drags its ARI down. Each criterion (silhouette,
Calinski–Harabasz, Davies–Bouldin and, for mixtures, BIC) votes for its best
candidate; the k with most votes wins, and a tie goes to the higher silhouette, the one
criterion that judges both cohesion and separation of each customer. If no k is stable,
every k is a candidate and ``k_reason_`` says so: then the data have no clear segments.

References
----------
Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and validation
of cluster analysis. Journal of Computational and Applied Mathematics 20, 53-65.
Caliński, T. & Harabasz, J. (1974). A dendrite method for cluster analysis.
Communications in Statistics 3(1), 1-27.
Davies, D. L. & Bouldin, D. W. (1979). A cluster separation measure. IEEE Transactions
on Pattern Analysis and Machine Intelligence 1(2), 224-227.
Schwarz, G. (1978). Estimating the dimension of a model. Annals of Statistics 6(2),
461-464.
Lange, T., Roth, V., Braun, M. L. & Buhmann, J. M. (2004). Stability-based validation of
clustering solutions. Neural Computation 16(6), 1299-1323.
Hennig, C. (2007). Cluster-wise assessment of cluster stability. Computational
Statistics & Data Analysis 52(1), 258-271.
Hubert, L. & Arabie, P. (1985). Comparing partitions. Journal of Classification 2,
193-218.
Sculley, D. (2010). Web-scale k-means clustering. Proceedings of WWW 2010, 1177-1178.
Bradley, P. S. & Fayyad, U. M. (1998). Refining initial points for k-means clustering.
Proceedings of ICML 1998, 91-99.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, QuantileTransformer, StandardScaler
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

#: Below this many customers everything runs on one thread. The k search is hundreds of
#: small k-means fits, where OpenMP's spinning workers cost more than they save and,
#: on a shared machine, fight every other process: on 385 customers with the other core
#: busy the search took 37 s on two threads against 3.8 s on one; on 20,000, 110 s
#: against 56 s (42 s against 50 s on an idle machine).
PARALLEL_FROM = 100_000
#: Mean bootstrap ARI from which a k counts as stable.
STABLE_ARI = 0.8
#: A missing-value indicator is added where between this share and 1 - it are missing.
MISSING_INDICATOR_SHARE = 0.05
#: With ``skewed=None``: non-negative columns beyond [0, 1] with at least this skewness.
SKEWNESS = 1.0
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
CRITERIA = (
    "silhouette",
    "calinski_harabasz",
    "davies_bouldin",
    "inertia",
    "bic",
    "ari_mean",
    "ari_min",
    "smallest_share",
)
#: Criteria that vote on k: name in ``k_reason_`` -> column, higher is better, format.
_VOTERS = {
    "silhouette": ("silhouette", True, ".2f"),
    "Calinski–Harabasz": ("calinski_harabasz", True, ",.0f"),
    "Davies–Bouldin": ("davies_bouldin", False, ".2f"),
    "BIC": ("bic", False, ",.0f"),
}
Method = Literal["kmeans", "gmm", "gmm_diag"]
Model = KMeans | MiniBatchKMeans | GaussianMixture


def _multiply(X: np.ndarray, factors: np.ndarray) -> np.ndarray:
    return X * factors


def _to_float32(X: pd.DataFrame | np.ndarray) -> pd.DataFrame | np.ndarray:
    # astype keeps a DataFrame a DataFrame, so the column transformer still finds names.
    return X.astype(np.float32)


def _float32() -> FunctionTransformer:
    return FunctionTransformer(_to_float32, feature_names_out="one-to-one")


def _median() -> SimpleImputer:
    return SimpleImputer(strategy="median")


class CustomerClusters(ClusterMixin, BaseEstimator):
    """Segments of customers from a numeric per-customer feature table.

    Parameters
    ----------
    k : int or None
        Number of clusters; None chooses it from ``k_range`` (see the module docstring).
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
        scaled, Z = self._fit_pipeline(X)

        seeds = np.random.SeedSequence(self.random_state).generate_state(self.n_bootstrap + 2)
        rng = np.random.default_rng(seeds[0])
        size = min(n, self.bootstrap_size)
        # Common random numbers: every k is refitted on the same bootstrap samples.
        boots = [rng.integers(0, n, size) for _ in range(self.n_bootstrap)]
        evaluate = np.sort(rng.choice(n, size, replace=False))
        rows, fits, aris = {}, {}, {}
        for k in ks:
            model = self._fit_model(Z, k, int(seeds[1]))
            labels = model.labels_ if self.method == "kmeans" else model.predict(Z)
            refits = [
                self._fit_model(Z[rows], k, int(seed))
                for rows, seed in zip(boots, seeds[2:], strict=True)
            ]
            aris[k] = np.array(
                [adjusted_rand_score(labels[evaluate], m.predict(Z[evaluate])) for m in refits]
            )
            rows[k] = self._score(Z, k, model, labels, aris[k])
            fits[k] = (model, labels)
        self.criteria_ = pd.DataFrame.from_dict(rows, orient="index", columns=list(CRITERIA))
        self.criteria_.index.name = "k"
        self.k_, reason = self._choose_k(self.criteria_)
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

    def _skewed_columns(self, X: pd.DataFrame) -> list[str]:
        if self.skewed is not None:
            return [c for c in self.features_in_ if c in set(self.skewed)]
        # Shares and flags stay linear; skewness on 100,000 customers is as telling as
        # on all of them and far cheaper.
        sample = X.sample(min(len(X), 100_000), random_state=self.random_state)
        low, high, skew = sample.min(), sample.max(), sample.skew()
        return [c for c in self.features_in_ if low[c] >= 0 and high[c] > 1 and skew[c] >= SKEWNESS]

    def _fit_pipeline(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Fit ``pipeline_``; return the scaled columns and the transformed data."""
        self.skewed_ = self._skewed_columns(X)
        if self.transform == "log" and (X[self.skewed_] < 0).any().any():
            raise ValueError("log1p needs non-negative skewed columns; use transform='quantile'")
        if self.transform == "log":
            shape = FunctionTransformer(np.log1p, feature_names_out="one-to-one")
        else:
            shape = QuantileTransformer(
                output_distribution="normal", random_state=self.random_state
            )
        missing = X.isna().mean()
        flagged = [
            c
            for c in self.features_in_
            if min(missing[c], 1 - missing[c]) >= MISSING_INDICATOR_SHARE
        ]
        linear = [c for c in self.features_in_ if c not in self.skewed_]
        # Flags come out boolean and would turn the whole matrix float64.
        flags = make_pipeline(MissingIndicator(features="all"), _float32(), StandardScaler())
        columns = ColumnTransformer(
            [
                ("skewed", make_pipeline(_median(), shape, StandardScaler()), self.skewed_),
                ("linear", make_pipeline(_median(), StandardScaler()), linear),
                ("missing", flags, flagged),
            ],
            verbose_feature_names_out=False,
        )
        # float32 halves memory and speeds up k-means; seven digits are plenty for
        # distances between standardised customers.
        prepare = Pipeline([("float32", _float32()), ("columns", columns)])
        scaled = prepare.fit_transform(X)
        names = columns.get_feature_names_out()
        factors = self._weight_factors(names)
        self.weights_ = pd.Series(factors.astype(float) ** 2, index=names, name="weight")
        weigh = "passthrough"
        if self.weights:
            weigh = FunctionTransformer(
                _multiply, kw_args={"factors": factors}, feature_names_out="one-to-one"
            )
        reduce = "passthrough"
        if self.pca is not None:
            reduce = PCA(self.pca, random_state=self.random_state)
        finish = Pipeline([("weights", weigh), ("pca", reduce)])
        Z = finish.fit_transform(scaled)
        self.pipeline_ = Pipeline(prepare.steps + finish.steps)
        return scaled, np.ascontiguousarray(Z, dtype=np.float32)

    def _weight_factors(self, names: np.ndarray) -> np.ndarray:
        """Multiplier of each scaled column: sqrt(group weight / columns in the group)."""
        keys = sorted(self.weights or {}, key=len, reverse=True)
        group = [next((key for key in keys if name.startswith(key)), None) for name in names]
        members = Counter(group)
        return np.array(
            [1.0 if g is None else np.sqrt(self.weights[g] / members[g]) for g in group],
            dtype=np.float32,
        )

    # -------------------------------------------------------------- modelling
    def _fit_model(self, Z: np.ndarray, k: int, seed: int) -> Model:
        """k-means or a Gaussian mixture with k clusters, fitted to the rows of ``Z``."""
        sample = Z
        if len(Z) > self.minibatch_over:
            # Restarts (k-means) and EM (mixtures) are affordable on this many rows.
            rows = np.random.default_rng(seed).choice(len(Z), self.minibatch_over, replace=False)
            sample = Z[np.sort(rows)]
        if self.method == "kmeans":
            restarted = KMeans(k, n_init=N_INIT, random_state=seed).fit(sample)
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
            ).fit(Z)
        covariance = "full" if self.method == "gmm" else "diag"
        model = GaussianMixture(
            k, covariance_type=covariance, reg_covar=REG_COVAR, random_state=seed
        )
        # EM's variances lose their floor in float32 when a column is constant in a cluster.
        return model.fit(sample.astype(np.float64))

    def _score(
        self, Z: np.ndarray, k: int, model: Model, labels: np.ndarray, aris: np.ndarray
    ) -> dict[str, float]:
        """One row of ``criteria_``."""
        sizes = np.bincount(labels, minlength=k)
        row = dict.fromkeys(CRITERIA, np.nan)
        row["smallest_share"] = sizes.min() / len(Z)
        if len(aris):
            row["ari_mean"], row["ari_min"] = aris.mean(), aris.min()
        if self.method == "kmeans":
            row["inertia"] = model.inertia_
        else:
            row["inertia"] = float(((Z - model.means_[labels].astype(np.float32)) ** 2).sum())
            row["bic"] = model.bic(Z)
        if np.count_nonzero(sizes) < 2:
            return row  # a mixture can collapse to one component; nothing to compare
        sample = self.silhouette_sample if len(Z) > self.silhouette_sample else None
        row["silhouette"] = silhouette_score(
            Z, labels, sample_size=sample, random_state=self.random_state
        )
        row["calinski_harabasz"] = calinski_harabasz_score(Z, labels)
        row["davies_bouldin"] = davies_bouldin_score(Z, labels)
        return row

    def _choose_k(self, c: pd.DataFrame) -> tuple[int, str]:
        """``k_`` and ``k_reason_`` by the rule of the module docstring."""
        if self.k is not None:
            return self.k, f"k={self.k}: fixed by parameter ({_summary(c, self.k)})"
        stable = c.index[c["ari_mean"] >= STABLE_ARI]
        if self.n_bootstrap == 0:
            candidates, scope = c.index, "among all k (stability not computed: n_bootstrap=0)"
        elif len(stable):
            candidates = stable
            scope = f"among the stable k (bootstrap ARI ≥ {STABLE_ARI}: {_ks(stable)})"
        else:
            best = c["ari_mean"].idxmax()
            candidates = c.index
            scope = (
                f"among all k, as none reached bootstrap ARI ≥ {STABLE_ARI} (best k={best}, "
                f"{c['ari_mean'][best]:.2f}): the data show no clearly separated segments"
            )
        pool = c.loc[candidates]
        votes = {}
        for name, (column, higher, _) in _VOTERS.items():
            values = pool[column].dropna()
            if len(values):
                votes[name] = int(values.idxmax() if higher else values.idxmin())
        count = Counter(votes.values())
        tied = [k for k, n in count.items() if n == max(count.values())]
        chosen = max(tied, key=lambda k: pool["silhouette"][k])
        won = [f"{name} ({_value(pool, name, chosen)})" for name, k in votes.items() if k == chosen]
        reason = f"k={chosen}: best {_and(won)} {scope}"
        if self.n_bootstrap:
            ari = c.loc[chosen]
            reason += f"; its bootstrap ARI {ari['ari_mean']:.2f} (min {ari['ari_min']:.2f})"
        if len(tied) > 1:
            reason += f"; a tie between k={_ks(sorted(tied))} broken by silhouette"
        others = [f"{name} preferred k={k}" for name, k in votes.items() if k != chosen]
        if others:
            reason += "; " + ", ".join(others)
        unstable = [f"k={k} (ARI {c['ari_mean'][k]:.2f})" for k in c.index if k not in candidates]
        if unstable:
            reason += "; unstable: " + ", ".join(unstable)
        return chosen, reason

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


def _ks(ks: object) -> str:
    ks = [int(k) for k in ks]
    if ks == list(range(ks[0], ks[-1] + 1)) and len(ks) > 2:
        return f"{ks[0]}–{ks[-1]}"
    return ", ".join(map(str, ks))


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _value(c: pd.DataFrame, name: str, k: int) -> str:
    column, _, fmt = _VOTERS[name]
    return format(c[column][k], fmt)


def _summary(c: pd.DataFrame, k: int) -> str:
    """The criteria of one k, for ``k_reason_``."""
    parts = [
        f"{name} {_value(c, name, k)}"
        for name, (column, _, _) in _VOTERS.items()
        if not np.isnan(c[column][k])
    ]
    if not np.isnan(c["ari_mean"][k]):
        parts.append(f"bootstrap ARI mean {c['ari_mean'][k]:.2f}, min {c['ari_min'][k]:.2f}")
    return ", ".join(parts)
