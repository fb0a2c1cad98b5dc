"""Stage 04_clv: choose a purchase-count model on a holdout, then value every customer.

1. Calibration/holdout: each count model in ``clv.models`` is fitted on the purchases up
   to ``calibration_end`` and predicts each customer's purchases in the holdout period;
   the model with the lowest per-customer MAE is chosen, and every model is compared
   with the naive baseline (each customer repeats their calibration purchase rate).
2. The chosen model is refitted on the whole history to ``as_of`` (the BTYD summary of
   stage 03_rfm) with Gamma-Gamma for spend: P(alive), expected purchases and the
   probability of at least one purchase in the next ``clv.prediction_days``, and the
   discounted CLV over ``clv.horizon_months``; a lifecycle stage per customer.

The findings carry every model's calibration-period parameters and a calibration-period
Gamma-Gamma fit, beside the figures a paper published for the same data and period
(``published.yaml``; the CDNOW sample), so the report shows the check itself.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from customer_analytics.clean.stage import KEPT
from customer_analytics.clv.compact import (
    calibration_spend_rows,
    holdout_rows,
    purchase_days_counted,
)
from customer_analytics.clv.holdout import (
    calibration_frame,
    evaluate_holdout,
    period_transactions,
    repeat_transactions_tracking,
    weights,
)
from customer_analytics.clv.lifecycle import lifecycle_stage, load_lifecycle_rules, rhythm
from customer_analytics.clv.models import (
    BetaGeoModel,
    ClvFitError,
    ClvInputError,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
)
from customer_analytics.clv.truth import truth_scores
from customer_analytics.config import Config
from customer_analytics.i18n import N_
from customer_analytics.pipeline import engine
from customer_analytics.pipeline.outputs import Outputs, run_as_of
from customer_analytics.rfm.stage import BTYD_SUMMARY, CUSTOMERS_RFM
from customer_analytics.utils import progress
from customer_analytics.utils.dates import DAYS_PER_UNIT

OUTPUTS = Outputs(__name__)
CUSTOMERS_CLV = OUTPUTS.declare(
    "customers_clv.parquet",
    "one row per buyer: the BTYD summary, P(alive), expected purchases, P(purchase), "
    "expected spend, CLV, rhythm, lifecycle stage and RFM segment",
)
HOLDOUT_SCORES = OUTPUTS.declare(
    "holdout_scores.parquet", "each model and the naive baseline on the holdout period"
)
HOLDOUT_BY_FREQUENCY = OUTPUTS.declare(
    "holdout_by_frequency.parquet",
    "mean actual and predicted holdout purchases by calibration repeat purchases",
)
TRACKING = OUTPUTS.declare(
    "tracking.parquet", "expected against actual repeat purchases per period, per model"
)
PERIOD_TRANSACTIONS = OUTPUTS.declare(
    "period_transactions.parquet",
    "customers by calibration repeat purchases, actual and expected per model",
)
PARAMS = OUTPUTS.declare(
    "params.json",
    "calibration parameters and log-likelihoods of every model, the chosen one's full fit "
    "and Gamma-Gamma",
)
PUBLISHED_FILE = Path(__file__).with_name("published.yaml")

MODELS = {"bgnbd": BetaGeoModel, "mbgnbd": ModifiedBetaGeoModel, "pareto_nbd": ParetoNBDModel}
LABELS = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD", "naive": "naive"}


@dataclass(frozen=True)
class Compact:
    """What the engine hands the models (:mod:`customer_analytics.clv.compact`)."""

    #: Customers by calibration summary and holdout purchases, with ``weight``.
    holdout: pd.DataFrame
    #: The calibration period's repeat buyers by (frequency, monetary_value), with ``weight``.
    spend: pd.DataFrame
    #: Per day: first purchase days and repeat purchase days counted.
    days: pd.DataFrame
    #: The holdout period's length in the models' time unit.
    duration: float


def compact_inputs(
    cfg: Config, inputs: dict[str, Path], calibration_end: dt.date, as_of: dt.date
) -> Compact:
    """Read the kept orders on the configured engine and bring back the compact rows."""
    con = engine.connect(cfg.engine)
    orders = con.read_parquet(KEPT.path(inputs, table="orders"))
    try:
        compact = Compact(
            holdout=holdout_rows(orders, calibration_end, as_of, cfg.clv.time_unit).execute(),
            spend=calibration_spend_rows(orders, calibration_end).execute(),
            days=purchase_days_counted(orders, as_of).execute(),
            duration=(as_of - calibration_end).days / DAYS_PER_UNIT[cfg.clv.time_unit],
        )
    finally:
        engine.close(con)
    if compact.holdout.empty:
        raise ClvInputError(f"no purchase on or before calibration_end {calibration_end}")
    return compact


def fit_on_holdout(
    cfg: Config, compact: Compact
) -> tuple[dict[str, Any], dict[str, str], pd.DataFrame]:
    """Fit every configured model on the calibration period and score it on the holdout.

    Returns the fitted models, the models that failed (name -> why) and the holdout
    scores (one row per model and ``naive``).
    """
    rows = compact.holdout
    fitted, failed = {}, {}
    for number, name in enumerate(cfg.clv.models, start=1):
        progress.step(
            f"fitting {LABELS[name]} to the calibration period", number, len(cfg.clv.models)
        )
        model = MODELS[name](penalizer=cfg.clv.penalizer, time_unit=cfg.clv.time_unit)
        try:
            fitted[name] = model.fit(calibration_frame(rows), sample_weight=weights(rows))
        except ClvFitError as error:
            failed[name] = str(error)
    if not fitted:
        raise ClvFitError(f"no purchase-count model could be fitted: {failed}")
    return fitted, failed, evaluate_holdout(fitted, rows, compact.duration)


def holdout_by_frequency(
    rows: pd.DataFrame, fitted: dict[str, Any], duration: float, cap: int = 7
) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases by calibration repeat purchases (the
    papers' calibration-vs-holdout chart), one column per model as ``fitted`` names it;
    frequencies from ``cap`` up are pooled."""
    cal = calibration_frame(rows)
    w = weights(rows)
    frame = pd.DataFrame(
        {
            "frequency_cal": np.minimum(rows["frequency_cal"].to_numpy(), cap).astype(int),
            "actual": rows["frequency_holdout"].to_numpy(dtype=float),
        }
    )
    for name, model in fitted.items():
        frame[name] = model.expected_purchases(cal, duration)
    values = list(frame.columns[1:])
    weighted = (
        frame[values].mul(w, axis=0).assign(customers=w, frequency_cal=frame["frequency_cal"])
    )
    sums = weighted.groupby("frequency_cal").sum()
    table = sums[values].div(sums["customers"], axis=0)
    table.insert(0, "customers", sums["customers"].astype(int))
    return table.reset_index()


