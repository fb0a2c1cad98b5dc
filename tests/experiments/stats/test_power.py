"""Power, sample size and minimum detectable effect against statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower, normal_power_het
from statsmodels.stats.proportion import power_proportions_2indep

from customer_analytics.experiments.stats import (
    SampleStats,
    achieved_power,
    mde_from_se,
    minimum_detectable_effect,
    power_from_se,
    sample_size,
)


@pytest.mark.parametrize("share", [0.5, 0.3])
def test_sample_size_for_means_matches_statsmodels(share: float) -> None:
    s = sample_size(0.05, mean=40.0, sd=60.0, alpha=0.05, power=0.8, treatment_share=share)
    nobs1 = NormalIndPower().solve_power(
        effect_size=0.05 * 40 / 60, alpha=0.05, power=0.8, ratio=share / (1 - share)
    )
    assert s.n_control == int(np.ceil(nobs1 - 1e-6))
    assert s.n_treatment == pytest.approx(nobs1 * share / (1 - share), abs=1)
    mde = minimum_detectable_effect(s.n_control, s.n_treatment, mean=40.0, sd=60.0)
    assert mde == pytest.approx(0.05, rel=1e-3)


def test_sample_size_for_proportions_matches_statsmodels() -> None:
    s = sample_size(0.10, proportion=0.05)
    got = power_proportions_2indep(
        0.005, 0.05, s.n_treatment, ratio=s.n_control / s.n_treatment, return_results=False
    )
    assert got == pytest.approx(0.8, abs=2e-4)
    assert got >= 0.8
    smaller = power_proportions_2indep(
        0.005, 0.05, s.n_treatment - 10, ratio=1.0, return_results=False
    )
    assert smaller < 0.8
    mde = minimum_detectable_effect(s.n_control, s.n_treatment, proportion=0.05)
    assert mde == pytest.approx(0.10, rel=1e-3)


def test_achieved_power_matches_statsmodels() -> None:
    g = np.random.default_rng(8)
    a = SampleStats.from_values(g.normal(20, 5, 1500))
    b = SampleStats.from_values(g.normal(20, 7, 1700))
    got = achieved_power(a, b, 0.02)
    se = np.sqrt(a.mean_variance + b.mean_variance)
    ref = normal_power_het(0.02 * a.mean, 1, 0.05, std_null=se)
    assert got == pytest.approx(ref, rel=1e-12)


def test_mde_is_the_effect_the_test_has_eighty_percent_power_for() -> None:
    control = SampleStats(4000, 4000 * 2.0, 4000 * (2.0**2 + 9.0))
    treatment = SampleStats(3000, 3000 * 2.0, 3000 * (2.0**2 + 16.0))
    se = float(np.sqrt(control.mean_variance + treatment.mean_variance))
    mde = mde_from_se(se, control.mean)
    assert achieved_power(control, treatment, mde) == pytest.approx(0.8, abs=1e-4)
    assert power_from_se(se, control.mean, mde) == pytest.approx(0.8, abs=1e-4)
    # With equal variances it is the planning MDE of experiments/power.py.
    same = SampleStats(3000, 3000 * 2.0, 3000 * (2.0**2 + 9.0))
    se_same = float(np.sqrt(control.mean_variance + same.mean_variance))
    sd = float(np.sqrt(control.variance))
    assert mde_from_se(se_same, 2.0) == pytest.approx(
        minimum_detectable_effect(4000, 3000, mean=2.0, sd=sd), rel=1e-3
    )
