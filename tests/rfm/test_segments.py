"""RFM segments: one segment per score combination, the segment table with prospects, and
movement between the snapshot and as_of."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from customer_analytics.rfm.segments import (
    NEW,
    SegmentRule,
    SegmentRulesError,
    SegmentScheme,
    add_prospects,
    load_segments,
    rfm_segments,
    segment_movement,
    segment_table,
    verify_segments,
)


def test_every_score_combination_has_one_segment_and_every_segment_is_reached() -> None:
    scheme = load_segments()
    grid = verify_segments(scheme)
    assert len(grid) == 125 and grid.segment.notna().all()
    assert set(grid.segment) == set(scheme.names) and len(scheme.names) == 11
    cell = grid.set_index(["r", "f", "m"]).segment
    assert cell[(5, 5, 5)] == "Champions" and cell[(1, 1, 1)] == "Lost"
    assert cell[(1, 5, 5)] == "Can't Lose Them" and cell[(2, 5, 5)] == "At Risk"


def test_the_published_overlapping_table_is_caught() -> None:
    at_risk = SegmentRule("At Risk", {"r": (1, 2), "fm": (2, 5)})
    cant_lose = SegmentRule("Can't Lose Them", {"r": (1, 1), "fm": (4, 5)})
    rest = SegmentRule("Other", {})
    with pytest.raises(SegmentRulesError, match="Can't Lose Them"):
        verify_segments(SegmentScheme((at_risk, cant_lose, rest)))
    with pytest.raises(SegmentRulesError, match="no segment"):
        verify_segments(SegmentScheme((cant_lose,)))


def test_segment_table_prospects_and_clv(cdnow: pd.DataFrame, cdnow_columns: dict) -> None:
    segmented, _ = rfm_segments(ibis.memtable(cdnow), "1998-06-30", **cdnow_columns)
    segmented["clv"] = segmented.monetary * 2
    table = segment_table(segmented, clv_col="clv")
    assert table.customers.sum() == 2357
    assert table.share_customers.sum() == pytest.approx(1)
    assert table.share_revenue.sum() == pytest.approx(1)
    champions = segmented[segmented.segment == "Champions"]
    assert table.loc["Champions", "mean_clv"] == pytest.approx(champions.clv.mean())
    accounts = pd.DataFrame({"cid": [*segmented.cid, "x1", "x2"], "signup_date": "1997-01-01"})
    accounts.loc[len(accounts)] = {"cid": "late", "signup_date": "1999-01-01"}
    full = add_prospects(table, accounts, segmented, as_of="1998-06-30", customer_col="cid")
    assert full.loc["Prospects", "customers"] == 2 and full.loc["Prospects", "revenue"] == 0
    assert full.share_customers.sum() == pytest.approx(1)


def test_segment_movement_counts_everyone_once_and_new_customers_as_new(
    shop_orders: pd.DataFrame,
) -> None:
    orders = shop_orders
    orders.loc[len(orders)] = ("o7", "e", pd.Timestamp("2024-01-25"), 20.0, False)
    movement = segment_movement(ibis.memtable(orders), "2024-01-31", "2024-01-11")
    matrix = movement.matrix
    assert matrix.index[0] == NEW and list(matrix.columns) == load_segments().names
    assert matrix.to_numpy().sum() == len(movement.current) == 4
    assert matrix.loc[NEW].sum() == 2  # d and e had not bought by 2024-01-11
    with pytest.raises(ValueError, match="before"):
        segment_movement(ibis.memtable(orders), "2024-01-01", "2024-01-11")
