"""Alert rules as data (``alerts.yaml``, or a shop's own file through ``monitor.alerts``)
and their evaluation on what changed between two runs.

A rule watches a *series*: a table of rows ``subject, before, after`` (optionally
``base``, how much data stands behind the row, and ``noise``, the standard error of
``after - before``), which :mod:`.since` builds for each part of the comparison
(:data:`SERIES`). A rule of kind ``findings`` watches numbers of the two runs' findings
instead, at a path such as ``10_monitor/week/kpis``: a later stage's new figures (per
channel KPIs, attribution shares) are watched by adding a rule, not code. Each row a
rule's measure puts beyond its threshold, and that passes its guards, is an alert
``{rule, subject, before, after}``.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from customer_analytics import i18n

ALERTS_FILE = Path(__file__).with_name("alerts.yaml")
#: The series :mod:`.since` builds, each a table of ``subject, before, after`` rows.
SERIES = {
    "kpi_weeks": "each KPI's mean of the last complete weeks outside festival seasons",
    "kpi_month": "each KPI in each run's latest complete month",
    "segment_share": "each RFM segment's share of the run's customers",
    "persona_share": "each matched persona's share of the run's clustered customers",
    "persona_changed": "the share of customers in both runs whose persona changed",
    "clv_params": "each fitted CLV parameter (the same model in both runs)",
    "verdicts": "each experiment's verdict",
}
MEASURES = ("relative_change", "absolute_change", "value", "changed")


@dataclass(frozen=True)
class AlertRule:
    """One rule: what it watches, how it measures a row and beyond what it alerts.

    Attributes
    ----------
    name : str
        The rule's name, as alerts carry it.
    watch : str
        A series of :data:`SERIES`, or ``findings`` (with ``path``).
    measure : str
        ``relative_change`` ((after - before) / |before|), ``absolute_change``
        (after - before; shares in points as fractions: 0.02 is 2 points), ``value``
        (after) or ``changed`` (after differs from before; no threshold).
    beyond : float
        The alert fires when the measure's size is above it.
    direction : str
        ``both``, ``up`` (only rises) or ``down`` (only falls).
    subjects, exclude : tuple of str
        Shell-style patterns of the subjects watched (all by default) and left out.
    min_base : float
        Rows whose ``base`` (else ``|before|``) is below it are not judged: a change
        of a small number says little.
    min_z : float
        Rows whose change is under ``min_z`` times its ``noise`` are not judged
        (rows without a noise estimate are).
    path : str
        For ``watch: findings``: ``<stage>/<key>/...`` in both runs' findings.
    about : str
        Why the rule is there and why its threshold.
    words : dict
        The rule's ``name`` and ``about`` in each other report language
        (``{"zh": {"name": "KPI 变动"}}``); English pages show the name itself.
    """

    name: str
    watch: str
    measure: Literal["relative_change", "absolute_change", "value", "changed"]
    beyond: float = 0.0
    direction: Literal["both", "up", "down"] = "both"
    subjects: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    min_base: float = 0.0
    min_z: float = 0.0
    path: str = ""
    about: str = ""
    words: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, hash=False)

    def word(self, key: str = "name") -> str:
        """The rule's ``name`` (underscores as spaces) or ``about`` in the current language."""
        entry = {"name": self.name.replace("_", " "), "about": self.about, **self.words}
        return i18n.word(entry, key, what=f"alerts: {self.name} {key}")

    def __post_init__(self) -> None:
        if self.watch not in SERIES and self.watch != "findings":
            raise ValueError(
                f"alert rule {self.name!r}: unknown series {self.watch!r}; "
                f"known: {[*SERIES, 'findings']}"
            )
        if self.measure not in MEASURES:
            raise ValueError(
                f"alert rule {self.name!r}: unknown measure {self.measure!r}; known: {list(MEASURES)}"
            )
        if self.watch == "findings" and not self.path:
            raise ValueError(f"alert rule {self.name!r} watches findings: it needs a path")

    def watches(self, subject: str) -> bool:
        """Whether ``subject`` is one the rule watches."""
        text = str(subject)
        return any(fnmatch.fnmatchcase(text, p) for p in self.subjects) and not any(
            fnmatch.fnmatchcase(text, p) for p in self.exclude
        )


