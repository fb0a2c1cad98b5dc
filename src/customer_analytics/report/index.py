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
from markupsafe import Markup

from customer_analytics import i18n
from customer_analytics.i18n import N_, _, formats
from customer_analytics.report.avatar import avatar_svg
from customer_analytics.report.house import TEMPLATES, house_css, write_page

#: At most this many key figures per stage; the stage page has the rest.
MAX_FIGURES = 12
#: The stage whose page holds the persona cards the later stages' lines go on.
PERSONAS_STAGE = "06_personas"
#: Longest string finding shown as a key figure (longer ones are prose, not figures).
MAX_TEXT = 60
#: Longest error message shown for a failed stage.
MAX_ERROR = 400

STATUS_LABELS = {
    "ok": N_("done"),
    "reused": N_("reused"),
    "failed": N_("failed"),
    "skipped": N_("not run"),
    "running": N_("running"),
}

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report's own pages (index, history): ``_()`` in a
    template speaks the language of the enclosing :func:`customer_analytics.i18n.language`."""
    # Cached: the index is written once per run, but tests write many.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(
        lambda message: i18n.dgettext("report", message),
        lambda singular, plural, n: i18n.translations(i18n.current(), "report").ngettext(
            singular, plural, n
        ),
        newstyle=True,
    )
    env.filters["number"] = _number
    return env


def _number(value: Any, digits: int | None = None) -> str:
    return format_value(value) if digits is None else formats.number(value, digits)


def format_value(value: Any) -> str:
    """A finding as a stakeholder reads it: ``512000 -> "512,000"``, ``0.1234 -> "0.123"``.

    Parameters
    ----------
    value
        A scalar finding (bool, int, float, str or None).

    Returns
    -------
    str
        Integers with the current language's thousands separators, floats to three
        significant digits below 100 and whole numbers with separators above, booleans as
        yes/no in the current language.
    """
    if value is None:
        return formats.MISSING
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int):
        return formats.number(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return formats.MISSING
        return formats.number(value) if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, str) and _DATE.fullmatch(value):
        return formats.date(value, "medium")
    if isinstance(value, dict) and i18n.SOURCE in value:  # a word per language
        return str(value.get(i18n.current()) or value[i18n.SOURCE])
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
        pairs = [
            (_headline_label(str(label)), format_value(value)) for label, value in headline.items()
        ]
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


def _headline_label(label: str) -> str:
    """A stage's label in the current language; after " · " it may name a file or an id,
    which is shown as code (``Audience · persona-x.csv``)."""
    head, sep, name = label.partition(" · ")
    if not sep:
        return _(label)
    N_("Audience")  # the personas stage's label of each audience file
    return Markup("{} · <code>{}</code>").format(_(head), name)


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
    lang = i18n.current()
    summary = (stage.get("summaries") or {}).get(lang) or stage.get("summary") or []
    chart = stage.get("chart")
    if isinstance(chart, str) and chart.endswith(".png"):
        chart = _inside(run_dir, i18n.page_name(chart[: -len(".png")], lang, ".png")) or chart
    return {
        "name": name,
        "title": _(stage.get("title") or name),
        "status": status,
        "status_label": _(STATUS_LABELS.get(status, status)),
        "summary": [summary] if isinstance(summary, str) else list(summary),
        "figures": key_figures(findings.get(name)),
        "chart": _inside(run_dir, chart),
        "html": _inside(run_dir, i18n.page_name(name, lang)),
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
    return f"{formats.date(moment.date(), 'medium')} {moment:%H:%M}{zone}"


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
        return ", ".join(str(v) for v in value) or _("none")
    return format_value(value)


def _in_language(entry: dict[str, Any], key: str) -> Any:
    """``entry[key]``, or its current language's block's (``entry["zh"][key]``) where
    that has one: findings carry their words in each report language so."""
    block = entry.get(i18n.current()) if i18n.current() != i18n.SOURCE else None
    if isinstance(block, dict) and key in block:
        return block[key]
    return entry.get(key)


def since_view(run_dir: Path, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """What the index opens with when a stage compared this run with an earlier one.

    A stage's findings may hold ``since`` (``run_id``, the earlier run's ``as_of``,
    ``problem`` when it could not compare, ``not_compared``: part -> why, ``parts``:
    part -> its name) and beside it ``alerts``, a list of ``{rule, subject, before,
    after}`` (``subject_is_name``: the subject is a name, kept as written). Each may carry a block per other report language with the same keys
    (``zh: {rule: ..., subject: ...}``). The first stage holding ``since`` is shown.

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
        parts = _in_language(since, "parts") or {}
        reasons = _in_language(since, "not_compared") or {}
        return {
            "date": format_value(since.get("as_of")) if since.get("as_of") else since.get("run_id"),
            "run_id": since.get("run_id"),
            "problem": _in_language(since, "problem"),
            "alerts": [
                {
                    "rule": i18n.word(a, "rule").replace("_", " "),
                    "subject": i18n.word(a, "subject").replace("_", " "),
                    "name": bool(a.get("subject_is_name")),  # a persona, an experiment
                    "before": _alert_value(_in_language(a, "before")),
                    "after": _alert_value(_in_language(a, "after")),
                }
                for a in alerts
            ],
            "not_compared": sorted(
                (parts.get(part, part), reasons.get(part, why))
                for part, why in (since.get("not_compared") or {}).items()
            ),
            "html": _inside(run_dir, i18n.page_name(str(stage.get("name")), i18n.current())),
        }
    return None


