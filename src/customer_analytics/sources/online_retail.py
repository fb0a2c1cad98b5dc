"""UCI Online Retail (Chen, Sain & Guo 2012) and Online Retail II, as users download them.

Both releases, in any of three formats: ``.xlsx`` (Online Retail II has two sheets that
overlap by about a week; both are read, every row kept, and the overlap counted),
``.csv`` (Latin-1, dates like ``12/1/2010 8:26``, month first as the export writes them)
or ``.parquet``. Column names differ between releases (``InvoiceNo / UnitPrice /
CustomerID`` against ``Invoice / Price / Customer ID``); the adapter recognises either.
The export is line-level: one ``order_items`` table carrying the invoice's columns.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from customer_analytics.config import Config
from customer_analytics.sources.base import (
    SourceError,
    SourceTables,
    checks_in_turn,
    parse_checked,
    verify_checksum,
)
from customer_analytics.sources.delimited import read_csv
from customer_analytics.utils.checksums import file_sha256
from customer_analytics.utils.text import strip
from customer_analytics.utils.timestamps import try_strptime

#: canonical column -> the names each release uses for it
COLUMNS = {
    "order_id": ("InvoiceNo", "Invoice"),
    "product_id": ("StockCode",),
    "description": ("Description",),
    "quantity": ("Quantity",),
    "order_ts": ("InvoiceDate",),
    "unit_price": ("UnitPrice", "Price"),
    "customer_id": ("CustomerID", "Customer ID"),
    "country": ("Country",),
}
CSV_DATE_FORMAT = "%m/%d/%Y %H:%M"
TEXT = ("order_id", "product_id", "description", "country")


def match_columns(found: list[str], path: Path) -> dict[str, str]:
    """Canonical name -> the file's column; a clear error when one is missing."""
    mapping, missing = {}, []
    for canonical, names in COLUMNS.items():
        hit = next((n for n in names if n in found), None)
        if hit is None:
            missing.append(" or ".join(names))
        else:
            mapping[canonical] = hit
    if missing:
        raise SourceError(
            f"{path}: not an Online Retail export: missing column(s) {', '.join(missing)}; "
            f"expected {[n[0] for n in COLUMNS.values()]} (or the Online Retail II names), "
            f"found {list(found)}"
        )
    return mapping


def _customer_text(column: ibis.Value) -> ibis.Value:
    """Customer ids as text without a float's ``.0`` (Excel and pandas store 17850.0)."""
    if column.type().is_numeric():
        return column.cast(dt.int64).cast(dt.string)
    return column.cast(dt.string).re_replace(r"\.0$", "")


def _cached_parquet(
    con: ibis.BaseBackend, path: Path, cache_dir: Path, write: Callable[[Path], None]
) -> ibis.Table:
    """``path`` read once by ``write`` into Parquet, cached under the file's SHA-256.

    Written to a temporary name and moved into place, so an interrupted read is never
    taken for a finished one.
    """
    cached = cache_dir / f"{file_sha256(path)}.parquet"
    if not cached.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        write(tmp)
        tmp.replace(cached)
    return con.read_parquet(cached)


def _read_xlsx(con: ibis.BaseBackend, path: Path, cache_dir: Path) -> tuple[ibis.Table, dict]:
    """Every sheet, read once (reading a million Excel rows is slow) and cached."""

    def write(target: Path) -> None:
        sheets = pd.read_excel(
            path, sheet_name=None, dtype={"Invoice": str, "InvoiceNo": str, "StockCode": str}
        )
        frames = [
            frame.assign(_sheet=name, _sheet_row=range(2, len(frame) + 2))
            for name, frame in sheets.items()
        ]
        pd.concat(frames, ignore_index=True).to_parquet(target, index=False)

    table = _cached_parquet(con, path, cache_dir, write)
    return table, _sheet_overlap(table)


def _sheet_overlap(table: ibis.Table) -> dict:
    """How many invoices and lines appear in more than one sheet (Online Retail II's week)."""
    if table._sheet.nunique().execute() < 2:
        return {}
    invoice = "Invoice" if "Invoice" in table.columns else "InvoiceNo"
    per_invoice = table.group_by(invoice).aggregate(
        sheets=table._sheet.nunique(), lines=table.count()
    )
    shared = per_invoice.filter(per_invoice.sheets > 1)
    return {
        "sheets": int(table._sheet.nunique().execute()),
        "invoices_in_two_sheets": int(shared.count().execute()),
        "lines_of_those_invoices": int(shared.lines.sum().execute() or 0),
        "kept": "all rows of every sheet; exact duplicates are left to the cleaning rules",
    }


def _parse_text(
    table: ibis.Table, path: Path, mapping: dict[str, str]
) -> tuple[ibis.Table, Callable[[ibis.Table], None]]:
    """Numbers and dates of a CSV export, and the check that names the column, a value
    and the count of those that do not parse."""
    parsed = {
        # TRY_CAST reads numbers padded with whitespace; strptime does not.
        "quantity": (table.quantity.try_cast(dt.int64), "a number"),
        "unit_price": (table.unit_price.try_cast(dt.float64), "a number"),
        "order_ts": (
            try_strptime(strip(table.order_ts), CSV_DATE_FORMAT),
            f"dates like 12/1/2010 8:26 ({CSV_DATE_FORMAT})",
        ),
    }
    return parse_checked(table, parsed, path, mapping)


def read_online_retail(cfg: Config, con: ibis.BaseBackend) -> SourceTables:
    """Read an Online Retail export (either release, xlsx / csv / parquet)."""
    path = cfg.source_path
    verify_checksum(path, cfg.source.sha256)
    notes: dict = {}
    checks = {}
    lines_check = None
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        raw = con.read_parquet(path)
    elif suffix == ".csv":  # as delivered, text; parsed below while the ingest writes it
        raw, lines_check = read_csv(con, path, encoding="latin-1")
    elif suffix in (".xlsx", ".xls"):
        raw, notes = _read_xlsx(con, path, cfg.cache_dir / "xlsx")
    else:
        raise SourceError(
            f"{path}: unsupported format {suffix!r}; expected .xlsx, .csv or .parquet"
        )
    mapping = match_columns(raw.columns, path)
    keep = [c for c in ("_sheet", "_sheet_row") if c in raw.columns]
    table = raw.select(*keep, **{canonical: raw[name] for canonical, name in mapping.items()})
    if table.quantity.type().is_string():  # CSV: parse to the types the other formats have
        table, values_check = _parse_text(table, path, mapping)
        checks["order_items"] = checks_in_turn(lines_check, values_check)
    table = table.mutate(
        **{c: table[c].cast(dt.string) for c in TEXT},
        order_ts=table.order_ts.cast(dt.timestamp),
        customer_id=_customer_text(table.customer_id),
    )
    if keep:  # the two sheets' rows numbered in sheet order
        table = table.mutate(_row=ibis.row_number().over(order_by=keep) + 1)
    declared = {"quantity": "int", "unit_price": "float", "order_ts": "timestamp"}
    return SourceTables(
        {"order_items": table},
        {"order_items": path},
        {"order_items": declared},
        notes=notes,
        checks=checks,
    )
