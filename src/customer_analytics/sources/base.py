"""What every source adapter returns and how it reports a file it cannot read.

An adapter returns :class:`SourceTables`: per canonical table an Ibis table with the
columns as delivered (renamed to canonical names), in the file's row order. Every later
quarantine points back at the original row by ``_row``, the 1-based row of the input
file. An adapter adds ``_row`` itself only where a row's number is not its place in the
table (rows gathered from two Excel sheets, a count that includes a header line); for
the others the ingest stage writes the rows in order and reads the number back from the
Parquet file (:func:`customer_analytics.ingest.stage.read_ingested`): numbering rows while a
CSV is read keeps DuckDB from reading it in parallel, and ten million lines took twice
as long.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import ibis

from customer_analytics.utils.checksums import file_sha256
from customer_analytics.utils.text import is_blank


@dataclass
class SourceTables:
    """What a source delivered.

    Attributes
    ----------
    tables
        Canonical table name -> Ibis table (as delivered, in the file's order; with
        ``_row`` where the adapter numbers rows itself).
    files
        Canonical table name -> the file it came from.
    declared
        Canonical table name -> {column: declared type}, for the profile.
    data_end
        The last moment the export covers (UTC, naive), when the source knows it.
    checks
        Canonical table name -> the check of its parsed columns (:func:`parse_checked`),
        run by :meth:`check`.
    """

    tables: dict[str, ibis.Table]
    files: dict[str, Path]
    declared: dict[str, dict[str, str]] = field(default_factory=dict)
    data_end: str | None = None
    notes: dict = field(default_factory=dict)
    checks: dict[str, Callable[[ibis.Table], None]] = field(default_factory=dict)

    def check(self, name: str, written: ibis.Table | None = None) -> None:
        """Fail when table ``name`` has values its adapter could not parse.

        ``written`` is the table as the ingest stage wrote it, which the check reads
        instead of parsing the file again; without it the table itself is checked.
        """
        if name in self.checks:
            self.checks[name](self.tables[name] if written is None else written)


class SourceError(ValueError):
    """A source file that cannot be read as its kind; the message names file and column."""


def parse_checked(
    table: ibis.Table, parsed: dict[str, tuple[ibis.Value, str]], path: Path, names: dict[str, str]
) -> tuple[ibis.Table, Callable[[ibis.Table], None]]:
    """Text columns replaced by their parsed values, and the check that they all parsed.

    ``parsed`` maps a column to (its parsed value, what a good value looks like);
    ``names`` gives each column's name in the file, for the message. The values are
    parsed while the table is written, and the check reads the written copy: a CSV is
    parsed once, not once to check and again to write (an Online Retail II-sized CSV:
    about 0.9 s less). A parsed value is null where the text was blank or did not
    parse; only when some are null does the check read the text again
    (:func:`fail_unparsed`) to tell the two apart: blanks are left to the cleaning rules.
    """

    def check(written: ibis.Table) -> None:
        nulls = written.aggregate(**{c: written[c].isnull().sum() for c in parsed}).execute()
        if any(int(n or 0) for n in nulls.iloc[0]):
            fail_unparsed(table, parsed, path, names)

    return table.mutate(**{column: value for column, (value, _) in parsed.items()}), check


def fail_unparsed(
    table: ibis.Table, parsed: dict[str, tuple[ibis.Value, str]], path: Path, names: dict[str, str]
) -> None:
    """Fail naming column, count and an example when a non-blank value did not parse."""
    failing = {}
    for column, (value, _) in parsed.items():
        failing[column] = ~is_blank(table[column].cast("string")) & value.isnull()
    # One pass over the file for every column's count.
    counts = table.aggregate(**{c: bad.sum() for c, bad in failing.items()}).execute()
    for column, (_, expected) in parsed.items():
        count = int(counts[column].iloc[0] or 0)
        if count:
            bad = table.filter(failing[column])
            example = bad.select(column).limit(1).execute().iloc[0, 0]
            raise SourceError(
                f"{path}: column {names[column]!r} has {count:,} value(s) that are not {expected}, "
                f"for example {example!r}"
            )


def checks_in_turn(
    *checks: Callable[[ibis.Table], None] | None,
) -> Callable[[ibis.Table], None] | None:
    """One check running ``checks`` in the order given (None where there is none).

    A file's lines are checked before its values: a line with a field too many would
    otherwise show as a value that does not parse.
    """
    present = [c for c in checks if c is not None]
    if len(present) < 2:
        return present[0] if present else None

    def check(written: ibis.Table) -> None:
        for each in present:
            each(written)

    return check


def verify_checksum(path: Path, expected: str | None) -> None:
    """Fail when ``expected`` (the config's ``source.sha256``) does not match the file."""
    if expected is None:
        return

    found = file_sha256(path)
    if found != expected:
        raise SourceError(
            f"{path}: sha256 is {found}, but the config expects {expected} (source.sha256)"
        )
