"""What changed since the earlier run: both runs' outputs read, compared part by part
(:mod:`.compare`) and judged by the alert rules (:mod:`.alerts`).

A part is compared only when both runs ran the stages it needs and wrote what it reads;
otherwise ``not_compared`` says, per part, what is missing and in which run. Nothing
here raises for a missing or partial run: the comparison says what it could not do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from customer_analytics.clustering import stage as clustering
from customer_analytics.clv import stage as clv
from customer_analytics.experiments import stage as experiments
from customer_analytics.i18n import N_
from customer_analytics.monitor import alerts, compare, words
from customer_analytics.personas import stage as personas
from customer_analytics.pipeline.outputs import EarlierRun, stage_findings
from customer_analytics.rfm import stage as rfm

MONITOR = "10_monitor"
#: The columns of each table the stage writes, empty when its part was not compared.
TABLE_COLUMNS = {
    "kpis": ["subject", "before", "after", "noise", "weeks", "before_last", "after_last",
             "change", "base"],
    "migration": ["before"],
    "personas": ["subject", "before_cluster", "after_cluster", "before_name", "after_name",
                 "distance", "before", "after", "gained_tags", "lost_tags", "noise", "base"],
}  # fmt: skip


class Missing(words.Reason):
    """A part of the comparison lacks what it needs; the message (an id of the monitor's
    catalogue, with its fields) says what and where."""


@dataclass
class Comparison:
    """The comparison of this run with an earlier one.

    Attributes
    ----------
    findings : dict
        The ``since`` findings: the earlier run, each part's headline figures, and
        ``not_compared`` (part -> why).
    series : dict of str to pandas.DataFrame
        What the alert rules watch (:data:`.alerts.SERIES`).
    tables : dict of str to pandas.DataFrame
        The tables the notebook shows, of the parts compared: ``kpis``, ``migration``
        (customers per segment then, a row, and now, a column), ``personas``.
    """

    findings: dict[str, Any]
    series: dict[str, pd.DataFrame] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: Why each part not compared was not, in every report language.
    reasons: dict[str, Missing] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        """Table ``name`` as the stage writes it: flat, and empty (with its columns)
        when its part was not compared."""
        if name not in self.tables:
            return pd.DataFrame(columns=TABLE_COLUMNS[name])
        table = self.tables[name]
        return table.reset_index() if name == "migration" else table


def compare_runs(
    earlier: EarlierRun,
    inputs: Mapping[str, Path],
    now: Mapping[str, pd.DataFrame],
    then: Mapping[str, pd.DataFrame],
    weeks: int = 4,
) -> Comparison:
    """Compare this run with ``earlier``, part by part.

    Parameters
    ----------
    earlier : EarlierRun
        The run compared with; one with a ``problem`` gives a comparison holding only
        that problem.
    inputs : mapping of str to Path
        This run's stage output folders.
    now, then : mapping of str to pandas.DataFrame
        Stage 10's ``week`` and ``month`` KPI tables of this run and of the earlier one
        (absent when it wrote none).
    weeks : int
        Complete weeks averaged per KPI (``monitor.compare_weeks``).

    Returns
    -------
    Comparison
    """
    found: dict[str, Any] = {
        "run_id": earlier.run_id,
        "as_of": earlier.as_of,
        "findings_sha256": earlier.findings_sha256,
    }
    if earlier.problem:
        return Comparison(words.since_words({**found, "problem": earlier.problem}, {}))
    result = Comparison({**found, "not_compared": {}})
    parts: dict[str, Callable[[], None]] = {
        "kpis": lambda: _kpis(result, earlier, now, then, weeks),
        "segments": lambda: _segments(result, earlier, inputs),
        "personas": lambda: _personas(result, earlier, inputs),
        "clv": lambda: _clv(result, earlier, inputs),
        "verdicts": lambda: _verdicts(result, earlier, inputs),
    }
    for part, build in parts.items():
        try:
            build()
        except Missing as why:
            result.findings["not_compared"][part] = str(why)
            result.reasons[part] = why
    result.findings = words.since_words(result.findings, result.reasons)
    return result


def _need(stage: str, earlier: EarlierRun, inputs: Mapping[str, Path] | None = None) -> None:
    """Raise :class:`Missing` unless both runs have ``stage``'s outputs."""
    if inputs is not None and stage not in inputs:
        raise Missing(N_("this run did not run {stage}"), stage=stage)
    if earlier.lacks(stage):  # the runner's reasons, in every report language
        if stage in earlier.findings:
            raise Missing(N_("run {run}'s outputs of {stage} are missing"),
                          run=earlier.run_id, stage=stage)  # fmt: skip
        raise Missing(N_("run {run} did not run {stage}"), run=earlier.run_id, stage=stage)


