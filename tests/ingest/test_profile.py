"""The ingest profile: exact figures where a reader checks them, estimates only beyond."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from customer_analytics.ingest import profile


def _table() -> ibis.Table:
    return ibis.memtable(
        pd.DataFrame(
            {
                "order_id": [f"O{i}" for i in range(3000)],
                "channel": ["app", "web", "web"] * 1000,
                "amount": ["1.5", "x", None] * 1000,
            }
        )
    )


def test_profile_counts_nulls_distinct_values_ranges_and_top_values() -> None:
    got = profile.profile_table(_table(), {"amount": "float"}).set_index("column")
    assert got.loc["order_id", "distinct"] == 3000
    assert got.loc["channel", "top_values"] == "web (2,000), app (1,000)"
    assert got.loc["amount", "nulls"] == 1000
    assert got.loc["amount", "unparseable"] == 1000
    assert got.loc["amount", "min"] == got.loc["amount", "max"] == "1.5"
    assert got["distinct_exact"].all()


def test_many_distinct_values_are_estimated_and_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile, "EXACT_DISTINCT_UP_TO", 100)
    got = profile.profile_table(_table()).set_index("column")
    assert not got.loc["order_id", "distinct_exact"]
    assert abs(got.loc["order_id", "distinct"] - 3000) <= 0.05 * 3000
    # DuckDB's estimate here is 3,004: never more distinct values than non-null ones.
    assert got.loc["order_id", "distinct"] <= 3000
    assert got.loc["channel", "distinct_exact"]
    assert got.loc["channel", "distinct"] == 2
