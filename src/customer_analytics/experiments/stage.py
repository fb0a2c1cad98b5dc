"""Stage 07_ab_test: every configured experiment, analysed on sufficient statistics.

The unit table (one row per kept exposure) is built on the engine from the clean
``exposures`` and either the shop's orders after assignment or the campaign's own
``outcomes`` (:mod:`customer_analytics.experiments.units`); segment columns (persona,
RFM segment, channel) come from stages 03 and 06 when they ran. Tables and sentences
for the notebook are in :mod:`customer_analytics.experiments.report`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from customer_analytics.clean.identity import merged_ids
from customer_analytics.clean.stage import IDENTITY_MAP, KEPT, QUARANTINE
from customer_analytics.config import Config, ExperimentSpec
from customer_analytics.experiments.analysis import analyse_experiment
from customer_analytics.experiments.truth import truth_coverage
from customer_analytics.experiments.units import (
    KEY,
    assignments,
    order_margins,
    outcome_aggregations,
    units_from_orders,
    units_from_outcomes,
    unknown_outcome_rules,
)
from customer_analytics.i18n import N_
from customer_analytics.personas.stage import CUSTOMERS_PERSONAS
from customer_analytics.pipeline import engine
from customer_analytics.pipeline.outputs import Outputs
from customer_analytics.rfm.stage import CUSTOMERS_RFM
from customer_analytics.utils import progress
from customer_analytics.utils.parquet import write_frame

OUTPUTS = Outputs(__name__)
EXPERIMENTS = OUTPUTS.declare(
    "experiments.json",
    "per experiment: SRM, every arm and metric with lifts, CIs, corrected p-values, chance "
    "to win, power and MDE, verdicts, effects by segment and the outcome accounting",
)
LIFTS = OUTPUTS.declare("lifts.parquet", "one row per experiment, arm and metric (forest plot)")
UNITS = OUTPUTS.declare(
    "units.parquet",
    "every experiment's unit table: one row per kept exposure, its arm, outcomes, "
    "pre-period covariates and segments (what 09_targeting learns uplift from)",
)

#: Figures are kept to this many significant digits (see :func:`settled`).
SIGNIFICANT_DIGITS = 8
#: Unit-table columns that are bookkeeping, not metrics or segments.
BOOKKEEPING = {*KEY, "variant", "assigned_ts", "outcome_status"}

UnitBuilder = Callable[[str, ExperimentSpec], tuple[ibis.Table, dict[str, str]]]


class ExperimentDataError(ValueError):
    """An experiment the data cannot answer as configured; the message names the
    experiment, the config key and what the data has."""


def run(cfg: Config, inputs: dict[str, Path], out: Path) -> dict[str, Any]:
    """Compute the A/B stage's outputs into ``out``; return its headline figures.

    Parameters
    ----------
    cfg : Config
        The run's configuration (``ab``, ``shop``, ``privacy``).
    inputs : dict of str to Path
        Output folders of the earlier stages: 01_ingest and 02_clean, and 03_rfm and
        06_personas when they ran (segments).
    out : Path
        An empty folder for ``experiments.json`` and ``lifts.parquet``.

    Returns
    -------
    dict
        Per experiment its verdicts, SRM, counts, arm means and per-metric figures
        (:func:`_findings`), exposures of unconfigured experiments, and on the synthetic
        shop the planted-truth check.

    Raises
    ------
    ExperimentDataError
        A metric names a column the unit table lacks.
    """
    specs = cfg.experiments()
    if not specs or not KEPT.exists(inputs, table="exposures"):
        reason = (
            N_("no experiments configured (ab.experiments)")
            if not specs
            else N_("no exposures table")
        )
        EXPERIMENTS.at(out).write_text("{}")
        return {"experiments": {}, "skipped": reason}
    con = engine.connect(cfg.engine)
    identity = con.read_parquet(IDENTITY_MAP.path(inputs)) if IDENTITY_MAP.exists(inputs) else None
    exposures = con.read_parquet(KEPT.path(inputs, table="exposures"))
    assigned = assignments(exposures, identity, cfg.shop.timezone)
    build = _unit_builder(cfg, con, inputs, identity, assigned, specs)

    tables = {}
    for name, spec in specs.items():  # every experiment checked before any is analysed
        units, unavailable = build(name, spec)
        units = _with_segments(units, con, inputs)
        check_metric_columns(name, spec, list(units.columns), _origin(cfg, name), unavailable)
        tables[name] = units
    results, frames = {}, []
    for number, (name, spec) in enumerate(specs.items(), start=1):
        progress.step(f"analysing experiment {name}", number, len(specs))
        # Computed once: every metric and segment reads it (each would otherwise rebuild
        # the unit table from the orders, and ibis compile its whole expression again).
        units = engine.keep(con, f"_units_{len(results)}", tables[name])
        accounting = None
        if "outcome_status" in units.columns:
            accounting = outcome_accounting(units)
            units = units.filter(units.outcome_status != "unknown")
        results[name] = analyse_experiment(name, units, spec, cfg.ab, cfg.privacy.min_group_size)
        frames.append(units.to_pandas())
        results[name]["alpha"] = cfg.ab.alpha
        if accounting is not None:
            results[name]["outcomes"] = accounting
    results = settled(results)
    truth = truth_coverage(cfg.truth_dir, results)
    EXPERIMENTS.at(out).write_text(json.dumps(results, indent=1))
    lifts = pd.DataFrame(
        [
            {"experiment": n, **{k: v for k, v in r.items() if not isinstance(v, list)}}
            for n, e in results.items()
            for r in e["metrics"]
        ]
    )
    lifts.to_parquet(LIFTS.at(out), index=False)
    # Sorted: an engine returns a query's rows in no fixed order, and models learn
    # from this file in its order.
    everyone = pd.concat(frames, ignore_index=True).sort_values(KEY, ignore_index=True)
    write_frame(everyone, UNITS.at(out))
    unconfigured = _unconfigured(exposures, specs)
    return {
        "headline": _headline(results, truth),
        "experiments": {name: _findings(e) for name, e in results.items()},
        **({"unconfigured_experiments": unconfigured} if unconfigured else {}),
        **truth,
    }


def _headline(results: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
    """The figures the run's index shows for this stage: verdicts counted by arm."""
    decisions = [v["decision"] for e in results.values() for v in e["verdicts"].values()]
    headline = {
        N_("Experiments analysed"): len(results),
        N_("Arms to ship"): decisions.count("ship"),
        N_("Arms not to ship"): decisions.count("don't ship"),
        N_("Inconclusive arms"): decisions.count("inconclusive"),
        N_("Experiments blocked"): sum(e["verdict"] == "blocked" for e in results.values()),
    }
    if truth.get("truth"):
        headline[N_("Planted effects inside our interval")] = truth["truth"]["covered"]
        headline[N_("Planted effects checked")] = truth["truth"]["effects_checked"]
    return headline


