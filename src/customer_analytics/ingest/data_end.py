"""The data's end: the latest moment the delivered data covers, and the rows left out of it.

The end decides the run's ``as_of`` (unless ``run.as_of`` is set) and which rows the
cleaning stage sets aside as ``after_data_end``. A source may state it (the synthetic
shop knows its last day); otherwise it is the latest order (else assignment) time
delivered, leaving out rows dated after the run's own date (``run.today``) and rows a
long gap isolates from the rest. Where it is read and the gap are data
(``data_end.yaml``). Timestamps are naive UTC, as everywhere after the ingest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pandas as pd
import yaml

from customer_analytics.utils.dates import day_end
from customer_analytics.utils.timestamps import to_utc

#: Where the end is read and what isolates a row (``data_end.yaml``).
RULE: dict[str, Any] = yaml.safe_load(Path(__file__).with_name("data_end.yaml").read_text())


@dataclass(frozen=True)
class DataEnd:
    """The data's end and what was left out of it.

    Attributes
    ----------
    utc
        The end as naive UTC text (``2011-12-09 12:50:00``), or None when the data
        names no time.
    run_date
        The run's own date that was used (``run.today``).
    after_run_date
        Rows dated after the run's date.
    isolated
        Rows after a gap of more than ``isolated.gap_days`` (``data_end.yaml``).
    """

    utc: str | None
    run_date: dt.date
    after_run_date: int = 0
    isolated: int = 0

    def findings(self) -> dict[str, Any]:
        """The run's date and the rows left out, for the ingest's findings."""
        return {
            "run_date": str(self.run_date),
            "rows_left_out_of_data_end": {
                "after_run_date": self.after_run_date,
                "isolated": self.isolated,
                "isolated_gap_days": RULE["isolated"]["gap_days"],
            },
        }


def run_date_end_utc(run_date: dt.date, zone: str) -> dt.datetime:
    """The first moment after ``run_date`` in ``zone``, as naive UTC."""
    local = day_end(run_date).replace(tzinfo=ZoneInfo(zone))
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def isolated_from(days: pd.DataFrame, gap_days: int, max_share: float) -> int:
    """How many of the last days (sorted) a gap isolates: the position where the tail
    starts, or ``len(days)`` when nothing is isolated.

    ``days`` has one row per dated day, ``_day`` and its rows ``_n``. A tail starts at a
    day more than ``gap_days`` after the previous one when it holds at most
    ``max_share`` of all rows; the earliest such day cuts.
    """
    tail = days["_n"][::-1].cumsum()[::-1]
    gaps = pd.to_datetime(days["_day"]).diff() > pd.Timedelta(days=gap_days)
    starts = (gaps & (tail <= max_share * days["_n"].sum())).to_numpy().nonzero()[0]
    return int(starts[0]) if len(starts) else len(days)


def settle_data_end(
    tables: dict[str, ibis.Table], zone: str, run_date: dt.date, declared: str | None = None
) -> DataEnd:
    """The data's end (:class:`DataEnd`) from the delivered tables.

    Parameters
    ----------
    tables
        The ingest's written tables by name (a CSV is not parsed again); timestamp
        columns hold shop-local times, text columns any accepted format or zone.
    zone
        ``shop.timezone``.
    run_date
        The run's own date (``run.today``): rows dated after its end in ``zone`` are in
        the future.
    declared
        The end the source states (naive UTC text), if it does; it is kept, but never
        later than the run's date.

    Returns
    -------
    DataEnd
        The end and the rows left out of it. When every dated row lies after the run's
        date, the end is the run's date itself, so the cleaning sets them all aside.
    """
    future_utc = run_date_end_utc(run_date, zone)
    last_second = str(pd.Timestamp(future_utc) - pd.Timedelta(seconds=1))
    if declared is not None:
        return DataEnd(min(declared, last_second, key=pd.Timestamp), run_date)
    for spec in RULE["columns"]:
        table = tables.get(spec["table"])
        if table is None or spec["column"] not in table.columns:
            continue
        value = table[spec["column"]]
        local = value.type().is_timestamp()
        # Local times sort as their UTC times do, give or take a daylight-saving hour:
        # only the last day's are converted below. Text is parsed into UTC first.
        stamp = value if local else to_utc(value, zone)[0]
        future = ibis.timestamp(day_end(run_date) if local else future_utc)
        dated = table.select(_stamp=stamp).filter(lambda t: t._stamp.notnull())
        days = (
            dated.group_by(_day=dated._stamp.date(), _future=dated._stamp >= future)
            .aggregate(_n=dated.count(), _latest=dated._stamp.max())
            .execute()
        )
        after = int(days.loc[days["_future"], "_n"].sum())
        present = days[~days["_future"]].sort_values("_day", ignore_index=True)
        if present.empty:
            return DataEnd(last_second if after else None, run_date, after)
        cut = isolated_from(present, RULE["isolated"]["gap_days"], RULE["isolated"]["max_share"])
        isolated = int(present["_n"].iloc[cut:].sum())
        latest = pd.Timestamp(present["_latest"].iloc[:cut].max())
        if local:
            window = table.filter(
                (value >= (latest - pd.Timedelta(days=1)).to_pydatetime())
                & (value <= latest.to_pydatetime())
            )
            parsed, _ = to_utc(window[spec["column"]], zone)
            latest = pd.Timestamp(window.aggregate(latest=parsed.max()).execute()["latest"].iloc[0])
        return DataEnd(str(latest), run_date, after, isolated)
    return DataEnd(None, run_date)
