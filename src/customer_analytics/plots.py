"""One house style for every chart, so reports look like one product."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import seaborn as sns

PALETTE = ["#1f4e79", "#e07b39", "#3a9d8f", "#c44e52", "#8172b2", "#937860", "#da8bc3", "#8c8c8c"]


def use_house_style() -> None:
    """Apply the project's chart style (white grid, one palette, readable sizes)."""
    sns.set_theme(
        style="whitegrid", palette=PALETTE, rc={"figure.dpi": 100, "axes.titleweight": "bold"}
    )
    plt.rcParams.update({"figure.figsize": (8, 4), "axes.titlesize": 12, "axes.labelsize": 10})


def thousands(ax: plt.Axes, axis: str = "x") -> None:
    """Label an axis with thousands separators."""
    fmt = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)