def _kpis(
    result: Comparison,
    earlier: EarlierRun,
    now: Mapping[str, pd.DataFrame],
    then: Mapping[str, pd.DataFrame],
    weeks: int,
) -> None:
    _need(MONITOR, earlier)
    if "week" not in then:
        raise Missing(
            N_("run {run} has no weekly KPIs of {stage}"), run=earlier.run_id, stage=MONITOR
        )
    before = compare.window_means(then["week"], weeks)
    after = compare.window_means(now["week"], weeks)
    table = compare.kpi_changes(before, after)
    if table.empty:
        raise Missing(N_("the two runs have no KPI in common"))
    result.series["kpi_weeks"] = table
    result.tables["kpis"] = table
    changes = {r.subject: _round(r.change) for r in table.itertuples()}
    result.findings["kpis"] = {
        "weeks": weeks,
        "before_last_week": str(pd.Timestamp(table["before_last"].max()).date()),
        "after_last_week": str(pd.Timestamp(table["after_last"].max()).date()),
        "change": changes,
    }
    if "month" in then and "month" in now:
        month = compare.month_changes(then["month"], now["month"])
        result.series["kpi_month"] = month
        if len(month):
            result.findings["kpis"]["months"] = [
                str(pd.Timestamp(month["before_month"].max()).date()),
                str(pd.Timestamp(month["after_month"].max()).date()),
            ]
            result.findings["kpis"]["month_change"] = {
                r.subject: _round(r.change) for r in month.itertuples()
            }


def _segments(result: Comparison, earlier: EarlierRun, inputs: Mapping[str, Path]) -> None:
    stage = rfm.OUTPUTS.stage
    _need(stage, earlier, inputs)
    read = [pd.read_parquet(rfm.CUSTOMERS_RFM.path(i), columns=["customer_id", "segment"])
            for i in (earlier.inputs, inputs)]  # fmt: skip
    before, after = (r.set_index("customer_id")["segment"] for r in read)
    order = list(after.cat.categories) if isinstance(after.dtype, pd.CategoricalDtype) else None
    matrix = compare.migration_matrix(before, after, order)
    result.tables["migration"] = matrix
    result.series["segment_share"] = compare.share_changes(before, after)
    customers = int(matrix.to_numpy().sum())
    stayed = int(sum(matrix.at[s, s] for s in matrix.index if s in matrix.columns))
    result.findings["segments"] = {
        "customers_in_both": customers,
        "moved": customers - stayed,
        "moved_share": _round(1 - stayed / customers) if customers else None,
        "new_customers": int(len(after.index.difference(before.index))),
    }


