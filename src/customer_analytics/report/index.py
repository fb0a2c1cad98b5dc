"""The run's index page: the findings of every stage on one offline page.

Built from the manifest alone (plus checks that the files it links to exist), so it can
be rewritten for any finished or failed run. Rendered with Jinja2 from
``templates/index.html.j2`` with autoescaping on: summaries and error messages are data,
never markup.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

from customer_analytics.report.house import TEMPLATES, house_css, write_page

#: At most this many key figures per stage; the stage page has the rest.
MAX_FIGURES = 12
#: Longest string finding shown as a key figure (longer ones are prose, not figures).
MAX_TEXT = 60
#: Longest error message shown for a failed stage.
MAX_ERROR = 400

STATUS_LABELS = {
    "ok": "done",
    "reused": "reused",
    "failed": "failed",
    "skipped": "not run",
    "running": "running",
}

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report's own pages (index, history)."""
    # Cached: the index is written once per run, but tests write many.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = format_value
    return env


def format_value(value: Any) -> str:
    """A finding as a stakeholder reads it: ``512000 -> "512,000"``, ``0.1234 -> "0.123"``.

    Parameters
    ----------
    value
        A scalar finding (bool, int, float, str or None).

    Returns
    -------
    str
        Integers with thousands separators, floats to three significant digits below
        100 and whole numbers with separators above, booleans as yes/no.
    """
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def _label(key: str) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _is_scalar(value: Any) -> bool:
    if isinstance(value, str):
        return 0 < len(value) <= MAX_TEXT
    return isinstance(value, bool | int | float)


