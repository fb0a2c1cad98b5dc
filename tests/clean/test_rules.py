"""The cleaning rules of the shop tables on small hand-made exports: what each rule sets
aside, with its reason, and what is kept."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pytest

from customer_analytics.clean.rule_engine import CleanContext
from customer_analytics.clean.stage import KEPT, QUARANTINE, _reference, clean_tables
from customer_analytics.config import CleanSettings


def test_amounts_that_are_not_numbers_are_quarantined_with_the_value(tmp_path: Path) -> None:
    con = ibis.duckdb.connect()
    text = {
        "order_id": "string",
        "customer_id": "string",
        "order_ts": "string",
        "status": "string",
        "_row": "int64",
    }
    orders = ibis.memtable(
        pd.DataFrame(
            {
                "order_id": ["O1"],
                "customer_id": ["K1"],
                "order_ts": ["2025-01-02 10:00:00"],
                "status": ["completed"],
                "_row": [1],
            }
        ),
        schema=text,
    )
    lines = pd.DataFrame(
        {"order_id": ["O1", "O1", "O1"], "line_no": ["1", "2", "3"], "product_id": ["P1", "P2", "P3"],
         "quantity": ["2", "two", "1"], "unit_price": ["9.90", "5.00", "1,50"], "line_amount": ["19.80", "10", "1.5"], "_row": [1, 2, 3]}
    )  # fmt: skip
    items = ibis.memtable(
        lines, schema={c: "string" for c in lines.columns if c != "_row"} | {"_row": "int64"}
    )
    ctx = CleanContext(None, "UTC", CleanSettings(), _reference())
    accounting = clean_tables(con, {"orders": orders, "order_items": items}, ctx, tmp_path)
    assert accounting["order_items"]["quarantined_by_rule"] == {"not_a_number": 2}
    quarantine = pd.read_parquet(QUARANTINE.at(tmp_path, table="order_items")).sort_values("_row")
    assert list(quarantine["_detail"]) == ["quantity=two", "unit_price=1,50"]
    # Quarantined rows keep every value as delivered, the typed columns' text included.
    assert list(quarantine["quantity"]) == ["two", "1"]
    assert list(quarantine["unit_price"]) == ["5.00", "1,50"]
    kept = pd.read_parquet(KEPT.at(tmp_path, table="order_items"))
    assert kept["quantity"].tolist() == [2] and kept["unit_price"].tolist() == [9.9]
    # The working tables are gone once the outputs are written (they hold every row).
    assert con.raw_sql("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall() == []


def test_line_level_export_rules_and_derived_orders(tmp_path: Path) -> None:
    """An Online-Retail-shaped export: one table of invoice lines, no orders table."""
    rows = [  # order_id, product_id, quantity, unit_price, customer_id, order_ts
        ("536365", "85123A", "6", "2.55", "17850", "2010-12-01 08:26:00"),
        ("536365", "71053", "6", "3.39", "17850", "2010-12-01 08:26:00"),
        ("536365", "71053", "6", "3.39", "17850", "2010-12-01 08:26:00"),  # exact duplicate
        ("C536379", "D", "-1", "27.50", "14527", "2010-12-01 09:41:00"),  # cancellation
        ("536380", "22139", "2", "1.00", "14527", "2010-12-01 09:00:00"),
        ("C536390", "22139", "-2", "1.00", "14527", "2010-12-01 10:00:00"),  # cancels 536380
        ("C536395", "22139", "-1", "1.00", "14527", "2010-12-01 10:05:00"),  # part of 536380
        ("C536396", "22139", "-3", "1.00", "14527", "2010-12-01 10:06:00"),  # more than bought
        ("A563185", "B", "1", "11062.06", None, "2011-08-12 14:50:00"),  # bad debt (guest first)
        ("A563186", "B", "1", "-11062.06", "12345", "2011-08-12 14:51:00"),  # bad debt adjustment
        ("536370", "POST", "3", "18.00", "12583", "2010-12-01 08:45:00"),  # postage
        ("536414", "22139", "56", "0.00", None, "2010-12-01 11:52:00"),  # guest
        ("536589", "21777", "-10", "0.00", "12345", "2010-12-01 16:50:00"),  # negative quantity
        ("536590", "21777", "2", "0.00", "12345", "2010-12-01 16:51:00"),  # zero price
        ("536591", "21777", "1", "1.25", "12345", "2011-12-10 10:00:00"),  # after the data's end
    ]
    cols = ["order_id", "product_id", "quantity", "unit_price", "customer_id", "order_ts"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["_row"] = range(1, len(frame) + 1)
    con = ibis.duckdb.connect()
    table = ibis.memtable(frame, schema={c: "string" for c in cols} | {"_row": "int64"})
    ctx = CleanContext(
        ibis.timestamp("2011-12-09 12:50:00"), "Europe/London", CleanSettings(), _reference()
    )
    accounting = clean_tables(con, {"order_items": table}, ctx, tmp_path)["order_items"]
    assert accounting["quarantined_by_rule"] == {
        "exact_duplicate": 1, "guest_order": 2, "after_data_end": 1, "cancellation": 4,
        "bad_debt_adjustment": 1, "non_product": 1, "negative_quantity": 1, "zero_price": 1,
    }  # fmt: skip
    assert accounting["kept_rows"] == 3
    quarantine = pd.read_parquet(QUARANTINE.at(tmp_path, table="order_items")).set_index("order_id")
    assert quarantine.loc["C536390", "_detail"] == "cancels 536380"
    assert quarantine.loc["C536395", "_detail"] == "cancels 1 of 2 from 536380"
    assert quarantine.loc["C536396", "_detail"] == "original purchase not in the data"
    assert quarantine.loc["C536379", "_detail"] == "original purchase not in the data"
    orders = pd.read_parquet(KEPT.at(tmp_path, table="orders")).sort_values("order_id")
    assert orders.to_dict("records")[0] | {"order_ts_utc": None} == {
        "order_id": "536365", "customer_id": "17850", "revenue": pytest.approx(6 * 2.55 + 6 * 3.39),
        "n_lines": 2, "order_ts_utc": None,
    }  # fmt: skip
    assert list(orders["order_id"]) == ["536365", "536380"]
