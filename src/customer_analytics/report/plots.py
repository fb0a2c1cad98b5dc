"""One house style for every chart, so reports look like one product."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from customer_analytics.i18n import _
from customer_analytics.report import fonts

PALETTE = ["#1f4e79", "#e07b39", "#3a9d8f", "#c44e52", "#8172b2", "#937860", "#da8bc3", "#8c8c8c"]
#: After the palette, for charts with more groups than it has colours (up to 12 clusters).
EXTRA = ["#bcbd22", "#17becf", "#7f3b08", "#4d9221"]


def colours(n: int) -> list:
    """``n`` distinct colours for groups: the house palette, then :data:`EXTRA`, then (for
    more groups than that) evenly spaced hues, never a colour used twice."""
    listed = PALETTE + EXTRA
    return listed[:n] if n <= len(listed) else sns.color_palette("husl", n)


def use_house_style() -> None:
    """Apply the project's chart style (white grid, one palette, readable sizes, Latin and
    Chinese text) and make a character no font has an error.

    Text takes each glyph from the first of :data:`.fonts.CHART_FAMILIES` that has it:
    DejaVu Sans, then Noto Sans CJK SC. From here on, in this process, drawing a character
    neither has raises ``UserWarning`` ("Glyph ... missing from font(s)") as an error
    instead of drawing an empty box (:func:`.fonts.raise_on_missing_glyphs`).
    """
    fonts.register_cjk_font()
    sns.set_theme(
        style="whitegrid", palette=PALETTE, rc={"figure.dpi": 100, "axes.titleweight": "bold"}
    )
    # A list of families, not the generic "sans-serif": matplotlib falls back glyph by
    # glyph along font.family's list, but takes only the first font of a generic family.
    plt.rcParams.update(
        {
            "figure.figsize": (8, 4),
            "axes.titlesize": 12,
            "axes.labelsize": 10,
            "font.family": fonts.CHART_FAMILIES,
        }
    )
    fonts.raise_on_missing_glyphs()


def thousands(ax: plt.Axes, axis: str = "x") -> None:
    """Label an axis with thousands separators."""
    fmt = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def waterfall(
    ax: plt.Axes,
    start: int,
    steps: dict[str, int],
    *,
    start_label: str | None = None,
    end_label: str | None = None,
) -> None:
    """Rows delivered, minus each rule's quarantine in order, down to the rows kept
    (the end bars' labels default to "delivered" and "kept" in the current language)."""
    start_label = start_label or _("delivered")
    end_label = end_label or _("kept")
    labels = [start_label, *steps, end_label]
    level = start
    for i, (label, removed) in enumerate(steps.items(), start=1):
        ax.bar(i, -removed, bottom=level, color=PALETTE[1])
        ax.annotate(f"-{removed:,}", (i, level), ha="center", va="bottom", fontsize=8)
        level -= removed
        del label
    ax.bar(0, start, color=PALETTE[0])
    ax.bar(len(labels) - 1, level, color=PALETTE[2])
    ax.annotate(f"{start:,}", (0, start), ha="center", va="bottom", fontsize=8)
    ax.annotate(f"{level:,}", (len(labels) - 1, level), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    removed_total = start - level
    if 0 < removed_total < start / 4:
        # Zoom in on the steps: with a zero baseline they would be invisible slivers.
        ax.set_ylim(max(0, level - 1.5 * removed_total), start + 0.25 * removed_total)
        ax.set_ylabel(_("rows (axis does not start at zero)"))
    thousands(ax, "y")


def share_bars(ax: plt.Axes, shares: pd.DataFrame, labels: list[str] | None = None) -> None:
    """Side-by-side horizontal bars of shares (0..1) per row, labelled in percent."""
    shares = shares.iloc[::-1]  # first row on top
    height = 0.8 / shares.shape[1]
    for i, column in enumerate(shares.columns):
        positions = [y + (i - (shares.shape[1] - 1) / 2) * height for y in range(len(shares))]
        label = labels[i] if labels else column
        bars = ax.barh(positions, shares[column], height=height, color=PALETTE[i], label=label)
        ax.bar_label(bars, labels=[f"{v:.0%}" for v in shares[column]], fontsize=8, padding=2)
    ax.set_yticks(range(len(shares)), shares.index)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(loc="lower right")
