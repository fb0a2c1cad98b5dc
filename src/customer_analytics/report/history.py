"""The history page: the figures a config's stages track, over all its kept runs.

A stage may record in its findings ``tracked``: the figures worth following from run
to run, each ``{name: {"label": ..., "value": ..., "format": ...}}`` (``format`` one of
``money``, ``count``, ``percent``, ``number``). This page plots each of them over the
config's kept successful runs, one point per run at the run's ``as_of``, and lists the
runs with their values. Built from the runs' manifests alone, like the index page; it
knows no stage. Offline: the chart is a PNG in the run's ``figures/``, the CSS inlined.

One page per report language (``history.html``, ``history.zh.html``...), like the index:
a tracked figure's label may carry a block per other language (``{"label": "Net revenue",
"zh": {"label": "净收入"}}``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from customer_analytics import i18n
from customer_analytics.i18n import _, formats
from customer_analytics.report.house import house_css, write_page
from customer_analytics.report.index import environment, format_value, manifest_as_of, title_of

HISTORY_PAGE = "history.html"
HISTORY_CHART = "figures/history.png"


def tracked_points(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One point per run that tracks a figure: its id, ``as_of`` and tracked figures.

    Parameters
    ----------
    manifests
        The runs' manifests (any order).

    Returns
    -------
    list of dict
        ``{"run_id", "as_of", "figures": {name: {"label", "value", "format"}}}``, by
        ``as_of`` then run id; runs without an ``as_of`` or a tracked figure are left out.
    """
    points = []
    for manifest in manifests:
        figures: dict[str, dict[str, Any]] = {}
        for found in (manifest.get("findings") or {}).values():
            tracked = found.get("tracked") if isinstance(found, dict) else None
            if isinstance(tracked, dict):
                figures |= {k: v for k, v in tracked.items() if isinstance(v, dict)}
        as_of = manifest_as_of(manifest)
        if figures and as_of:
            points.append({"run_id": manifest.get("run_id"), "as_of": as_of, "figures": figures})
    return sorted(points, key=lambda p: (p["as_of"], str(p["run_id"])))


def _shown(value: Any, kind: str | None, currency: str) -> str:
    if not isinstance(value, int | float) or value != value:
        return "–"
    if kind == "percent":
        return formats.percent(value, 1)
    if kind == "money":
        digits = 2 if abs(value) < 10 else 0  # a message's cost is cents
        return formats.money(value, currency, digits) if currency else formats.number(value, digits)
    return format_value(float(value) if kind != "count" else round(value, 1))


def _label(figure: dict[str, Any], name: str) -> str:
    """A tracked figure's label in the current language."""
    return i18n.word(figure, "label", what=f"tracked: {name}") or name


def history_chart(
    points: list[dict[str, Any]], names: list[str], path: Path, currency: str = ""
) -> None:
    """Each tracked figure over the runs' ``as_of`` dates, small multiples, house style;
    the newest run's point is ringed. Words and ticks in the current language."""
    import matplotlib
    from matplotlib.figure import Figure

    from customer_analytics.report import plots

    lang = i18n.current()

    def dates(value: float, _position: int) -> str:
        return _date_tick(value, lang)

    with matplotlib.rc_context():
        plots.use_house_style()
        columns = 2 if len(names) > 1 else 1
        rows = -(-len(names) // columns)
        fig = Figure(figsize=(11, 2.6 * rows))
        axes = fig.subplots(rows, columns, squeeze=False, sharex=True)
        newest = max(points, key=lambda p: str(p["run_id"]))
        for ax, name in zip(axes.ravel(), names, strict=False):
            shown = [p for p in points if _number(p["figures"].get(name, {}).get("value"))]
            days = [dt.date.fromisoformat(p["as_of"]) for p in shown]
            values = [p["figures"][name]["value"] for p in shown]
            ax.plot(days, values, marker="o", lw=1.2, color=plots.PALETTE[0])
            if newest in shown:
                at = shown.index(newest)
                ax.scatter([days[at]], [values[at]], s=90, facecolors="none",
                           edgecolors=plots.PALETTE[1], zorder=3)  # fmt: skip
            label = next((_label(p["figures"][name], name) for p in reversed(shown)), name)
            ax.set_title(label or name, fontsize=10)
            kinds = {p["figures"][name].get("format") for p in shown}
            small = max((abs(v) for v in values), default=0) < 10  # cents, a few a week
            if "percent" in kinds:
                ax.yaxis.set_major_formatter(formats.axis("percent", digits=1))
            elif "money" in kinds and currency:
                ax.yaxis.set_major_formatter(
                    formats.axis("money", currency=currency, digits=2 if small else 0)
                )
            else:
                ax.yaxis.set_major_formatter(formats.axis("number", digits=1 if small else 0))
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(dates))
        for ax in axes.ravel()[len(names) :]:
            ax.set_visible(False)
        fig.autofmt_xdate()
        fig.suptitle(_("Each run's figure at its analysis date (ringed: this run)"))
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100, metadata={"Software": None})


