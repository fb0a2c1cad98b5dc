"""A shop's own files with a column mapping: it reads, and bad input fails clearly."""

from __future__ import annotations

import zipfile
from pathlib import Path

import ibis
import pandas as pd
import pytest
import yaml
from support import cli, isolated_sets

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


# --- files that cannot be read as mapped: each named with what to do -----------------------


def test_a_header_naming_a_column_twice_is_named(tmp_path: Path) -> None:
    """DuckDB renames the second Kunde to Kunde_1, and the mapping took the first (blank)
    one: every line became a guest order."""
    write(tmp_path, "Bon,Kunde,Zeit,Artikel,Menge,Preis,kunde\nB1,,24.12.2025 18:30,A,1,2,K1\n")
    with pytest.raises(
        SourceError,
        match=r"sales.csv: the header names a column more than once \('Kunde' and 'kunde'",
    ):
        read(config(tmp_path))


def test_a_header_without_rows_is_named(tmp_path: Path) -> None:
    write(tmp_path, HEADER)
    with pytest.raises(SourceError, match=r"sales.csv: the file has a header but no rows"):
        ensure_stage(config(tmp_path), "01_ingest")


def test_a_stray_quote_is_named_by_its_line_not_as_a_missing_column(tmp_path: Path) -> None:
    """A quoted file with one stray quote: DuckDB finds no dialect and reads the header
    as one column, which used to be reported as every mapped column missing."""
    lines = [f'B{i},K{i},24.12.2025 18:30,"Stollen, {i} kg",1,2' for i in range(5)]
    lines.append('B9,K9,24.12.2025 18:30,"Stollen "extra",1,2')
    write(tmp_path, HEADER + "\n".join(lines) + "\n")
    with pytest.raises(SourceError) as err:
        read(config(tmp_path))
    message = str(err.value)
    assert "sales.csv: the header reads as a single column" in message
    assert 'line 7 has a stray quote (")' in message and "not in the file" not in message


def test_a_zip_renamed_csv_and_a_missing_sheet_are_named(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "sales.csv", "w") as archive:
        archive.writestr("export/sales.csv", HEADER)
    with pytest.raises(
        SourceError,
        match=r"sales.csv: not a CSV file but a zip archive \(it holds export/sales.csv\): unzip",
    ):
        read(config(tmp_path))
    rows = pd.DataFrame({column: ["1"] for column in MAPPING})
    with pd.ExcelWriter(tmp_path / "sales.xlsx") as book:
        rows.to_excel(book, sheet_name="Bons", index=False)
        rows.to_excel(book, sheet_name="Summe", index=False)
    with pytest.raises(
        SourceError,
        match=r"sales.xlsx: the workbook has no sheet 'Positionen'; its sheets are \['Bons', 'Summe'\]",
    ):
        read(config(tmp_path, file="sales.xlsx", sheet="Positionen", date_format=None))


def test_unknown_tables_and_columns_are_config_errors_listing_the_canonical_names(
    tmp_path: Path,
) -> None:
    write(tmp_path, HEADER + "B1,K1,24.12.2025 18:30,A,1,2\n")
    tree = {
        "run": {"name": "own", "stages": ["01_ingest"]},
        "source": {"kind": "files", "path": str(tmp_path),
                   "tables": {"order_item": {"file": "sales.csv", "columns": MAPPING}}},
    }  # fmt: skip
    with pytest.raises(
        ConfigError,
        match=r"unknown table\(s\) \['order_item'\]; the canonical tables are \['customers'",
    ):
        config_from_dict(tree)
    tree["source"]["tables"] = {
        "order_items": {"file": "sales.csv", "columns": {**MAPPING, "Kunde": "customer_name"}}
    }
    with pytest.raises(ConfigError) as err:
        config_from_dict(tree)
    assert "'Kunde' -> 'customer_name' not a canonical column of order_items" in str(err.value)
    assert "its canonical columns are ['order_id', 'line_no', 'product_id'" in str(err.value)


def test_a_misspelt_table_exits_2_before_any_stage(tmp_path: Path) -> None:
    write(tmp_path, HEADER + "B1,K1,24.12.2025 18:30,A,1,2\n")
    own = tmp_path / "own.yaml"
    own.write_text(
        yaml.safe_dump(
            {
                "run": {"name": "own", "stages": ["01_ingest", "02_clean"]},
                "source": {
                    "kind": "files",
                    "path": str(tmp_path),
                    "tables": {"order": {"file": "sales.csv", "columns": MAPPING}},
                },
            }  # fmt: skip
        )
    )
    result = cli("--config", str(own), *isolated_sets(tmp_path))
    assert result.returncode == 2, result.stderr
    assert "unknown table(s) ['order']; the canonical tables are" in result.stderr
    assert not (tmp_path / "reports").exists()


def test_extra_columns_are_kept_only_when_declared_not_personal(tmp_path: Path) -> None:
    write(tmp_path, "Bon,Kunde,Zeit,Artikel,Menge,Preis,Stufe\nB1,K1,24.12.2025 18:30,A,1,2,Gold\n")
    extra = {"Stufe": {"name": "loyalty_tier", "personal": False}}
    frame = read(config(tmp_path, extra_columns=extra))
    assert frame["loyalty_tier"].tolist() == ["Gold"]
    with pytest.raises(ConfigError, match=r"a personal column is not kept"):
        config(tmp_path, extra_columns={"Stufe": {"name": "tier", "personal": True}})
    with pytest.raises(ConfigError, match=r"personal.*required but missing"):
        config(tmp_path, extra_columns={"Stufe": {"name": "tier"}})
    with pytest.raises(ConfigError, match=r"\['quantity'\] given twice, or an extra column named"):
        config(tmp_path, extra_columns={"Stufe": {"name": "quantity", "personal": False}})
