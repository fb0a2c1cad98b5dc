"""What the 10_monitor notebook shows: the KPI board with its flagged weeks, the channels
and what attribution credits them with, the cohort triangles, the cohorts' projection
against the earlier cohorts' average, and what changed since the earlier run.

Every function speaks the current report language (:mod:`customer_analytics.i18n`):
the notebook calls each once per language through ``st.show`` and ``st.figure``.
Money is in the shop's currency (an ISO code, ``cfg.shop.currency``).
"""

from __future__ import annotations

import html
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from pandas.io.formats.style import Styler

from customer_analytics import i18n
from customer_analytics.i18n import N_, _, formats, ngettext
from customer_analytics.monitor import words
from customer_analytics.monitor.kpis import Kpi


def _lower(text: str) -> str:
    """A label inside an English sentence starts lower case; other languages keep it."""
    return text[:1].lower() + text[1:] if i18n.current() == i18n.SOURCE else text


def _signed(text: str, value: float) -> str:
    return f"+{text}" if value > 0 else text


def _value(kpi: Kpi, value: float | None, currency: str) -> str:
    if value is None:
        return ""
    if kpi.format == "percent":
        return formats.percent(value, 1)
    if kpi.format == "money":  # a message's cost is cents: small sums keep them
        return formats.money(value, currency, 2 if abs(value) < 10 else 0)
    return formats.number(value)


def _change(kpi: Kpi, now: float, before: float | None) -> str:
    """The change on the period before: in points for a rate, else relative ("" when
    there is nothing to compare with)."""
    if not before:
        return ""
    if kpi.format == "percent":
        points = (now - before) * 100
        return _("{points} points").format(points=_signed(formats.number(points, 1), points))
    change = now / before - 1
    return _signed(formats.percent(change, 0), change)


def _code(text: Any) -> str:
    """A name or id that stays as the data writes it (markdown code)."""
    return f"`{text}`"


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
            value = _value(k, now, currency)
            parts.append(
                _("{kpi} {value} ({change})").format(
                    kpi=_lower(k.word("label")), value=value, change=change
                )
                if change
                else _("{kpi} {value}").format(kpi=_lower(k.word("label")), value=value)
            )
        lines.append(
            _("In the week of {week}: {kpis}, against the week before.").format(
                week=formats.date(week["period"]), kpis=_(", ").join(parts)
            )
        )
    flagged = found.get("anomalies", [])
    if flagged:
        latest = sorted(flagged, key=lambda a: a["week"])[-3:]
        named = _("; ").join(
            _("{kpi} in the week of {week}").format(
                kpi=_lower(words.kpi_subject(a["kpi"], kpis)), week=formats.date(a["week"])
            )
            for a in latest
        )
        festivals = found["festival_weeks"]
        if festivals:
            sentence = ngettext(
                "{n} KPI-week was unusual against the quarter before it (latest: {latest}); "
                "the {festivals} festival weeks are marked, not flagged.",
                "{n} KPI-weeks were unusual against the quarter before them (latest: "
                "{latest}); the {festivals} festival weeks are marked, not flagged.",
                len(flagged),
            )
        else:
            sentence = ngettext(
                "{n} KPI-week was unusual against the quarter before it (latest: {latest}).",
                "{n} KPI-weeks were unusual against the quarter before them (latest: {latest}).",
                len(flagged),
            )
        lines.append(
            sentence.format(
                n=formats.number(len(flagged)), latest=named, festivals=formats.number(festivals)
            )
        )
    else:
        lines.append(_("No KPI-week was unusual against the quarter before it."))
    found_cohorts = found.get("cohorts", {})
    if found_cohorts.get("month_1_retention") is not None:
        lines.append(
            _(
                "Of each month's new customers, {share} buy again in the month after, on "
                "average over {count} cohorts."
            ).format(
                share=formats.percent(found_cohorts["month_1_retention"], 0),
                count=formats.number(found_cohorts["count"]),
            )
        )
    projection = found_cohorts.get("projection")
    if isinstance(projection, dict):
        lines.append(
            _(
                "Projected by {model} with the season, the cohorts' purchases in the {months} "
                "held-back months are off by {seasonal} a customer a month, against {baseline} "
                "for the earlier cohorts' average at the same age ({plain} without the season)."
            ).format(
                model=found_cohorts["model"],
                months=formats.number(projection["months"]),
                seasonal=formats.number(projection["btyd_seasonal_mae"], 3),
                baseline=formats.number(projection["baseline_mae"], 3),
                plain=formats.number(projection["btyd_mae"], 3),
            )
        )
    holdout = holdout_sentence(found, currency)
    if holdout:
        lines.append(holdout)
    lines += attribution_sentences(found)
    if found.get("not_computed"):
        missing = _("; ").join(
            _("{kpi} ({why})").format(
                kpi=_lower(words.kpi_subject(k, kpis)), why=words.not_computed_text(why)
            )
            for k, why in found["not_computed"].items()
        )
        lines.append(_("Not computed, for lack of data: {missing}.").format(missing=missing))
    return lines


