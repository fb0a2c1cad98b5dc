"""RFM scores: quintiles that keep ties together, fixed cut points, and the method used."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from customer_analytics.rfm.scoring import fixed_scores, load_scoring, quantile_scores, score_rfm
from customer_analytics.rfm.summary import customer_rfm


@given(st.lists(st.integers(0, 6), min_size=1, max_size=60), st.booleans())
def test_quantile_scores_keep_ties_together_and_follow_order(values: list, higher: bool) -> None:
    x = pd.Series(values, dtype=float)
    scores = quantile_scores(x, higher)
    assert scores.between(1, 5).all()
    assert (scores.groupby(x).nunique() == 1).all()  # equal values, equal scores
    order = np.argsort(x.to_numpy() if higher else -x.to_numpy(), kind="stable")
    assert np.all(np.diff(scores.to_numpy()[order]) >= 0)


def test_quantile_scores_are_quintiles_without_ties() -> None:
    scores = quantile_scores(pd.Series(np.arange(100.0)))
    assert scores.value_counts().sort_index().tolist() == [20] * 5
    assert quantile_scores(pd.Series(np.arange(100.0)), False).iloc[0] == 5


def test_fixed_frequency_cut_points_are_1_2_3_4to5_6plus() -> None:
    cuts = load_scoring()["fixed"]["frequency"]
    scores = fixed_scores(pd.Series([1, 2, 3, 4, 5, 6, 40]), cuts)
    assert scores.tolist() == [1, 2, 3, 4, 4, 5, 5]
    recency = fixed_scores(pd.Series([0, 30, 31, 365, 366]), [30, 90, 180, 365], False)
    assert recency.tolist() == [5, 5, 4, 2, 1]


def test_score_rfm_reports_the_method_used(cdnow: pd.DataFrame, cdnow_columns: dict) -> None:
    rfm = customer_rfm(ibis.memtable(cdnow), "1998-06-30", **cdnow_columns).execute()
    scored, report = score_rfm(rfm)
    methods = {d: s.method for d, s in report.dimensions.items()}
    # Most CDNOW customers buy once: frequency quintiles collapse, so auto uses fixed.
    assert methods == {"recency": "quantile", "frequency": "fixed", "monetary": "quantile"}
    assert "ties" in report.dimensions["frequency"].reason
    assert scored.groupby("frequency").f_score.nunique().max() == 1
    frame = report.to_frame()
    assert len(frame) == 15 and frame.customers.sum() == 3 * len(rfm)
    _, forced = score_rfm(rfm, methods={"frequency": "quantile", "monetary": "fixed"})
    assert forced.dimensions["frequency"].method == "quantile"
    assert forced.dimensions["monetary"].cut_points == (100, 250, 500, 1000)
