"""KPIs per week and per month from the clean tables, as ``kpis.yaml`` defines them,
with the festival weeks marked and unusual weeks flagged by a robust rule.

The rule (:func:`flag_anomalies`) is the modified z-score of Iglewicz & Hoaglin (1993,
*How to Detect and Handle Outliers*, ASQC): a week's value against the median of the
``window`` complete weeks before it, scaled by their median absolute deviation,
``z = 0.6745 (x - median) / MAD``, flagged beyond ``threshold`` (3.5, their advice).
Festival weeks (those overlapping ``monitor.festival_lead_days`` before a festival of
``shop.festivals`` up to the day) are left out of the reference weeks and are marked, not
flagged: a festival's spike is expected, and it must not make the weeks after it look
low.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as idt
import numpy as np
import pandas as pd
import yaml

from customer_analytics import i18n

KPIS_FILE = Path(__file__).with_name("kpis.yaml")
#: The time column of each table a measure may count.
TIME = {"orders": "order_ts_utc", "purchases": "order_ts_utc", "events": "event_ts",
        "messages": "sent_ts_utc", "spend": "week"}  # fmt: skip
Grain = Literal["week", "month"]
UNIT = {"week": "W", "month": "M"}
#: The Ibis aggregate behind each way a measure counts.
AGGREGATE = {"count": "count", "sum": "sum", "distinct": "nunique"}


@dataclass(frozen=True)
class Kpi:
    """One KPI: ``numerator`` over ``denominator`` (measures), or the numerator alone."""

    name: str
    label: str
    numerator: str
    direction: Literal["up", "down"]
    format: Literal["money", "count", "percent"]
    denominator: str | None = None
    by: str | None = None  # one series per value of this column (its measures' ``by``)
    #: The words of each other report language (``{"zh": {"label": "净收入"}}``).
    words: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, hash=False)

    def word(self, key: str = "label") -> str:
        """The KPI's ``label`` in the current report language (English without a block)."""
        entry = {"label": self.label, **self.words}
        return i18n.word(entry, key, what=f"kpis: {self.name} {key}")

    @property
    def measures(self) -> tuple[str, ...]:
        return (self.numerator,) if self.denominator is None else (self.numerator, self.denominator)


def load_kpis(path: Path | None = None) -> tuple[dict[str, dict[str, Any]], list[Kpi]]:
    """The measures and KPIs of ``path`` (default: the package's ``kpis.yaml``); a KPI
    may hold a block per other report language (``zh: {label: 净收入}``)."""
    spec = yaml.safe_load((path or KPIS_FILE).read_text())
    defined = []
    for entry in spec["kpis"]:
        words = {lang: entry[lang] for lang in i18n.LANGUAGES if lang in entry}
        plain = {k: v for k, v in entry.items() if k not in i18n.LANGUAGES}
        defined.append(Kpi(**plain, words=words))
    return spec["measures"], defined


def purchases_and_orders(orders: ibis.Table) -> dict[str, ibis.Table]:
    """Orders (returns count negative in revenue) and purchases (no returns), each with
    ``_first`` (the customer's first purchase time) for the ``first`` / ``repeat`` rows."""
    purchases = orders.filter(~orders.is_return) if "is_return" in orders.columns else orders
    first = purchases.group_by("customer_id").aggregate(_first=purchases.order_ts_utc.min())
    return {
        "orders": orders,
        "purchases": purchases.left_join(first, "customer_id").select(purchases, "_first"),
    }


