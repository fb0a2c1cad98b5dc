"""What the 01_ingest notebook shows: what was delivered, each table's profile, what was
pseudonymised, and the findings in plain language.

Every function speaks the current report language (:mod:`customer_analytics.i18n`):
the notebook calls each once per language through ``st.show`` and ``st.figure``. Table
and column names, and the data's own values, are ids: they stay as delivered, marked as
code (or ``translate="no"``).
"""

from __future__ import annotations

import html
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from pandas.io.formats.style import Styler

from customer_analytics.i18n import N_, _, formats, ngettext

#: The profile's columns a reader needs, in reading order, with their headers.
PROFILE_COLUMNS = {
    "column": N_("column"),
    "declared": N_("declared type"),
    "nulls": N_("missing"),
    "null_share": N_("share missing"),
    "distinct": N_("distinct values"),
    "distinct_exact": N_("counted exactly"),
    "unparseable": N_("unparseable"),
    "min": N_("lowest"),
    "max": N_("highest"),
    "top_values": N_("most common values (rows)"),
}
#: The types a source declares for its columns (``source.tables.<t>.columns``).
TYPES = {
    "int": N_("whole number"),
    "float": N_("number"),
    "timestamp": N_("timestamp"),
    "string": N_("text"),
}
#: What the canonical tables hold, in a reader's words.
TABLES = {
    "customers": N_("customer accounts"),
    "orders": N_("orders"),
    "order_items": N_("order lines"),
    "products": N_("products"),
    "events": N_("site events"),
    "feedback": N_("feedback"),
    "exposures": N_("experiment exposures"),
    "outcomes": N_("experiment outcomes"),
    "messages": N_("marketing messages"),
    "spend": N_("marketing spend"),
}
#: The kinds of personal data masked in free text (privacy.yaml), in a reader's words.
MASKED_KINDS = {
    "e-mail address": N_("e-mail addresses"),
    "ID number": N_("ID numbers"),
    "phone number": N_("phone numbers"),
    "name": N_("the customer's own name"),
}
#: What ingest/profile.py writes in place of a personal column's values.
PERSONAL = N_("(personal data: counts only)")


def table_label(table: str) -> str:
    """A table's name in the current language, for chart labels (its id if unknown)."""
    return _(TABLES[table]) if table in TABLES else table


def table_title(table: str) -> str:
    """A table in markdown: its name in the reader's words and its id as code."""
    if table not in TABLES:
        return f"`{table}`"
    return _("{label} ({table})").format(label=_(TABLES[table]), table=f"`{table}`")


def _code(value: Any) -> str:
    return f"<code>{html.escape(str(value))}</code>"


def delivered_text(found: dict[str, Any]) -> str:
    """Rows per table, the data's end and the run's as_of (a markdown list)."""
    lines = [
        _("{table}: {rows} rows").format(table=table_title(t), rows=formats.number(n))
        for t, n in found["rows"].items()
    ]
    end = found["data_end_utc"] or ""
    lines.append(
        _("data end: {date} {time} UTC; as of: {as_of}").format(
            date=formats.date(end[:10] or None), time=end[11:19], as_of=formats.date(found["as_of"])
        )
    )
    left_out = left_out_text(found)
    if left_out:
        lines.append(left_out)
    return "\n".join(f"- {line}" for line in lines)


def left_out_text(found: dict[str, Any]) -> str:
    """The rows the data's end left out (dated after the run's date, or isolated by a long
    gap), in a sentence; empty when there were none."""
    out = found.get("rows_left_out_of_data_end") or {}
    after, isolated = out.get("after_run_date"), out.get("isolated")
    values = {
        "after": formats.number(after),
        "run_date": formats.date(found.get("run_date")),
        "isolated": formats.number(isolated),
        "gap": formats.number(out.get("isolated_gap_days")),
    }
    if after and isolated:
        sentence = _(
            "Rows left out of the data's end: {after} dated after the run's date ({run_date}) "
            "and {isolated} dated more than {gap} days after the rest of the data (the "
            "cleaning sets orders after the data's end aside)."
        )
    elif after:
        sentence = _(
            "Rows left out of the data's end: {after} dated after the run's date ({run_date}) "
            "(the cleaning sets orders after the data's end aside)."
        )
    elif isolated:
        sentence = _(
            "Rows left out of the data's end: {isolated} dated more than {gap} days after the "
            "rest of the data (the cleaning sets orders after the data's end aside)."
        )
    else:
        return ""
    return sentence.format(**values)


def rows_figure(found: dict[str, Any]) -> plt.Figure:
    """Rows delivered per table, on a log scale (tables differ by orders of magnitude)."""
    rows = pd.Series(found["rows"]).sort_values()
    ax = rows.rename(index=table_label).plot.barh(
        logx=True, title=_("Rows delivered per table (log scale)")
    )
    ax.set_xlabel(_("rows"))
    ax.xaxis.set_major_formatter(formats.axis("number"))
    return ax.figure


