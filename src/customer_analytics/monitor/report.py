"""What the 10_monitor notebook shows: the KPI board with its flagged weeks, the cohort
triangles, and the cohorts' projection against the earlier cohorts' average."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from customer_analytics.monitor.kpis import Kpi


def _value(kpi: Kpi, value: float, currency: str) -> str:
    if kpi.format == "percent":
        return f"{value:.1%}"
    if kpi.format == "money":  # a message's cost is cents: small sums keep them
        return f"{currency}{value:,.2f}" if abs(value) < 10 else f"{currency}{value:,.0f}"
    return f"{value:,.0f}"


def _change(kpi: Kpi, now: float, before: float | None) -> str:
    """The change on the period before: in points for a rate, else relative."""
    if not before:
        return ""
    if kpi.format == "percent":
        return f" ({(now - before) * 100:+.1f} points)"
    return f" ({now / before - 1:+.0%})"


def monitor_sentences(found: dict[str, Any], kpis: list[Kpi], currency: str = "") -> list[str]:
    """Plain-language findings for the run's index page."""
    lines = []
    week = found.get("week", {})
    if week:
        shown = [k for k in kpis if k.name in week["kpis"]][:5]
        parts = []
        for k in shown:
            now, before = week["kpis"][k.name], week["before"].get(k.name)
            change = _change(k, now, before)
            parts.append(f"{k.label.lower()} {_value(k, now, currency)}{change}")
        lines.append(
            f"In the week of {week['period']}: " + ", ".join(parts) + ", against the week before."
        )
    flagged = found.get("anomalies", [])
    if flagged:
        latest = sorted(flagged, key=lambda a: a["week"])[-3:]
        named = "; ".join(
            f"{a['kpi'].replace('_', ' ')} in the week of {a['week']}" for a in latest
        )
        festivals = found["festival_weeks"]
        marked = f"; the {festivals} festival weeks are marked, not flagged" if festivals else ""
        lines.append(
            f"{len(flagged)} KPI-weeks were unusual against the quarter before them "
            f"(latest: {named}){marked}."
        )
    else:
        lines.append("No KPI-week was unusual against the quarter before it.")
    found_cohorts = found.get("cohorts", {})
    if found_cohorts.get("month_1_retention") is not None:
        lines.append(
            f"Of each month's new customers, {found_cohorts['month_1_retention']:.0%} buy again "
            f"in the month after, on average over {found_cohorts['count']} cohorts."
        )
    projection = found_cohorts.get("projection")
    if isinstance(projection, dict):
        lines.append(
            f"Projected by {found_cohorts['model']} with the season, the cohorts' purchases in "
            f"the {projection['months']} held-back months are off by "
            f"{projection['btyd_seasonal_mae']:.3f} a customer a month, against "
            f"{projection['baseline_mae']:.3f} for the earlier cohorts' average at the same "
            f"age ({projection['btyd_mae']:.3f} without the season)."
        )
    holdout = holdout_sentence(found, currency)
    if holdout:
        lines.append(holdout)
    lines += attribution_sentences(found)
    if found.get("not_computed"):
        missing = ", ".join(
            f"{k.replace('_', ' ')} ({why})" for k, why in found["not_computed"].items()
        )
        lines.append(f"Not computed, for lack of data: {missing}.")
    return lines


def key_figures_text(found: dict[str, Any]) -> str:
    """What was computed, for the analyst page (checked by nbval)."""
    week, month = found.get("week", {}), found.get("month", {})
    return "\n".join(
        [
            f"as of {found['as_of']}: last complete week {week.get('period')}, month {month.get('period')}",
            f"KPIs computed: {', '.join(sorted(week.get('kpis', {})))}",
            f"not computed: {', '.join(sorted(found.get('not_computed', {}))) or 'none'}",
            f"cohorts: {found.get('cohorts', {}).get('count', 0)}",
        ]
    )


def kpi_table(found: dict[str, Any], kpis: list[Kpi], currency: str = "") -> pd.DataFrame:
    """The last complete week's and month's KPIs beside the period before."""
    rows = []
    for k in kpis:
        row = {"KPI": k.label}
        for grain in ("week", "month"):
            latest = found.get(grain, {})
            now, before = latest.get("kpis", {}).get(k.name), latest.get("before", {}).get(k.name)
            row[f"last {grain}"] = _value(k, now, currency) if now is not None else ""
            row[f"{grain} before"] = _value(k, before, currency) if before is not None else ""
        if row["last week"] or row["last month"]:
            rows.append(row)
    return pd.DataFrame(rows).set_index("KPI")