def _findings(e: dict[str, Any]) -> dict[str, Any]:
    """One experiment's headline figures for the manifest."""
    fields = ("abs_lift", "abs_ci", "rel_lift", "rel_ci", "family_ci", "family_ci_level",
              "p_adjusted", "significant", "ci_disagrees", "chance_to_win",
              "power_at_min_effect", "mde", "sequential_ci", "sequential_significant")  # fmt: skip
    metrics = {}
    for r in e["metrics"]:
        metrics[r["key"]] = {k: r[k] for k in fields if k in r}
        if r["role"] == "guardrail":
            metrics[r["key"]]["harm_bound"] = r["harm_bound"]
    return {
        "verdict": e["verdict"],
        "verdicts": e["verdicts"],
        "decided_by": e["decided_by"],
        "alpha": e["alpha"],
        "srm_passed": e["srm"]["passed"],
        "srm_p": e["srm"]["p"],
        "counts": e["counts"],
        "arm_means": e["arm_means"],
        "metrics": metrics,
        **({"outcomes": e["outcomes"]} if "outcomes" in e else {}),
    }


def _unit_builder(
    cfg: Config,
    con: ibis.BaseBackend,
    inputs: dict[str, Path],
    identity: ibis.Table | None,
    assigned: ibis.Table,
    specs: dict[str, ExperimentSpec],
) -> UnitBuilder:
    """A function giving an experiment's unit table and the derived columns the data
    cannot provide (column -> why)."""
    if KEPT.exists(inputs, table="outcomes"):
        outcomes = merged_ids(con.read_parquet(KEPT.path(inputs, table="outcomes")), identity)
        unknown = None
        if QUARANTINE.exists(inputs, table="outcomes"):
            rows = con.read_parquet(QUARANTINE.path(inputs, table="outcomes"))
            unknown = merged_ids(rows.filter(rows._rule.isin(unknown_outcome_rules())), identity)

        def from_outcomes(name: str, spec: ExperimentSpec) -> tuple[ibis.Table, dict[str, str]]:
            how = outcome_aggregations(name, spec, list(outcomes.columns))
            mine = outcomes.filter(outcomes.experiment_id == name)
            units = units_from_outcomes(
                assigned.filter(assigned.experiment_id == name),
                mine,
                how,
                spec.window_days,
                None if unknown is None else unknown.filter(unknown.experiment_id == name),
            )
            return units, {}

        return from_outcomes

    orders = con.read_parquet(KEPT.path(inputs, table="orders"))
    unavailable: dict[str, str] = {}
    wanted = {c for s in specs.values() for m in s.metrics for c in (m.column, m.covariate)}
    if wanted & {"margin", "margin_pre"}:
        try:
            orders = _with_margin(cfg, con, inputs, orders)
        except ValueError as err:
            unavailable = {"margin": str(err), "margin_pre": str(err)}
    windows = {name: spec.window_days for name, spec in specs.items()}
    every = units_from_orders(assigned, orders, windows)

    def from_orders(name: str, spec: ExperimentSpec) -> tuple[ibis.Table, dict[str, str]]:
        return every.filter(every.experiment_id == name), unavailable

    return from_orders


