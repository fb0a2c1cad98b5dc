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

Tables and the columns they are mapped to must be canonical (``canonical.yaml``; the
config fails otherwise, listing them). Every mapped column must exist in the file (the
error lists what was expected and what was found); values are kept as delivered (text),
except timestamp columns when a ``date_format`` is given, which must all parse (the
error names the column, an example and the count). ``constants`` sets canonical columns
the file lacks to one text value on every row (a log of a single experiment has no
``experiment_id`` column); ``extra_columns`` keeps a column that is not canonical under
a name of its own, when the config states that it is not personal. The cleaning stage
types and checks the rest.

A file is read only when every line of it can be: a CSV line that does not fit the
header, a header naming a column twice, a header without rows, an archive renamed
``.csv`` or a sheet the workbook lacks each stop the run naming the file and what to do
(:mod:`.delimited`), never quoting a line's content.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import ibis
import pandas as pd

from customer_analytics.config import CANONICAL, Config, FileMapping
from customer_analytics.sources.base import (
    SourceError,
    SourceTables,
    checks_in_turn,
    parse_checked,
    verify_checksum,
)
from customer_analytics.sources.delimited import (
    check_not_binary,
    fail_repeated_names,
    no_rows_error,
    read_csv,
    safe_duckdb_message,
)
from customer_analytics.utils.text import strip
from customer_analytics.utils.timestamps import try_strptime


def timestamp_columns(table: str) -> set[str]:
    """The canonical timestamp columns of ``table`` (``canonical.yaml``)."""
    return {c for c, kind in CANONICAL[table].items() if kind == "timestamp"}


def _read(
    con: ibis.BaseBackend, path: Path, mapping: FileMapping
) -> tuple[ibis.Table, Callable[[ibis.Table], None] | None]:
    """The file as a table, and for a CSV the check that every line of it was read."""
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: the file is empty")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(con, path), None
    if suffix in (".xlsx", ".xls"):
        return ibis.memtable(_read_excel(path, mapping.sheet)), None
    if suffix in (".csv", ".txt", ".tsv"):
        check_not_binary(path)
        try:
            # Decode strictly first: DuckDB would replace bad bytes instead of failing.
            path.read_bytes().decode(mapping.encoding.replace("latin-1", "latin_1"))
        except UnicodeDecodeError as err:
            raise SourceError(
                f"{path}: not readable as {mapping.encoding} (byte {err.start}: {err.reason}); "
                f"set the table's `encoding` (utf-8, latin-1 or utf-16)"
            ) from None
        try:
            return read_csv(con, path, encoding=mapping.encoding)
        except duckdb.Error as err:
            raise SourceError(f"{path}: cannot read as CSV: {safe_duckdb_message(err)}") from None
    raise SourceError(f"{path}: unsupported format {suffix!r}; expected .csv, .parquet or .xlsx")


def _read_parquet(con: ibis.BaseBackend, path: Path) -> ibis.Table:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path)
    fail_repeated_names(path, meta.schema_arrow.names)
    if meta.metadata.num_rows == 0:
        raise no_rows_error(path)
    return con.read_parquet(path)


def _read_excel(path: Path, sheet: str | None) -> pd.DataFrame:
    """A sheet as text (the first when ``sheet`` is None); a missing sheet is named with
    the sheets the workbook has."""
    book = pd.ExcelFile(path)
    if sheet is not None and sheet not in book.sheet_names:
        raise SourceError(
            f"{path}: the workbook has no sheet {sheet!r}; its sheets are {book.sheet_names}: "
            "set the table's `sheet` to one of them"
        )
    name = book.sheet_names[0] if sheet is None else sheet
    header = book.parse(name, header=None, nrows=1, dtype=str)
    fail_repeated_names(path, [str(v) for v in header.iloc[0].dropna()] if len(header) else [])
    frame = book.parse(name, dtype=str)
    if frame.empty:
        raise no_rows_error(path)
    return frame


def parse_dates(
    table: ibis.Table, columns: set[str], path: Path, fmt: str, names: dict[str, str]
) -> tuple[ibis.Table, Callable[[ibis.Table], None]]:
    """``columns`` of ``table`` parsed with the strptime format ``fmt``, and the check that
    every value that is not blank parsed (:func:`~.base.parse_checked`; ``names`` gives
    each column's name in the file)."""
    expected = f"in the date format {fmt!r}"
    parsed = {
        column: (try_strptime(strip(table[column].cast("string")), fmt), expected)
        for column in sorted(columns & set(table.columns))
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
        raw, lines_check = _read(con, path, mapping)
        expected = [*mapping.columns, *mapping.extra_columns]
        missing = [c for c in expected if c not in raw.columns]
        if missing:
            raise SourceError(
                f"{path}: mapped column(s) {missing} not in the file; "
                f"expected {expected}, found {list(raw.columns)}"
            )
        table = raw.select(
            **{canonical: raw[source] for source, canonical in mapping.columns.items()},
            **{column: ibis.literal(value) for column, value in mapping.constants.items()},
            **{extra.name: raw[source] for source, extra in mapping.extra_columns.items()},
        )
        dates_check = None
        if mapping.date_format:
            table, dates_check = parse_dates(
                table,
                timestamp_columns(name),
                path,
                mapping.date_format,
                {v: k for k, v in mapping.columns.items()},
            )
        if check := checks_in_turn(lines_check, dates_check):
            checks[name] = check
        tables[name] = table
        files[name] = path
        declared[name] = {c: "timestamp" for c in timestamp_columns(name) & set(table.columns)}
    return SourceTables(tables, files, declared, checks=checks)
