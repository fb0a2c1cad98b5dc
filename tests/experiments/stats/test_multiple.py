"""Multiplicity: Holm and Benjamini-Hochberg against statsmodels, and family intervals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from customer_analytics.experiments.stats import adjust_pvalues, correct_family


def test_multiplicity_matches_statsmodels_with_the_method_named(z_comparison) -> None:
    estimates = [0.05, 0.021, 0.019, 0.002, -0.03]
    family = {f"m{i}": z_comparison(e, 0.01) for i, e in enumerate(estimates)}
    p = np.array([c.rel_p for c in family.values()])
    for method, sm_name in (("holm", "holm"), ("bh", "fdr_bh")):
        reject, p_adj, _, _ = multipletests(p, alpha=0.05, method=sm_name)
        ours_p, ours_reject = adjust_pvalues(p, method)
        np.testing.assert_allclose(ours_p, p_adj)
        np.testing.assert_array_equal(ours_reject, reject)
        result = correct_family(family, method)
        np.testing.assert_allclose([m.p_adjusted for m in result.members], p_adj)
    # Holm is not statsmodels' default Holm-Sidak.
    assert not np.allclose(adjust_pvalues(p)[0], multipletests(p)[1])
    # Our own Holm step-down equals statsmodels' on random families, ties included.
    rng = np.random.default_rng(5)
    for size in (1, 2, 3, 7, 20):
        for _ in range(10):  # statsmodels' Holm runs gc.collect() each call: few calls
            p = np.round(rng.random(size) ** 3, 3)
            reject, p_adj, _, _ = multipletests(p, alpha=0.05, method="holm")
            ours_p, ours_reject = adjust_pvalues(p, "holm")
            np.testing.assert_allclose(ours_p, p_adj)
            np.testing.assert_array_equal(ours_reject, reject)


def test_family_intervals_and_the_disagreement_flag(z_comparison) -> None:
    # Holm rejects m2 at its second step (p < 0.05/4) but Bonferroni's 0.05/5 interval
    # covers zero: flagged.
    family = {
        "m1": z_comparison(0.06, 0.01),
        "m2": z_comparison(0.0253, 0.01),
        "m3": z_comparison(0.001, 0.01),
        "m4": z_comparison(0.002, 0.01),
        "m5": z_comparison(0.003, 0.01),
    }
    holm = correct_family(family, "holm")
    assert holm.ci_alpha == pytest.approx(0.01)
    assert holm["m1"].reject and not holm["m1"].disagrees
    assert holm["m2"].reject and not holm["m2"].ci_excludes_zero and holm["m2"].disagrees
    assert not any(holm[k].disagrees for k in ("m3", "m4", "m5"))
    half = sps.norm.ppf(1 - 0.01 / 2) * 0.01
    assert holm["m1"].ci == pytest.approx((0.06 - half, 0.06 + half))
    bh = correct_family(family, "bh")
    rejected = sum(m.reject for m in bh.members)
    assert bh.ci_alpha == pytest.approx(0.05 * rejected / 5)
    # Benjamini-Yekutieli intervals agree with BH's decisions.
    assert not any(m.disagrees for m in bh.members)
