"""UCI Online Retail (and II) exports: read as delivered, with the published raw figures."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pytest
from support import shared_file

from customer_analytics.sources import SourceError, read_source


@pytest.mark.slow
def test_online_retail_raw_profile_matches_the_reference(order_items) -> None:
    t = order_items("online_retail", shared_file("online_retail.parquet"))
    payload = [c for c in t.columns if c != "_row"]
    figures = (
        t.aggregate(
            lines=t.count(),
            customers=t.customer_id.nunique(),
            invoices=t.order_id.nunique(),
            no_customer=t.customer_id.isnull().sum(),
            cancellation_lines=t.order_id.startswith("C").sum(),
            negative_quantity=(t.quantity < 0).sum(),
            zero_price=(t.unit_price == 0).sum(),
        )
        .execute()
        .iloc[0]
        .to_dict()
    )
    figures["cancellation_invoices"] = (
        t.filter(t.order_id.startswith("C")).order_id.nunique().execute()
    )
    duplicates = t.count().execute() - t.select(*payload).distinct().count().execute()
    assert figures == {
        "lines": 541_909, "customers": 4_372, "invoices": 25_900, "no_customer": 135_080,
        "cancellation_lines": 9_288, "cancellation_invoices": 3_836, "negative_quantity": 10_624, "zero_price": 2_515,
    }  # fmt: skip
    assert duplicates == 5_268


@pytest.mark.slow
def test_online_retail_csv_sample_reads_like_the_parquet_rows_it_came_from(order_items) -> None:
    csv = order_items("online_retail", shared_file("online_retail_sample.csv")).execute()
    full = order_items("online_retail", shared_file("online_retail.parquet"))
    parquet = full.filter(full.order_id.isin(list(csv["order_id"].unique()))).execute()
    columns = [c for c in csv.columns if c != "_row"]
    assert dict(csv[columns].dtypes) == dict(parquet[columns].dtypes)
    order = ["order_id", "product_id", "quantity", "unit_price", "description", "order_ts"]
    a = csv[columns].sort_values(order).reset_index(drop=True)
    b = parquet[columns].sort_values(order).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_missing_columns_and_unreadable_numbers_are_named(tmp_path: Path, order_items) -> None:
    bad = tmp_path / "export.csv"
    bad.write_text(
        "Invoice,StockCode,Qty,InvoiceDate,Price,Customer ID,Country\n1,A,1,12/1/2010 8:26,1.0,5,UK\n"
    )
    with pytest.raises(
        SourceError, match=r"missing column\(s\) Description, Quantity.*found \['Invoice'"
    ):
        order_items("online_retail", bad)
    bad.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n1,A,x,two,12/1/2010 8:26,1.0,5,UK\n"
    )
    with pytest.raises(
        SourceError, match="column 'Quantity' has 1 value.*not a number, for example 'two'"
    ):
        order_items("online_retail", bad)


def test_online_retail_ii_xlsx_two_sheets_read_once_with_their_overlap(
    tmp_path: Path, source_config
) -> None:
    """An Online Retail II-shaped workbook: two sheets sharing one invoice, II's column names."""
    header = [
        "Invoice",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "Price",
        "Customer ID",
        "Country",
    ]
    first = [["489434", "85048", "LED LIGHTS", 12, pd.Timestamp("2009-12-01 07:45"), 6.95, 13085.0, "United Kingdom"],
             ["489999", "22041", "CARD", 6, pd.Timestamp("2010-12-09 10:00"), 2.1, 14000.0, "France"]]  # fmt: skip
    second = [["489999", "22041", "CARD", 6, pd.Timestamp("2010-12-09 10:00"), 2.1, 14000.0, "France"],
              ["537000", "21777", "BOX", 1, pd.Timestamp("2010-12-10 09:00"), 1.25, None, "Spain"]]  # fmt: skip
    book = tmp_path / "online_retail_II.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame(first, columns=header).to_excel(
            writer, sheet_name="Year 2009-2010", index=False
        )
        pd.DataFrame(second, columns=header).to_excel(
            writer, sheet_name="Year 2010-2011", index=False
        )
    cfg = source_config("online_retail", book)
    source = read_source(cfg, ibis.duckdb.connect())
    lines = source.tables["order_items"].order_by("_row").execute()
    assert len(lines) == 4 and list(lines["customer_id"]) == ["13085", "14000", "14000", None]
    assert list(lines["_sheet"]) == ["Year 2009-2010"] * 2 + ["Year 2010-2011"] * 2
    assert (
        source.notes["invoices_in_two_sheets"] == 1 and source.notes["lines_of_those_invoices"] == 2
    )
    assert len(list((cfg.cache_dir / "xlsx").glob("*.parquet"))) == 1
