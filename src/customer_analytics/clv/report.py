"""What the 04_clv notebook shows: findings in plain language, the model choice, the
calibration estimates beside the published ones, the papers' charts (calibration
against holdout, tracking, frequency-recency matrices), spend, value by segment and
lifecycle, and the check against the planted truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from customer_analytics.clv.stage import LABELS, MODELS
from customer_analytics.config import ClvSettings
from customer_analytics.report import plots
from customer_analytics.utils.dates import days_per_unit


def fitted_model(params_file: Path, time_unit: str) -> Any:
    """The chosen model refitted to ``as_of``, rebuilt from the stage's ``params.json``."""
    params = json.loads(params_file.read_text())
    name = next(k for k, v in LABELS.items() if v == params["chosen"])
    return MODELS[name].from_params(params["full"], time_unit)


def frequency_recency_grid(
    model: Any, T: float, t: float, size: int = 30
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Expected purchases in the next ``t`` and P(alive) for a customer observed for ``T``,
    over a grid of repeat purchases (rows) and recency (columns): the papers' matrices."""
    frequency = np.arange(size, dtype=float)
    recency = np.linspace(0, T, size)
    grid = pd.DataFrame(
        [(f, r, T) for f in frequency for r in recency], columns=["frequency", "recency", "T"]
    )
    grid = grid[(grid["frequency"] > 0) | (grid["recency"] == 0)].reset_index(drop=True)
    grid["expected"] = model.expected_purchases(grid, t)
    grid["p_alive"] = model.probability_alive(grid)
    grid["recency"] = grid["recency"].round(0)
    return (
        grid.pivot(index="frequency", columns="recency", values="expected"),
        grid.pivot(index="frequency", columns="recency", values="p_alive"),
    )


def clv_sentences(found: dict[str, Any], currency: str) -> list[str]:
    """Plain-language findings of the CLV stage for the run's index page."""
    chosen = found["chosen_model"]
    model, naive = found["holdout"][chosen], found["holdout"]["naive"]
    segments = found["segments"]
    risky = [segments[s] for s in ("At Risk", "Can't Lose Them") if s in segments]
    lifecycle = found["lifecycle"]
    return [
        f"{chosen} was chosen on a holdout after {found['calibration_end']}: it predicted "
        f"{model['predicted']:,.0f} repeat purchases against {model['actual']:,.0f} actual "
        f"({model['error_pct']:+.1f}%), an error per customer of {model['mae']:.2f} purchases "
        f"against {naive['mae']:.2f} for simply repeating each customer's past rate.",
        f"The {found['customers']:,} buyers are expected to bring {found['total_clv']:,.0f} "
        f"{currency} over the next {found['horizon_months']} months (discounted); "
        f"{sum(s['customers'] for s in risky):,} customers worth "
        f"{sum(s['clv_share'] for s in risky):.0%} of that are At Risk or Can't Lose Them.",
        f"By the model's chance that each customer still buys: {lifecycle.get('active', 0):,} "
        f"active, {lifecycle.get('new', 0):,} new, {lifecycle.get('at risk', 0):,} at risk and "
        f"{lifecycle.get('churned', 0):,} churned.",
    ]


def calibration_table(found: dict[str, Any]) -> pd.DataFrame:
    """Every model's calibration-period parameters, one row per model and parameter,
    with the published figure beside ours where the data set has one."""
    published = found.get("published", {}).get("params", {})
    rows = [
        {
            "model": model,
            "parameter": name,
            "ours": value,
            **({"published": published.get(model, {}).get(name)} if published else {}),
        }
        for model, params in found["calibration_params"].items()
        for name, value in params.items()
    ]
    return pd.DataFrame(rows).set_index(["model", "parameter"])


def key_figures_text(found: dict[str, Any]) -> str:
    """The dates, the models compared, those that failed, the one chosen."""
    lines = [
        f"as of {found['as_of']}; calibration to {found['calibration_end']}, holdout after it; "
        f"time in {found['time_unit']}",
        f"models compared: {', '.join(m for m in found['holdout'] if m != 'naive')}",
        *(f"not fitted: {name} ({why})" for name, why in found["failed_models"].items()),
        f"chosen by per-customer holdout error: {found['chosen_model']}",
        f"customers valued: {found['customers']:,} over {found['horizon_months']} months",
    ]
    return "\n".join(lines)


def period_transactions_figure(periods: pd.DataFrame) -> plt.Figure:
    """Customers by calibration repeat purchases, observed and expected per model."""
    fig, ax = plt.subplots()
    periods.set_index("repeat_purchases").plot.bar(ax=ax, rot=0)
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel("customers")
    ax.set_title("Calibration period: customers by repeat purchases")
    plots.thousands(ax, "y")
    return fig


def holdout_figure(by_frequency: pd.DataFrame) -> plt.Figure:
    """Mean holdout purchases, actual and per model, by calibration repeat purchases."""
    fig, ax = plt.subplots()
    by_frequency.set_index("frequency_cal").drop(columns="customers").plot(ax=ax, marker="o")
    ax.set_xlabel("repeat purchases in the calibration period (last point: that many or more)")
    ax.set_ylabel("mean purchases in the holdout")
    ax.set_title("Calibration against holdout, by purchase frequency")
    return fig


def tracking_figure(track: pd.DataFrame, time_unit: str) -> plt.Figure:
    """Repeat purchases per period and cumulated, actual against each model's projection."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4))
    fig.autofmt_xdate()
    actual = track[track["model"] == track["model"].iloc[0]]
    left.plot(actual["period_end"], actual["actual_cumulative"], color="black", label="actual")
    right.plot(actual["period_end"], actual["actual"], color="black", lw=0.8, label="actual")
    for model, part in track.groupby("model"):
        left.plot(part["period_end"], part["expected_cumulative"], ls="--", label=model)
        right.plot(part["period_end"], part["expected"], lw=0.8, label=model)
    for ax, title in ((left, "cumulative"), (right, f"per {time_unit[:-1]}")):
        ax.axvline(track["calibration_end"].iloc[0], color="grey", ls=":")
        ax.set_title(f"Repeat purchases, {title}")
        ax.legend()
    plots.thousands(left, "y")
    return fig


def frequency_recency_figure(model: Any, customers: pd.DataFrame, clv: ClvSettings) -> plt.Figure:
    """Expected purchases in the next ``clv.prediction_days`` and P(alive) over repeat
    purchases and recency, for a customer observed over the longest history."""
    horizon = clv.prediction_days / days_per_unit(clv.time_unit)
    expected, alive = frequency_recency_grid(model, float(customers["T"].max()), horizon)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, matrix, title in (
        (axes[0], expected, f"expected purchases, next {clv.prediction_days} days"),
        (axes[1], alive, "P(alive)"),
    ):
        sns.heatmap(matrix.iloc[::-1], cmap="viridis", ax=ax, xticklabels=5, yticklabels=5)
        ax.set_title(title)
        ax.set_xlabel(f"recency ({clv.time_unit})")
        ax.set_ylabel("repeat purchases")
    return fig


def spend_frequency_figure(customers: pd.DataFrame) -> plt.Figure:
    """Each repeat buyer's repeat purchases against mean repeat spend (Gamma-Gamma
    assumes the two independent)."""
    repeat = customers[customers["frequency"] > 0]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(repeat["frequency"], repeat["monetary_value"], s=4, alpha=0.3)
    ax.set_yscale("log")
    ax.set_xlabel("repeat purchases")
    ax.set_ylabel("mean repeat spend (log scale)")
    ax.set_title("Repeat purchases against mean repeat spend, per customer")
    return fig


def spend_text(found: dict[str, Any], customers: pd.DataFrame) -> str:
    """The independence check's correlation and the Gamma-Gamma parameters."""
    repeat = int((customers["frequency"] > 0).sum())
    return (
        f"correlation of frequency and mean repeat spend: "
        f"{found['spend_frequency_correlation']:+.3f} over {repeat:,} repeat buyers\n"
        f"Gamma-Gamma parameters: {found['gamma_gamma']}"
    )


