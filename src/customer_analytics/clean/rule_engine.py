"""The rule engine: apply an ordered list of rules to a table, as one Ibis expression.

Each rule adds to two bookkeeping columns: ``_rule`` (the first rule that quarantined
the row, null while the row is kept) and, for fixes, ``_fixed_<rule>`` (the rule changed
a value of a row that no earlier rule had quarantined). The first matching rule wins,
so the order in ``rules.yaml`` is part of the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ibis
import yaml

from customer_analytics import i18n
from customer_analytics.config import CleanSettings

LANGS = set(i18n.LANGUAGES)

RULES_FILE = Path(__file__).with_name("rules.yaml")


@dataclass(frozen=True)
class Rule:
    """One named, documented rule of one table."""

    name: str
    table: str
    action: Literal["quarantine", "fix"]
    doc: str
    params: dict[str, Any] = field(default_factory=dict)
    #: The words of each other report language (``{"zh": {"name": ..., "doc": ...}}``).
    words: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, hash=False)

    def word(self, key: str) -> str:
        """The rule's ``name`` or ``doc`` in the current language (the English name is the
        rule's id, which quarantine records)."""
        entry = {"name": self.name, "doc": self.doc, **self.words}
        return i18n.word(entry, key, what=f"rules.yaml: {self.table}.{self.name} {key}")


@dataclass(frozen=True)
class Outcome:
    """What a rule function returns.

    Attributes
    ----------
    table
        The table after the rule (a fix changes columns; a quarantine rule returns it as is).
    hit
        Boolean: the row fails the rule (is quarantined by it). Or a string column
        naming the rule to record (null where the row passes), for rules that pass on
        another rule's name (lines of a quarantined order).
    fixed
        Boolean: the rule changed a value of the row (fixes only).
    detail
        Text kept beside the rule name in quarantine (the original order a
        cancellation matched, the value that did not parse).
    """

    table: ibis.Table
    hit: ibis.Value | None = None
    fixed: ibis.Value | None = None
    detail: ibis.Value | None = None


RuleFunction = Callable[[ibis.Table, Rule, "CleanContext"], Outcome]


def load_rules(path: Path = RULES_FILE) -> dict[str, list[Rule]]:
    """The ordered rules per table, from YAML (a rule's block per report language,
    ``zh: {name: ..., doc: ...}``, gives the words its pages show)."""
    tree = yaml.safe_load(path.read_text())
    rules = {}
    for table, items in tree.items():
        rules[table] = [
            Rule(
                name=item["name"],
                table=table,
                action=item["action"],
                doc=item["doc"],
                params={
                    k: v for k, v in item.items() if k not in {"name", "action", "doc", *LANGS}
                },
                words={lang: item[lang] for lang in LANGS if lang in item},
            )
            for item in items
        ]
    return rules


@dataclass
class CleanContext:
    """What rules may look at besides their own table.

    Attributes
    ----------
    data_end
        The export's last moment, UTC (naive timestamp literal).
    timezone
        The shop's time zone, for timestamps delivered in local time.
    settings
        The config's ``clean`` section.
    reference
        Reference tables by name (cities, countries, test e-mail domains).
    done
        Tables already cleaned, by name: ``{"kept": ..., "quarantine": ...}``.
    experiments
        The configured experiments by name (``ExperimentSpec``: arms, metrics), for the
        exposure and outcome rules.
    shown
        Per experiment id, what each arm shows (``source.campaign.shown.arms``), for
        the rule ``exposure_arm_mismatch``.
    checkpoint
        Materialises a table and returns it read back (the stage writes Parquet). A rule
        that reads its table more than once calls it first, so the rules before it are
        computed once instead of once per read (:meth:`materialised`).
    delivered
        The table being cleaned, as delivered: a rule that looks rows up in its own
        table reads them here, where the rules before it need not be computed.
    """

    data_end: Any
    timezone: str
    settings: CleanSettings
    reference: dict[str, ibis.Table]
    done: dict[str, dict[str, ibis.Table]] = field(default_factory=dict)
    experiments: dict[str, Any] = field(default_factory=dict)
    shown: dict[str, dict[str, str]] = field(default_factory=dict)
    artifacts: dict[str, Any] = field(default_factory=dict)
    checkpoint: Callable[[ibis.Table], ibis.Table] | None = None
    delivered: ibis.Table | None = None

    def materialised(self, table: ibis.Table) -> ibis.Table:
        """``table`` computed once (through ``checkpoint``), or as it is without one."""
        return table if self.checkpoint is None else self.checkpoint(table)

    def as_delivered(self, table: ibis.Table) -> ibis.Table:
        """The table as delivered (``delivered``), or ``table`` itself without one."""
        return table if self.delivered is None else self.delivered


def apply_rules(
    table: ibis.Table, rules: list[Rule], ctx: CleanContext, functions: dict[str, RuleFunction]
) -> ibis.Table:
    """Add ``_rule`` and ``_fixed_<rule>`` columns by applying ``rules`` in order."""
    out = table.mutate(_rule=ibis.null().cast("string"), _detail=ibis.null().cast("string"))
    for rule in rules:
        if rule.name not in functions:
            raise KeyError(
                f"rules.yaml names rule {rule.name!r} for {rule.table} but clean/rules.py has no such function"
            )
        result = functions[rule.name](out, rule, ctx)
        out = result.table
        hit = result.hit
        if hit is not None and result.detail is not None:
            # A column of its own: used twice below, the expression would be compiled
            # (and computed) twice, in the rule and in the detail.
            out = out.mutate(_hit=hit)
            hit = out._hit
        # One projection per rule: the bookkeeping below reads the columns as the rule
        # left them, so the updates need no order among themselves, and fewer nested
        # projections compile faster.
        updates = {}
        if result.fixed is not None:
            updates[f"_fixed_{rule.name}"] = out._rule.isnull() & result.fixed.fill_null(False)
        if hit is not None:
            name = (
                hit
                if hit.type().is_string()
                else ibis.ifelse(hit.fill_null(False), rule.name, ibis.null().cast("string"))
            )
            if result.detail is not None:
                first = out._rule.isnull() & name.notnull()
                updates["_detail"] = ibis.ifelse(first, result.detail, out._detail)
            # Without a detail of its own, a first hit leaves _detail null as it was.
            updates["_rule"] = out._rule.fill_null(name)
        if updates:
            out = out.mutate(**updates)
    # Rules' working columns (_first, _target, ...) go: the marked table is materialised,
    # and every column kept costs its write.
    bookkeeping = {"_row", "_rule", "_detail"}
    working = [c for c in out.columns if c.startswith("_") and c not in bookkeeping]
    return out.drop(*[c for c in working if not c.startswith("_fixed_")])
