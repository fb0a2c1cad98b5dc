"""Heterogeneity across segments: Cochran's Q against statsmodels' meta-analysis."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.meta_analysis import combine_effects

from customer_analytics.experiments.stats import cochran_q, segment_heterogeneity


def test_cochran_q_matches_statsmodels_meta_analysis(z_comparison) -> None:
    e = np.array([0.10, 0.30, 0.20, 0.50])
    v = np.array([0.010, 0.020, 0.015, 0.030])
    r = cochran_q(e, v)
    ref = combine_effects(e, v)
    assert r.q == pytest.approx(ref.q, rel=1e-12)
    assert r.i_squared == pytest.approx(ref.i2, rel=1e-12)
    assert r.pooled_estimate == pytest.approx(ref.mean_effect_fe, rel=1e-12)
    assert r.pooled_se == pytest.approx(ref.sd_eff_w_fe, rel=1e-12)
    assert r.p == pytest.approx(sps.chi2.sf(ref.q, 3))
    same = segment_heterogeneity({k: z_comparison(0.05, 0.01) for k in "abc"})
    assert same.q == 0 and same.i_squared == 0 and same.p == 1
