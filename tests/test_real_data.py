"""Real exports: UCI Online Retail and CDNOW reproduce their published figures."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pytest
from support import shared_file

from customer_analytics.config import config_from_dict
from customer_analytics.ingest import read_ingested
from customer_analytics.sources import SourceError, read_source
from customer_analytics.stage import ensure_stage

ROOT = Path(__file__).resolve().parents[1]
LIFETIMES_DATA = Path(__import__("lifetimes").__file__).parent / "datasets"


def config(kind: str, path: Path | None, tmp: Path, **sections: dict):
    tree = {
        "run": {"name": kind, "stages": ["01_ingest", "02_clean"]},
        "source": {"kind": kind, "path": str(path) if path else None},
        "data": {"dir": str(tmp / "data")},
        "reports": {"dir": str(tmp / "reports")},
        **sections,
    }
    return config_from_dict(tree)


def items(kind: str, path: Path | None, tmp: Path) -> ibis.Table:
    source = read_source(config(kind, path, tmp), ibis.duckdb.connect())
    source.check("order_items")
    return source.tables["order_items"]


@pytest.mark.slow
def test_online_retail_raw_profile_matches_the_reference(tmp_path: Path) -> None:
    t = items("online_retail", shared_file("online_retail.parquet"), tmp_path)
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
def test_online_retail_cleaning_explains_every_difference_from_the_usual_recipe(
    tmp_path: Path,
) -> None:
    cfg = config(
        "online_retail",
        shared_file("online_retail.parquet"),
        tmp_path,
        clean={"keep_wholesale": True},
    )
    clean = ensure_stage(cfg, "02_clean")
    ingested = ensure_stage(cfg, "01_ingest") / "order_items.parquet"
    raw = read_ingested(ibis.duckdb.connect(), ingested).execute()
    usual = (
        raw["customer_id"].notna()
        & (raw["quantity"] > 0)
        & (raw["unit_price"] > 0)
        & ~raw["order_id"].str.startswith("C")
    )
    assert (
        usual.sum(),
        raw.loc[usual, "customer_id"].nunique(),
        raw.loc[usual, "order_id"].nunique(),
    ) == (397_884, 4_338, 18_532)
    kept = pd.read_parquet(clean / "order_items.parquet")
    quarantine = pd.read_parquet(clean / "quarantine" / "order_items.parquet")
    assert len(kept) + len(quarantine) == len(raw)
    ours = raw["_row"].isin(kept["_row"])
    assert not (ours & ~usual).any(), "a line the usual recipe drops was kept"
    # Every line the usual recipe keeps and we set aside is named by one of our rules.
    explained = (
        quarantine[quarantine["_row"].isin(raw.loc[usual & ~ours, "_row"])]["_rule"]
        .value_counts()
        .to_dict()
    )
    assert sum(explained.values()) == (usual & ~ours).sum()
    assert set(explained) == {"exact_duplicate", "non_product"}
    assert explained["exact_duplicate"] <= 5_268
    # Cancellations with a customer, matched to the latest earlier purchase line of the
    # same customer and product: 2,918 of 8,872 cancel a whole line, 4,563 part of one;
    # 1,391 cancel more than any earlier line (several purchases, or one from before the
    # data's start) and say so.
    cancels = quarantine[quarantine["_rule"] == "cancellation"]["_detail"]
    assert (
        len(cancels),
        cancels.str.fullmatch(r"cancels \d+").sum(),
        cancels.str.fullmatch(r"cancels \d+ of \d+ from \d+").sum(),
        (cancels == "original purchase not in the data").sum(),
    ) == (8_872, 2_918, 4_563, 1_391)


@pytest.mark.slow
def test_online_retail_csv_sample_reads_like_the_parquet_rows_it_came_from(tmp_path: Path) -> None:
    csv = items("online_retail", shared_file("online_retail_sample.csv"), tmp_path).execute()
    full = items("online_retail", shared_file("online_retail.parquet"), tmp_path)
    parquet = full.filter(full.order_id.isin(list(csv["order_id"].unique()))).execute()
    columns = [c for c in csv.columns if c != "_row"]
    assert dict(csv[columns].dtypes) == dict(parquet[columns].dtypes)
    order = ["order_id", "product_id", "quantity", "unit_price", "description", "order_ts"]
    a = csv[columns].sort_values(order).reset_index(drop=True)
    b = parquet[columns].sort_values(order).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_cdnow_sample_and_master_counts(tmp_path: Path) -> None:
    for name, transactions, customers in (
        ("CDNOW_sample.txt", 6_919, 2_357),
        ("CDNOW_master.txt", 69_659, 23_570),
    ):
        t = items("cdnow", LIFETIMES_DATA / name, tmp_path)
        assert (t.count().execute(), t.customer_id.nunique().execute()) == (transactions, customers)


def test_cdnow_keeps_zero_value_transactions_as_the_papers_do(tmp_path: Path) -> None:
    cfg = config("cdnow", None, tmp_path, clean={"keep_zero_price": True})
    kept = pd.read_parquet(ensure_stage(cfg, "02_clean") / "order_items.parquet")
    assert (
        len(kept) == 6_919 and kept["customer_id"].nunique() == 2_357 and kept["is_free"].sum() > 0
    )


def test_wrong_checksum_and_missing_columns_are_named(tmp_path: Path) -> None:
    sample = LIFETIMES_DATA / "CDNOW_sample.txt"
    cfg = config_from_dict(
        {
            "run": {"name": "x", "stages": ["01_ingest"]},
            "source": {"kind": "cdnow", "path": str(sample), "sha256": "0" * 64},
        }
    )
    with pytest.raises(SourceError, match="sha256 is [0-9a-f]{64}, but the config expects 0000"):
        read_source(cfg, ibis.duckdb.connect())
    bad = tmp_path / "export.csv"
    bad.write_text(
        "Invoice,StockCode,Qty,InvoiceDate,Price,Customer ID,Country\n1,A,1,12/1/2010 8:26,1.0,5,UK\n"
    )
    with pytest.raises(
        SourceError, match=r"missing column\(s\) Description, Quantity.*found \['Invoice'"
    ):
        items("online_retail", bad, tmp_path)
    bad.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n1,A,x,two,12/1/2010 8:26,1.0,5,UK\n"
    )
    with pytest.raises(
        SourceError, match="column 'Quantity' has 1 value.*not a number, for example 'two'"
    ):
        items("online_retail", bad, tmp_path)


def test_online_retail_ii_xlsx_two_sheets_read_once_with_their_overlap(tmp_path: Path) -> None:
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
    cfg = config("online_retail", book, tmp_path)
    source = read_source(cfg, ibis.duckdb.connect())
    lines = source.tables["order_items"].order_by("_row").execute()
    assert len(lines) == 4 and list(lines["customer_id"]) == ["13085", "14000", "14000", None]
    assert list(lines["_sheet"]) == ["Year 2009-2010"] * 2 + ["Year 2010-2011"] * 2
    assert (
        source.notes["invoices_in_two_sheets"] == 1 and source.notes["lines_of_those_invoices"] == 2
    )
    assert len(list((cfg.cache_dir / "xlsx").glob("*.parquet"))) == 1
