"""A shop's own files with a column mapping: it reads, and bad input fails clearly."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pytest

from customer_analytics.config import ConfigError, check_source, config_from_dict, load_config
from customer_analytics.ingest.stage import DELIVERED, read_ingested
from customer_analytics.ingest.stage import run as run_ingest
from customer_analytics.pipeline.cache import ensure_stage
from customer_analytics.sources import SourceError, read_source

MAPPING = {
    "Bon": "order_id",
    "Kunde": "customer_id",
    "Zeit": "order_ts",
    "Artikel": "product_id",
    "Menge": "quantity",
    "Preis": "unit_price",
}


def config(folder: Path, file: str = "sales.csv", **table: object):
    tables = {
        "order_items": {"file": file, "columns": MAPPING, "date_format": "%d.%m.%Y %H:%M", **table}
    }
    return config_from_dict(
        {
            "run": {"name": "own", "stages": ["01_ingest"]},
            "source": {"kind": "files", "path": str(folder), "tables": tables},
            "data": {"dir": str(folder / "data")},
        }
    )


def read(cfg) -> pd.DataFrame:
    source = read_source(cfg, ibis.duckdb.connect())
    source.check("order_items")
    return source.tables["order_items"].execute()


def write(folder: Path, text: str, encoding: str = "utf-8", name: str = "sales.csv") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


HEADER = "Bon,Kunde,Zeit,Artikel,Menge,Preis\n"


def test_mapped_csv_reads_into_canonical_columns(tmp_path: Path) -> None:
    write(
        tmp_path,
        HEADER + "B1,K1,24.12.2025 18:30,Stollen,2,12.50\nB2,,01.01.2026 09:00,Kaffee,1,4.20\n",
    )
    cfg = config(tmp_path)
    frame = read(cfg)
    assert list(frame.columns) == list(MAPPING.values())
    assert frame.loc[0, "order_ts"] == pd.Timestamp("2025-12-24 18:30")
    assert pd.isna(frame.loc[1, "customer_id"])
    # The ingest stage writes the rows in the file's order and numbers them from there.
    run_ingest(cfg, {}, tmp_path)
    written = read_ingested(
        ibis.duckdb.connect(), DELIVERED.at(tmp_path, table="order_items")
    ).execute()
    assert written["_row"].tolist() == [1, 2]
    assert written["order_id"].tolist() == ["B1", "B2"]


def test_latin1_file_declared_latin1_reads_and_declared_utf8_fails_naming_the_encoding(
    tmp_path: Path,
) -> None:
    write(tmp_path, HEADER + "B1,K1,24.12.2025 18:30,Geb\u00e4ck,2,12.50\n", encoding="latin-1")
    assert read(config(tmp_path, encoding="latin-1")).loc[0, "product_id"] == "Geb\u00e4ck"
    with pytest.raises(
        SourceError, match=r"sales.csv: not readable as utf-8.*set the table's `encoding`"
    ):
        read(config(tmp_path))


def test_missing_empty_and_misnamed_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"key 'source.tables.order_items.file': input file .*nope.csv does not exist",
    ):
        check_source(config(tmp_path, file="nope.csv"))
    write(tmp_path, "", name="empty.csv")
    with pytest.raises(SourceError, match="empty.csv: the file is empty"):
        read(config(tmp_path, file="empty.csv"))
    write(tmp_path, "Bon,Kunde,Zeitpunkt,Artikel,Menge,Preis\nB1,K1,x,y,1,2\n")
    with pytest.raises(
        SourceError,
        match=r"mapped column\(s\) \['Zeit'\] not in the file; expected .*found \['Bon', 'Kunde', 'Zeitpunkt'",
    ):
        read(config(tmp_path))


def test_unparseable_dates_name_column_example_and_count(tmp_path: Path) -> None:
    write(
        tmp_path,
        HEADER + "B1,K1,24.12.2025 18:30,A,1,1\nB2,K1,2025-12-24,A,1,1\nB3,K1,gestern,A,1,1\n",
    )
    with pytest.raises(
        SourceError,
        match=r"column 'Zeit' has 2 value\(s\) that are not in the date format '%d.%m.%Y %H:%M', for example '2025-12-24'",
    ):
        read(config(tmp_path))


def test_unparseable_dates_fail_the_ingest_stage_and_leave_no_output(tmp_path: Path) -> None:
    """The dates are parsed while the ingest writes them and checked in the written copy:
    the stage fails with the same message and its half-written folder is removed."""
    write(tmp_path, HEADER + "B1,K1,24.12.2025 18:30,A,1,1\nB2,K1,gestern,A,1,1\n")
    cfg = config(tmp_path)
    with pytest.raises(SourceError, match=r"column 'Zeit' has 1 value\(s\).*'gestern'"):
        ensure_stage(cfg, "01_ingest")
    assert not list((cfg.cache_dir / "01_ingest").iterdir())


def test_blank_dates_pass_the_check_for_the_cleaning_rules(tmp_path: Path) -> None:
    write(tmp_path, HEADER + "B1,K1,24.12.2025 18:30,A,1,1\nB2,K1,,A,1,1\n")
    assert read(config(tmp_path))["order_ts"].isna().tolist() == [False, True]


def test_example_config_validates() -> None:
    cfg = load_config("configs/example_files.yaml", check_inputs=False)
    assert cfg.source.tables["order_items"].encoding == "latin-1"