def key_figures_text(found: dict[str, Any]) -> str:
    """What was computed (a markdown list; checked by nbval)."""
    week, month = found.get("week", {}), found.get("month", {})
    computed = ", ".join(_code(k) for k in sorted(week.get("kpis", {})))
    missing = ", ".join(_code(k) for k in sorted(found.get("not_computed", {}))) or _("none")
    lines = [
        _("as of {as_of}: last complete week from {week}, month from {month}").format(
            as_of=formats.date(found["as_of"]),
            week=formats.date(week.get("period")),
            month=formats.date(month.get("period")),
        ),
        _("KPIs computed: {kpis}").format(kpis=computed),
        _("not computed: {kpis}").format(kpis=missing),
        _("cohorts: {count}").format(
            count=formats.number(found.get("cohorts", {}).get("count", 0))
        ),
    ]
    return "\n".join(f"- {line}" for line in lines)


def kpi_table(found: dict[str, Any], kpis: list[Kpi], currency: str = "") -> pd.DataFrame:
    """The last complete week's and month's KPIs beside the period before."""
    columns = {
        ("week", "now"): _("last week"),
        ("week", "before"): _("week before"),
        ("month", "now"): _("last month"),
        ("month", "before"): _("month before"),
    }
    rows = []
    for k in kpis:
        row = {_("KPI"): k.word("label")}
        for grain in ("week", "month"):
            latest = found.get(grain, {})
            now, before = latest.get("kpis", {}).get(k.name), latest.get("before", {}).get(k.name)
            row[columns[grain, "now"]] = _value(k, now, currency)
            row[columns[grain, "before"]] = _value(k, before, currency)
        if row[columns["week", "now"]] or row[columns["month", "now"]]:
            rows.append(row)
    return pd.DataFrame(rows).set_index(_("KPI"))


def kpi_board_figure(weekly: pd.DataFrame, kpis: list[Kpi], currency: str = "") -> plt.Figure:
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
        ax.set_title(k.word("label"), fontsize=10)
        ax.yaxis.set_major_formatter(_axis(k, currency, part["value"].to_numpy(dtype=float)))
    for ax in axes.ravel()[len(shown) :]:
        ax.set_visible(False)
    fig.suptitle(
        _("KPIs per week (grey: festival season; red: unusual against the quarter before)")
    )
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def _axis(kpi: Kpi, currency: str, values: Any = ()) -> Any:
    """Tick labels for ``kpi``'s axis; small sums (a message's cost) keep their cents."""
    small = bool(len(values)) and float(np.nanmax(np.abs(values))) < 10
    if kpi.format == "percent":
        return formats.axis("percent")
    if kpi.format == "money" and currency:
        return formats.axis("money", currency=currency, digits=2 if small else 0)
    return formats.axis("number", digits=1 if small else 0)


