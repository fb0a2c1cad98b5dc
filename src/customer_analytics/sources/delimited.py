"""CSV files read through DuckDB, with errors that name the file, line and column only.

DuckDB sniffs a CSV's dialect (delimiter, quoting) from its first 20,480 lines and
checks every other line while a query reads it. A line that does not fit, found then,
used to stop the run with DuckDB's message, which quotes the line ("Original Line:
...") with whatever personal data it holds. Here the dialect is sniffed first and then
fixed, and DuckDB sets lines that do not fit aside (``store_rejects``) instead of
failing: the check returned with the table (run once the ingest stage has written it)
fails naming the file, each line's number and column and what was wrong, never the
line's content. The same holds for DuckDB's own errors while sniffing
(:func:`safe_duckdb_message`).

Before that, a file is refused with a message saying what to do when it is an archive
or workbook renamed ``.csv`` (:func:`check_not_binary`), when DuckDB finds no dialect
that splits its first lines into the header's fields (a stray quote, or a line with
more fields than the header: the header then reads as one column), when its header
names a column twice (DuckDB would rename one, and a mapping could pick the wrong
one), and when it has a header but no rows.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import ibis

from customer_analytics.sources.base import SourceError

#: Characters DuckDB considers as delimiters; a one-column header holding one of them
#: means the sniffer found no dialect that fits the first lines.
DELIMITERS = (",", ";", "\t", "|")
#: DuckDB's encoding names -> Python's codec (utf-8 with an optional byte-order mark).
CODECS = {"utf-8": "utf-8-sig", "latin-1": "latin_1", "utf-16": "utf-16"}
#: How many rejected lines an error lists (it counts them all).
LINES_SHOWN = 5
#: Bytes read from a file's start for its header and to tell whether rows follow.
HEAD_BYTES = 1 << 16
#: Lines scanned for the first one that does not fit, when the sniffer found no dialect
#: (a little more than DuckDB's sample of 20,480 lines).
SCAN_LINES = 25_000

#: DuckDB's kinds of rejected line, in words (others are shown as DuckDB names them).
REJECTED = {
    "TOO MANY COLUMNS": "a field too many",
    "MISSING COLUMNS": "fields missing",
    "UNQUOTED VALUE": "a quote that is not closed, or text after a closing quote",
    "LINE SIZE OVER MAXIMUM": "longer than DuckDB's longest line (2 MB)",
    "INVALID UNICODE": "bytes that are not in the file's encoding",
}

_names = itertools.count(1)
#: Leading bytes of formats that are not text, and what to say about each.
_MAGIC = {
    b"PK\x03\x04": "a zip archive",
    b"\x1f\x8b": "a gzip-compressed file",
    b"PAR1": "a Parquet file: name it .parquet",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) workbook: name it .xls",
}


def safe_duckdb_message(err: BaseException) -> str:
    """DuckDB's error without any text it quotes from the file.

    Kept: the first line (the kind of error and, for CSV errors, the line number) and
    "Expected Number of Columns: n Found: m"; dropped: "Original Line: ...", the
    dialect it tried, and everything else that may echo the data.
    """
    text = str(err)
    first = text.splitlines()[0] if text else type(err).__name__
    first = first.split("Original Line", 1)[0].strip()
    counts = re.search(r"Expected Number of Columns: \d+ Found: \d+", text)
    return first + (f" ({counts.group(0)})" if counts else "")


def check_not_binary(path: Path) -> None:
    """Fail, saying what the file is and what to do, when a ``.csv`` is an archive,
    a workbook or another binary format."""
    with path.open("rb") as handle:
        start = handle.read(8)
    for magic, what in _MAGIC.items():
        if not start.startswith(magic):
            continue
        if magic == b"PK\x03\x04":
            with zipfile.ZipFile(path) as archive:
                members = archive.namelist()
            if any(m.startswith("xl/") for m in members):
                what = "an Excel workbook (.xlsx): name it .xlsx, or export the sheet as CSV"
            else:
                csvs = [m for m in members if m.lower().endswith((".csv", ".txt", ".tsv"))]
                inside = f" (it holds {', '.join(csvs[:3])})" if csvs else ""
                what = f"a zip archive{inside}: unzip it and set the table's `file` to the CSV"
        elif magic == b"\x1f\x8b":
            what = (
                "a gzip-compressed file: unpack it (gunzip) and set the table's `file` to the CSV"
            )
        raise SourceError(f"{path}: not a CSV file but {what}")


def _head(path: Path, encoding: str) -> tuple[list[str], bool]:
    """The first lines of the file as text, and whether it is longer than that."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
        more = bool(handle.read(1))
    text = head.decode(CODECS.get(encoding, encoding), errors="replace")
    return text.splitlines(), more


