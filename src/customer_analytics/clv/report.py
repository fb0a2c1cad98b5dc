"""What the 04_clv notebook shows: findings in plain language, the model choice, the
calibration estimates beside the published ones, the papers' charts (calibration
against holdout, tracking, frequency-recency matrices), spend, value by segment and
lifecycle, and the check against the planted truth.

Every function speaks the current report language (:mod:`customer_analytics.i18n`):
the notebook calls each once per language through ``st.show`` and ``st.figure``. Model
names (BG/NBD, Pareto/NBD, Gamma-Gamma) and parameter names stay as the papers write them.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from pandas.io.formats.style import Styler

from customer_analytics.clv.stage import LABELS, MODELS
from customer_analytics.config import ClvSettings
from customer_analytics.i18n import N_, _, formats, word
from customer_analytics.ingest.report import formatted
from customer_analytics.privacy import suppress_small_groups
from customer_analytics.report import plots
from customer_analytics.rfm.segments import SegmentScheme
from customer_analytics.utils.dates import days_per_unit

#: The baseline among the models (``LABELS["naive"]``), in a reader's words.
NAIVE = N_("naive")
TIME_UNITS = {"days": N_("days"), "weeks": N_("weeks"), "months": N_("months")}
#: The lifecycle stages as the findings count them (their words: lifecycle.yaml).
LIFECYCLE = ("active", "new", "at risk", "churned")


def model_label(name: str) -> str:
    """A model's name as the report shows it: the papers' names, the baseline translated."""
    return _(NAIVE) if name == LABELS["naive"] else name


def _code(value: Any) -> str:
    return f"<code>{html.escape(str(value))}</code>"


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
    n = formats.number
    return [
        _(
            "{model} was chosen on a holdout after {calibration_end}: it predicted {predicted} "
            "repeat purchases against {actual} actual ({error}), an error per customer of "
            "{mae} purchases against {naive} for simply repeating each customer's past rate."
        ).format(
            model=chosen,
            calibration_end=formats.date(found["calibration_end"]),
            predicted=n(model["predicted"]),
            actual=n(model["actual"]),
            error=_signed_percent(model["error_pct"]),
            mae=n(model["mae"], 2),
            naive=n(naive["mae"], 2),
        ),
        _(
            "The {buyers} buyers are expected to bring {value} over the next {months} months "
            "(discounted); {risky} customers worth {share} of that are At Risk or Can't Lose "
            "Them."
        ).format(
            buyers=n(found["customers"]),
            value=formats.money(found["total_clv"], currency, 0),
            months=n(found["horizon_months"]),
            risky=n(sum(s["customers"] for s in risky)),
            share=formats.percent(sum(s["clv_share"] for s in risky), 0),
        ),
        _(
            "By the model's chance that each customer still buys: {active} active, {new} new, "
            "{at_risk} at risk and {churned} churned."
        ).format(
            active=n(lifecycle.get("active", 0)),
            new=n(lifecycle.get("new", 0)),
            at_risk=n(lifecycle.get("at risk", 0)),
            churned=n(lifecycle.get("churned", 0)),
        ),
    ]


def _signed_percent(value: float, digits: int = 1) -> str:
    """A change in percent points of 100 (``10.6`` -> ``+10.6%``)."""
    shown = formats.percent(value / 100, digits)
    return shown if value < 0 else "+" + shown


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


def calibration_shown(found: dict[str, Any]) -> Styler:
    """:func:`calibration_table` for a reader: headers translated, parameters as code."""
    table = calibration_table(found)
    table = table.rename(columns={"ours": _("ours"), "published": _("published")})
    table = table.rename_axis(index=[_("model"), _("parameter")])

    def index(value: Any) -> str:
        return _model_cell(value) if value in found["calibration_params"] else _code(value)

    def value(v: Any) -> str:
        return "" if v is None or pd.isna(v) else formats.number(v, 3)

    return formatted(table, dict.fromkeys(table.columns, value), index).style


def published_note(found: dict[str, Any]) -> str:
    """The paper whose figures stand beside ours (markdown); empty without one."""
    if "published" not in found:
        return ""
    return _("Published: {reference}.").format(reference=f"`{found['published']['reference']}`")


def key_figures_text(found: dict[str, Any]) -> str:
    """The dates, the models compared, those that failed, the one chosen (a markdown
    list)."""
    unit = found["time_unit"]
    failed = [
        _("not fitted: {model} ({why})").format(
            model=LABELS.get(name, f"`{name}`"),
            why=f"`{why}`",
        )
        for name, why in found["failed_models"].items()
    ]
    lines = [
        _(
            "as of {as_of}; calibration to {calibration_end}, holdout after it; time in {unit}"
        ).format(
            as_of=formats.date(found["as_of"]),
            calibration_end=formats.date(found["calibration_end"]),
            unit=_(TIME_UNITS[unit]) if unit in TIME_UNITS else unit,
        ),
        _("models compared: {models}").format(
            models=_(", ").join(m for m in found["holdout"] if m != LABELS["naive"])
        ),
        *failed,
        _("chosen by per-customer holdout error: {model}").format(model=found["chosen_model"]),
        _("customers valued: {customers} over {months} months").format(
            customers=formats.number(found["customers"]),
            months=formats.number(found["horizon_months"]),
        ),
    ]
    return "\n".join(f"- {line}" for line in lines)


def holdout_table(scores: pd.DataFrame) -> Styler:
    """Each model's holdout prediction against the actual purchases, in total and per
    customer (``scores`` indexed by model)."""
    names = {
        "predicted": _("predicted"),
        "actual": _("actual"),
        "error_pct": _("error"),
        "mae": _("mean absolute error"),
        "rmse": _("root mean squared error"),
    }
    shown = scores.rename(columns=names).rename_axis(index=_("model"))
    columns = {
        names["predicted"]: lambda v: formats.number(v, 1),
        names["actual"]: formats.number,
        names["error_pct"]: _signed_percent,
        names["mae"]: lambda v: formats.number(v, 3),
        names["rmse"]: lambda v: formats.number(v, 3),
    }
    return formatted(shown, columns, _model_cell).style


def _model_cell(name: str) -> str:
    """A model in a table cell: the baseline translated, the papers' names as they are."""
    return html.escape(model_label(name))