def kpi_board_figure(weekly: pd.DataFrame, kpis: list[Kpi]) -> plt.Figure:
    """Every KPI per week: festival weeks shaded, flagged weeks marked."""
    shown = [k for k in kpis if k.name in set(weekly["kpi"])]
    columns = 2
    rows = max(1, int(np.ceil(len(shown) / columns)))
    fig, axes = plt.subplots(rows, columns, figsize=(12, 2.6 * rows), sharex=True, squeeze=False)
    for ax, k in zip(axes.ravel(), shown, strict=False):
        part = weekly[weekly["kpi"] == k.name].sort_values("period")
        ax.plot(part["period"], part["value"], lw=1.2)
        for period in part.loc[part["festival"], "period"]:
            ax.axvspan(period, period + pd.Timedelta(days=7), color="0.85", lw=0)
        odd = part[part["anomaly"].fillna(False).astype(bool)]
        ax.scatter(odd["period"], odd["value"], color="C3", zorder=3, s=18)
        ax.set_title(k.label, fontsize=10)
        if k.format == "percent":
            ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    for ax in axes.ravel()[len(shown) :]:
        ax.set_visible(False)
    fig.suptitle("KPIs per week (grey: festival season; red: unusual against the quarter before)")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


#: Each cohort heatmap's title and whether its values are shares.
COHORT_VIEWS = {
    "retention": ("Share of each cohort buying, by month since the first purchase", True),
    "revenue_per_customer": (
        "Net revenue per cohort customer, by month since the first purchase",
        False,
    ),
}


def cohort_figure(cohorts: pd.DataFrame, column: str, currency: str = "") -> plt.Figure:
    """Cohorts (rows) by months since the first purchase (columns): ``column`` of
    :data:`COHORT_VIEWS`."""
    title, percent = COHORT_VIEWS[column]
    table = cohorts.pivot(index="cohort", columns="age", values=column)
    if 0 in table.columns and column == "retention":
        table = table.drop(columns=0)  # every customer buys in their first month
    fig, ax = plt.subplots(figsize=(12, max(4, 0.28 * len(table))))
    label = (lambda v, _: f"{v:.0%}") if percent else (lambda v, _: f"{currency}{v:,.0f}")
    sns.heatmap(table, cmap="Blues", ax=ax, cbar_kws={"format": plt.FuncFormatter(label)})
    ax.set_xlabel("months since the first purchase")
    ax.set_ylabel("cohort (month of the first purchase)")
    ax.set_title(title)
    return fig


def projection_figure(projection: pd.DataFrame) -> plt.Figure:
    """Per held-back month, purchase days per customer over the cohorts (weighted by
    size): actual, BTYD with and without the season, and the earlier cohorts' average."""
    cells = projection.dropna(subset=["baseline"])
    by_month = cells.groupby("month").apply(
        lambda d: pd.Series({c: np.average(d[c], weights=d["customers"])
                             for c in ("actual", "seasonal", "projected", "baseline")}),
        include_groups=False,
    )  # fmt: skip
    fig, ax = plt.subplots(figsize=(9, 4))
    labels = {"actual": "actual", "seasonal": "BTYD with the season", "projected": "BTYD",
              "baseline": "earlier cohorts at the same age"}  # fmt: skip
    for column, label in labels.items():
        ax.plot(by_month.index.astype(str), by_month[column], marker="o", label=label,
                lw=2.5 if column == "actual" else 1.2)  # fmt: skip
    ax.set_ylabel("purchase days per customer")
    ax.set_title("The held-back months: projections against what happened")
    ax.legend()
    return fig


def anomalies_table(found: dict[str, Any]) -> pd.DataFrame:
    """The flagged KPI-weeks, latest first."""
    flagged = pd.DataFrame(found.get("anomalies", []))
    if flagged.empty:
        return flagged
    return flagged.sort_values("week", ascending=False).round({"value": 3, "median": 3, "z": 1})


