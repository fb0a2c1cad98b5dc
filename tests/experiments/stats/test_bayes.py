"""The Bayesian reading of a comparison: chance to win and expected loss."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as sps

from customer_analytics.experiments.stats import bayesian_view


def test_bayes_chance_to_win_is_not_one_minus_p(z_comparison) -> None:
    c = z_comparison(0.0196, 0.01)
    b = bayesian_view(c)
    assert b.chance_to_win == pytest.approx(1 - c.rel_p / 2, rel=1e-12)
    assert b.chance_to_win != pytest.approx(1 - c.rel_p, abs=1e-3)
    post = sps.norm(0.0196, 0.01)
    loss_ship = integrate.quad(lambda x: -x * post.pdf(x), -np.inf, 0)[0]
    loss_keep = integrate.quad(lambda x: x * post.pdf(x), 0, np.inf)[0]
    assert b.risk_treatment == pytest.approx(loss_ship, rel=1e-7)
    assert b.risk_control == pytest.approx(loss_keep, rel=1e-7)