def period_transactions_figure(periods: pd.DataFrame) -> plt.Figure:
    """Customers by calibration repeat purchases, observed and expected per model."""
    fig, ax = plt.subplots()
    shown = periods.set_index("repeat_purchases").rename(columns={"actual": _("actual")})
    shown.plot.bar(ax=ax, rot=0)
    ax.set_xlabel(_("repeat purchases in the calibration period"))
    ax.set_ylabel(_("customers"))
    ax.set_title(_("Calibration period: customers by repeat purchases"))
    ax.yaxis.set_major_formatter(formats.axis("number"))
    return fig


def holdout_figure(by_frequency: pd.DataFrame) -> plt.Figure:
    """Mean holdout purchases, actual and per model, by calibration repeat purchases."""
    fig, ax = plt.subplots()
    shown = by_frequency.set_index("frequency_cal").drop(columns="customers")
    shown.rename(columns={"actual": _("actual")}).plot(ax=ax, marker="o")
    ax.set_xlabel(_("repeat purchases in the calibration period (last point: that many or more)"))
    ax.set_ylabel(_("mean purchases in the holdout"))
    ax.set_title(_("Calibration against holdout, by purchase frequency"))
    ax.yaxis.set_major_formatter(formats.axis("number", digits=1))
    return fig


def tracking_figure(track: pd.DataFrame, time_unit: str) -> plt.Figure:
    """Repeat purchases per period and cumulated, actual against each model's projection."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4))
    fig.autofmt_xdate()
    actual = track[track["model"] == track["model"].iloc[0]]
    left.plot(actual["period_end"], actual["actual_cumulative"], color="black", label=_("actual"))
    right.plot(actual["period_end"], actual["actual"], color="black", lw=0.8, label=_("actual"))
    for model, part in track.groupby("model"):
        left.plot(part["period_end"], part["expected_cumulative"], ls="--", label=model)
        right.plot(part["period_end"], part["expected"], lw=0.8, label=model)
    per = {"days": _("Repeat purchases, per day"), "weeks": _("Repeat purchases, per week")}
    titles = (
        (left, _("Repeat purchases, cumulative")),
        (right, per.get(time_unit, _("Repeat purchases, per period"))),
    )
    for ax, title in titles:
        ax.axvline(track["calibration_end"].iloc[0], color="grey", ls=":")
        ax.set_title(title)
        ax.legend()
        _date_ticks(ax)
    left.yaxis.set_major_formatter(formats.axis("number"))
    return fig


def _date_ticks(ax: plt.Axes) -> None:
    """Date ticks as the locale writes a month (``Jan 2025``, ``2025年1月``)."""
    import matplotlib.dates as mdates
    from babel.dates import format_skeleton

    from customer_analytics.i18n import current
    from customer_analytics.i18n.formats import LOCALES

    locale = LOCALES[current()]
    ax.xaxis.set_major_formatter(
        plt.FuncFormatter(
            lambda v, _pos: format_skeleton("yMMM", mdates.num2date(v), locale=locale)
        )
    )


def frequency_recency_figure(model: Any, customers: pd.DataFrame, clv: ClvSettings) -> plt.Figure:
    """Expected purchases in the next ``clv.prediction_days`` and P(alive) over repeat
    purchases and recency, for a customer observed over the longest history."""
    horizon = clv.prediction_days / days_per_unit(clv.time_unit)
    expected, alive = frequency_recency_grid(model, float(customers["T"].max()), horizon)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    unit = _(TIME_UNITS[clv.time_unit]) if clv.time_unit in TIME_UNITS else clv.time_unit
    for ax, matrix, title in (
        (
            axes[0],
            expected,
            _("expected purchases, next {days} days").format(
                days=formats.number(clv.prediction_days)
            ),
        ),
        (axes[1], alive, _("P(alive)")),
    ):
        sns.heatmap(matrix.iloc[::-1], cmap="viridis", ax=ax, xticklabels=5, yticklabels=5)
        ax.set_title(title)
        ax.set_xlabel(_("recency ({unit})").format(unit=unit))
        ax.set_ylabel(_("repeat purchases"))
    return fig


def spend_frequency_figure(customers: pd.DataFrame) -> plt.Figure:
    """Each repeat buyer's repeat purchases against mean repeat spend (Gamma-Gamma
    assumes the two independent)."""
    repeat = customers[customers["frequency"] > 0]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(repeat["frequency"], repeat["monetary_value"], s=4, alpha=0.3)
    ax.set_yscale("log")
    ax.set_xlabel(_("repeat purchases"))
    ax.set_ylabel(_("mean repeat spend (log scale)"))
    ax.set_title(_("Repeat purchases against mean repeat spend, per customer"))
    return fig


def spend_text(found: dict[str, Any], customers: pd.DataFrame) -> str:
    """The independence check's correlation and the Gamma-Gamma parameters (a markdown
    list)."""
    repeat = int((customers["frequency"] > 0).sum())
    correlation = found["spend_frequency_correlation"]
    params = _(", ").join(
        f"`{name}` {formats.number(value, 4)}" for name, value in found["gamma_gamma"].items()
    )
    lines = [
        _(
            "correlation of frequency and mean repeat spend: {correlation} over {repeat} "
            "repeat buyers"
        ).format(
            correlation=("+" if correlation >= 0 else "") + formats.number(correlation, 3),
            repeat=formats.number(repeat),
        ),
        _("Gamma-Gamma parameters: {params}").format(params=params),
    ]
    return "\n".join(f"- {line}" for line in lines)


def segment_value_table(found: dict[str, Any]) -> pd.DataFrame:
    """Customers, mean CLV and share of expected value per RFM segment."""
    return pd.DataFrame(found["segments"]).T.rename_axis("segment").reset_index()


def segment_value_shown(
    found: dict[str, Any], scheme: SegmentScheme, min_group: int, currency: str
) -> Styler:
    """:func:`segment_value_table` for a reader: segments in the reader's words, groups
    under the privacy minimum suppressed, money in the shop's currency."""
    table = segment_value_table(found)
    table["segment"] = table["segment"].map(scheme.label)
    shown = suppress_small_groups(table, "customers", min_group, label_column="segment")
    names = {
        "segment": _("segment"),
        "customers": _("customers"),
        "mean_clv": _("mean CLV"),
        "clv_share": _("share of expected value"),
    }
    shown = shown[list(names)].rename(columns=names)

    def blank(function: Any) -> Any:
        return lambda v: "" if v is None or pd.isna(v) else function(v)

    columns = {
        names["customers"]: blank(formats.number),
        names["mean_clv"]: blank(lambda v: formats.money(v, currency, 0)),
        names["clv_share"]: blank(lambda v: formats.percent(v, 1)),
    }
    return formatted(shown, columns).style.hide(axis="index")


