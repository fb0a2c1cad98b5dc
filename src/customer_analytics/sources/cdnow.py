"""CDNOW, the CD retailer's transactions used by the BTYD papers, from the copies inside lifetimes.

``CDNOW_sample.txt`` (the 2,357-customer sample of Fader, Hardie & Lee 2005): five
whitespace-separated columns without a header: master id, sample id, date
``YYYYMMDD``, number of CDs, dollar value. ``CDNOW_master.txt`` (23,570 customers): a
header line and four columns: customer id, date, number of CDs, dollar value.
Transactions only: one ``order_items`` line per transaction, order ids made up from
customer, date and position so they are stable.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from customer_analytics.config import Config
from customer_analytics.sources.base import SourceError, SourceTables, verify_checksum

SAMPLE = ["master_id", "sample_id", "date", "cds", "dollars"]
MASTER = ["customer_id", "date", "cds", "dollars"]


def read_cdnow(cfg: Config, con: ibis.BaseBackend) -> SourceTables:
    """Read the CDNOW sample or master file (recognised by its number of columns)."""
    path = cfg.source_path
    verify_checksum(path, cfg.source.sha256)
    first = path.read_text().splitlines()[0].split()
    if len(first) == 5:
        names, header = SAMPLE, False
    elif len(first) == 4:
        names, header = MASTER, not first[1].isdigit()
    else:
        raise SourceError(
            f"{path}: expected 5 (sample) or 4 (master) whitespace-separated columns, found {len(first)}"
        )
    # Columns are padded with runs of spaces: pandas' whitespace splitting reads them as
    # delivered (70,000 lines at most, so no need for the database here).
    frame = pd.read_csv(path, sep=r"\s+", header=0 if header else None, names=names, dtype=str)
    frame["_row"] = range(1 + int(header), len(frame) + 1 + int(header))
    if "master_id" in frame.columns:
        frame["customer_id"] = frame["master_id"]
    raw = ibis.memtable(frame)
    sequence = ibis.row_number().over(group_by=[raw.customer_id, raw.date], order_by=raw._row) + 1
    table = raw.select(
        order_id=raw.customer_id + "-" + raw.date.strip() + "-" + sequence.cast(dt.string),
        customer_id=raw.customer_id,
        order_ts=raw.date.strip().as_timestamp("%Y%m%d"),
        quantity=raw.cds.strip().cast(dt.int64),
        line_amount=raw.dollars.strip().cast(dt.float64),
        _row=raw._row,
    )
    table = table.mutate(unit_price=(table.line_amount / table.quantity.nullif(0)))
    declared = {"quantity": "int", "line_amount": "float", "order_ts": "timestamp"}
    return SourceTables({"order_items": table}, {"order_items": path}, {"order_items": declared})
