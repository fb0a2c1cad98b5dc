"""Sample ratio mismatch: the chi-square check of the planned split."""

from __future__ import annotations

import pytest

from customer_analytics.experiments.stats import srm_check


def test_srm_kohavi_example() -> None:
    # Kohavi, Tang & Xu (2020), ch. 3: 821,588 vs 815,482 on a 50/50 plan, p = 1.8e-6.
    r = srm_check({"control": 821_588, "treatment": 815_482}, {"control": 1, "treatment": 1})
    assert round(r.p, 7) == 1.8e-6
    assert not r.passed
    assert r.expected == {"control": 818_535.0, "treatment": 818_535.0}
    assert r.observed_share["control"] == pytest.approx(821_588 / 1_637_070)


def test_srm_three_arms_and_validation() -> None:
    r = srm_check({"a": 3400, "b": 3300, "c": 3300}, {"a": 0.34, "b": 0.33, "c": 0.33})
    assert r.passed and r.df == 2 and r.chi2 == pytest.approx(0.0)
    with pytest.raises(ValueError, match="arms differ"):
        srm_check({"a": 1, "b": 2}, {"a": 1, "c": 1})
