"""Stage 10_monitor: is marketing working over time.

KPIs (``kpis.yaml``: net revenue, orders, new customers, average order value, repeat
purchase rate, revenue per customer, conversion, open and click-through rates, message
cost per order) per complete week and month from the clean tables, festival weeks
marked and unusual weeks flagged (:mod:`.kpis`); monthly acquisition cohorts' retention
and revenue, and their purchases projected by stage 04_clv's model on the months it
held back, against the earlier cohorts' average (:mod:`.cohorts`). A source without
sessions or messages gets the KPIs it can; the findings say which it could not compute
and why. Tables and sentences are in :mod:`.report`.

What changed since the earlier run of the config (``earlier``, settled by the runner:
``monitor.compare_to`` or the config's previous successful run): KPIs, RFM segment
migration, persona drift, CLV parameters and experiment verdicts (:mod:`.since`), and
the alerts of the rules in ``alerts.yaml`` (:mod:`.alerts`). Each KPI's mean of the
last complete weeks is ``tracked``, for the history page over the config's runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from customer_analytics.clean.stage import IDENTITY_MAP, KEPT
from customer_analytics.clv import stage as clv_stage
from customer_analytics.config import Config
from customer_analytics.i18n import N_, _
from customer_analytics.monitor import (
    alerts,
    attribution,
    channels,
    cohorts,
    compare,
    kpis,
    since,
    truth,
    words,
)
from customer_analytics.pipeline import engine
from customer_analytics.pipeline.outputs import EarlierRun, Outputs, run_as_of
from customer_analytics.rfm.segments import load_segments
from customer_analytics.utils.dates import day_end
from customer_analytics.utils.parquet import write_frame

OUTPUTS = Outputs(__name__)
WEEKLY = OUTPUTS.declare(
    "kpis_weekly.parquet",
    "each KPI per complete week: value, festival week, the reference median and MAD, the "
    "modified z-score and whether it is flagged",
)
MONTHLY = OUTPUTS.declare("kpis_monthly.parquet", "each KPI per complete month")
COHORTS = OUTPUTS.declare(
    "cohorts.parquet",
    "per monthly acquisition cohort and age in months: customers, retention, revenue per customer",
)
ATTRIBUTION = OUTPUTS.declare(
    "attribution.parquet",
    "per attribution model and channel: share of the attributed orders with its bootstrap "
    "interval, credited orders and revenue",
)
CHANNELS = OUTPUTS.declare(
    "channels.parquet",
    "per channel: cost, orders and revenue credited by each model, the measured lift where "
    "a holdout gives one, and the return on cost with what it rests on",
)
CAMPAIGNS = OUTPUTS.declare(
    "campaigns.parquet",
    "per channel and campaign: messages, opens, clicks, messages followed by an order, cost",
)
PROJECTION = OUTPUTS.declare(
    "cohort_projection.parquet",
    "per cohort and held-back month: actual, BTYD-projected and the earlier cohorts' "
    "purchase days per customer",
)
SINCE_KPIS = OUTPUTS.declare(
    "since_kpis.parquet",
    "per KPI: the earlier run's and this run's mean of the last complete weeks outside "
    "festival seasons, the relative change and its noise (empty: not compared)",
)
SINCE_SEGMENTS = OUTPUTS.declare(
    "since_segments.parquet",
    "customers in both runs per (RFM segment in the earlier run, segment now) (empty: "
    "not compared)",
)
SINCE_PERSONAS = OUTPUTS.declare(
    "since_personas.parquet",
    "per pair of clusters matched across the runs: names, centre distance, shares of "
    "customers then and now, tags gained and lost (empty: not compared)",
)
#: The tables KPIs may count besides the orders, if the clean stage kept them.
OPTIONAL_TABLES = ("events", "messages", "spend", "exposures")


def run(
    cfg: Config, inputs: dict[str, Path], out: Path, earlier: EarlierRun | None = None
) -> dict[str, Any]:
    """Compute the monitor stage's outputs into ``out``; return its headline figures.

    Parameters
    ----------
    cfg : Config
        The run's configuration (``monitor``, ``shop``, ``clv``).
    inputs : dict of str to Path
        Output folders of the earlier stages: 02_clean (the tables) and, where it ran,
        04_clv (the model the cohorts are projected with).
    out : Path
        An empty folder for the declared outputs.
    earlier : EarlierRun, optional
        The run to compare with (the runner settles it; one with a ``problem`` when
        there is none). None: there is none.

    Returns
    -------
    dict
        The latest complete week's and month's KPIs, the KPIs not computed and why, the
        flagged weeks, and the cohorts' figures with the projection's error against the
        baseline's; ``tracked`` (each KPI's mean of the last complete weeks), ``since``
        (what changed, or why nothing was compared) and ``alerts``.
    """
    as_of = run_as_of(inputs)
    con = engine.connect(cfg.engine)
    try:
        orders = con.read_parquet(KEPT.path(inputs, table="orders"))
        tables = kpis.purchases_and_orders(orders)
        tables |= {
            name: con.read_parquet(KEPT.path(inputs, table=name))
            for name in OPTIONAL_TABLES
            if KEPT.exists(inputs, table=name)
        }
        identity = (
            con.read_parquet(IDENTITY_MAP.path(inputs)) if IDENTITY_MAP.exists(inputs) else None
        )
        if "messages" in tables:
            tables["messages"] = channels.with_orders(
                tables["messages"],
                tables["purchases"],
                identity,
                cfg.monitor.attribution.window_days,
            )
        measures, defined = kpis.load_kpis(cfg.resolve_optional(cfg.monitor.kpis))
        start = orders.order_ts_utc.min().execute().date()
        found: dict[str, Any] = {"as_of": str(as_of)}
        flagged = {}
        for grain, output in (("week", WEEKLY), ("month", MONTHLY)):
            counted, missing = kpis.measure_series(tables, measures, grain)
            series = kpis.kpi_series(kpis.complete(counted, grain, start, as_of), defined)
            flagged[grain] = _flagged(series, grain, cfg)
            write_frame(flagged[grain], output.at(out))
            found[grain] = _latest(series)
        found["not_computed"] = kpis.not_computed(defined, missing)
        weekly = flagged["week"]
        found["festival_weeks"] = int(weekly.drop_duplicates("period")["festival"].sum())
        found["anomalies"] = [
            {
                "kpi": r.kpi,
                "week": str(r.period.date()),
                "value": r.value,
                "median": r.median,
                "z": r.z,
            }
            for r in weekly[weekly["anomaly"]].itertuples()
        ]
        found |= _channels(cfg, tables, identity, as_of, out)
        found |= _attribution(cfg, tables, identity, as_of, found.get("holdout"), out)
        days = cohorts.purchase_days(tables["purchases"])
        found["cohorts"] = _cohorts(days, as_of, out)
        found["cohorts"] |= _projection(cfg, inputs, orders, days, as_of, out)
    finally:
        engine.close(con)
    found["tracked"] = _tracked(flagged["week"], defined, cfg.monitor.compare_weeks)
    earlier = earlier or EarlierRun(None, "no earlier run was given to compare with")
    found |= _since(cfg, inputs, earlier, flagged, found, out, defined)
    return {**found, "headline": _headline(found, defined)}


def _headline(found: dict[str, Any], defined: list[kpis.Kpi]) -> dict[str, Any]:
    """The figures the run's index shows for this stage, most important first."""
    week = found.get("week") or {}
    values = week.get("kpis") or {}
    shown: dict[str, Any] = {}
    for name, label in (("revenue", N_("Net revenue, last complete week")),
                        ("orders", N_("Orders, last complete week")),
                        ("new_customers", N_("New customers, last complete week"))):  # fmt: skip
        if name in values and any(k.name == name for k in defined):
            shown[label] = round(values[name], 2)
    if week.get("period"):
        shown[N_("Last complete week began")] = week["period"]
    shown[N_("Unusual KPI-weeks")] = len(found.get("anomalies") or [])
    retention = (found.get("cohorts") or {}).get("month_1_retention")
    if retention is not None:
        shown[N_("Buying again in the month after the first (share of new customers)")] = round(
            retention, 3
        )
    if isinstance(found.get("since"), dict) and not found["since"].get("problem"):
        shown[N_("Alerts since the earlier run")] = len(found.get("alerts") or [])
    shown[N_("As of")] = found["as_of"]
    return shown


