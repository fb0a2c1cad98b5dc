"""A shop of two kinds of customers, as the persona tests share it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest


def _shop(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Two kinds of customers: young app-using beauty buyers with coupons, and the rest."""
    rng = np.random.default_rng(seed)
    beauty = np.arange(n) < n // 2
    table = pd.DataFrame(
        {
            "recency_days": rng.uniform(1, 300, n),
            "tenure_days": rng.uniform(200, 700, n),
            "frequency": np.where(beauty, 3, 6) + rng.integers(0, 2, n),
            "monetary": rng.gamma(4, 300, n),
            "coupon_share": np.where(beauty, 0.7, 0.1),
            "cart_abandonment": np.where(beauty, 0.9, 0.3),
            "return_share": 0.02,
            "category_beauty": np.where(beauty, 0.8, 0.1),
            "category_food": np.where(beauty, 0.2, 0.9),
            "channel_app": np.where(beauty, 0.9, 0.2),
            "channel_web": np.where(beauty, 0.1, 0.8),
            "age": np.where(beauty, 22, 48),
            "female": np.where(beauty, 1.0, rng.integers(0, 2, n).astype(float)),
            "city_tier": np.where(beauty, 1, 3),
        },
        index=pd.Index([f"C{i:04d}" for i in range(n)], name="customer_id"),
    )
    return table


@pytest.fixture(scope="session")
def shop() -> Callable[..., pd.DataFrame]:
    """``shop(n=400, seed=0)``: a feature table whose first half are young app-using
    beauty buyers with coupons."""
    return _shop