#: Each cohort heatmap's title and whether its values are shares.
COHORT_VIEWS = {
    "retention": (N_("Share of each cohort buying, by month since the first purchase"), True),
    "revenue_per_customer": (
        N_("Net revenue per cohort customer, by month since the first purchase"),
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
    label = (
        formats.axis("percent", digits=0) if percent else formats.axis("money", currency=currency)
    )
    sns.heatmap(table, cmap="Blues", ax=ax, cbar_kws={"format": label})
    ax.set_xlabel(_("months since the first purchase"))
    ax.set_ylabel(_("cohort (month of the first purchase)"))
    ax.set_title(_(title))
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
    labels = {"actual": _("actual"), "seasonal": _("BTYD with the season"), "projected": "BTYD",
              "baseline": _("earlier cohorts at the same age")}  # fmt: skip
    for column, label in labels.items():
        ax.plot(by_month.index.astype(str), by_month[column], marker="o", label=label,
                lw=2.5 if column == "actual" else 1.2)  # fmt: skip
    ax.yaxis.set_major_formatter(formats.axis("number", digits=2))
    ax.set_ylabel(_("purchase days per customer"))
    ax.set_title(_("The held-back months: projections against what happened"))
    ax.legend()
    return fig


def projection_missing(found: dict[str, Any]) -> str:
    """Why there is no projection, as a sentence."""
    why = found.get("cohorts", {}).get("projection")
    return _("No projection: {why}.").format(why=words.projection_text(str(why)))


def anomalies_table(found: dict[str, Any], kpis: list[Kpi]) -> pd.DataFrame | Styler | str:
    """The flagged KPI-weeks, latest first."""
    flagged = pd.DataFrame(found.get("anomalies", []))
    if flagged.empty:
        return _("No KPI-week was unusual against the quarter before it.")
    flagged = flagged.sort_values("week", ascending=False)
    names = {"kpi": _("KPI"), "week": _("week from"), "value": _("value"),
             "median": _("median of the reference weeks"), "z": _("modified z-score")}  # fmt: skip
    shown = flagged.assign(
        kpi=[words.kpi_subject(k, kpis) for k in flagged["kpi"]],
        week=[formats.date(w, "medium") for w in flagged["week"]],
    )[list(names)].rename(columns=names)
    three, one = (lambda v: formats.number(v, 3)), (lambda v: formats.number(v, 1))
    style = {names["value"]: three, names["median"]: three, names["z"]: one}
    return shown.style.format(style, na_rep="").hide(axis="index")


def channel_kpis(weekly: pd.DataFrame, kpis: list[Kpi]) -> list[Kpi]:
    """The per-channel KPIs (``by: channel``) the weekly table holds."""
    return [k for k in kpis if k.by and weekly["kpi"].str.startswith(f"{k.name}:").any()]


def channel_figure(weekly: pd.DataFrame, kpis: list[Kpi], currency: str = "") -> plt.Figure:
    """Each per-channel KPI (``by: channel``) per week, one line per channel (the KPIs
    of :func:`channel_kpis`: call only when there is one)."""
    shown = channel_kpis(weekly, kpis)
    fig, axes = plt.subplots(
        len(shown), 1, figsize=(12, 2.6 * len(shown)), sharex=True, squeeze=False
    )
    for ax, k in zip(axes.ravel(), shown, strict=True):
        part = weekly[weekly["kpi"].str.startswith(f"{k.name}:")]
        for name, series in part.groupby("kpi"):
            series = series.sort_values("period")
            label = words.channel(name.split(":", 1)[1])
            ax.plot(series["period"], series["value"], lw=1.2, label=label)
        ax.set_title(k.word("label"), fontsize=10)
        ax.yaxis.set_major_formatter(_axis(k, currency, part["value"].to_numpy(dtype=float)))
        ax.legend(fontsize=8, ncols=4, loc="upper left")
    fig.suptitle(_("Per channel and week"))
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def holdout_sentence(found: dict[str, Any], currency: str = "") -> str | None:
    """The holdout channel's measured lift in words (and the planted one, on the synthetic shop)."""
    h = found.get("holdout")
    if h is None:
        return None
    if isinstance(h, str):
        return _("No measured lift: {why}.").format(why=words.holdout_text(h))

    def lift(value: float) -> str:
        return _signed(formats.number(value, 2), value)

    held = min(h["customers"].values())
    revenue = h["revenue_lift"]
    money = formats.money(abs(revenue), currency, 0)
    sentence = _(
        "The randomised holdout on {channel}: each customer messaged bought {lift} orders "
        "({low} to {high}, 90% interval) and {revenue} of revenue against the {held} held "
        "out, from their assignment to the data's end."
    ).format(
        channel=words.channel(h["channel"]),
        lift=lift(h["lift"]),
        low=lift(h["low"]),
        high=lift(h["high"]),
        revenue=("-" if revenue < 0 else "+") + money,
        held=formats.number(held),
    )
    if "planted" in h:
        planted = _("The synthetic shop planted {planted}.").format(
            planted=formats.number(h["planted"], 2)
        )
        sentence = _("{sentence} {planted}").format(sentence=sentence, planted=planted)
    return sentence


#: The attribution models as the report names them.
MODEL_LABELS = {"last_touch": N_("last touch"), "first_touch": N_("first touch"),
                "linear": N_("linear"), "time_decay": N_("time decay"),
                "position": N_("position (40/20/40)"), "markov": N_("Markov removal"),
                "shapley": "Shapley"}  # fmt: skip


def _model(name: str) -> str:
    return _(MODEL_LABELS[name]) if name in MODEL_LABELS else name


def attribution_sentences(found: dict[str, Any]) -> list[str]:
    """What attribution shows, and what it cannot: it credits touches, it measures no effect."""
    shares = found.get("attribution")
    if isinstance(shares, str):
        return [_("No attribution: {why}.").format(why=words.attribution_text(shares))]
    if not shares:
        return []
    j = found["journeys"]
    lines = [
        _(
            "{touched} orders had a touch (a clicked message or a session from a traffic "
            "source) in the {days} days before them; {touchless} had none, and no channel is "
            "credited with them."
        ).format(
            touched=formats.number(j["converted"]),
            days=formats.number(j.get("lookback_days", 30)),
            touchless=formats.number(j["touchless_orders"]),
        )
    ]

    def top(model: str) -> str:
        ranked = sorted(shares[model].items(), key=lambda kv: -kv[1])[:3]
        return _(", ").join(
            _("{channel} {share}").format(channel=words.channel(c), share=formats.percent(v, 0))
            for c, v in ranked
        )

    shown = [m for m in ("last_touch", "markov", "shapley") if m in shares]
    credited = _("; ").join(
        _("by {model}, {channels}").format(model=_model(m), channels=top(m)) for m in shown
    )
    lines.append(_("Credited most: {credited}.").format(credited=credited))
    lines.append(
        _(
            "Attribution is not causal: it splits orders over the touches before them, and "
            "customers about to buy anyway are touched more. Only a randomised holdout "
            "measures what a channel adds."
        )
    )
    distance = found.get("distance_to_truth")
    if distance:
        best = min(distance, key=distance.get)
        ranked = _(", ").join(
            _("{model} {distance}").format(model=_model(m), distance=formats.number(d, 2))
            for m, d in sorted(distance.items(), key=lambda x: x[1])
        )
        lines.append(
            _(
                "Against the synthetic shop's planted contributions (each channel's share of "
                "the orders marketing really brought), each model's credit split over the "
                "channels that brought orders or cost money, the total variation distance is "
                "{distances}; {best} comes closest."
            ).format(distances=ranked, best=_model(best))
        )
    return lines


def shares_table(long: pd.DataFrame) -> pd.DataFrame:
    """Channels (rows) by model (columns): share of the attributed orders, with its interval."""

    def cell(share: float, low: float, high: float) -> str:
        if not np.isfinite(low):
            return formats.percent(share, 1)
        return _("{share} ({low}–{high})").format(
            share=formats.percent(share, 1),
            low=formats.percent(low, 1),
            high=formats.percent(high, 1),
        )

    texts = [cell(*row) for row in zip(long["share"], long["low"], long["high"], strict=True)]
    table = long.assign(text=texts).pivot(index="channel", columns="model", values="text")
    table = table[[m for m in MODEL_LABELS if m in table.columns]]
    table = table.rename(columns=_model, index=words.channel)
    return table.rename_axis(index=_("channel"), columns=_("model"))


#: What a channel's return on cost rests on (``channels.channel_returns``'s ``basis``).
BASES = {"Shapley (attribution, not causal)": N_("Shapley (attribution, not causal)"),
         "measured lift (randomised holdout)": N_("measured lift (randomised holdout)")}  # fmt: skip


def returns_table(table: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """Per channel: cost, orders credited by last touch and by Shapley, the measured lift
    where known, revenue and return on cost with what it rests on."""

    def count(v: float) -> str:
        return formats.number(v) if np.isfinite(v) else ""

    def money(v: float) -> str:
        return formats.money(v, currency, 0) if np.isfinite(v) else ""

    out = pd.DataFrame(index=[words.channel(c) for c in table["channel"]])
    out[_("cost")] = [money(v) for v in table["cost"]]
    for model in ("last_touch", "markov", "shapley"):
        if f"orders_{model}" in table:
            column = _("orders ({model})").format(model=_model(model))
            out[column] = [count(v) for v in table[f"orders_{model}"]]
    if "lift_orders" in table:
        out[_("extra orders (holdout)")] = [count(v) for v in table["lift_orders"]]
    out[_("revenue")] = [money(v) for v in table["revenue"]]
    out[_("return on cost")] = [
        _("{times}×").format(times=formats.number(v, 1)) if np.isfinite(v) else ""
        for v in table["roi"]
    ]
    out[_("on")] = [_(BASES[b]) if b in BASES else b for b in table["basis"]]
    return out.rename_axis(index=_("channel"))


# -- what changed since the earlier run ---------------------------------------------------
#: What each part of the comparison is called in sentences.
PARTS = words.PARTS


def _pct(value: float | None, signed: bool = True) -> str:
    if value is None:
        return formats.MISSING
    text = formats.percent(value, 0)
    return _signed(text, value) if signed else text


def _earlier(found: dict[str, Any]) -> dict[str, Any]:
    """The ``since`` findings with their words in the current language (the reasons a
    part was not compared, the problem)."""
    since = dict(found.get("since") or {})
    block = since.get(i18n.current()) if i18n.current() != i18n.SOURCE else None
    if since.get("problem"):  # the config's name as code, on a page of markdown
        since["problem"] = words.problem_text(str(since["problem"]), code=True)
    if isinstance(block, dict):
        if block.get("not_compared"):
            since["not_compared"] = {**since.get("not_compared", {}), **block["not_compared"]}
    return since


def since_sentences(found: dict[str, Any], kpis: list[Kpi], top: int = 4) -> list[str]:
    """Plain-language sentences on what changed since the earlier run (or why nothing
    was compared), for the notebook's comparison section."""
    since = _earlier(found)
    if not since:
        return [_("This run was not compared with an earlier one.")]
    if since.get("problem"):
        return [_("No comparison with an earlier run: {why}.").format(why=since["problem"])]
    lines = [
        _("Compared with run {run}, as of {date}.").format(
            run=since["run_id"],  # an id with digits: no code needed
            date=formats.date(since["as_of"]) if since.get("as_of") else _("unknown"),
        )
    ]
    if "kpis" in since:
        part = since["kpis"]
        moves = sorted(
            ((k, v) for k, v in part["change"].items() if v is not None),
            key=lambda kv: -abs(kv[1]),
        )[:top]
        named = _(", ").join(
            _("{kpi} {change}").format(kpi=_lower(words.kpi_subject(k, kpis)), change=_pct(v))
            for k, v in moves
        )
        lines.append(
            _(
                "Over the last {weeks} complete weeks outside festival seasons (to the week of "
                "{after}, against the earlier run's to {before}), the largest moves: {moves}."
            ).format(
                weeks=formats.number(part["weeks"]),
                after=formats.date(part["after_last_week"]),
                before=formats.date(part["before_last_week"]),
                moves=named,
            )
        )
    if "segments" in since:
        part = since["segments"]
        lines.append(
            _(
                "{moved} of the {both} customers in both runs ({share}) moved to another RFM "
                "segment; {new} customers are new."
            ).format(
                moved=formats.number(part["moved"]),
                both=formats.number(part["customers_in_both"]),
                share=_pct(part["moved_share"], False),
                new=formats.number(part["new_customers"]),
            )
        )
    if "personas" in since:
        lines += _persona_sentences(since["personas"])
    if "clv" in since:
        part = since["clv"]
        if part["models"][0] != part["models"][1]:
            lines.append(
                _(
                    "The CLV model chosen changed from {before} to {after}: only Gamma-Gamma's "
                    "parameters are compared."
                ).format(before=part["models"][0], after=part["models"][1])
            )
        moved = sorted(part["params"].items(), key=lambda kv: -abs(kv[1]["change"] or 0))[:1]
        if moved:
            name, p = moved[0]
            lines.append(
                _("CLV parameters: the largest move is {parameter}'s, {change}.").format(
                    parameter=words.parameter(name), change=_pct(p["change"])
                )
            )
    if "verdicts" in since:
        part = since["verdicts"]
        if part["changed"]:
            named = _("; ").join(
                _("{experiment}: {before} → {after}").format(
                    experiment=_code(c["experiment"]),
                    before=words.verdict(c["before"]),
                    after=words.verdict(c["after"]),
                )
                for c in part["changed"]
            )
            lines.append(_("Experiment verdicts that changed: {changed}.").format(changed=named))
        else:
            lines.append(
                _("No experiment's verdict changed ({count} compared).").format(
                    count=formats.number(part["experiments"])
                )
            )
    alerts = found.get("alerts") or []
    if alerts:
        named = _("; ").join(
            _("{subject} ({rule})").format(
                subject=_code(a["subject"])
                if a.get("subject_is_name")  # a persona, an experiment: as written
                else i18n.word(a, "subject").replace("_", " "),
                rule=i18n.word(a, "rule").replace("_", " "),
            )
            for a in alerts
        )
        lines.append(
            ngettext("{n} alert: {alerts}.", "{n} alerts: {alerts}.", len(alerts)).format(
                n=formats.number(len(alerts)), alerts=named
            )
        )
    else:
        lines.append(_("No alert: nothing moved beyond the alert rules."))
    if since.get("not_compared"):
        missing = _("; ").join(
            _("{part}: {why}").format(part=words.part(k), why=why)
            for k, why in since["not_compared"].items()
        )
        lines.append(_("Not compared: {missing}.").format(missing=missing))
    return lines


def since_text(found: dict[str, Any], kpis: list[Kpi]) -> str:
    """:func:`since_sentences` as a markdown list."""
    return "\n".join(f"- {line}" for line in since_sentences(found, kpis))


def _persona_sentences(part: dict[str, Any]) -> list[str]:
    lines = [
        _(
            "{share} of the customers in both runs changed persona ({then} clusters then, "
            "{now} now, matched by their centres)."
        ).format(
            share=_pct(part["changed_share"], False),
            then=formats.number(part["clusters"][0]),
            now=formats.number(part["clusters"][1]),
        )
    ]
    for p in part["matched"]:
        tags = _tag_changes(p)
        if p["after"] is None:
            lines.append(
                _("Persona {name} has no counterpart now.").format(name=_code(p["before"]))
            )
        elif p["before"] is None:
            lines.append(
                _("Persona {name} is new: no cluster then matches it.").format(
                    name=_code(p["after"])
                )
            )
        elif tags and p["before"] != p["after"]:
            lines.append(
                _("Persona {name} (was {before}) {changes}.").format(
                    name=_code(p["after"]), before=_code(p["before"]), changes=tags
                )
            )
        elif tags:
            lines.append(
                _("Persona {name} {changes}.").format(name=_code(p["after"]), changes=tags)
            )
    return lines


def _tag_changes(persona: dict[str, Any]) -> str:
    gained, lost = persona.get("gained_tags") or [], persona.get("lost_tags") or []
    parts = []
    if gained:
        parts.append(
            ngettext("gained the tag {tags}", "gained the tags {tags}", len(gained)).format(
                tags=", ".join(_code(t) for t in gained)
            )
        )
    if lost:
        parts.append(
            ngettext("lost the tag {tags}", "lost the tags {tags}", len(lost)).format(
                tags=", ".join(_code(t) for t in lost)
            )
        )
    return _(" and ").join(parts)


def _alert_value(alert: dict[str, Any], key: str) -> str:
    block = alert.get(i18n.current()) if i18n.current() != i18n.SOURCE else None
    value = block[key] if isinstance(block, dict) and key in block else alert.get(key)
    if value is None:
        return formats.MISSING
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int):
        return formats.number(value)
    if isinstance(value, float):
        return formats.number(value, 3) if abs(value) < 100 else formats.number(value)
    return str(value)


def alerts_table(found: dict[str, Any]) -> Styler | str:
    """The alerts: rule, subject, value before and after (a sentence when none); a
    subject that is a name (a persona, an experiment) as code."""
    alerts = found.get("alerts") or []
    if not alerts:
        return _("No alert.")

    def subject(a: dict[str, Any]) -> str:
        text = i18n.word(a, "subject").replace("_", " ")
        return _names(a["subject"]) if a.get("subject_is_name") else html.escape(text)

    rows = [
        {
            _("rule"): html.escape(i18n.word(a, "rule").replace("_", " ")),
            _("subject"): subject(a),
            _("before"): html.escape(_alert_value(a, "before")),
            _("after"): html.escape(_alert_value(a, "after")),
        }
        for a in alerts
    ]
    return pd.DataFrame(rows).style.hide(axis="index")


def since_kpi_table(
    changes: pd.DataFrame, kpis: list[Kpi], found: dict[str, Any], currency: str = ""
) -> pd.DataFrame | str:
    """Each KPI's mean of the last complete weeks in the earlier run and in this one,
    the change and its noise (stage 10's ``since_kpis.parquet``); why not, when the KPIs
    were not compared."""
    if not len(changes):
        return not_compared_note(found, "kpis")
    by_name = {k.name: k for k in kpis}
    rows = []
    for r in changes.itertuples():
        k = by_name.get(r.subject)
        if k is None:
            continue
        if k.format == "percent":
            noise = _("±{points} points").format(points=formats.number(r.noise * 100, 1))
        else:
            noise = "±" + formats.percent(r.noise / abs(r.before), 0) if r.before else ""
        rows.append({_("KPI"): k.word("label"),
                     _("earlier run"): _value(k, r.before, currency),
                     _("this run"): _value(k, r.after, currency),
                     _("change"): _change(k, r.after, r.before),
                     _("noise (one standard error)"): noise})  # fmt: skip
    return pd.DataFrame(rows).set_index(_("KPI")) if rows else pd.DataFrame()


def segment_labeller(cfg: Any) -> Any:
    """The RFM segment names of the run's scheme in the current language."""
    from customer_analytics.rfm.segments import load_segments

    return load_segments(cfg.resolve_optional(cfg.rfm.segments)).label


def migration_figure(matrix: pd.DataFrame, label: Any = None) -> plt.Figure:
    """Customers in both runs, from their RFM segment then (rows) to now (columns);
    ``label`` names a segment in the current language."""
    table = matrix.set_index("before") if "before" in matrix.columns else matrix
    if label is not None:
        table = table.rename(index=label, columns=label)
    fig, ax = plt.subplots(figsize=(10, max(4, 0.45 * len(table))))
    sns.heatmap(table, annot=table.map(formats.number), fmt="", cmap="Blues", cbar=False, ax=ax)
    ax.set_xlabel(_("segment in this run"))
    ax.set_ylabel(_("segment in the earlier run"))
    ax.set_title(_("RFM segment migration between the runs (customers in both)"))
    return fig


def _names(values: Any) -> Any:
    """Names kept as the data writes them: code on every page."""
    if values is None or (isinstance(values, float) and np.isnan(values)):
        return _("(none)")
    if isinstance(values, list | tuple | np.ndarray):
        return ", ".join(_names(v) for v in values)
    return f"<code>{html.escape(str(values))}</code>"


def persona_drift_table(table: pd.DataFrame) -> Styler | pd.DataFrame:
    """Per persona matched across the runs: names, shares then and now, tags gained and
    lost, and how far apart the matched centres are (stage 10's ``since_personas.parquet``).
    Persona names and tags are as stage 06 writes them (code)."""
    if table.empty:
        return pd.DataFrame()
    names = {"before_name": _("earlier run"), "after_name": _("this run"),
             "before": _("share then"), "after": _("share now"),
             "gained_tags": _("tags gained"), "lost_tags": _("tags lost"),
             "distance": _("centre distance")}  # fmt: skip
    shown = table[list(names)].rename(columns=names)
    share = lambda v: "" if pd.isna(v) else formats.percent(v, 1)  # noqa: E731
    style = {names["before"]: share, names["after"]: share,
             names["distance"]: lambda v: formats.number(v, 2)}  # fmt: skip
    style |= {names[c]: _names for c in ("before_name", "after_name", "gained_tags", "lost_tags")}
    return shown.style.format(style).hide(axis="index")


def clv_drift_table(found: dict[str, Any]) -> pd.DataFrame | str:
    """Each fitted CLV parameter in both runs and its relative change (why not, when the
    parameters were not compared)."""
    params = ((found.get("since") or {}).get("clv") or {}).get("params") or {}
    rows = [{_("parameter"): words.parameter(name),
             _("earlier run"): formats.number(p["before"], 3),
             _("this run"): formats.number(p["after"], 3),
             _("change"): _pct(p["change"])} for name, p in params.items()]  # fmt: skip
    return pd.DataFrame(rows).set_index(_("parameter")) if rows else not_compared_note(found, "clv")


def not_compared_note(found: dict[str, Any], part: str) -> str:
    """Why a part of the comparison is missing, as a sentence."""
    since = _earlier(found)
    why = (
        since.get("problem")
        or (since.get("not_compared") or {}).get(part)
        or _("this run was not compared with an earlier one")
    )
    return _("Not compared: {why}.").format(why=why)


def migration_note(found: dict[str, Any]) -> str:
    """Why there is no segment migration, as a sentence."""
    return not_compared_note(found, "segments")


def persona_note(found: dict[str, Any]) -> str:
    """Why there is no persona drift, as a sentence."""
    return not_compared_note(found, "personas")
