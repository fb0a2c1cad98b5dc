"""What the 02_clean notebook shows: the rules, the row accounting and its waterfall,
examples of what each rule caught, the fixes, who is in scope, and the findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from customer_analytics.clean.rule_engine import load_rules
from customer_analytics.clean.stage import QUARANTINE
from customer_analytics.report import plots

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


def rules_table() -> pd.DataFrame:
    """Every rule of every table in the order it runs, with what it catches."""
    rows = [
        {
            "table": r.table,
            "order": i + 1,
            "rule": r.name,
            "action": r.action,
            "what it catches": r.doc,
        }
        for rules in load_rules().values()
        for i, r in enumerate(rules)
    ]
    return pd.DataFrame(rows).set_index(["table", "order"])


def accounting_text(accounting: dict[str, dict[str, Any]]) -> str:
    """Per table: rows delivered = kept + quarantined, and what each rule set aside."""
    lines = []
    for table, acc in accounting.items():
        by_rule = ", ".join(f"{r} {n:,}" for r, n in acc["quarantined_by_rule"].items()) or "none"
        lines.append(
            f"{table:<12} in {acc['input_rows']:>8,} = kept {acc['kept_rows']:>8,} + "
            f"quarantined {acc['quarantined_rows']:>6,} ({by_rule})"
        )
    return "\n".join(lines)


def quarantine_examples(
    out_dir: Path, accounting: dict[str, dict[str, Any]], per_rule: int = 3
) -> list[tuple[str, pd.DataFrame]]:
    """Up to ``per_rule`` quarantined rows per table and rule, each with a title; no
    personal data, not even its pseudonyms."""
    examples = []
    for table in accounting:
        path = QUARANTINE.at(out_dir, table=table)
        if not path.is_file():
            continue
        rows = pd.read_parquet(path)
        rows = rows[[c for c in rows.columns if not c.endswith("_hash")]]
        for rule, part in rows.groupby("_rule", sort=False):
            examples.append((f"**{table} · {rule}** ({len(part):,} rows)", part.head(per_rule)))
    return examples


def fixes_table(accounting: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Rows each fixing rule changed, per table."""
    return pd.DataFrame(
        [
            {"table": t, "rule": r, "rows fixed": n}
            for t, acc in accounting.items()
            for r, n in acc["fixed_by_rule"].items()
        ]
    )


#: The scope figures, in reading order, for the sources that have them.
SCOPE = (
    "customer_accounts_before_identity",
    "customers_after_identity",
    "customers_with_orders",
    "prospects",
    "guest_orders",
)


def scope_table(found: dict[str, Any]) -> pd.DataFrame:
    """Who the customer stages see: accounts, merged people, buyers, prospects, guests."""
    return pd.Series({k: found[k] for k in SCOPE if k in found}, name="count").to_frame()


def clean_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the clean stage for the run's index page."""
    quarantined = found["quarantined_rows"]
    sentences = [
        f"Of {found['input_rows']:,} rows delivered, {quarantined:,} "
        f"({quarantined / max(found['input_rows'], 1):.1%}) were set aside by named rules; "
        "every table balances (delivered = kept + quarantined)."
    ]
    if "customers_after_identity" in found:
        merged = found["customer_accounts_before_identity"] - found["customers_after_identity"]
        sentences.append(
            f"{merged:,} duplicate accounts were merged into their person's oldest account; "
            f"{found.get('customers_with_orders', 0):,} customers have orders and "
            f"{found.get('prospects', 0):,} are prospects who never bought."
        )
    if found.get("guest_orders"):
        sentences.append(
            f"{found['guest_orders']:,} guest orders without a customer were counted and kept "
            "out of the customer analyses."
        )
    return sentences
