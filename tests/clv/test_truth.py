"""The truth checks of stage 04_clv: figures that do not depend on row order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_analytics.clv.truth import top_share


def test_top_share_without_ties_is_the_top_rows_share() -> None:
    score = pd.Series(np.arange(20.0))
    value = pd.Series(np.ones(20))
    assert top_share(score, value, 0.10) == pytest.approx(2 / 20)


def test_top_share_splits_a_tie_at_the_boundary_and_ignores_row_order() -> None:
    # Top 10% of 10 rows is one place; three rows tie for it: each counts one third.
    score = pd.Series([5, 5, 5, 1, 1, 1, 1, 1, 1, 1])
    value = pd.Series([30.0, 0.0, 0.0, 10, 10, 10, 10, 10, 10, 10])
    expected = (30.0 / 3) / 100.0
    assert top_share(score, value) == pytest.approx(expected)
    shuffled = np.random.default_rng(0).permutation(10)
    assert top_share(score.iloc[shuffled], value.iloc[shuffled]) == pytest.approx(expected)