def _tracked(weekly: pd.DataFrame, defined: list[kpis.Kpi], weeks: int) -> dict[str, Any]:
    """Each KPI's mean of the last ``weeks`` complete weeks outside festival seasons,
    for the history page over the config's runs."""
    means = compare.window_means(weekly, weeks)

    def label(k: kpis.Kpi) -> str:
        return _("{kpi}, mean of {weeks} weeks").format(kpi=k.word("label"), weeks=weeks)

    return {
        k.name: {"label": label(k), "value": float(means.at[k.name, "mean"]),
                 "format": k.format, **words.in_languages(lambda k=k: {"label": label(k)})}
        for k in defined
        if k.name in means.index and np.isfinite(means.at[k.name, "mean"])
    }  # fmt: skip


def _since(
    cfg: Config,
    inputs: dict[str, Path],
    earlier: EarlierRun,
    now: dict[str, pd.DataFrame],
    found: dict[str, Any],
    out: Path,
    defined: list[kpis.Kpi],
) -> dict[str, Any]:
    """What changed since ``earlier`` (:mod:`.since`), its tables written, and the alerts
    (with their words in every report language)."""
    then = {
        grain: pd.read_parquet(output.path(earlier.inputs))
        for grain, output in (("week", WEEKLY), ("month", MONTHLY))
        if not earlier.problem and output.exists(earlier.inputs)
    }
    weeks = cfg.monitor.compare_weeks
    comparison = since.compare_runs(earlier, inputs, now, then, weeks)
    for name, output in (("kpis", SINCE_KPIS), ("migration", SINCE_SEGMENTS),
                         ("personas", SINCE_PERSONAS)):  # fmt: skip
        write_frame(comparison.table(name), output.at(out))
    rules = alerts.load_rules(cfg.resolve_optional(cfg.monitor.alerts))
    raised = since.alerts_for(comparison, rules, earlier, inputs, found)
    segment = load_segments(cfg.resolve_optional(cfg.rfm.segments)).label
    raised = [words.alert_words(a, rules, defined, segment) for a in raised]
    return {"since": comparison.findings, "alerts": raised}