def profile_tables(profile: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The profile as one table per delivered table, a row per column (raw values)."""
    return {
        table: part[list(PROFILE_COLUMNS)].set_index("column")
        for table, part in profile.groupby("table", sort=False)
    }


def formatted(
    frame: pd.DataFrame, columns: dict[str, Any], index: Any | None = None
) -> pd.DataFrame:
    """``frame`` with ``columns`` (name -> function) and, given ``index``, each index
    label (of every level) formatted now, as text or HTML: a Styler's own formatters run
    when the page is drawn, outside the report language the table was made in."""
    shown = frame.copy()
    for column, function in columns.items():
        shown[column] = shown[column].map(function).astype(object)
    if index is not None:
        if isinstance(shown.index, pd.MultiIndex):
            shown.index = pd.MultiIndex.from_tuples(
                [tuple(index(v) for v in label) for label in shown.index],
                names=shown.index.names,
            )
        else:
            shown.index = pd.Index([index(v) for v in shown.index], name=shown.index.name)
    return shown


def profile_table(part: pd.DataFrame) -> Styler:
    """One table's profile (a frame of :func:`profile_tables`) for a reader: translated
    headers, counts and shares in the locale's format, yes/no, type names in words; the
    columns' names and the data's values as delivered, as code."""
    names = {c: _(label) for c, label in PROFILE_COLUMNS.items()}
    shown = part.rename(columns=names).rename_axis(index=names["column"])

    def typed(value: Any) -> str:
        return _(TYPES[value]) if value in TYPES else (_code(value) if value else formats.MISSING)

    def ranged(value: Any) -> str:
        return formats.MISSING if value is None or pd.isna(value) else _code(value)

    def top(value: Any) -> str:
        if value == PERSONAL:
            return html.escape(_(PERSONAL))
        return _code(value) if value else formats.MISSING

    columns = {
        names["declared"]: typed,
        names["nulls"]: formats.number,
        names["null_share"]: lambda v: formats.percent(v, 1),
        names["distinct"]: formats.number,
        names["distinct_exact"]: lambda v: _("yes") if v else _("no"),
        names["unparseable"]: formats.number,
        names["min"]: ranged,
        names["max"]: ranged,
        names["top_values"]: top,
    }
    return formatted(shown, columns, _code).style


def table_heading(table: str) -> str:
    """A delivered table's heading (markdown)."""
    return f"### {table_title(table)}"


def pseudonymised_columns(profile: pd.DataFrame) -> pd.DataFrame | None:
    """The columns that held personal data, with counts only; None when there were none."""
    pii = profile[profile["column"].str.endswith("_hash")]
    if pii.empty:
        return None
    return pii[["table", "column", "rows", "nulls", "distinct"]].set_index(["table", "column"])


def privacy_note(profile: pd.DataFrame) -> str:
    """What was done to personal data, in a sentence (markdown)."""
    if pseudonymised_columns(profile) is None:
        return _("The source has no personal data columns.")
    return _("Pseudonymised columns (keyed HMAC-SHA256 of the normalised value; counts only):")


def privacy_table(profile: pd.DataFrame) -> Styler | str:
    """The pseudonymised columns with their counts; empty when there were none."""
    pii = pseudonymised_columns(profile)
    if pii is None:
        return ""
    names = {"rows": _("rows"), "nulls": _("missing"), "distinct": _("distinct values")}
    shown = pii.rename(columns=names).rename_axis(index=[_("table"), _("column")])
    return formatted(shown, dict.fromkeys(names.values(), formats.number), _code).style


def ingest_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the ingest stage for the run's index page."""
    sentences = [
        ngettext(
            "Read {tables} table with {rows} rows up to {end}; the analysis date (as of) "
            "is {as_of}.",
            "Read {tables} tables with {rows} rows up to {end}; the analysis date (as of) "
            "is {as_of}.",
            found["tables"],
        ).format(
            tables=formats.number(found["tables"]),
            rows=formats.number(found["rows_total"]),
            end=formats.date((found["data_end_utc"] or "")[:10] or None),
            as_of=formats.date(found["as_of"]),
        )
    ]
    if left_out_text(found):
        sentences.append(left_out_text(found))
    if masked_text(found):
        sentences.append(masked_text(found))
    if found["pseudonymised"]:
        sentences.append(
            _(
                "E-mail and phone were replaced by keyed pseudonyms and names dropped before "
                "anything was stored."
            )
        )
    return sentences


def masked_text(found: dict[str, Any]) -> str:
    """How many items of personal data were masked in free text, per kind, in a
    sentence; empty when none was (counts only: no value is ever shown)."""
    counts: dict[str, int] = {}
    for kinds in found.get("text_masked", {}).values():
        for kind, n in kinds.items():
            counts[kind] = counts.get(kind, 0) + int(n)
    total = sum(counts.values())
    if not total:
        return ""
    parts = _(", ").join(
        f"{_(MASKED_KINDS[k]) if k in MASKED_KINDS else k} {formats.number(n)}"
        for k, n in counts.items()
        if n
    )
    return ngettext(
        "{count} item of personal data written into free text (a review's) was replaced "
        "by a placeholder before anything was stored: {kinds}.",
        "{count} items of personal data written into free text (reviews) were replaced "
        "by placeholders before anything was stored: {kinds}.",
        total,
    ).format(count=formats.number(total), kinds=parts)