def _sniff(con: ibis.BaseBackend, path: Path, encoding: str) -> dict:
    """DuckDB's sniffed dialect and columns of the file (its ``sniff_csv``)."""
    try:
        cursor = con.con.execute(
            "SELECT * FROM sniff_csv(?, all_varchar=true, header=true, encoding=?)",
            [str(path), encoding],
        )
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchall()[0], strict=True))
    except duckdb.Error as err:
        raise SourceError(f"{path}: cannot read as CSV: {safe_duckdb_message(err)}") from None


def _option(value: str) -> str:
    """A sniffed dialect character as read_csv takes it ("(empty)" is none)."""
    return "" if value == "(empty)" else value


def _first_misfit(path: Path, encoding: str, skip: int, delimiter: str) -> str:
    """Where the first line that does not fit the header is, as text for a message:
    its line number, and whether it has a stray quote or another number of fields."""
    with path.open(encoding=CODECS.get(encoding, encoding), errors="replace", newline="") as f:
        lines = itertools.islice(f, skip, skip + SCAN_LINES)
        reader = csv.reader(lines, delimiter=delimiter, quotechar='"', strict=True)
        width = None
        while True:
            start = skip + reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return ""
            except csv.Error:
                return f'line {start:,} has a stray quote (")'
            if width is None:
                width = len(fields)
            elif fields and len(fields) != width:
                return f"line {start:,} has {len(fields)} fields where the header has {width}"


def _header_names(line: str, dialect: dict) -> list[str]:
    """The header line split as DuckDB splits it, before it renames repeated names."""
    quote, escape = _option(dialect["Quote"]), _option(dialect["Escape"])
    reader = csv.reader(
        io.StringIO(line),
        delimiter=_option(dialect["Delimiter"]) or ",",
        quotechar=quote or None,
        quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE,
        escapechar=None if not escape or escape == quote else escape,
        doublequote=escape == quote,
    )
    return next(reader, [])


def fail_repeated_names(path: Path, names: list[str]) -> None:
    """Fail naming the column names a header repeats, compared ignoring case as DuckDB
    compares them (it would rename the second ``email`` to ``email_1``)."""
    seen: dict[str, list[str]] = {}
    for name in (n for n in names if n.strip()):
        seen.setdefault(name.strip().casefold(), []).append(name)
    repeated = [spelled for spelled in seen.values() if len(spelled) > 1]
    if repeated:
        shown = "; ".join(" and ".join(repr(n) for n in spelled) for spelled in repeated)
        raise SourceError(
            f"{path}: the header names a column more than once ({shown}; names are compared "
            "ignoring case): rename them in the file so that each column has its own name"
        )


def no_rows_error(path: Path) -> SourceError:
    """The error of a file with a header and no rows."""
    return SourceError(
        f"{path}: the file has a header but no rows; export the table again with its rows, "
        "or leave the table out of the config"
    )


