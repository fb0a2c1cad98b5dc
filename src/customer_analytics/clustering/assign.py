"""Every customer's cluster on the engine: a fitted :class:`CustomerClusters` as Ibis.

The clusters are fitted in scikit-learn on a sample of customers; assigning all of
them is a pass over one row per customer, which belongs on the engine (DESIGN section
2). What the fitted model does to a row is arithmetic, so it is written out as one Ibis
expression that runs on DuckDB or Spark:

1. each feature column as the preparation makes it (:mod:`.prepare`): the median for a
   missing value, ``log1p`` for a skewed column, or the 0/1 missing-value indicator,
   then standardised with the fitted mean and scale;
2. group weights and PCA, which are linear: their matrix ``M`` and offset ``v`` are
   read off the fitted steps, so ``Z = S M + v`` for the standardised row ``S``;
3. the model's choice: k-means takes the nearest centre. Since
   ``|Z - c|^2 = |Z|^2 - 2 c.Z + |c|^2`` and ``|Z|^2`` is the same for every centre,
   the nearest centre minimises ``|c|^2 - 2 c.v - 2 (M c).S``, one linear score per
   cluster. A Gaussian mixture takes the component with the highest weighted
   log-density, ``log w + log det P - |(Z - mu) P|^2 / 2`` with ``P`` the Cholesky
   factor of its precision (scikit-learn's ``_estimate_weighted_log_prob``);
4. the merge of small clusters (``label_map_``).

The engine computes in float64 where scikit-learn computes in float32, so a customer
within about 1e-6 of a boundary between two clusters can land on the other side; the
clustering stage reports how many of the fitted customers did.

``transform="quantile"`` cannot be written out: the normal quantile function has no
SQL counterpart on DuckDB or Spark.
"""

from __future__ import annotations

import ibis
import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import check_is_fitted

from customer_analytics.clustering.estimator import CustomerClusters


def assign_clusters(
    model: CustomerClusters, table: ibis.Table, key: str = "customer_id"
) -> ibis.Table:
    """The final cluster of every row of ``table``, as ``model.predict`` gives it.

    Parameters
    ----------
    model
        A fitted :class:`CustomerClusters` (log transform).
    table
        One row per customer with ``key`` and the columns of ``model.features_in_``.
    key
        The customer id column.

    Returns
    -------
    ibis.Table
        ``key`` and ``cluster`` (int64), sorted by ``key``.
    """
    check_is_fitted(model, "labels_")
    scaled = table.select(key, **standardised(model, table))
    M, v = _linear_finish(model, len(scaled.columns) - 1)
    S = [scaled[c] for c in scaled.columns if c != key]
    mixture = isinstance(model.model_, GaussianMixture)
    if mixture:
        scores = _mixture_scores(model.model_, S, M, v)
    else:
        centres = model.model_.cluster_centers_.astype(float)
        constant = (centres**2).sum(axis=1) - 2 * centres @ v
        slopes = -2 * centres @ M.T
        scores = {
            f"_score_{k}": _dot(slopes[k], S) + float(constant[k]) for k in range(len(centres))
        }
    scored = scaled.select(key, **scores)
    pick = ibis.greatest if mixture else ibis.least
    best = scored.mutate(_best=pick(*[scored[name] for name in scores]))
    # The first cluster with the best score, as numpy's argmin and argmax take it.
    cluster = ibis.cases(
        *[(best[name] == best._best, int(model.label_map_[k])) for k, name in enumerate(scores)]
    )
    return best.select(key, cluster=cluster.cast("int64")).order_by(key)


def standardised(model: CustomerClusters, table: ibis.Table) -> dict[str, ibis.Value]:
    """The preparation's columns before weights and PCA, by output name, as Ibis values."""
    columns = model.pipeline_.named_steps["columns"]
    out = {}
    for name, steps, features in columns.transformers_:
        if name not in ("skewed", "linear", "missing") or not len(features):
            continue
        scaler = steps[-1]
        for i, feature in enumerate(features):
            x = table[feature].cast("float64")
            if name == "missing":
                value = x.isnull().cast("float64")
                out_name = f"missingindicator_{feature}"
            else:
                value = x.fill_null(float(steps[0].statistics_[i]))
                if name == "skewed":
                    _check_log(steps[1])
                    value = (value + 1.0).ln()
                out_name = feature
            out[out_name] = (value - float(scaler.mean_[i])) / float(scaler.scale_[i])
    names = list(columns.get_feature_names_out())
    return {name: out[name] for name in names}


def _check_log(shape: object) -> None:
    if not (isinstance(shape, FunctionTransformer) and shape.func is np.log1p):
        raise NotImplementedError(
            "clusters can be assigned on the engine only with transform='log': "
            f"the fitted model uses {type(shape).__name__}"
        )


def _linear_finish(model: CustomerClusters, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``M`` and ``v`` with ``finish(S) = S M + v`` for the weights and PCA steps."""
    finish = Pipeline(model.pipeline_.steps[2:])
    v = finish.transform(np.zeros((1, width)))[0].astype(float)
    M = finish.transform(np.eye(width)).astype(float) - v
    return M, v


def _dot(coefficients: np.ndarray, values: list[ibis.Value]) -> ibis.Value:
    terms = [value * float(c) for c, value in zip(coefficients, values, strict=True) if c != 0.0]
    return sum(terms[1:], terms[0]) if terms else ibis.literal(0.0)


def _mixture_scores(
    mixture: GaussianMixture,
    S: list[ibis.Value],
    M: np.ndarray,
    v: np.ndarray,
) -> dict[str, ibis.Value]:
    """Each component's weighted log-density, less the constant every one shares."""
    scores = {}
    for k in range(mixture.n_components):
        chol = mixture.precisions_cholesky_[k]
        P = np.diag(chol) if chol.ndim == 1 else chol
        # (S M + v - mu) P = S (M P) + (v - mu) P
        slopes, offsets = M @ P, (v - mixture.means_[k]) @ P
        squares = [(_dot(slopes[:, m], S) + float(offsets[m])) ** 2 for m in range(P.shape[1])]
        log_det = float(np.log(np.abs(np.diag(P))).sum())
        constant = float(np.log(mixture.weights_[k])) + log_det
        scores[f"_score_{k}"] = constant - 0.5 * sum(squares[1:], squares[0])
    return scores
