"""A customer feature table with planted groups, as the clustering tests share it.

The data are ``make_blobs`` groups turned into a feature table as the feature stage
builds it: skewed non-negative value columns (exponentials), channel shares that sum to
one, a coupon share, an hour of day, age in years, ``is_female`` drawn as 0/1, a review
score that one whole group lacks (it never reviews) and a monetary value missing for 2%
of customers at random.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from customer_analytics.clustering import CustomerClusters

SIZES = [500, 450, 400, 350, 300, 250]  # six planted groups, unequal as real segments

Table = tuple[pd.DataFrame, np.ndarray]


def _customer_table(sizes: list[int] = SIZES, tiny: int = 0, seed: int = 0) -> Table:
    """A per-customer feature table with planted groups; ``tiny`` far-off customers
    form one more group (label ``len(sizes)``)."""
    z, planted = make_blobs(sizes, n_features=9, center_box=(-5, 5), random_state=seed)
    if tiny:
        z = np.vstack([z, np.full((tiny, 9), 15.0)])
        planted = np.concatenate([planted, np.full(tiny, len(sizes))])
    n = len(z)
    rng = np.random.default_rng(seed)
    channel = np.exp(z[:, 3:6] / 2)
    channel /= channel.sum(axis=1, keepdims=True)
    table = pd.DataFrame(
        {
            "recency": np.exp(3 + z[:, 0] / 2),
            "frequency": 1 + np.round(np.exp(z[:, 1] / 2)),
            "monetary": np.exp(4 + z[:, 2] / 2),
            "share_web": channel[:, 0],
            "share_app": channel[:, 1],
            "share_store": channel[:, 2],
            "coupon_share": 1 / (1 + np.exp(-z[:, 6] / 2)),
            "hour_mean": np.clip(13 + z[:, 7], 0, 23),
            "age": np.clip(40 + 2 * z[:, 8], 18, 90),
            "is_female": (rng.random(n) < 1 / (1 + np.exp(-z[:, 8] / 3))).astype(float),
            "review_score": np.clip(3 + z[:, 0] / 4, 1, 5),
        },
        index=pd.Index(np.arange(n) + 10_000, name="customer_id"),
    )
    table.loc[planted == 2, "review_score"] = np.nan
    table.loc[rng.random(n) < 0.02, "monetary"] = np.nan
    return table, planted


@pytest.fixture(scope="session")
def customer_table() -> Callable[..., Table]:
    """``customer_table(sizes=SIZES, tiny=0, seed=0)``: the feature table and the planted
    group of each customer."""
    return _customer_table


@pytest.fixture(scope="session")
def blobs() -> Table:
    """Six planted groups of 500, 450, 400, 350, 300 and 250 customers."""
    return _customer_table()


@pytest.fixture(scope="session")
def fitted(blobs: Table) -> CustomerClusters:
    return CustomerClusters(random_state=0).fit(blobs[0])
