"""What the 02_clean notebook shows: the row waterfall of the tables that matter most."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt

from customer_analytics import plots
from customer_analytics.clean.engine import load_rules

#: The tables a shop's stakeholders ask about first; other sources show their own.
MAIN_TABLES = ("orders", "order_items")


def waterfall_tables(accounting: dict[str, dict[str, Any]], most: int = 2) -> list[str]:
    """The tables whose waterfall the report shows: orders and order lines where the
    source has them, else its first cleaned tables in rule order (a campaign file has
    only exposures and outcomes)."""
    main = [t for t in MAIN_TABLES if t in accounting]
    if main:
        return main
    return [t for t in load_rules() if t in accounting][:most]


def waterfall_figure(accounting: dict[str, dict[str, Any]]) -> plt.Figure | None:
    """Rows delivered, each rule's quarantine in rule order, rows kept: one panel per
    table of :func:`waterfall_tables`; None when no table was cleaned."""
    shown = waterfall_tables(accounting)
    if not shown:
        return None
    rules = load_rules()
    fig, axes = plt.subplots(1, len(shown), figsize=(6 * len(shown), 4), squeeze=False)
    for ax, table in zip(axes[0], shown, strict=True):
        acc = accounting[table]
        caught = acc["quarantined_by_rule"]
        steps = {r.name: caught.get(r.name, 0) for r in rules.get(table, [])}
        steps.update({k: v for k, v in caught.items() if k not in steps})
        plots.waterfall(ax, acc["input_rows"], {k: v for k, v in steps.items() if v})
        ax.set_title(f"{table}: from delivered to kept rows")
    fig.tight_layout()
    return fig
