"""What the 02_clean notebook shows: the rules, the row accounting and its waterfall,
examples of what each rule caught, the fixes, who is in scope, and the findings.

Every function speaks the current report language (:mod:`customer_analytics.i18n`):
the notebook calls each once per language through ``st.show`` and ``st.figure``. A
rule's name and description come from ``rules.yaml`` (its ``zh:`` block in Chinese);
table and column names and quarantined rows are data, shown as delivered (as code or
``translate="no"``).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from pandas.io.formats.style import Styler

from customer_analytics.clean.rule_engine import Rule, load_rules
from customer_analytics.clean.stage import QUARANTINE
from customer_analytics.i18n import N_, _, formats
from customer_analytics.ingest.report import formatted, table_label, table_title
from customer_analytics.report import plots

#: The tables a shop's stakeholders ask about first; other sources show their own.
MAIN_TABLES = ("orders", "order_items")
ACTIONS = {"quarantine": N_("quarantine"), "fix": N_("fix")}
_CODE = re.compile(r"`([^`]+)`")


def _code(value: Any) -> str:
    return f"<code>{html.escape(str(value))}</code>"


def _html_markdown(text: str) -> str:
    """Text with its ``code`` spans as HTML (for table cells)."""
    parts = _CODE.split(text)
    return "".join(_code(p) if i % 2 else html.escape(p) for i, p in enumerate(parts))


def _rule(rules: dict[str, list[Rule]], table: str, name: str) -> Rule | None:
    """The rule ``name`` of ``table``, else of any table (a line carries its order's
    rule), else None."""
    for candidate in [*rules.get(table, []), *(r for rs in rules.values() for r in rs)]:
        if candidate.name == name:
            return candidate
    return None


def rule_label(rules: dict[str, list[Rule]], table: str, name: str) -> str:
    """A rule's name in the current language (its id where the rules do not know it)."""
    rule = _rule(rules, table, name)
    return rule.word("name") if rule is not None else name


def _rule_cell(rules: dict[str, list[Rule]], table: str, name: str) -> str:
    """A rule in a table cell: its name in the reader's words and its id as code."""
    label = rule_label(rules, table, name)
    return _code(name) if label == name else f"{html.escape(label)} {_code(name)}"


def _table_cell(table: str) -> str:
    """A table in a table cell: its name in the reader's words and its id as code."""
    label = table_label(table)
    return _code(table) if label == table else f"{html.escape(label)} {_code(table)}"


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
        labelled = {rule_label(rules, table, k): v for k, v in steps.items() if v}
        plots.waterfall(
            ax, acc["input_rows"], labelled, start_label=_("delivered"), end_label=_("kept")
        )
        if ax.get_ylabel():
            ax.set_ylabel(_("rows (axis does not start at zero)"))
        ax.yaxis.set_major_formatter(formats.axis("number"))
        ax.set_title(_("{table}: from delivered to kept rows").format(table=table_label(table)))
    fig.tight_layout()
    return fig


def rules_table() -> Styler:
    """Every rule of every table in the order it runs, with what it catches."""
    rules = load_rules()
    names = {
        "table": _("table"),
        "order": _("order"),
        "rule": _("rule"),
        "action": _("action"),
        "doc": _("what it catches"),
    }
    rows = [
        {
            names["table"]: table,
            names["order"]: i + 1,
            names["rule"]: _rule_cell(rules, table, r.name),
            names["action"]: _(ACTIONS.get(r.action, r.action)),
            names["doc"]: _html_markdown(r.word("doc")),
        }
        for table, table_rules in rules.items()
        for i, r in enumerate(table_rules)
    ]
    frame = pd.DataFrame(rows).set_index([names["table"], names["order"]])

    def index(value: Any) -> str:
        return _table_cell(value) if isinstance(value, str) else formats.number(value)

    return formatted(frame, {}, index).style


def accounting_text(accounting: dict[str, dict[str, Any]]) -> str:
    """Per table: rows delivered = kept + quarantined, and what each rule set aside (a
    markdown list)."""
    rules = load_rules()
    lines = []
    for table, acc in accounting.items():
        by_rule = _(", ").join(
            _("{rule} {rows}").format(rule=rule_label(rules, table, r), rows=formats.number(n))
            for r, n in acc["quarantined_by_rule"].items()
        ) or _("none")
        lines.append(
            _(
                "{table}: {delivered} delivered = {kept} kept + {quarantined} quarantined "
                "({by_rule})"
            ).format(
                table=table_title(table),
                delivered=formats.number(acc["input_rows"]),
                kept=formats.number(acc["kept_rows"]),
                quarantined=formats.number(acc["quarantined_rows"]),
                by_rule=by_rule,
            )
        )
    return "\n".join(f"- {line}" for line in lines)