def tracking(fitted: dict[str, Any], days: pd.DataFrame, calibration_end: dt.date) -> pd.DataFrame:
    """Expected against actual repeat purchases per period for every calibration-fitted model."""
    start = pd.Timestamp(days["day"].min()).normalize()
    unit_days = DAYS_PER_UNIT[next(iter(fitted.values())).time_unit]
    end = pd.Timestamp(days["day"].max()).normalize()
    periods = max(int((end - start).days // unit_days), 1)
    frames = []
    for name, model in fitted.items():
        track = repeat_transactions_tracking(model, days, start, periods)
        frames.append(track.reset_index().assign(model=name))
    out = pd.concat(frames, ignore_index=True)
    out["calibration_end"] = pd.Timestamp(calibration_end)
    return out


def value_customers(
    cfg: Config, model: Any, summary: pd.DataFrame
) -> tuple[pd.DataFrame, GammaGammaModel]:
    """P(alive), expected purchases, P(at least one purchase), spend and CLV per customer."""
    # Net of returns, a customer's mean repeat spend can fall below zero (returns larger
    # than purchases); Gamma-Gamma models positive spend, so such a customer counts as
    # spending nothing: excluded from the fit, their expected spend shrunk towards zero.
    summary = summary.assign(monetary_value=summary["monetary_value"].clip(lower=0))
    spend = GammaGammaModel(penalizer=cfg.clv.penalizer).fit(summary)
    t = cfg.clv.prediction_days / DAYS_PER_UNIT[cfg.clv.time_unit]
    customers = summary[["customer_id", "frequency", "recency", "T", "monetary_value"]].copy()
    customers["p_alive"] = model.probability_alive(summary)
    customers["expected_purchases"] = model.expected_purchases(summary, t)
    customers["p_purchase"] = model.probability_of_purchase(summary, t)
    customers["expected_spend"] = spend.expected_average_spend(summary)
    customers["clv"] = customer_lifetime_value(
        model, summary, spend, cfg.clv.horizon_months, cfg.clv.monthly_discount_rate
    )
    return customers, spend


def run(cfg: Config, inputs: dict[str, Path], out: Path) -> dict[str, Any]:
    """Compute the CLV stage's outputs into ``out``; return its headline figures."""
    as_of = run_as_of(inputs)
    calibration_end = cfg.clv.calibration_end or as_of - dt.timedelta(days=cfg.clv.holdout_days)
    compact = compact_inputs(cfg, inputs, calibration_end, as_of)
    fitted, failed, scores = fit_on_holdout(cfg, compact)
    chosen = min(fitted, key=lambda name: scores.loc[name, "mae"])
    scores.rename(index=LABELS).rename_axis("model").reset_index().to_parquet(
        HOLDOUT_SCORES.at(out), index=False
    )
    labelled = {LABELS[name]: model for name, model in fitted.items()}
    holdout_by_frequency(compact.holdout, labelled, compact.duration).to_parquet(
        HOLDOUT_BY_FREQUENCY.at(out), index=False
    )
    tracking(labelled, compact.days, calibration_end).to_parquet(TRACKING.at(out), index=False)
    period_transactions(labelled, compact.holdout).to_parquet(
        PERIOD_TRANSACTIONS.at(out), index=False
    )
    calibration_spend = spend_on_calibration(cfg, compact.spend)

    summary = pd.read_parquet(BTYD_SUMMARY.path(inputs))
    progress.step(f"refitting {LABELS[chosen]} to as_of and valuing every customer")
    model = MODELS[chosen](penalizer=cfg.clv.penalizer, time_unit=cfg.clv.time_unit).fit(summary)
    customers, spend = value_customers(cfg, model, summary)
    customers = customers.join(rhythm(summary, DAYS_PER_UNIT[cfg.clv.time_unit]))
    rules = load_lifecycle_rules(cfg.resolve_optional(cfg.rfm.lifecycle))
    customers["lifecycle"] = lifecycle_stage(customers, rules).to_numpy()
    segments = pd.read_parquet(CUSTOMERS_RFM.path(inputs))
    customers = customers.merge(
        segments[["customer_id", "segment", "r_score", "f_score", "m_score", "monetary"]],
        on="customer_id",
        how="left",
    )
    customers.to_parquet(CUSTOMERS_CLV.at(out), index=False)
    params = {
        "calibration": {LABELS[n]: m.params_ for n, m in fitted.items()},
        "calibration_log_likelihood": {LABELS[n]: m.log_likelihood_ for n, m in fitted.items()},
        "chosen": LABELS[chosen],
        "full": model.params_,
        "gamma_gamma": spend.params_,
    }
    PARAMS.at(out).write_text(json.dumps(params, indent=1))
    calibration = {LABELS[n]: _rounded(m.params_) for n, m in fitted.items()}
    if isinstance(calibration_spend, GammaGammaModel):
        calibration["Gamma-Gamma"] = _rounded(calibration_spend.params_)
    else:
        failed["Gamma-Gamma (calibration)"] = calibration_spend
    found = {
        "as_of": str(as_of),
        "calibration_end": str(calibration_end),
        "time_unit": cfg.clv.time_unit,
        "chosen_model": LABELS[chosen],
        "params": _rounded(model.params_),
        "gamma_gamma": _rounded(spend.params_),
        "calibration_params": calibration,
        **published_figures(cfg, calibration_end),
        "failed_models": failed,
        "holdout": _holdout_figures(scores),
        "customers": len(customers),
        "total_clv": round(float(customers["clv"].sum()), 2),
        "horizon_months": cfg.clv.horizon_months,
        "spend_frequency_correlation": _independence(summary),
        "lifecycle": customers["lifecycle"].value_counts().to_dict(),
        "segments": _segment_value(customers),
        **truth_scores(cfg.truth_dir, customers),
    }
    return {**found, "headline": _headline(found)}


def _headline(found: dict[str, Any]) -> dict[str, Any]:
    """The figures the run's index shows for this stage, most important first (the
    expected value is in the shop's currency)."""
    lifecycle = found["lifecycle"]
    return {
        N_("Customers valued"): found["customers"],
        N_("Expected value over the horizon (discounted)"): found["total_clv"],
        N_("Horizon (months)"): found["horizon_months"],
        N_("Chosen model"): found["chosen_model"],
        N_("Active customers"): lifecycle.get("active", 0),
        N_("Customers at risk"): lifecycle.get("at risk", 0),
        N_("Churned customers"): lifecycle.get("churned", 0),
        N_("Calibration end"): found["calibration_end"],
    }


def spend_on_calibration(cfg: Config, spend: pd.DataFrame) -> GammaGammaModel | str:
    """Gamma-Gamma fitted on the calibration period's repeat purchases (as the papers fit
    it on CDNOW's first 39 weeks), or why it could not be."""
    try:
        return GammaGammaModel(penalizer=cfg.clv.penalizer).fit(spend, sample_weight=weights(spend))
    except (ClvFitError, ClvInputError) as error:
        return str(error)


def published_figures(cfg: Config, calibration_end: dt.date) -> dict[str, Any]:
    """The parameters a paper published for this data set and calibration period
    (``published.yaml``), to set beside ours; nothing for other data."""
    for name, entry in yaml.safe_load(PUBLISHED_FILE.read_text()).items():
        source = entry["source"]
        if (
            cfg.source.kind == source["kind"]
            and cfg.source_path.name == source["file"]
            and calibration_end == entry["calibration_end"]
            and cfg.clv.time_unit == entry["time_unit"]
        ):
            return {
                "published": {
                    "data": name,
                    "reference": entry["reference"],
                    "params": entry["params"],
                }
            }
    return {}


def _rounded(params: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in params.items()}


def _holdout_figures(scores: pd.DataFrame) -> dict[str, dict[str, float]]:
    return {
        LABELS[name]: {k: round(float(v), 4) for k, v in row.items()}
        for name, row in scores.iterrows()
    }


def _independence(summary: pd.DataFrame) -> float:
    """Correlation of repeat purchases and mean repeat spend among repeat buyers: the
    Gamma-Gamma model assumes spend does not depend on frequency (near 0 is fine)."""
    repeat = summary[summary["frequency"] > 0]
    return round(float(repeat["frequency"].corr(repeat["monetary_value"])), 4)


def _segment_value(customers: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per RFM segment: customers, mean CLV and share of total expected value."""
    total = customers["clv"].sum()
    by = customers.groupby("segment")["clv"]
    return {
        str(segment): {
            "customers": int(n),
            "mean_clv": round(float(mean), 2),
            "clv_share": round(float(value / total), 4) if total else 0.0,
        }
        for segment, n, mean, value in zip(
            by.size().index, by.size(), by.mean(), by.sum(), strict=True
        )
    }