def segment_value_table(found: dict[str, Any]) -> pd.DataFrame:
    """Customers, mean CLV and share of expected value per RFM segment."""
    return pd.DataFrame(found["segments"]).T.rename_axis("segment").reset_index()


def lifecycle_table(rules: list[dict[str, str]], found: dict[str, Any]) -> pd.DataFrame:
    """The lifecycle rules with the customers each stage holds."""
    table = pd.DataFrame(rules)
    table["customers"] = table["name"].map(found["lifecycle"]).fillna(0).astype(int)
    return table


def truth_text(truth: dict[str, Any]) -> str:
    """P(alive)'s ranking of the truly active against recency alone."""
    return (
        f"P(alive) AUC {truth['p_alive_auc']:.3f} against recency alone "
        f"{truth['recency_auc']:.3f} ({truth['customers_matched']:,} customers)"
    )


def truth_figure(truth: dict[str, Any]) -> plt.Figure:
    """The share of true next-12-month value the top 10% hold, ranked three ways."""
    shares = pd.Series(
        {
            "predicted CLV": truth["top10_share_by_clv"],
            "RFM score": truth["top10_share_by_rfm"],
            "past spend": truth["top10_share_by_past_spend"],
        }
    )
    fig, ax = plt.subplots(figsize=(6, 3))
    shares.plot.barh(ax=ax, color=plots.PALETTE[:3])
    ax.xaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
    ax.set_title("Share of true next-12-month value held by the top 10%")
    ax.bar_label(ax.containers[0], labels=[f"{v:.0%}" for v in shares], padding=2)
    return fig