def read_csv(
    con: ibis.BaseBackend, path: Path, encoding: str = "utf-8"
) -> tuple[ibis.Table, Callable[[ibis.Table], None]]:
    """A CSV file with a header as text columns, and the check that every line was read.

    Parameters
    ----------
    con
        The DuckDB connection that reads the file (and keeps its rejected lines).
    path
        The CSV file.
    encoding
        ``utf-8``, ``latin-1`` or ``utf-16``.

    Returns
    -------
    tuple
        The table (every column text, as delivered), and a function of the written
        table that fails when DuckDB set lines aside: call it after the table was read
        whole (the ingest stage calls it through :meth:`SourceTables.check`).

    Raises
    ------
    SourceError
        The file is a binary format, its first lines do not split into the header's
        fields, its header repeats a name, or it has a header but no rows; the message
        names the file and what to do, never a line's content.
    """
    check_not_binary(path)
    dialect = _sniff(con, path, encoding)
    columns = [c["name"] for c in dialect["Columns"]]
    skip = int(dialect["SkipRows"] or 0)
    if len(columns) == 1 and any(d in columns[0] for d in DELIMITERS):
        delimiter = max(DELIMITERS, key=columns[0].count)
        where = _first_misfit(path, encoding, skip, delimiter)
        raise SourceError(
            f"{path}: the header reads as a single column: DuckDB found no way to split the "
            f"first lines into the header's fields"
            + (f"; {where}" if where else "")
            + '. Fix that line (quote the whole field, and double a quote inside it: "") '
            "and run again"
        )
    lines, more = _head(path, encoding)
    header = lines[skip] if len(lines) > skip else ""
    names = _header_names(header, dialect) or columns
    fail_repeated_names(path, names)
    if not more and not any(line.strip() for line in lines[skip + 1 :]):
        raise no_rows_error(path)
    n = next(_names)
    rejects, scans = f"_rejected_lines_{n}", f"_rejected_scans_{n}"
    table = con.read_csv(
        path,
        all_varchar=True,
        header=True,
        encoding=encoding,
        delim=_option(dialect["Delimiter"]),
        quote=_option(dialect["Quote"]),
        escape=_option(dialect["Escape"]),
        skip=skip,
        store_rejects=True,
        rejects_table=rejects,
        rejects_scan=scans,
    )

    def check(written: ibis.Table) -> None:
        if not _scanned(con, scans):  # nothing has read the file whole yet
            table.aggregate(n=table.count()).execute()
        fail_rejected(con, path, rejects, len(columns))

    return table, check


def _scanned(con: ibis.BaseBackend, scans: str) -> bool:
    """Whether a query has read the file (DuckDB records each scan in ``scans``)."""
    try:
        return bool(con.con.execute(f"SELECT count(*) FROM {scans}").fetchall()[0][0])
    except duckdb.CatalogException:
        return False


def fail_rejected(con: ibis.BaseBackend, path: Path, rejects: str, width: int) -> None:
    """Fail naming the lines DuckDB set aside into table ``rejects``, if any.

    Each line is named by its number, column and kind of error; the count of fields
    is taken from DuckDB's message, nothing else of it.
    """
    found = con.con.execute(
        f"SELECT line, column_idx, column_name, error_type, error_message FROM {rejects}"
    ).fetchall()
    by_line = {}
    for line, index, name, kind, message in sorted(found, key=lambda r: (r[0], r[1] or 0)):
        by_line.setdefault(line, (index, name, kind, message))
    if not by_line:
        return
    described = []
    for line, (index, name, kind, message) in list(by_line.items())[:LINES_SHOWN]:
        column = f"column {index}" + (f" ({name})" if name else "") if index else "a column"
        counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message or "")
        what = REJECTED.get(str(kind), str(kind).lower())
        if counts:
            what += f" ({counts.group(2)} fields where the header has {counts.group(1)})"
        described.append(f"line {line:,}, {column}: {what}")
    more = len(by_line) - len(described)
    raise SourceError(
        f"{path}: {len(by_line):,} line(s) do not fit the file's {width} columns: "
        + "; ".join(described)
        + (f"; and {more:,} more" if more else "")
        + ". "
        "Fix or remove them and run again (their content is not shown: it may be personal data)"
    )
