"""Stage 03_rfm on the tiny shop's run: every buyer segmented once, and the BTYD summary
that 04_clv fits on equal to lifetimes' own on the same clean orders."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from support import CliRun, on_run

from customer_analytics.clean.stage import KEPT
from customer_analytics.pipeline.outputs import stage_findings
from customer_analytics.rfm.segments import load_segments
from customer_analytics.rfm.stage import BTYD_SUMMARY, CUSTOMERS_RFM, SEGMENTS

pytestmark = on_run("tiny")


def test_every_buyer_lands_in_exactly_one_segment_and_shares_add_up(
    config_run: Callable[[str], CliRun],
) -> None:
    tiny = config_run("tiny").stages
    customers = pd.read_parquet(CUSTOMERS_RFM.path(tiny))
    assert customers["customer_id"].is_unique
    assert customers["segment"].notna().all()
    assert set(customers["segment"]) <= set(load_segments().names)
    segments = pd.read_parquet(SEGMENTS.path(tiny))
    buyers = segments[segments["segment"] != "Prospects"]
    assert buyers["customers"].sum() == len(customers)
    assert segments["share_customers"].sum() == pytest.approx(1.0)
    assert buyers["share_revenue"].sum() == pytest.approx(1.0)
    clean = stage_findings(tiny["02_clean"])
    assert stage_findings(tiny["03_rfm"])["prospects"] == clean["prospects"]


def test_stage_btyd_summary_equals_lifetimes_on_the_clean_orders(
    config_run: Callable[[str], CliRun],
) -> None:
    """The summary 04_clv fits on, against lifetimes' own function on the same orders."""
    from lifetimes.utils import summary_data_from_transaction_data

    tiny = config_run("tiny").stages
    orders = pd.read_parquet(KEPT.path(tiny, table="orders"))
    purchases = orders[~orders["is_return"]]
    as_of = stage_findings(tiny["03_rfm"])["as_of"]
    theirs = summary_data_from_transaction_data(
        purchases,
        "customer_id",
        "order_ts_utc",
        monetary_value_col="revenue",
        observation_period_end=as_of,
        freq="D",
        freq_multiplier=7,
    )
    ours = pd.read_parquet(BTYD_SUMMARY.path(tiny)).set_index("customer_id")
    ours = ours.loc[theirs.index]
    for column in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(ours[column].to_numpy(), theirs[column].to_numpy())
    np.testing.assert_allclose(ours["monetary_value"], theirs["monetary_value"], atol=0.005)
