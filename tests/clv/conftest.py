"""Data the CLV tests share: simulated Pareto/NBD customers with the models fitted on
them, and the CDNOW sample shipped with lifetimes with the papers' calibration fits.

CDNOW: 2,357 customers who first bought in 1997 Q1, calibration to 1997-09-30 (39
weeks), holdout to 1998-06-30 (weeks 40-78); time in weeks of days / 7, same-day
purchases combined.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest
from support import cdnow_sample

from customer_analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    calibration_frame,
)
from customer_analytics.clv.compact import calibration_spend_rows, holdout_rows
from customer_analytics.clv.holdout import weights

#: Pareto/NBD's CDNOW parameters (r, alpha, s, beta), for the simulated customers.
CDNOW_PARETO = (0.553, 10.578, 0.606, 11.669)
CALIBRATION_END, OBSERVATION_END = dt.date(1997, 9, 30), dt.date(1998, 6, 30)


def as_orders(transactions: pd.DataFrame, value_col: str) -> ibis.Table:
    """Transactions (``customer_id``, ``date``, a value) as the clean stage's orders."""
    renamed = transactions.rename(columns={"date": "order_ts_utc", value_col: "revenue"})
    return ibis.memtable(renamed[["customer_id", "order_ts_utc", "revenue"]])


def _simulate(n: int, seed: int = 7) -> pd.DataFrame:
    """Pareto/NBD customers with CDNOW's parameters in whole weeks (many share a history)."""
    rng = np.random.default_rng(seed)
    r, alpha, s, beta = CDNOW_PARETO
    T = rng.integers(40, 79, n).astype(float)
    lam, mu = rng.gamma(r, 1 / alpha, n), rng.gamma(s, 1 / beta, n)
    active = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * active).astype(float)
    last = np.where(x > 0, active * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)
    spend = np.where(x > 0, rng.gamma(6.0, 5.0, n), 0.0)
    return pd.DataFrame(
        {"frequency": x, "recency": np.floor(last), "T": T, "monetary_value": spend},
        index=[f"c{i}" for i in range(n)],
    )


@pytest.fixture(scope="session")
def data() -> pd.DataFrame:
    """2,000 simulated customers' frequency, recency, T (weeks) and mean spend."""
    return _simulate(2000)


@pytest.fixture(scope="session")
def fitted(data) -> dict:
    """BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma fitted on :func:`data`."""
    return {
        "bgnbd": BetaGeoModel().fit(data),
        "mbgnbd": ModifiedBetaGeoModel().fit(data),
        "pareto": ParetoNBDModel().fit(data),
        "gg": GammaGammaModel().fit(data),
    }


@pytest.fixture(scope="session")
def cdnow() -> pd.DataFrame:
    """The CDNOW sample's transactions."""
    return cdnow_sample()


@pytest.fixture(scope="session")
def cdnow_rows(cdnow) -> pd.DataFrame:
    """CDNOW's customers by calibration (39 weeks) summary and holdout (weeks 40-78)
    purchases, weighted, as the CLV stage gets them from the engine."""
    orders = as_orders(cdnow, "dollars")
    return holdout_rows(orders, CALIBRATION_END, OBSERVATION_END, "weeks").execute()


@pytest.fixture(scope="session")
def cdnow_spend(cdnow) -> pd.DataFrame:
    """CDNOW's calibration repeat buyers by (frequency, monetary_value), weighted."""
    return calibration_spend_rows(as_orders(cdnow, "dollars"), CALIBRATION_END).execute()


@pytest.fixture(scope="session")
def cdnow_fitted(cdnow_rows) -> dict:
    """BG/NBD, Pareto/NBD and MBG/NBD fitted on CDNOW's calibration period."""
    cal, w = calibration_frame(cdnow_rows), weights(cdnow_rows)
    return {
        "BG/NBD": BetaGeoModel().fit(cal, sample_weight=w),
        "Pareto/NBD": ParetoNBDModel().fit(cal, sample_weight=w),
        "MBG/NBD": ModifiedBetaGeoModel().fit(cal, sample_weight=w),
    }