def channel_figure(weekly: pd.DataFrame, kpis: list[Kpi]) -> plt.Figure | None:
    """Each per-channel KPI (``by: channel``) per week, one line per channel; None when
    the source has none."""
    shown = [k for k in kpis if k.by and weekly["kpi"].str.startswith(f"{k.name}:").any()]
    if not shown:
        return None
    fig, axes = plt.subplots(
        len(shown), 1, figsize=(12, 2.6 * len(shown)), sharex=True, squeeze=False
    )
    for ax, k in zip(axes.ravel(), shown, strict=True):
        part = weekly[weekly["kpi"].str.startswith(f"{k.name}:")]
        for name, series in part.groupby("kpi"):
            series = series.sort_values("period")
            ax.plot(series["period"], series["value"], lw=1.2, label=name.split(":", 1)[1])
        ax.set_title(k.label, fontsize=10)
        if k.format == "percent":
            ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.legend(fontsize=8, ncols=4, loc="upper left")
    fig.suptitle("Per channel and week")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def holdout_sentence(found: dict[str, Any], currency: str = "") -> str | None:
    """The holdout channel's measured lift in words (and the planted one, on the synthetic shop)."""
    h = found.get("holdout")
    if h is None:
        return None
    if isinstance(h, str):
        return f"No measured lift: {h}."
    held = min(h["customers"].values())
    planted = f" The synthetic shop planted {h['planted']:.2f}." if "planted" in h else ""
    sign = "+" if h["revenue_lift"] >= 0 else "-"
    return (
        f"The randomised holdout on {h['channel'].replace('_', '-')}: each customer messaged "
        f"bought {h['lift']:+.2f} orders ({h['low']:+.2f} to {h['high']:+.2f}, 90% interval) "
        f"and {sign}{currency}{abs(h['revenue_lift']):,.0f} of revenue against the {held:,} "
        f"held out, from their assignment to the data's end.{planted}"
    )


#: The attribution models as the report names them.
MODEL_LABELS = {"last_touch": "last touch", "first_touch": "first touch", "linear": "linear",
                "time_decay": "time decay", "position": "position (40/20/40)",
                "markov": "Markov removal", "shapley": "Shapley"}  # fmt: skip


def attribution_sentences(found: dict[str, Any]) -> list[str]:
    """What attribution shows, and what it cannot: it credits touches, it measures no effect."""
    shares = found.get("attribution")
    if isinstance(shares, str):
        return [f"No attribution: {shares}."]
    if not shares:
        return []
    j = found["journeys"]
    lines = [
        f"{j['converted']:,} orders had a touch (a clicked message or a session from a traffic "
        f"source) in the {j.get('lookback_days', 30)} days before them; "
        f"{j['touchless_orders']:,} had none, and no channel is credited with them."
    ]

    def top(model: str) -> str:
        ranked = sorted(shares[model].items(), key=lambda kv: -kv[1])[:3]
        return ", ".join(f"{c.replace('_', ' ')} {v:.0%}" for c, v in ranked)

    shown = [m for m in ("last_touch", "markov", "shapley") if m in shares]
    lines.append(
        "Credited most: " + "; ".join(f"by {MODEL_LABELS[m]}, {top(m)}" for m in shown) + "."
    )
    lines.append(
        "Attribution is not causal: it splits orders over the touches before them, and "
        "customers about to buy anyway are touched more. Only a randomised holdout measures "
        "what a channel adds."
    )
    distance = found.get("distance_to_truth")
    if distance:
        best = min(distance, key=distance.get)
        lines.append(
            "Against the synthetic shop's planted contributions (each channel's share of the "
            "orders marketing really brought), each model's credit split over the channels "
            "that brought orders or cost money, the total variation distance is "
            + ", ".join(
                f"{MODEL_LABELS[m]} {d:.2f}"
                for m, d in sorted(distance.items(), key=lambda x: x[1])
            )
            + f"; {MODEL_LABELS[best]} comes closest."
        )
    return lines


def shares_table(long: pd.DataFrame) -> pd.DataFrame:
    """Channels (rows) by model (columns): share of the attributed orders, with its interval."""
    cell = long.assign(text=[
        f"{s:.1%}" + (f" ({lo:.1%}–{hi:.1%})" if np.isfinite(lo) else "")
        for s, lo, hi in zip(long["share"], long["low"], long["high"], strict=True)
    ])  # fmt: skip
    table = cell.pivot(index="channel", columns="model", values="text")
    return table[[m for m in MODEL_LABELS if m in table.columns]].rename(columns=MODEL_LABELS)


