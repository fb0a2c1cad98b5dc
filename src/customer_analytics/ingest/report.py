"""What the 01_ingest notebook shows: what was delivered, each table's profile, what was
pseudonymised, and the findings in plain language."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from customer_analytics.report import plots

#: The profile's columns a reader needs, in reading order.
PROFILE_COLUMNS = [
    "column",
    "declared",
    "nulls",
    "null_share",
    "distinct",
    "distinct_exact",
    "unparseable",
    "min",
    "max",
    "top_values",
]


def delivered_text(found: dict[str, Any]) -> str:
    """Rows per table, the data's end and the run's as_of, one line each."""
    lines = [f"{table:<12} {n:>10,} rows" for table, n in found["rows"].items()]
    lines.append(f"data end (UTC): {found['data_end_utc']}; as of: {found['as_of']}")
    left_out = left_out_text(found)
    if left_out:
        lines.append(left_out)
    return "\n".join(lines)


def left_out_text(found: dict[str, Any]) -> str:
    """The rows the data's end left out (dated after the run's date, or isolated by a long
    gap), in a sentence; empty when there were none."""
    out = found.get("rows_left_out_of_data_end") or {}
    parts = []
    if out.get("after_run_date"):
        parts.append(f"{out['after_run_date']:,} dated after the run's date ({found['run_date']})")
    if out.get("isolated"):
        parts.append(
            f"{out['isolated']:,} dated more than {out['isolated_gap_days']} days after the "
            "rest of the data"
        )
    if not parts:
        return ""
    return (
        f"Rows left out of the data's end: {' and '.join(parts)} (the cleaning sets orders "
        "after the data's end aside as after_data_end)."
    )


def rows_figure(found: dict[str, Any]) -> plt.Figure:
    """Rows delivered per table, on a log scale (tables differ by orders of magnitude)."""
    rows = pd.Series(found["rows"]).sort_values()
    ax = rows.plot.barh(logx=True, title="Rows delivered per table (log scale)")
    ax.set_xlabel("rows")
    plots.thousands(ax)
    return ax.figure


def profile_tables(profile: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The profile as one table per delivered table, a row per column."""
    return {
        table: part[PROFILE_COLUMNS].set_index("column")
        for table, part in profile.groupby("table", sort=False)
    }


def pseudonymised_columns(profile: pd.DataFrame) -> pd.DataFrame | None:
    """The columns that held personal data, with counts only; None when there were none."""
    pii = profile[profile["column"].str.endswith("_hash")]
    if pii.empty:
        return None
    return pii[["table", "column", "rows", "nulls", "distinct"]].set_index(["table", "column"])


def ingest_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the ingest stage for the run's index page."""
    sentences = [
        f"Read {found['tables']} tables with {found['rows_total']:,} rows up to "
        f"{found['data_end_utc'][:10]}; the analysis date (as of) is {found['as_of']}."
    ]
    if left_out_text(found):
        sentences.append(left_out_text(found))
    if found["pseudonymised"]:
        sentences.append(
            "E-mail and phone were replaced by keyed pseudonyms and names dropped before "
            "anything was stored."
        )
    return sentences