def _flagged(series: pd.DataFrame, grain: str, cfg: Config) -> pd.DataFrame:
    """Every KPI's series, long, with the festival periods and (weekly) the flags."""
    festival = kpis.festival_periods(
        series.index, cfg.shop.festivals, grain, cfg.monitor.festival_lead_days
    )
    parts = []
    for name in series.columns:
        if grain == "week":
            part = kpis.flag_anomalies(
                series[name], festival, cfg.monitor.anomaly_window, cfg.monitor.anomaly_threshold
            )
        else:
            part = pd.DataFrame({"period": series.index, "value": series[name].to_numpy(),
                                 "festival": festival})  # fmt: skip
        parts.append(part.assign(kpi=name))
    columns = ["kpi", "period", "value", "festival", "median", "mad", "z", "anomaly"]
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True)
    return table[[c for c in columns if c in table.columns]]


def _latest(series: pd.DataFrame) -> dict[str, Any]:
    """The last complete period's KPIs, and the period before's."""
    if series.empty:
        return {}
    last = series.iloc[-1]
    before = series.iloc[-2] if len(series) > 1 else pd.Series(np.nan, index=series.columns)
    return {
        "period": str(series.index[-1].date()),
        "kpis": {k: float(v) for k, v in last.items() if np.isfinite(v)},
        "before": {k: float(v) for k, v in before.items() if np.isfinite(v)},
    }


def _cohorts(days: pd.DataFrame, as_of: Any, out: Path) -> dict[str, Any]:
    triangles = cohorts.triangles(days, as_of)
    long = pd.concat(
        {k: triangles[k].stack() for k in ("retention", "revenue")}, axis=1
    ).reset_index()  # fmt: skip
    long.columns = ["cohort", "age", "retention", "revenue_per_customer"]
    long["customers"] = long["cohort"].map(triangles["customers"]["customers"])
    long["cohort"] = long["cohort"].astype(str)
    write_frame(long, COHORTS.at(out))
    second = long[long["age"] == 1]
    return {
        "count": int(long["cohort"].nunique()),
        "month_1_retention": float(np.average(second["retention"], weights=second["customers"]))
        if len(second)
        else None,
    }


