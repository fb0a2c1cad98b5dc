"""Experiments built in the tests: a spec, a unit table of orders and revenue, and one
experiment analysed from it (the analysis, verdict and stage tests share them)."""

from __future__ import annotations

from collections.abc import Callable

import ibis
import numpy as np
import pandas as pd
import pytest

from customer_analytics.config import AbSettings, ExperimentSpec
from customer_analytics.experiments.analysis import analyse_experiment


def _spec(
    *metrics: dict, arms: tuple[str, ...] = ("control", "treatment"), **extra
) -> ExperimentSpec:
    return ExperimentSpec(
        arms=arms, planned_split=tuple(1 for _ in arms), metrics=list(metrics), **extra
    )


def _analyse(units: pd.DataFrame, experiment: ExperimentSpec, **settings) -> dict:
    return analyse_experiment(
        "x", ibis.memtable(units), experiment, AbSettings(segments=(), **settings), 10
    )


def _shop_units(seed: int, n: int, lift: float = 0.0) -> pd.DataFrame:
    """Orders and revenue per customer: Poisson orders, Gamma order values."""
    g = np.random.default_rng(seed)
    variant = np.repeat(["control", "treatment"], n)
    orders = g.poisson(np.where(variant == "treatment", 1.0 + lift, 1.0)).astype(float)
    revenue = np.array([g.gamma(2.0, 50.0, int(k)).sum() for k in orders])
    return pd.DataFrame({"variant": variant, "orders": orders, "revenue": revenue})


@pytest.fixture(scope="session")
def spec() -> Callable[..., ExperimentSpec]:
    """``spec(*metrics, arms=("control", "treatment"), **extra)``: an equal split."""
    return _spec


@pytest.fixture(scope="session")
def analyse() -> Callable[..., dict]:
    """``analyse(units, experiment, **ab_settings)``: experiment "x", no segments."""
    return _analyse


@pytest.fixture(scope="session")
def shop_units() -> Callable[..., pd.DataFrame]:
    """``shop_units(seed, n, lift=0.0)``: ``n`` customers per arm of a unit table."""
    return _shop_units