def personas_view(findings: dict[str, Any]) -> list[dict[str, Any]]:
    """Each persona of stage 06_personas as the index shows it: avatar, name, and the
    lines only later stages can write (the products 08_recommend picks for the persona,
    the actions 09_targeting plans for it), where the run has those stages' findings.

    Parameters
    ----------
    findings
        ``manifest["findings"]``: every stage's findings by stage name.

    Returns
    -------
    list of dict
        ``cluster`` (the persona's cluster), ``avatar`` (inline SVG), ``name``
        (given name and description in the current language) and ``lines``
        (sentences); empty without persona findings.
    """
    personas = (findings.get(PERSONAS_STAGE) or {}).get("personas") or []
    picks = (findings.get("08_recommend") or {}).get("persona_products") or {}
    plan = (findings.get("09_targeting") or {}).get("plan") or {}
    planned: dict[str, list[str]] = {}
    if plan.get("groups") == "persona":
        for group, action in plan.get("top_cells") or []:
            planned.setdefault(str(group), []).append(str(action))
    out = []
    for persona in personas:
        key = persona.get("name")
        entry = {**persona, **(persona.get("words") or {})}
        name = i18n.word(entry, "full_name") or i18n.word(entry, "name")
        lines = []
        if picks.get(key):
            lines.append(
                Markup(_("Products to recommend (08): {products}")).format(
                    products=Markup(", ").join(
                        Markup("<code>{}</code>").format(p) for p in picks[key]
                    )
                )
            )
        if planned.get(key):
            lines.append(
                Markup(_("In the targeting plan (09): {actions}")).format(
                    actions=Markup(", ").join(
                        Markup("<code>{}</code>").format(a) for a in planned[key]
                    )
                )
            )
        avatar = persona.get("avatar")  # a run before avatars has none
        out.append(
            {
                "cluster": persona.get("cluster"),
                "avatar": Markup(avatar_svg(avatar, 32)) if avatar else "",
                "name": name,
                "lines": lines,
            }
        )
    return out


def index_context(run_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """What the index template shows, prepared from the manifest (see :func:`write_index`)."""
    findings = manifest.get("findings") or {}
    run = (manifest.get("config") or {}).get("run") or {}
    stages = [_stage_view(run_dir, s, findings) for s in manifest.get("stages") or []]
    status = manifest.get("status") or "unknown"
    lang = i18n.current()
    languages = (manifest.get("config") or {}).get("reports", {}).get("languages") or [lang]
    return {
        "lang": i18n.HTML_LANG[lang],
        "languages": [
            (other, i18n.NAMES[other], i18n.page_name("index", other))
            for other in languages
            if other != lang and other in i18n.NAMES
        ],
        "title": title_of(run),
        "run_id": manifest.get("run_id", run_dir.name),
        "config_name": run.get("name"),
        "started": _when(manifest.get("started")),
        "finished": _when(manifest.get("finished")),
        "seconds": manifest.get("seconds"),
        "status": status,
        "status_label": _(STATUS_LABELS.get(status, status)),
        "as_of": format_value(manifest_as_of(manifest)),
        "since": since_view(run_dir, manifest),
        "history_href": _inside(run_dir, i18n.page_name("history", lang))
        or _inside(run_dir, "history.html"),
        "stages": stages,
        "personas": personas_view(findings),
        "failed": [s for s in stages if s["status"] == "failed"],
        "git_commit": str(manifest.get("git_commit") or "unknown")[:12],
        "inputs": _inputs(manifest),
        "packages": sorted((manifest.get("packages") or {}).items()),
        "manifest_href": _inside(run_dir, "manifest.json"),
        "css": house_css(),
    }


def title_of(run: dict[str, Any]) -> str:
    """The run's title: ``run.title`` is a string, or one per language
    (``{en: Weekly report, zh: 周报}``)."""
    title = run.get("title")
    if isinstance(title, dict):
        title = title.get(i18n.current()) or title.get(i18n.SOURCE)
    return title or run.get("name") or _("Customer analytics run")


def write_index(run_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write the run's findings on one offline page per report language: ``index.html``
    in English, ``index.zh.html``... (``reports.languages`` in the manifest's config).

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
    languages = (manifest.get("config") or {}).get("reports", {}).get("languages")
    for lang in languages or [i18n.SOURCE]:
        with i18n.language(lang):
            context = index_context(run_dir, manifest)
            html = environment().get_template("index.html.j2").render(context)
            fill_persona_page(run_dir / i18n.page_name(PERSONAS_STAGE, lang), manifest)
        path = run_dir / i18n.page_name("index", lang)
        write_page(path, html)
    return run_dir / "index.html"


#: A persona card's slot for the later stages' lines (``personas.report.later_slot``).
_LATER_SLOT = re.compile(r'(<div class="ca-later" data-cluster="(\d+)">).*?(</div>)', re.S)


def fill_persona_page(page: Path, manifest: dict[str, Any]) -> None:
    """Write each persona card's lines from later stages (:func:`personas_view`) into
    the persona page ``page``, in the current language; the same lines the index shows.

    Filling again replaces what an earlier fill wrote, so a rerun (or a page reused
    from the cache, whose slots are empty) ends the same. A page without slots (an
    older run's, or none at all) is left as it is.
    """
    if not page.is_file():
        return
    html = page.read_text(encoding="utf-8")
    views = personas_view(manifest.get("findings") or {})
    lines = {str(v["cluster"]): v["lines"] for v in views}

    def fill(slot: re.Match[str]) -> str:
        shown = lines.get(slot[2]) or []
        items = Markup("").join(Markup("<li>{}</li>").format(line) for line in shown)
        inside = Markup('<ul class="ca-later-lines">{}</ul>').format(items) if shown else ""
        return f"{slot[1]}{inside}{slot[3]}"

    filled = _LATER_SLOT.sub(fill, html)
    if filled != html:
        write_page(page, filled)