def _date_tick(value: float, lang: str) -> str:
    import matplotlib.dates

    with i18n.language(lang):
        return formats.date(matplotlib.dates.num2date(value).date(), "medium")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def write_history(run_dir: Path, manifests: list[dict[str, Any]]) -> Path | None:
    """Write ``run_dir/history.html`` over ``manifests`` (a config's kept runs), and one
    page per other report language (``history.zh.html``...; ``reports.languages`` of this
    run's config), each with its chart (``figures/history.png``, ``history.zh.png``).

    Parameters
    ----------
    run_dir
        The run's report folder; the chart goes to its ``figures/``.
    manifests
        The manifests of the config's kept successful runs, this run's included.

    Returns
    -------
    Path or None
        The English page (written whatever the languages), or None (nothing written)
        when no run tracks a figure.
    """
    points = tracked_points(manifests)
    if not points:
        return None
    run_dir = Path(run_dir)
    this = next((m for m in manifests if m.get("run_id") == run_dir.name), manifests[-1])
    config = this.get("config") or {}
    languages = list(dict.fromkeys([*((config.get("reports") or {}).get("languages") or []),
                                    i18n.SOURCE]))  # fmt: skip
    names = list(dict.fromkeys(n for p in points for n in p["figures"]))
    currency = str((config.get("shop") or {}).get("currency") or "")
    run = config.get("run") or {}
    for lang in languages:
        with i18n.language(lang):
            chart = i18n.page_name(HISTORY_CHART[: -len(".png")], lang, ".png")
            history_chart(points, names, run_dir / chart, currency)
            labels = {n: next(_label(p["figures"][n], n) for p in points if n in p["figures"])
                      for n in names}  # fmt: skip
            rows = [
                {
                    "run_id": p["run_id"],
                    "as_of": formats.date(p["as_of"], "medium"),
                    "this": p["run_id"] == run_dir.name,
                    "values": [
                        _shown(
                            p["figures"].get(n, {}).get("value"),
                            p["figures"].get(n, {}).get("format"),
                            currency,
                        )
                        for n in names
                    ],
                }  # fmt: skip
                for p in points
            ]
            html = (
                environment()
                .get_template("history.html.j2")
                .render(
                    lang=lang,
                    languages=[
                        (other, i18n.NAMES[other], i18n.page_name("history", other))
                        for other in languages
                        if other != lang and other in i18n.NAMES
                    ],
                    index=i18n.page_name("index", lang),
                    title=title_of(run),
                    config_name=run.get("name"),
                    run_id=run_dir.name,
                    chart=chart,
                    columns=[labels[n] for n in names],
                    rows=rows,
                    css=house_css(),
                )
            )
        path = run_dir / i18n.page_name("history", lang)
        write_page(path, html)
    return run_dir / HISTORY_PAGE