def load_rules(path: Path | None = None) -> list[AlertRule]:
    """The rules of ``path`` (default: the package's ``alerts.yaml``).

    Raises
    ------
    ValueError
        A rule with an unknown series or measure or key, naming the rule and the file.
    """
    file = path or ALERTS_FILE
    spec = yaml.safe_load(file.read_text()) or {}
    rules = []
    for raw in spec.get("rules", []):
        raw = dict(raw)
        raw["words"] = {lang: raw.pop(lang) for lang in i18n.LANGUAGES if lang in raw}
        for key in ("subjects", "exclude"):
            if key in raw:
                raw[key] = tuple([raw[key]] if isinstance(raw[key], str) else raw[key])
        try:
            rules.append(AlertRule(**raw))
        except TypeError as error:
            raise ValueError(f"{file}: alert rule {raw.get('name')!r}: {error}") from None
        except ValueError as error:
            raise ValueError(f"{file}: {error}") from None
    return rules


def findings_series(path: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> pd.DataFrame:
    """The numbers at ``path`` (``stage/key/...``) of two runs' findings, as a series: a
    number is one row (its subject the path's last key), a mapping one row per key that
    holds a number in either run."""
    then, now = _at(before, path), _at(after, path)
    if isinstance(then, Mapping) or isinstance(now, Mapping):
        then = then if isinstance(then, Mapping) else {}
        now = now if isinstance(now, Mapping) else {}
        keys = [
            k for k in dict.fromkeys([*now, *then]) if _number(now.get(k)) or _number(then.get(k))
        ]
        rows = [(str(k), then.get(k), now.get(k)) for k in keys]
    else:
        rows = [(path.rsplit("/", 1)[-1], then, now)] if _number(then) or _number(now) else []
    return pd.DataFrame(rows, columns=["subject", "before", "after"])


def _at(tree: Any, path: str) -> Any:
    for key in path.strip("/").split("/"):
        if not isinstance(tree, Mapping) or key not in tree:
            return None
        tree = tree[key]
    return tree


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def measure(rule: AlertRule, before: Any, after: Any) -> float | bool | None:
    """The rule's measure of one row; None when it cannot be taken (a missing number,
    a relative change from 0)."""
    if rule.measure == "changed":
        return _plain(before) != _plain(after)
    if rule.measure == "value":
        return float(after) if _number(after) else None
    if not (_number(before) and _number(after)):
        return None
    if rule.measure == "absolute_change":
        return float(after) - float(before)
    return (float(after) - float(before)) / abs(before) if before else None


def _fires(rule: AlertRule, size: float | bool | None, row: Mapping[str, Any]) -> bool:
    if size is None:
        return False
    if rule.measure == "changed":
        return bool(size)
    if rule.direction == "up" and size <= 0 or rule.direction == "down" and size >= 0:
        return False
    if abs(size) <= rule.beyond:
        return False
    base = row.get("base")
    base = base if _number(base) else (abs(row["before"]) if _number(row["before"]) else None)
    if rule.min_base and (base is None or base < rule.min_base):
        return False
    noise = row.get("noise")
    change = (
        row["after"] - row["before"] if _number(row["after"]) and _number(row["before"]) else None
    )
    if rule.min_z and _number(noise) and noise > 0 and change is not None:
        return abs(change) >= rule.min_z * noise
    return True


def evaluate(
    rules: list[AlertRule],
    series: Mapping[str, pd.DataFrame],
    findings_before: Mapping[str, Any] | None = None,
    findings_after: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The alerts: every row a rule's measure puts beyond its threshold.

    Parameters
    ----------
    rules : list of AlertRule
        From :func:`load_rules`.
    series : mapping of str to pandas.DataFrame
        The comparison's series by name (:data:`SERIES`); a series the comparison could
        not build is absent, and its rules are silent.
    findings_before, findings_after : mapping, optional
        Both runs' findings by stage, for rules that watch ``findings``.

    Returns
    -------
    list of dict
        ``{rule, subject, before, after}`` in the rules' order.
    """
    alerts = []
    for rule in rules:
        if rule.watch == "findings":
            table = findings_series(rule.path, findings_before or {}, findings_after or {})
        else:
            table = series.get(rule.watch)
        if table is None or table.empty:
            continue
        for row in table.to_dict("records"):
            if not rule.watches(row["subject"]):
                continue
            if _fires(rule, measure(rule, row["before"], row["after"]), row):
                alerts.append(
                    {
                        "rule": rule.name,
                        "subject": str(row["subject"]),
                        "before": _plain(row["before"]),
                        "after": _plain(row["after"]),
                    }
                )
    return alerts


def _plain(value: Any) -> Any:
    """A value as JSON holds it: numpy scalars as Python numbers, NaN and NA as None."""
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    return value