def measure_series(
    tables: dict[str, ibis.Table], measures: dict[str, dict[str, Any]], grain: Grain
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Each measure per period (rows: the period's first day), and the measures that
    could not be counted, with why. Measures of the same rows (table, ``where``, ``by``)
    are counted in one query."""
    groups: dict[str, dict[str, Any]] = {}
    missing = {}
    for name, spec in measures.items():
        table = tables.get(spec["table"])
        how, column = next((k, spec[k]) for k in ("count", "sum", "distinct") if k in spec)
        if table is None:
            missing[name] = f"no {spec['table']} table"
            continue
        if column not in table.columns:
            missing[name] = f"the {spec['table']} table has no {column} column"
            continue
        key = repr((spec["table"], spec.get("where"), spec.get("by")))
        group = groups.setdefault(
            key, {"spec": spec, "rows": _where(table, spec.get("where")), "values": {}}
        )
        group["values"][name] = getattr(group["rows"][column], AGGREGATE[how])()
    series = {}
    for group in groups.values():
        rows, spec, by = group["rows"], group["spec"], group["spec"].get("by")
        period = rows[TIME[spec["table"]]].cast(idt.timestamp).truncate(UNIT[grain]).date()
        keys = {"period": period} | ({"group": rows[by]} if by else {})
        found = rows.group_by(**keys).aggregate(**group["values"]).execute()
        for name in group["values"]:
            if by is None:
                series[name] = found.set_index("period")[name].astype(float)
                continue
            for value, part in found.groupby("group"):
                series[f"{name}:{value}"] = part.set_index("period")[name].astype(float)
    frame = pd.DataFrame(series).sort_index()
    frame.index = pd.to_datetime(frame.index)
    return frame.fillna(0.0), missing


def _where(table: ibis.Table, where: Any) -> ibis.Table:
    if where is None:
        return table
    if where == "first":
        return table.filter(table.order_ts_utc == table._first)
    if where == "repeat":
        return table.filter(table.order_ts_utc > table._first)
    return table.filter(*[table[c] == v for c, v in where.items()])


def complete(frame: pd.DataFrame, grain: Grain, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The periods wholly between ``start`` and ``end`` (a partial first or last period
    would read as a drop)."""
    begins = frame.index
    ends = begins + (pd.DateOffset(weeks=1) if grain == "week" else pd.DateOffset(months=1))
    keep = (begins >= pd.Timestamp(start)) & (ends <= pd.Timestamp(end) + pd.Timedelta(days=1))
    return frame[keep]


def kpi_series(measures: pd.DataFrame, kpis: list[Kpi]) -> pd.DataFrame:
    """Each KPI per period that has its measures (columns: the KPIs' names)."""
    out = {}
    for kpi in kpis:
        groups = [""]
        if kpi.by is not None:
            prefix = f"{kpi.numerator}:"
            groups = [f":{c[len(prefix) :]}" for c in measures.columns if c.startswith(prefix)]
        for g in groups:
            numerator, denominator = kpi.numerator + g, kpi.denominator and kpi.denominator + g
            if numerator not in measures or (denominator and denominator not in measures):
                continue
            value = measures[numerator]
            if denominator:
                value = value / measures[denominator].where(measures[denominator] > 0)
            out[kpi.name + g] = value
    return pd.DataFrame(out, index=measures.index)


def not_computed(kpis: list[Kpi], missing: dict[str, str]) -> dict[str, str]:
    """The KPIs that need a measure the source lacks, and why."""
    return {
        k.name: "; ".join(dict.fromkeys(missing[m] for m in k.measures if m in missing))
        for k in kpis
        if any(m in missing for m in k.measures)
    }


def festival_periods(
    periods: pd.DatetimeIndex, festivals: tuple[str, ...], grain: Grain, lead_days: int = 14
) -> np.ndarray:
    """True for the periods that overlap a festival's season: from ``lead_days`` before
    the festival day (``MM-DD``, any year; presales and the buying before it) to the
    day itself."""
    step = pd.DateOffset(weeks=1) if grain == "week" else pd.DateOffset(months=1)
    days = [tuple(int(x) for x in day.split("-")) for day in festivals]
    lead = pd.Timedelta(days=lead_days)

    def overlaps(begin: pd.Timestamp) -> bool:
        for month, mday in days:
            for year in (begin.year - 1, begin.year, begin.year + 1):
                day = pd.Timestamp(year=year, month=month, day=mday)
                if begin <= day and day - lead < begin + step:
                    return True
        return False

    return np.array([overlaps(begin) for begin in periods], dtype=bool)


def flag_anomalies(
    series: pd.Series, festival: np.ndarray, window: int = 8, threshold: float = 3.5
) -> pd.DataFrame:
    """Per period: the value, the reference median and MAD of the ``window`` earlier
    non-festival periods, the modified z-score, and whether it is flagged (module notes).
    Periods with fewer than ``window`` reference periods, or a MAD of 0, are not judged."""
    values = series.to_numpy(dtype=float)
    rows = []
    for i, value in enumerate(values):
        earlier = [j for j in range(i) if not festival[j] and np.isfinite(values[j])][-window:]
        median = mad = z = np.nan
        if len(earlier) == window and np.isfinite(value):
            reference = values[earlier]
            median = float(np.median(reference))
            mad = float(np.median(np.abs(reference - median)))
            z = 0.6745 * (value - median) / mad if mad > 0 else np.nan
        rows.append({"period": series.index[i], "value": value, "median": median, "mad": mad,
                     "z": z, "festival": bool(festival[i]),
                     "anomaly": bool(np.isfinite(z) and abs(z) > threshold and not festival[i])})  # fmt: skip
    return pd.DataFrame(rows)
