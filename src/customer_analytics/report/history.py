"""The history page: the figures a config's stages track, over all its kept runs.

A stage may record in its findings ``tracked``: the figures worth following from run
to run, each ``{name: {"label": ..., "value": ..., "format": ...}}`` (``format`` one of
``money``, ``count``, ``percent``, ``number``). This page plots each of them over the
config's kept successful runs, one point per run at the run's ``as_of``, and lists the
runs with their values. Built from the runs' manifests alone, like the index page; it
knows no stage. Offline: the chart is a PNG in the run's ``figures/``, the CSS inlined.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

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
        return f"{value:.1%}"
    if kind == "money":
        return f"{value:,.0f} {currency}".strip()
    return format_value(float(value) if kind != "count" else round(value, 1))


def history_chart(points: list[dict[str, Any]], names: list[str], path: Path) -> None:
    """Each tracked figure over the runs' ``as_of`` dates, small multiples, house style;
    the newest run's point is ringed."""
    import matplotlib
    from matplotlib.figure import Figure

    from customer_analytics.report import plots

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
            label = next((p["figures"][name].get("label") for p in reversed(shown)), name)
            ax.set_title(label or name, fontsize=10)
            if any(p["figures"][name].get("format") == "percent" for p in shown):
                ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        for ax in axes.ravel()[len(names) :]:
            ax.set_visible(False)
        fig.autofmt_xdate()
        fig.suptitle("Each run's figure at its analysis date (ringed: this run)")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100, metadata={"Software": None})


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def write_history(run_dir: Path, manifests: list[dict[str, Any]]) -> Path | None:
    """Write ``run_dir/history.html`` over ``manifests`` (a config's kept runs).

    Parameters
    ----------
    run_dir
        The run's report folder; the chart goes to its ``figures/``.
    manifests
        The manifests of the config's kept successful runs, this run's included.

    Returns
    -------
    Path or None
        The page, or None (nothing written) when no run tracks a figure.
    """
    points = tracked_points(manifests)
    if not points:
        return None
    run_dir = Path(run_dir)
    this = next((m for m in manifests if m.get("run_id") == run_dir.name), manifests[-1])
    names = list(dict.fromkeys(n for p in points for n in p["figures"]))
    history_chart(points, names, run_dir / HISTORY_CHART)
    currency = str(((this.get("config") or {}).get("shop") or {}).get("currency") or "")
    labels = {n: next(p["figures"][n].get("label") or n for p in points if n in p["figures"])
              for n in names}  # fmt: skip
    rows = [
        {
            "run_id": p["run_id"],
            "as_of": p["as_of"],
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
    run = (this.get("config") or {}).get("run") or {}
    html = (
        environment()
        .get_template("history.html.j2")
        .render(
            title=title_of(run),
            config_name=run.get("name"),
            run_id=run_dir.name,
            chart=HISTORY_CHART,
            columns=[labels[n] for n in names],
            rows=rows,
            css=house_css(),
        )
    )
    return write_page(run_dir / HISTORY_PAGE, html)