def _projection(
    cfg: Config, inputs: dict[str, Path], orders: Any, days: pd.DataFrame, as_of: Any, out: Path
) -> dict[str, Any]:
    """The cohorts' purchases projected on stage 04's held-back months, and the errors."""
    if not clv_stage.PARAMS.exists(inputs):
        return {"projection": "stage 04_clv did not run: no BTYD model to project with"}
    params = json.loads(clv_stage.PARAMS.path(inputs).read_text())
    calibration_end = pd.Timestamp(clv_stage.OUTPUTS.findings(inputs)["calibration_end"]).date()
    tracking = pd.read_parquet(clv_stage.TRACKING.path(inputs))
    found = cohorts.projection(
        orders, days, params, calibration_end, as_of, cfg.clv.time_unit, tracking
    )
    if found.empty or found["baseline"].isna().all():
        return {"projection": "no held-back month has an earlier cohort to compare with"}
    table = found.assign(cohort=found["cohort"].astype(str), month=found["month"].astype(str))
    write_frame(table, PROJECTION.at(out))
    return {"projection": cohorts.errors(found), "model": params["chosen"]}


def _channels(
    cfg: Config, tables: dict[str, Any], identity: Any, as_of: Any, out: Path
) -> dict[str, Any]:
    """The campaigns' table and the holdout's measured lift, where the source has them."""
    found: dict[str, Any] = {}
    if "messages" in tables:
        table = channels.campaigns(tables["messages"])
        write_frame(table, CAMPAIGNS.at(out))
        found["campaigns"] = len(table)
    spec = cfg.monitor.holdout
    if spec is not None:
        lift = per = None
        if "exposures" in tables:
            per = channels.holdout_customers(tables["exposures"], identity, tables["purchases"],
                                             spec.experiment, cfg.shop.timezone)  # fmt: skip
            lift = channels.holdout_lift(per, spec.holdout_arm)
        found["holdout"] = (
            _settled(
                {
                    "channel": spec.channel,
                    **lift,
                    **truth.planted_lift(cfg.truth_dir, per, as_of, cfg.shop.timezone),
                }
            )
            if lift is not None
            else f"no exposures of {spec.experiment} with both arms, {spec.holdout_arm} one of them (monitor.holdout)"
        )
    return found


def _attribution(cfg: Config, tables: dict[str, Any], identity: Any, as_of: Any, holdout: Any,
                 out: Path) -> dict[str, Any]:  # fmt: skip
    """Journeys of touches before orders, every model's credit per channel with bootstrap
    intervals, each channel's cost and return, and (synthetic shop) the distance of each
    model's shares to the planted contributions."""
    spec = cfg.monitor.attribution
    touched = channels.touches(tables, identity)
    if touched is None:
        return {
            "attribution": "no messages and no sessions with a source: no journeys to attribute"
        }
    local_end = pd.Timestamp(day_end(as_of))
    end = local_end.tz_localize(cfg.shop.timezone).tz_convert("UTC").tz_localize(None)
    p = tables["purchases"]
    conversions = p.select("customer_id", ts=p.order_ts_utc.cast("timestamp"), value=p.revenue)
    paths = attribution.journeys(touched, conversions, end, spec.lookback_days, spec.max_touches)
    if paths.converted == 0:
        return {"attribution": "no order has a touch in the lookback before it"}
    credited = attribution.credit(paths)
    bands = (
        attribution.bootstrap(paths, n=spec.bootstrap, markov_order=credited.markov_order)
        if spec.bootstrap
        else {}
    )
    long = channels.attribution_table(credited, bands)
    write_frame(long, ATTRIBUTION.at(out))
    costs = channels.costs(tables)
    write_frame(channels.channel_returns(long, costs, holdout), CHANNELS.at(out))
    found: dict[str, Any] = {
        "attribution": _settled(credited.shares),
        "journeys": {
            "journeys": paths.journeys,
            "converted": paths.converted,
            "touchless_orders": paths.touchless,
            "cut": paths.cut,
            "markov_order": credited.markov_order,
            "lookback_days": spec.lookback_days,
        },  # fmt: skip
    }
    planted = truth.planted_contributions(cfg.truth_dir, local_end)
    if planted:
        # Marketing's channels: those that brought orders or cost money. Sessions that
        # came direct or from search and social are the customers' own intent.
        paid = sorted(set(planted) | set(costs.index[costs > 0]))
        found["planted_contributions"] = planted
        found["distance_to_truth"] = _settled(truth.distances(credited.shares, planted, paid))
    return found


def _settled(found: Any) -> Any:
    """Floats rounded to 10 decimals: sums the engine adds up in a varying order (its
    threads) differ in their last bits from run to run, and findings must not."""
    if isinstance(found, dict):
        return {k: _settled(v) for k, v in found.items()}
    if isinstance(found, float):
        return round(found, 10)
    return found
