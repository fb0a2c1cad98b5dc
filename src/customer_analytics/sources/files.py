"""A shop's own exports: CSV, Parquet or Excel files with a column mapping in the config.

Example (``configs/example_files.yaml``)::

    source:
      kind: files
      path: data/raw/myshop            # folder the file names are relative to
      tables:
        order_items:
          file: sales.csv
          encoding: latin-1
          date_format: "%d/%m/%Y %H:%M"
          columns: {Invoice: order_id, Item: product_id, Qty: quantity, Price: unit_price,
                    Client: customer_id, When: order_ts}
        exposures:                     # an exposure log of one test: customer, time, arm
          file: push_log.csv
          columns: {user: customer_id, sent_at: assigned_ts, group: variant}
          constants: {experiment_id: spring_push}

Every mapped column must exist in the file (the error lists what was expected and what
was found); values are kept as delivered (text), except timestamp columns when a
``date_format`` is given, which must all parse (the error names the column, an example
and the count). ``constants`` sets canonical columns the file lacks to one text value on
every row (a log of a single experiment has no ``experiment_id`` column). The cleaning
stage types and checks the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import ibis
import pandas as pd

from customer_analytics.config import Config, FileMapping
from customer_analytics.sources.base import (
    SourceError,
    SourceTables,
    parse_checked,
    verify_checksum,
)
from customer_analytics.utils.text import strip
from customer_analytics.utils.timestamps import try_strptime

TIMESTAMP_COLUMNS = {"order_ts", "signup_ts", "event_ts", "assigned_ts", "outcome_ts", "ts"}


def _read(con: ibis.BaseBackend, path: Path, mapping: FileMapping) -> ibis.Table:
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: the file is empty")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return con.read_parquet(path)
    if suffix in (".xlsx", ".xls"):
        frame = pd.read_excel(path, sheet_name=mapping.sheet or 0, dtype=str)
        return ibis.memtable(frame)
    if suffix in (".csv", ".txt", ".tsv"):
        try:
            # Decode strictly first: DuckDB would replace bad bytes instead of failing.
            path.read_bytes().decode(mapping.encoding.replace("latin-1", "latin_1"))
        except UnicodeDecodeError as err:
            raise SourceError(
                f"{path}: not readable as {mapping.encoding} (byte {err.start}: {err.reason}); "
                f"set the table's `encoding` (utf-8, latin-1 or utf-16)"
            ) from None
        try:
            return con.read_csv(path, all_varchar=True, header=True, encoding=mapping.encoding)
        except duckdb.Error as err:
            raise SourceError(f"{path}: cannot read as CSV: {err}") from None
    raise SourceError(f"{path}: unsupported format {suffix!r}; expected .csv, .parquet or .xlsx")


def _parse_dates(
    table: ibis.Table, path: Path, fmt: str, names: dict[str, str]
) -> tuple[ibis.Table, Callable[[ibis.Table], None]]:
    expected = f"in the date format {fmt!r}"
    parsed = {
        column: (try_strptime(strip(table[column].cast("string")), fmt), expected)
        for column in sorted(TIMESTAMP_COLUMNS & set(table.columns))
    }
    return parse_checked(table, parsed, path, names)


def read_files(cfg: Config, con: ibis.BaseBackend) -> SourceTables:
    """Read every mapped file into its canonical table."""
    tables, files, declared, checks = {}, {}, {}, {}
    for name, mapping in cfg.source.tables.items():
        path = cfg.source_file(mapping.file)
        if not path.is_file():
            raise SourceError(f"{path}: file for table {name} does not exist")
        verify_checksum(path, cfg.source.sha256 if len(cfg.source.tables) == 1 else None)
        raw = _read(con, path, mapping)
        missing = [c for c in mapping.columns if c not in raw.columns]
        if missing:
            raise SourceError(
                f"{path}: mapped column(s) {missing} not in the file; "
                f"expected {list(mapping.columns)}, found {list(raw.columns)}"
            )
        table = raw.select(
            **{canonical: raw[source] for source, canonical in mapping.columns.items()},
            **{column: ibis.literal(value) for column, value in mapping.constants.items()},
        )
        if mapping.date_format:
            table, checks[name] = _parse_dates(
                table, path, mapping.date_format, {v: k for k, v in mapping.columns.items()}
            )
        tables[name] = table
        files[name] = path
        declared[name] = {c: "timestamp" for c in TIMESTAMP_COLUMNS & set(table.columns)}
    return SourceTables(tables, files, declared, checks=checks)
