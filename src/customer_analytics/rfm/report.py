"""What the 03_rfm notebook shows: findings in plain language, how the scores were
computed, the segment rules, segment sizes and value, and movement since the snapshot.

Every function speaks the current report language (:mod:`customer_analytics.i18n`):
the notebook calls each once per language through ``st.show`` and ``st.figure``.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from pandas.io.formats.style import Styler

from customer_analytics.i18n import N_, _, formats
from customer_analytics.privacy import suppress_small_groups
from customer_analytics.report import plots
from customer_analytics.rfm.segments import SegmentScheme, segment_grid

DIMENSIONS = {"recency": N_("recency"), "frequency": N_("frequency"), "monetary": N_("monetary")}
METHODS = {"quantile": N_("quantiles"), "fixed": N_("fixed cut points")}


def rfm_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the RFM stage for the run's index page."""
    segments = found["segments"]

    def part(*names: str) -> tuple[int, float]:
        rows = [segments[n] for n in names if n in segments]
        return sum(r["customers"] for r in rows), sum(r["revenue_share"] for r in rows)

    buyers = found["customers"]
    champions, champions_value = part("Champions")
    risk, risk_value = part("At Risk", "Can't Lose Them")
    sleeping, _sleeping_value = part("Hibernating", "Lost")
    n = formats.number
    return [
        _(
            "{champions} Champions ({share} of {buyers} buyers) bring {value} of net revenue."
        ).format(
            champions=n(champions),
            share=formats.percent(champions / max(buyers, 1), 0),
            buyers=n(buyers),
            value=formats.percent(champions_value, 0),
        ),
        _(
            "{customers} customers who brought {value} of net revenue are At Risk or Can't Lose "
            "Them: they bought often or spent much, but not recently."
        ).format(customers=n(risk), value=formats.percent(risk_value, 0)),
        _(
            "{sleeping} customers are Hibernating or Lost; {moved} buyers changed segment "
            "since {snapshot}."
        ).format(
            sleeping=n(sleeping),
            moved=n(found["moved_segment"]),
            snapshot=formats.date(found["snapshot"]),
        ),
    ]


def key_figures_text(found: dict[str, Any]) -> str:
    """The dates, how many buyers were scored and how each dimension was scored (a
    markdown list)."""
    methods = _(", ").join(
        f"{_(DIMENSIONS.get(d, d))} {_(METHODS.get(m, m))}"
        for d, m in found["scoring_methods"].items()
    )
    lines = [
        _("as of {as_of} (snapshot for movement: {snapshot})").format(
            as_of=formats.date(found["as_of"]), snapshot=formats.date(found["snapshot"])
        ),
        _("buyers scored: {buyers}; repeat buyers: {repeat}; prospects: {prospects}").format(
            buyers=formats.number(found["customers"]),
            repeat=formats.number(found["repeat_customers"]),
            prospects=formats.number(found["prospects"]),
        ),
        _("scoring method per dimension: {methods}").format(methods=methods),
    ]
    return "\n".join(f"- {line}" for line in lines)


def scoring_table(scoring: pd.DataFrame) -> pd.DataFrame:
    """Each score's value range and customers, a column group per dimension."""
    table = scoring.pivot(index="score", columns="dimension", values=["min", "max", "customers"])
    table = table.swaplevel(axis=1).sort_index(axis=1)
    names = {"min": _("lowest"), "max": _("highest"), "customers": _("customers")}
    names |= {d: _(label) for d, label in DIMENSIONS.items()}
    return table.rename(columns=names).rename_axis(index=_("score"), columns=[None, None])


def segment_grid_table(scheme: SegmentScheme) -> pd.DataFrame:
    """The segment of every (R, FM) cell, best recency on top."""
    grid = segment_grid(scheme).drop_duplicates(["r", "fm"])
    grid = grid.pivot(index="r", columns="fm", values="segment").map(scheme.label)
    return grid.sort_index(ascending=False).rename_axis(index=_("R score"), columns=_("FM score"))


def segments_table(segments: pd.DataFrame, scheme: SegmentScheme, min_group: int) -> Styler:
    """Customers and net revenue per segment, with their shares; segments smaller than
    the privacy minimum suppressed."""
    shown = segments.assign(segment=segments["segment"].map(scheme.label))
    shown = suppress_small_groups(shown, "customers", min_group, label_column="segment")
    names = {
        "segment": _("segment"),
        "customers": _("customers"),
        "share_customers": _("share of customers"),
        "revenue": _("net revenue"),
        "share_revenue": _("share of revenue"),
    }
    shown = shown[[c for c in names if c in shown.columns]].rename(columns=names)
    share, whole = (lambda v: formats.percent(v, 1)), formats.number
    style = {names["share_customers"]: share, names["share_revenue"]: share}
    style |= {names["revenue"]: whole, names["customers"]: whole}
    return shown.style.format(style, na_rep="").hide(axis="index")


def segment_shares_figure(segments: pd.DataFrame, scheme: SegmentScheme) -> plt.Figure:
    """Share of buyers and of net revenue per segment (prospects have neither)."""
    buyers = segments[segments["segment"] != scheme.prospects]
    shares = buyers.set_index("segment")[["share_customers", "share_revenue"]]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    plots.share_bars(
        ax, shares.rename(index=scheme.label), labels=[_("customers"), _("net revenue")]
    )
    ax.set_title(_("Share of customers and of revenue per segment"))
    return fig


def movement_figure(
    movement: pd.DataFrame, found: dict[str, Any], scheme: SegmentScheme
) -> plt.Figure:
    """Customers by segment at the snapshot (rows) and at as_of (columns)."""
    fig, ax = plt.subplots(figsize=(10, 7))
    shown = movement.rename(index=scheme.label, columns=scheme.label)
    labels = shown.map(formats.number)
    sns.heatmap(shown, annot=labels, fmt="", cmap="Blues", cbar=False, ax=ax)
    ax.set_xlabel(_("segment on {date}").format(date=formats.date(found["as_of"])))
    ax.set_ylabel(_("segment on {date}").format(date=formats.date(found["snapshot"])))
    ax.set_title(_("Who moved where"))
    return fig
