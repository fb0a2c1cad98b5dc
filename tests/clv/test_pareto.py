"""The log-space Pareto/NBD formulas: finite and exact where lifetimes' own overflow."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifetimes import ParetoNBDFitter
from scipy import integrate

from customer_analytics.clv import pareto

CDNOW_PARETO = (0.553, 10.578, 0.606, 11.669)


def reference_log_integral(params, x, t_x, T) -> float:
    """log(s * integral_{t_x}^{T} (alpha+y)^-(r+x) (beta+y)^-(s+1) dy) by adaptive quadrature."""
    r, alpha, s, beta = params
    log_f = lambda y: -(r + x) * np.log(alpha + y) - (s + 1) * np.log(beta + y)  # noqa: E731
    scale = log_f(t_x)  # factor out the largest value of the decreasing integrand
    value, _ = integrate.quad(lambda y: np.exp(log_f(y) - scale), t_x, T, epsabs=0, epsrel=1e-13)
    return np.log(s) + scale + np.log(value)


@pytest.mark.parametrize("x", [150.0, 300.0, 1000.0])
def test_pareto_high_frequency_at_recency_equal_T_is_finite_and_exact(x):
    r, alpha, s, beta = CDNOW_PARETO
    T, t = 38.86, 39.0
    lifetimes_fitter = ParetoNBDFitter()
    lifetimes_fitter.params_ = pd.Series(CDNOW_PARETO, index=["r", "alpha", "s", "beta"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        broken = lifetimes_fitter.conditional_probability_alive(np.array([x]), np.array([T]), T)
    if x >= 300:
        assert np.isnan(broken).all()  # the lifetimes bug this module works around
    # A purchase at T proves the customer alive at T: P(alive) = 1 and E[Y(t)] is closed form.
    assert pareto.pareto_probability_alive(CDNOW_PARETO, x, T, T) == 1.0
    exact = (
        (r + x)
        * (beta + T)
        / ((alpha + T) * (s - 1))
        * (1 - ((beta + T) / (beta + T + t)) ** (s - 1))
    )
    ours = pareto.pareto_conditional_expected(CDNOW_PARETO, t, x, T, T)
    assert ours == pytest.approx(exact, rel=1e-13)


@pytest.mark.parametrize("x", [150.0, 300.0, 1000.0])
@pytest.mark.parametrize("gap", [1e-6, 1e-3, 0.5, 5.0])
def test_pareto_high_frequency_near_T_matches_quadrature(x, gap):
    T = 38.86
    ours = pareto.pareto_log_integral(CDNOW_PARETO, x, T - gap, T)
    assert ours == pytest.approx(reference_log_integral(CDNOW_PARETO, x, T - gap, T), rel=1e-10)
    p_alive = pareto.pareto_probability_alive(CDNOW_PARETO, x, T - gap, T)
    assert np.isfinite(p_alive) and 0 < p_alive <= 1