def returns_table(table: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """Per channel: cost, orders credited by last touch and by Shapley, the measured lift
    where known, revenue and return on cost with what it rests on."""
    out = pd.DataFrame(index=table["channel"])
    out["cost"] = [f"{currency}{v:,.0f}" for v in table["cost"]]
    for model in ("last_touch", "markov", "shapley"):
        if f"orders_{model}" in table:
            out[f"orders ({MODEL_LABELS[model]})"] = [
                f"{v:,.0f}" if np.isfinite(v) else "" for v in table[f"orders_{model}"]
            ]
    if "lift_orders" in table:
        out["extra orders (holdout)"] = [
            f"{v:,.0f}" if np.isfinite(v) else "" for v in table["lift_orders"]
        ]
    out["revenue"] = [f"{currency}{v:,.0f}" if np.isfinite(v) else "" for v in table["revenue"]]
    out["return on cost"] = [f"{v:,.1f}×" if np.isfinite(v) else "" for v in table["roi"]]
    out["on"] = table["basis"].to_numpy()
    return out


# -- what changed since the earlier run ---------------------------------------------------
#: What each part of the comparison is called in sentences.
PARTS = {"kpis": "KPIs", "segments": "RFM segments", "personas": "personas",
         "clv": "CLV parameters", "verdicts": "experiment verdicts"}  # fmt: skip


def _pct(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "–"
    return f"{value:+.0%}" if signed else f"{value:.0%}"


def since_sentences(found: dict[str, Any], kpis: list[Kpi], top: int = 4) -> list[str]:
    """Plain-language sentences on what changed since the earlier run (or why nothing
    was compared), for the notebook's comparison section."""
    since = found.get("since")
    if not since:
        return ["This run was not compared with an earlier one."]
    if since.get("problem"):
        return [f"No comparison with an earlier run: {since['problem']}."]
    lines = [f"Compared with run {since['run_id']}, as of {since.get('as_of') or 'unknown'}."]
    labels = {k.name: k.label.lower() for k in kpis}
    if "kpis" in since:
        part = since["kpis"]
        moves = sorted(
            ((k, v) for k, v in part["change"].items() if v is not None),
            key=lambda kv: -abs(kv[1]),
        )[:top]
        named = ", ".join(f"{labels.get(k, k.replace('_', ' '))} {_pct(v)}" for k, v in moves)
        lines.append(
            f"Over the last {part['weeks']} complete weeks outside festival seasons (to the "
            f"week of {part['after_last_week']}, against the earlier run's to "
            f"{part['before_last_week']}), the largest moves: {named}."
        )
    if "segments" in since:
        part = since["segments"]
        lines.append(
            f"{part['moved']:,} of the {part['customers_in_both']:,} customers in both runs "
            f"({_pct(part['moved_share'], False)}) moved to another RFM segment; "
            f"{part['new_customers']:,} customers are new."
        )
    if "personas" in since:
        part = since["personas"]
        lines.append(
            f"{_pct(part['changed_share'], False)} of the customers in both runs changed "
            f"persona ({part['clusters'][0]} clusters then, {part['clusters'][1]} now, "
            "matched by their centres)."
        )
        for p in part["matched"]:
            tags = _tag_changes(p)
            renamed = f' (was "{p["before"]}")' if p["before"] and p["before"] != p["after"] else ""
            if p["after"] is None:
                lines.append(f'Persona "{p["before"]}" has no counterpart now.')
            elif p["before"] is None:
                lines.append(f'Persona "{p["after"]}" is new: no cluster then matches it.')
            elif tags:
                lines.append(f'Persona "{p["after"]}"{renamed} {tags}.')
    if "clv" in since:
        part = since["clv"]
        if part["models"][0] != part["models"][1]:
            lines.append(
                f"The CLV model chosen changed from {part['models'][0]} to {part['models'][1]}: "
                "only Gamma-Gamma's parameters are compared."
            )
        moved = sorted(part["params"].items(), key=lambda kv: -abs(kv[1]["change"] or 0))[:1]
        if moved:
            name, p = moved[0]
            lines.append(f"CLV parameters: the largest move is {name}'s, {_pct(p['change'])}.")
    if "verdicts" in since:
        part = since["verdicts"]
        if part["changed"]:
            named = "; ".join(
                f"{c['experiment']}: {c['before'] or 'not analysed'} → {c['after'] or 'not analysed'}"
                for c in part["changed"]
            )
            lines.append(f"Experiment verdicts that changed: {named}.")
        else:
            lines.append(f"No experiment's verdict changed ({part['experiments']} compared).")
    alerts = found.get("alerts") or []
    if alerts:
        lines.append(
            f"{len(alerts)} alert{'s' if len(alerts) > 1 else ''}: "
            + "; ".join(f"{a['subject'].replace('_', ' ')} ({a['rule']})" for a in alerts)
            + "."
        )
    else:
        lines.append("No alert: nothing moved beyond the alert rules.")
    if since.get("not_compared"):
        missing = "; ".join(f"{PARTS.get(k, k)}: {why}" for k, why in since["not_compared"].items())
        lines.append(f"Not compared: {missing}.")
    return lines


def _tag_changes(persona: dict[str, Any]) -> str:
    gained, lost = persona.get("gained_tags") or [], persona.get("lost_tags") or []
    parts = []
    for verb, tags in (("gained", gained), ("lost", lost)):
        if tags:
            parts.append(f"{verb} the tag{'s' if len(tags) > 1 else ''} {', '.join(tags)}")
    return " and ".join(parts)


def alerts_table(found: dict[str, Any]) -> pd.DataFrame:
    """The alerts: rule, subject, value before and after."""
    return pd.DataFrame(found.get("alerts") or [], columns=["rule", "subject", "before", "after"])


def since_kpi_table(changes: pd.DataFrame, kpis: list[Kpi], currency: str = "") -> pd.DataFrame:
    """Each KPI's mean of the last complete weeks in the earlier run and in this one,
    the change and its noise (stage 10's ``since_kpis.parquet``)."""
    by_name = {k.name: k for k in kpis}
    rows = []
    for r in changes.itertuples():
        k = by_name.get(r.subject)
        if k is None:
            continue
        noise = f"±{r.noise * 100:.1f} points" if k.format == "percent" else (
            f"±{r.noise / abs(r.before):.0%}" if r.before else "")  # fmt: skip
        rows.append({"KPI": k.label, "earlier run": _value(k, r.before, currency),
                     "this run": _value(k, r.after, currency), "change": _change(k, r.after, r.before).strip(" ()"),
                     "noise (one standard error)": noise})  # fmt: skip
    return pd.DataFrame(rows).set_index("KPI") if rows else pd.DataFrame()


def migration_figure(matrix: pd.DataFrame) -> plt.Figure:
    """Customers in both runs, from their RFM segment then (rows) to now (columns)."""
    table = matrix.set_index("before") if "before" in matrix.columns else matrix
    fig, ax = plt.subplots(figsize=(10, max(4, 0.45 * len(table))))
    sns.heatmap(table, annot=True, fmt=",d", cmap="Blues", cbar=False, ax=ax)
    ax.set_xlabel("segment in this run")
    ax.set_ylabel("segment in the earlier run")
    ax.set_title("RFM segment migration between the runs (customers in both)")
    return fig


def persona_drift_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per persona matched across the runs: names, shares then and now, tags gained and
    lost, and how far apart the matched centres are (stage 10's ``since_personas.parquet``)."""
    if table.empty:
        return pd.DataFrame()
    shown = pd.DataFrame(
        {
            "earlier run": table["before_name"].fillna("(none)"),
            "this run": table["after_name"].fillna("(none)"),
            "share then": table["before"].map(lambda v: "" if pd.isna(v) else f"{v:.1%}"),
            "share now": table["after"].map(lambda v: "" if pd.isna(v) else f"{v:.1%}"),
            "tags gained": table["gained_tags"].map(lambda t: ", ".join(t)),
            "tags lost": table["lost_tags"].map(lambda t: ", ".join(t)),
            "centre distance": table["distance"].round(2),
        }
    )
    return shown.set_index("this run")


def clv_drift_table(found: dict[str, Any]) -> pd.DataFrame:
    """Each fitted CLV parameter in both runs and its relative change."""
    params = ((found.get("since") or {}).get("clv") or {}).get("params") or {}
    rows = [{"parameter": name, "earlier run": p["before"], "this run": p["after"],
             "change": _pct(p["change"])} for name, p in params.items()]  # fmt: skip
    return pd.DataFrame(rows).set_index("parameter") if rows else pd.DataFrame()


def not_compared_note(found: dict[str, Any], part: str) -> str:
    """Why a part of the comparison is missing, as a sentence."""
    since = found.get("since") or {}
    why = (
        since.get("problem")
        or (since.get("not_compared") or {}).get(part)
        or "this run was not compared with an earlier one"
    )
    return f"Not compared: {why}."