def key_figures(findings: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The headline figures of a stage as ``(label, formatted value)`` pairs.

    A stage that records a ``headline`` dict (label -> value, most important first)
    chooses its figures, and their labels, itself. Otherwise scalars are shown as they
    are; a dict of scalars one level down (e.g. rows per table) is shown entry by entry,
    labelled ``"Rows · orders"``. Lists, long texts and deeper structures are left to the
    stage page.

    Parameters
    ----------
    findings
        ``manifest["findings"][stage]``; may be missing or empty.

    Returns
    -------
    list of (str, str)
        At most :data:`MAX_FIGURES` pairs, in the order the stage wrote them.
    """
    headline = (findings or {}).get("headline")
    if isinstance(headline, dict):
        pairs = [(str(label), format_value(value)) for label, value in headline.items()]
        return pairs[:MAX_FIGURES]
    shown: list[tuple[str, str]] = []
    for key, value in (findings or {}).items():
        if _is_scalar(value):
            shown.append((_label(key), format_value(value)))
        elif isinstance(value, dict):
            shown.extend(
                (f"{_label(key)} · {sub}", format_value(item))
                for sub, item in value.items()
                if _is_scalar(item)
            )
    return shown[:MAX_FIGURES]


def short_error(error: Any) -> str | None:
    """A failed stage's message without any traceback, trimmed to a few lines.

    Parameters
    ----------
    error
        The stage's ``error`` from the manifest (usually one line naming the cell).

    Returns
    -------
    str or None
        The message up to any ``Traceback`` and at most :data:`MAX_ERROR` characters.
    """
    if not error:
        return None
    text = _ANSI.sub("", str(error))
    text = re.split(r"Traceback \(most recent call last\)|-{5,}", text)[0]
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()][:3]
    text = " ".join(lines)
    if len(text) > MAX_ERROR:
        text = text[: MAX_ERROR - 1] + "…"
    return text or "The stage failed; see its analyst page for details."


def _inside(run_dir: Path, relative: Any) -> str | None:
    """``relative`` if it names an existing file inside the report folder, else None.

    A page must never point outside its folder (it would break when the folder is
    copied) nor at a missing file (a broken image or link for the reader).
    """
    if not relative or not isinstance(relative, str):
        return None
    rel = PurePosixPath(relative)
    if rel.is_absolute() or ".." in rel.parts:
        return None
    return relative if (run_dir / rel).is_file() else None


def _stage_view(run_dir: Path, stage: dict[str, Any], findings: dict[str, Any]) -> dict:
    name = stage.get("name", "stage")
    status = stage.get("status") or "unknown"
    summary = stage.get("summary") or []
    return {
        "name": name,
        "title": stage.get("title") or name,
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "summary": [summary] if isinstance(summary, str) else list(summary),
        "figures": key_figures(findings.get(name)),
        "chart": _inside(run_dir, stage.get("chart")),
        "html": _inside(run_dir, stage.get("html") or f"{name}.html"),
        "analyst_html": _inside(run_dir, stage.get("analyst_html") or f"{name}.analyst.html"),
        "seconds": stage.get("seconds"),
        "error": short_error(stage.get("error")) if status == "failed" else None,
    }


def _when(stamp: Any) -> str | None:
    if not stamp:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)
    zone = " UTC" if moment.utcoffset() == dt.timedelta(0) else ""
    return moment.strftime("%Y-%m-%d %H:%M") + zone


def _inputs(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for item in manifest.get("inputs") or []:
        path = str(item.get("path", ""))
        rows.append(
            {
                "name": PurePosixPath(path.replace("\\", "/")).name or path,
                "sha256": str(item.get("sha256") or "")[:12],
                "rows": format_value(item.get("rows")),
            }
        )
    return rows


def manifest_as_of(manifest: dict[str, Any]) -> str | None:
    """The run's ``as_of``: as its ingest settled it, else as configured."""
    findings = manifest.get("findings") or {}
    run = (manifest.get("config") or {}).get("run") or {}
    return (findings.get("01_ingest") or {}).get("as_of") or run.get("as_of")


def _alert_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return format_value(value)


def since_view(run_dir: Path, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """What the index opens with when a stage compared this run with an earlier one.

    A stage's findings may hold ``since`` (``run_id``, the earlier run's ``as_of``,
    ``problem`` when it could not compare, ``not_compared``: part -> why) and beside it
    ``alerts``, a list of ``{rule, subject, before, after}``. The first stage holding
    ``since`` is shown.

    Returns
    -------
    dict or None
        ``date``, ``run_id``, ``alerts`` (label, before, after), ``not_compared``,
        ``problem`` and the stage page's link; None when no stage compared.
    """
    for stage in manifest.get("stages") or []:
        found = (manifest.get("findings") or {}).get(stage.get("name")) or {}
        since = found.get("since")
        if not isinstance(since, dict):
            continue
        alerts = [a for a in found.get("alerts") or [] if isinstance(a, dict)]
        return {
            "date": since.get("as_of") or since.get("run_id"),
            "run_id": since.get("run_id"),
            "problem": since.get("problem"),
            "alerts": [
                {
                    "rule": str(a.get("rule", "")).replace("_", " "),
                    "subject": str(a.get("subject", "")).replace("_", " "),
                    "before": _alert_value(a.get("before")),
                    "after": _alert_value(a.get("after")),
                }
                for a in alerts
            ],
            "not_compared": sorted((since.get("not_compared") or {}).items()),
            "html": _inside(run_dir, stage.get("html") or f"{stage.get('name')}.html"),
        }
    return None


def index_context(run_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """What the index template shows, prepared from the manifest (see :func:`write_index`)."""
    findings = manifest.get("findings") or {}
    run = (manifest.get("config") or {}).get("run") or {}
    stages = [_stage_view(run_dir, s, findings) for s in manifest.get("stages") or []]
    status = manifest.get("status") or "unknown"
    return {
        "title": run.get("title") or run.get("name") or "Customer analytics run",
        "run_id": manifest.get("run_id", run_dir.name),
        "config_name": run.get("name"),
        "started": _when(manifest.get("started")),
        "finished": _when(manifest.get("finished")),
        "seconds": manifest.get("seconds"),
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "as_of": manifest_as_of(manifest),
        "since": since_view(run_dir, manifest),
        "history_href": _inside(run_dir, "history.html"),
        "stages": stages,
        "failed": [s for s in stages if s["status"] == "failed"],
        "git_commit": str(manifest.get("git_commit") or "unknown")[:12],
        "inputs": _inputs(manifest),
        "packages": sorted((manifest.get("packages") or {}).items()),
        "manifest_href": _inside(run_dir, "manifest.json"),
        "css": house_css(),
    }


def write_index(run_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write ``run_dir/index.html``, the run's findings on one offline page.

    Parameters
    ----------
    run_dir
        The run's report folder (holds the stage pages, ``figures/``, ``manifest.json``).
    manifest
        The run's manifest. Stages may lack summary, chart, findings, pages or timing
        (skipped or failed stages do); what is missing is left out, never linked.

    Returns
    -------
    Path
        The written ``index.html``.

    Examples
    --------
    >>> write_index(Path("reports/run"), json.loads(Path("reports/run/manifest.json")
    ...     .read_text()))  # doctest: +SKIP
    PosixPath('reports/run/index.html')
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    html = environment().get_template("index.html.j2").render(index_context(run_dir, manifest))
    return write_page(run_dir / "index.html", html)