def _with_margin(
    cfg: Config, con: ibis.BaseBackend, inputs: dict[str, Path], orders: ibis.Table
) -> ibis.Table:
    """Orders with their margin, or a ValueError saying what the shop's data lacks."""
    if cfg.shop.carrier_cost_per_order is None:
        raise ValueError(
            "margin needs shop.carrier_cost_per_order (what the shop pays its carrier per order)"
        )
    if not (KEPT.exists(inputs, table="products") and KEPT.exists(inputs, table="order_items")):
        raise ValueError("margin needs the products (with unit_cost) and order_items tables")
    products_table = con.read_parquet(KEPT.path(inputs, table="products"))
    if "unit_cost" not in products_table.columns:
        raise ValueError("margin needs a unit_cost column in the products table")
    lines = con.read_parquet(KEPT.path(inputs, table="order_items"))
    return order_margins(orders, lines, products_table, cfg.shop.carrier_cost_per_order)


def _origin(cfg: Config, name: str) -> str:
    """Where an experiment's metrics are configured, for messages."""
    key = f"ab.experiments.{name}.metrics"
    if name in cfg.ab.experiments or cfg.ab.experiments_file is None:
        return key
    return f"{key}, from ab.experiments_file {cfg.ab.experiments_file}"


def check_metric_columns(
    name: str,
    spec: ExperimentSpec,
    columns: list[str],
    origin: str,
    unavailable: dict[str, str] | None = None,
) -> None:
    """Fail before any analysis when a metric names a column the unit table lacks.

    Parameters
    ----------
    name : str
        The experiment.
    spec : ExperimentSpec
    columns : list of str
        The unit table's columns.
    origin : str
        The config key of the experiment's metrics, for the message.
    unavailable : dict, optional
        Derived columns the data could not provide, with the reason (margin without
        product costs, say), added to the message.

    Raises
    ------
    ExperimentDataError
        Naming the experiment, the metric, the config key, the missing columns and the
        columns available.
    """
    unavailable = unavailable or {}
    available = sorted(c for c in columns if c not in BOOKKEEPING)
    for metric in spec.metrics:
        needed = [c for c in (metric.column, metric.denominator, metric.covariate) if c]
        missing = [c for c in needed if c not in columns]
        if missing:
            why = "".join(f"; {unavailable[c]}" for c in missing if c in unavailable)
            raise ExperimentDataError(
                f"experiment {name}: metric {metric.name!r} ({origin}) needs column(s) "
                f"{missing}, which the data does not have{why}; columns available: {available}"
            )


def outcome_accounting(units: ibis.Table) -> dict[str, dict[str, int]]:
    """Units per arm by outcome status.

    Parameters
    ----------
    units : ibis.Table
        From :func:`~customer_analytics.experiments.units.units_from_outcomes`.

    Returns
    -------
    dict
        ``{"delivered": {arm: n}, "missing": {arm: n}, "unknown": {arm: n}}``: outcome
        rows delivered, none delivered (counted as zeros), quarantined as unreadable
        (left out of the analysis).
    """
    counts = units.group_by(["outcome_status", "variant"]).aggregate(n=units.count()).to_pandas()
    out: dict[str, dict[str, int]] = {"delivered": {}, "missing": {}, "unknown": {}}
    for row in counts.itertuples():
        out[row.outcome_status][str(row.variant)] = int(row.n)
    return out


def _unconfigured(exposures: ibis.Table, specs: dict[str, ExperimentSpec]) -> dict[str, int]:
    """Kept exposures of experiments the config does not name (left unanalysed)."""
    rest = exposures.filter(~exposures.experiment_id.isin(list(specs)))
    counts = rest.group_by("experiment_id").aggregate(n=rest.count()).to_pandas()
    return {str(e): int(n) for e, n in zip(counts["experiment_id"], counts["n"], strict=True)}


def settled(value: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """``value`` with every float rounded to ``digits`` significant digits.

    DuckDB adds floating-point sums in whatever order its threads finish, so a rerun's
    statistics can differ in the last bits (seen: 357.54528409090904 against
    ...0926); rounded, the same data give the same numbers, as reruns must.
    """
    if isinstance(value, dict):
        return {k: settled(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [settled(v, digits) for v in value]
    if isinstance(value, float) and math.isfinite(value) and value != 0:
        return round(value, digits - 1 - math.floor(math.log10(abs(value))))
    return value


def _with_segments(units: ibis.Table, con: ibis.BaseBackend, inputs: dict[str, Path]) -> ibis.Table:
    """Persona and channel (06_personas) and RFM segment (03_rfm), where those stages ran."""
    if CUSTOMERS_PERSONAS.exists(inputs):
        personas = con.read_parquet(CUSTOMERS_PERSONAS.path(inputs))
        units = units.left_join(personas.select("customer_id", "persona", "channel"), "customer_id")
        units = units.drop("customer_id_right")
    if CUSTOMERS_RFM.exists(inputs):
        rfm = con.read_parquet(CUSTOMERS_RFM.path(inputs))
        units = units.left_join(
            rfm.select("customer_id", rfm_segment=rfm.segment.cast("string")), "customer_id"
        )
        units = units.drop("customer_id_right")
    return units