def quarantine_examples(
    out_dir: Path, accounting: dict[str, dict[str, Any]], per_rule: int = 3
) -> list[tuple[str, str, int, pd.DataFrame]]:
    """Up to ``per_rule`` quarantined rows per table and rule, as ``(table, rule, rows
    quarantined, examples)``; no personal data, not even its pseudonyms."""
    examples = []
    for table in accounting:
        path = QUARANTINE.at(out_dir, table=table)
        if not path.is_file():
            continue
        rows = pd.read_parquet(path)
        rows = rows[[c for c in rows.columns if not c.endswith("_hash")]]
        for rule, part in rows.groupby("_rule", sort=False):
            examples.append((table, str(rule), len(part), part.head(per_rule)))
    return examples


def example_title(table: str, rule: str, rows: int) -> str:
    """The heading of one rule's examples (markdown)."""
    label = rule_label(load_rules(), table, rule)
    return _("**{table} · {rule}** ({rows} rows)").format(
        table=table_label(table), rule=label, rows=formats.number(rows)
    )


def example_rows(rows: pd.DataFrame) -> Styler:
    """Quarantined rows as delivered: data, not words to translate."""
    return rows.style.set_table_attributes('translate="no"')


def fixes_table(accounting: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Rows each fixing rule changed, per table."""
    return pd.DataFrame(
        [
            {"table": t, "rule": r, "rows fixed": n}
            for t, acc in accounting.items()
            for r, n in acc["fixed_by_rule"].items()
        ]
    )


def fixes_shown(accounting: dict[str, dict[str, Any]]) -> Styler | str:
    """The fixes for a reader (translated headers, rule names), or a sentence when no
    value needed fixing."""
    fixes = fixes_table(accounting)
    if not len(fixes):
        return _("No value needed fixing.")
    rules = load_rules()
    shown = pd.DataFrame(
        {
            _("table"): fixes["table"].map(_table_cell),
            _("rule"): [
                _rule_cell(rules, t, r) for t, r in zip(fixes["table"], fixes["rule"], strict=True)
            ],
            _("rows fixed"): fixes["rows fixed"],
        }
    )
    return formatted(shown, {_("rows fixed"): formats.number}).style.hide(axis="index")


#: The scope figures, in reading order, for the sources that have them.
SCOPE = {
    "customer_accounts_before_identity": N_("customer accounts before merging"),
    "customers_after_identity": N_("customers after merging accounts"),
    "customers_with_orders": N_("customers with orders"),
    "prospects": N_("prospects (registered, never bought)"),
    "guest_orders": N_("guest orders"),
}


def scope_table(found: dict[str, Any]) -> Styler:
    """Who the customer stages see: accounts, merged people, buyers, prospects, guests."""
    counts = {_(label): found[k] for k, label in SCOPE.items() if k in found}
    table = pd.Series(counts, name=_("count"), dtype="int64").to_frame()
    return formatted(table, {_("count"): formats.number}).style


def clean_sentences(found: dict[str, Any]) -> list[str]:
    """Plain-language findings of the clean stage for the run's index page."""
    quarantined = found["quarantined_rows"]
    n = formats.number
    sentences = [
        _(
            "Of {delivered} rows delivered, {quarantined} ({share}) were set aside by named "
            "rules; every table balances (delivered = kept + quarantined)."
        ).format(
            delivered=n(found["input_rows"]),
            quarantined=n(quarantined),
            share=formats.percent(quarantined / max(found["input_rows"], 1), 1),
        )
    ]
    if "customers_after_identity" in found:
        merged = found["customer_accounts_before_identity"] - found["customers_after_identity"]
        sentences.append(
            _(
                "{merged} duplicate accounts were merged into their person's oldest account; "
                "{buyers} customers have orders and {prospects} are prospects who never bought."
            ).format(
                merged=n(merged),
                buyers=n(found.get("customers_with_orders", 0)),
                prospects=n(found.get("prospects", 0)),
            )
        )
    if found.get("guest_orders"):
        sentences.append(
            _(
                "{guests} guest orders without a customer were counted and kept out of the "
                "customer analyses."
            ).format(guests=n(found["guest_orders"]))
        )
    return sentences