def lifecycle_table(rules: list[dict[str, Any]], found: dict[str, Any]) -> pd.DataFrame:
    """The lifecycle rules with the customers each stage holds."""
    table = pd.DataFrame([{k: r[k] for k in ("name", "when", "doc")} for r in rules])
    table["customers"] = table["name"].map(found["lifecycle"]).fillna(0).astype(int)
    return table


def lifecycle_shown(rules: list[dict[str, Any]], found: dict[str, Any]) -> Styler:
    """The lifecycle rules for a reader: each stage's name and description in the reader's
    words (lifecycle.yaml's language blocks), its condition as code."""
    table = lifecycle_table(rules, found)
    what = "lifecycle.yaml: {name} {key}"
    table["name"] = [word(r, "name", what=what.format(name=r["name"], key="name")) for r in rules]
    table["doc"] = [word(r, "doc", what=what.format(name=r["name"], key="doc")) for r in rules]
    names = {
        "name": _("stage"),
        "when": _("condition"),
        "doc": _("meaning"),
        "customers": _("customers"),
    }
    shown = table.rename(columns=names)
    columns = {names["when"]: _code, names["customers"]: formats.number}
    return formatted(shown, columns).style.hide(axis="index")


def truth_text(truth: dict[str, Any]) -> str:
    """P(alive)'s ranking of the truly active against recency alone."""
    return _(
        "P(alive) AUC {p_alive} against recency alone {recency} ({customers} customers)"
    ).format(
        p_alive=formats.number(truth["p_alive_auc"], 3),
        recency=formats.number(truth["recency_auc"], 3),
        customers=formats.number(truth["customers_matched"]),
    )


def no_truth_text() -> str:
    """What stands in for the planted truth on real data."""
    return _("Real data: no planted truth; the holdout above is the check.")


def truth_figure(truth: dict[str, Any]) -> plt.Figure:
    """The share of true next-12-month value the top 10% hold, ranked three ways."""
    shares = pd.Series(
        {
            _("predicted CLV"): truth["top10_share_by_clv"],
            _("RFM score"): truth["top10_share_by_rfm"],
            _("past spend"): truth["top10_share_by_past_spend"],
        }
    )
    fig, ax = plt.subplots(figsize=(6, 3))
    shares.plot.barh(ax=ax, color=plots.PALETTE[:3])
    ax.xaxis.set_major_formatter(formats.axis("percent", digits=0))
    ax.set_title(_("Share of true next-12-month value held by the top 10%"))
    ax.bar_label(ax.containers[0], labels=[formats.percent(v, 0) for v in shares], padding=2)
    return fig