def _personas(result: Comparison, earlier: EarlierRun, inputs: Mapping[str, Path]) -> None:
    for stage in (clustering.OUTPUTS.stage, personas.OUTPUTS.stage):
        _need(stage, earlier, inputs)
    runs = (earlier.inputs, inputs)
    columns = [set(stage_findings(i[clustering.OUTPUTS.stage])["features"]) for i in runs]
    shared = sorted(columns[0] & columns[1])
    if not shared:
        raise Missing(N_("the two runs' clusterings share no feature"))
    features = [pd.read_parquet(clustering.FEATURES.path(i)).set_index("customer_id") for i in runs]
    labels = [
        pd.read_parquet(clustering.CLUSTERS.path(i), columns=["customer_id", "cluster"]).set_index(
            "customer_id"
        )["cluster"]
        for i in runs
    ]
    cards = [
        {int(c["cluster"]): c for c in json.loads(personas.PERSONAS.path(i).read_text())}
        for i in runs
    ]
    seen = [compare.transform(f, shared, clustering.SKEWED) for f in features]
    scale = pd.concat(seen).std()
    centres = [compare.cluster_centres(s, lab) for s, lab in zip(seen, labels, strict=True)]
    matching = compare.match_clusters(*centres, scale=scale)
    changed, customers = compare.changed_persona_share(*labels, matching)
    table = compare.persona_changes(matching, *labels, *cards)
    result.tables["personas"] = table
    result.series["persona_share"] = table
    result.series["persona_changed"] = pd.DataFrame(
        {"subject": ["customers in both runs"], "before": [None], "after": [changed],
         "base": [customers]}
    )  # fmt: skip
    result.findings["personas"] = {
        "customers_in_both": customers,
        "changed_share": _round(changed),
        "clusters": [len(c) for c in centres],
        "matched": [
            {
                "before": r.before_name,
                "after": r.after_name,
                "share": [_round(r.before), _round(r.after)],
                "gained_tags": list(r.gained_tags),
                "lost_tags": list(r.lost_tags),
            }
            for r in table.itertuples()
        ],
    }


def _clv(result: Comparison, earlier: EarlierRun, inputs: Mapping[str, Path]) -> None:
    stage = clv.OUTPUTS.stage
    _need(stage, earlier, inputs)
    before, after = stage_findings(earlier.inputs[stage]), stage_findings(inputs[stage])
    models = [before.get("chosen_model"), after.get("chosen_model")]
    if not all(models):
        if not models[0]:
            raise Missing(N_("{run} fitted no CLV model"), run=earlier.run_id)
        raise Missing(N_("this run fitted no CLV model"))
    table = compare.parameter_drift(before, after)
    # The customers the fits saw: a minimum base keeps a small shop's refits quiet.
    table["base"] = min(int(before.get("customers") or 0), int(after.get("customers") or 0))
    result.series["clv_params"] = table
    result.findings["clv"] = {
        "models": models,
        "params": {
            r.subject: {"before": r.before, "after": r.after, "change": _round(r.change)}
            for r in table.itertuples()
        },
    }


def _verdicts(result: Comparison, earlier: EarlierRun, inputs: Mapping[str, Path]) -> None:
    stage = experiments.OUTPUTS.stage
    _need(stage, earlier, inputs)
    before = stage_findings(earlier.inputs[stage]).get("experiments") or {}
    after = stage_findings(inputs[stage]).get("experiments") or {}
    table = compare.verdict_changes(before, after)
    result.series["verdicts"] = table
    changed = table[table["changed"]]
    result.findings["verdicts"] = {
        "experiments": len(table),
        "changed": [
            {"experiment": r.subject, "before": r.before, "after": r.after, "arms": list(r.arms)}
            for r in changed.itertuples()
        ],
    }


def findings_of(inputs: Mapping[str, Path]) -> dict[str, Any]:
    """Every stage's findings as it recorded them beside its outputs, by stage."""
    return {s: stage_findings(folder) for s, folder in inputs.items() if folder.is_dir()}


def alerts_for(
    comparison: Comparison,
    rules: list[alerts.AlertRule],
    earlier: EarlierRun,
    inputs: Mapping[str, Path],
    own: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """The alerts of ``rules`` on the comparison; rules that watch findings read both
    runs' findings (this stage's own are ``own``)."""
    if comparison.findings.get("problem"):
        return []
    before = findings_of(earlier.inputs)
    after = findings_of({s: f for s, f in inputs.items() if s != MONITOR}) | {MONITOR: own}
    return alerts.evaluate(rules, comparison.series, before, after)


def _round(value: Any, digits: int = 4) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else round(number, digits)
