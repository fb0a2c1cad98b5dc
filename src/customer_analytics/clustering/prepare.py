"""Preparing a per-customer feature table for Euclidean distance (``pipeline_``).

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
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, QuantileTransformer, StandardScaler

#: A missing-value indicator is added where between this share and 1 - it are missing.
MISSING_INDICATOR_SHARE = 0.05
#: With ``skewed=None``: non-negative columns beyond [0, 1] with at least this skewness.
SKEWNESS = 1.0


@dataclass(frozen=True)
class Prepared:
    """What :func:`fit_pipeline` learned and made.

    Attributes
    ----------
    pipeline
        The fitted preparation: steps ``float32``, ``columns`` (the column transformer),
        ``weights`` and ``pca`` (``"passthrough"`` when unused).
    scaled
        The scaled columns (before weights and PCA), for z-score profiles.
    Z
        The transformed data the models are fitted to (float32, C-contiguous).
    skewed
        The columns that were log- or quantile-transformed.
    weights
        Effective weight of each scaled column (its squared multiplier).
    """

    pipeline: Pipeline
    scaled: np.ndarray
    Z: np.ndarray
    skewed: list[str]
    weights: pd.Series


def _multiply(X: np.ndarray, factors: np.ndarray) -> np.ndarray:
    return X * factors


def _to_float32(X: pd.DataFrame | np.ndarray) -> pd.DataFrame | np.ndarray:
    # astype keeps a DataFrame a DataFrame, so the column transformer still finds names.
    return X.astype(np.float32)


def _float32() -> FunctionTransformer:
    return FunctionTransformer(_to_float32, feature_names_out="one-to-one")


def _median() -> SimpleImputer:
    return SimpleImputer(strategy="median")


def skewed_columns(X: pd.DataFrame, skewed: list[str] | None, random_state: int) -> list[str]:
    """The columns of ``X`` to log- or quantile-transform.

    Parameters
    ----------
    X
        The feature table (its columns are the features in use).
    skewed
        The columns named by the caller (names absent from ``X`` are ignored), or None to
        pick the non-negative columns reaching beyond [0, 1] with a skewness of at least
        :data:`SKEWNESS`.
    random_state
        Seed of the sample the skewness is measured on.
    """
    if skewed is not None:
        return [c for c in X.columns if c in set(skewed)]
    # Shares and flags stay linear; skewness on 100,000 customers is as telling as
    # on all of them and far cheaper.
    sample = X.sample(min(len(X), 100_000), random_state=random_state)
    low, high, skew = sample.min(), sample.max(), sample.skew()
    return [c for c in X.columns if low[c] >= 0 and high[c] > 1 and skew[c] >= SKEWNESS]


def fit_pipeline(
    X: pd.DataFrame,
    *,
    skewed: list[str] | None,
    transform: Literal["log", "quantile"],
    weights: dict[str, float] | None,
    pca: float | int | None,
    random_state: int,
) -> Prepared:
    """Fit the preparation of the module docstring to ``X`` and transform it.

    Parameters
    ----------
    X
        One row per customer, numeric columns only (all-empty columns already dropped).
    skewed, transform, weights, pca, random_state
        As for :class:`customer_analytics.clustering.CustomerClusters`.

    Returns
    -------
    Prepared
    """
    skewed_ = skewed_columns(X, skewed, random_state)
    if transform == "log" and (X[skewed_] < 0).any().any():
        raise ValueError("log1p needs non-negative skewed columns; use transform='quantile'")
    if transform == "log":
        shape = FunctionTransformer(np.log1p, feature_names_out="one-to-one")
    else:
        shape = QuantileTransformer(output_distribution="normal", random_state=random_state)
    missing = X.isna().mean()
    flagged = [c for c in X.columns if min(missing[c], 1 - missing[c]) >= MISSING_INDICATOR_SHARE]
    linear = [c for c in X.columns if c not in skewed_]
    # Flags come out boolean and would turn the whole matrix float64.
    flags = make_pipeline(MissingIndicator(features="all"), _float32(), StandardScaler())
    columns = ColumnTransformer(
        [
            ("skewed", make_pipeline(_median(), shape, StandardScaler()), skewed_),
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
    factors = weight_factors(names, weights)
    weigh = "passthrough"
    if weights:
        weigh = FunctionTransformer(
            _multiply, kw_args={"factors": factors}, feature_names_out="one-to-one"
        )
    reduce = "passthrough"
    if pca is not None:
        reduce = PCA(pca, random_state=random_state)
    finish = Pipeline([("weights", weigh), ("pca", reduce)])
    Z = finish.fit_transform(scaled)
    return Prepared(
        pipeline=Pipeline(prepare.steps + finish.steps),
        scaled=scaled,
        Z=np.ascontiguousarray(Z, dtype=np.float32),
        skewed=skewed_,
        weights=pd.Series(factors.astype(float) ** 2, index=names, name="weight"),
    )


def weight_factors(names: np.ndarray, weights: dict[str, float] | None) -> np.ndarray:
    """Multiplier of each scaled column: sqrt(group weight / columns in the group).

    A column belongs to the longest key of ``weights`` that is its name or a prefix of
    it; columns of no group keep 1.
    """
    keys = sorted(weights or {}, key=len, reverse=True)
    group = [next((key for key in keys if name.startswith(key)), None) for name in names]
    members = Counter(group)
    return np.array(
        [1.0 if g is None else np.sqrt(weights[g] / members[g]) for g in group],
        dtype=np.float32,
    )
