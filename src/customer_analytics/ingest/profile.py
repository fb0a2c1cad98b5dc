"""Profiles of tables as delivered: rows, columns, types, nulls, ranges and top values.

Computed in the database (Ibis on DuckDB), one aggregate query per table. Columns that
held personal data show counts only, never values.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

_CAST = {"int": dt.int64, "float": dt.float64, "timestamp": dt.timestamp}
#: Distinct values are counted exactly up to here; beyond, DuckDB's HyperLogLog estimate
#: is reported, as its SUMMARIZE does, never above the column's non-null values. Exact
#: counts of id columns (hundreds of thousands of customers, millions of orders) were
#: most of a large profile's time; a hundred thousand keeps every count a reader checks
#: against published figures exact (Online Retail's 25,900 invoices, 4,372 customers).
EXACT_DISTINCT_UP_TO = 100_000


def _as_declared(column: ibis.Value, declared: str | None) -> ibis.Value:
    """The column in its declared type, for ranges; values that do not parse become null."""
    if declared in _CAST and column.type().is_string():
        return column.try_cast(_CAST[declared])
    return column


def profile_table(
    table: ibis.Table,
    declared: dict[str, str] | None = None,
    pii: set[str] | frozenset[str] = frozenset(),
    top: int = 3,
) -> pd.DataFrame:
    """One row per column: type, nulls, distinct values, range and most common values.

    Distinct values are exact up to :data:`EXACT_DISTINCT_UP_TO` (``distinct_exact``);
    above, they are an estimate.

    Parameters
    ----------
    table
        The table to profile; a ``_row`` bookkeeping column is skipped.
    declared
        Column -> declared type (int, float, timestamp, string). Text columns declared
        as numbers or timestamps get their range from the values that parse, and the
        number that do not is reported as ``unparseable``.
    pii
        Columns whose values must never be shown (e-mail and phone hashes included).
    top
        How many most common values to list for non-PII text columns (declared as text,
        or not declared).
    """
    declared = declared or {}
    columns = [c for c in table.columns if c != "_row"]
    # A table of at most EXACT_DISTINCT_UP_TO rows is counted exactly in one pass; a
    # larger one estimates first, then counts exactly the columns found small enough.
    # (The profiled tables are Parquet files, whose row count is read from the footer.)
    small = int(table.count().execute()) <= EXACT_DISTINCT_UP_TO
    metrics = {"_rows": table.count()}
    for c in columns:
        col = table[c]
        typed = _as_declared(col, declared.get(c))
        metrics[f"{c}__nulls"] = col.isnull().sum()
        metrics[f"{c}__distinct"] = col.nunique() if small else col.approx_nunique()
        if typed is not col:
            metrics[f"{c}__bad"] = (col.notnull() & typed.isnull()).sum()
        if c not in pii and (typed.type().is_numeric() or typed.type().is_temporal()):
            metrics[f"{c}__min"] = typed.min()
            metrics[f"{c}__max"] = typed.max()
    row = table.aggregate(**metrics).execute().iloc[0]
    exact = [c for c in columns if row[f"{c}__distinct"] <= EXACT_DISTINCT_UP_TO]
    if exact and not small:
        counted = table.aggregate(**{c: table[c].nunique() for c in exact}).execute().iloc[0]
        for c in exact:
            row[f"{c}__distinct"] = counted[c]
    n = int(row["_rows"])
    records = []
    for c in columns:
        is_pii = c in pii
        record = {
            "column": c,
            "type": str(table[c].type()),
            "declared": declared.get(c, ""),
            "rows": n,
            "nulls": int(row[f"{c}__nulls"]),
            "null_share": round(float(row[f"{c}__nulls"]) / n, 4) if n else 0.0,
            "distinct": min(int(row[f"{c}__distinct"]), n - int(row[f"{c}__nulls"])),
            "distinct_exact": c in exact,
            "unparseable": int(row.get(f"{c}__bad", 0) or 0),
            "min": None if is_pii else _plain(row.get(f"{c}__min")),
            "max": None if is_pii else _plain(row.get(f"{c}__max")),
            "top_values": "(personal data: counts only)" if is_pii else "",
        }
        # Most common values of text only: for numbers and timestamps the range says more,
        # and each list is a scan of the whole table.
        text = declared.get(c, "string") == "string"
        if not is_pii and text and table[c].type().is_string() and record["distinct"] <= 50_000:
            # Ties in the value's order, so that every run lists the same values.
            counts = (
                table[c].value_counts().order_by([ibis.desc(f"{c}_count"), c]).limit(top).execute()
            )
            record["top_values"] = ", ".join(
                f"{v} ({k:,})" for v, k in zip(counts[c], counts[f"{c}_count"], strict=True)
            )
        records.append(record)
    return pd.DataFrame.from_records(records)


def _plain(value: object) -> object:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return None
    # Ranges of numbers and timestamps share one column: keep them as text.
    return str(value)
