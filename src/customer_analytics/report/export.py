"""Turn an executed stage notebook into two offline HTML pages: stakeholder and analyst.

The stakeholder page shows narrative, tables and charts only: no code, no prompts, no
stderr, no warnings, no tracebacks, and no cells tagged ``analyst-only`` or ``remove``.
The analyst page shows everything, code included. Both pages reference nothing on the
network: they use our own nbconvert template (``templates/nbconvert/house``), which keeps
the cell markup of nbconvert's lab template but drops its CDN scripts (require.js,
MathJax, mermaid, widgets) and JupyterLab CSS, and inlines our small house CSS instead.
Images are embedded as ``data:`` URIs.
"""

from __future__ import annotations

import copy
import functools
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

from customer_analytics import i18n
from customer_analytics.i18n import _
from customer_analytics.i18n.catalogues import translate_markdown
from customer_analytics.report.house import TEMPLATES, house_css, write_page

NBCONVERT_TEMPLATES = TEMPLATES / "nbconvert"

#: Cells a stakeholder never sees. ``parameters``/``injected-parameters`` hold only
#: code (hidden anyway), and the papermill error banner links to a traceback that the
#: stakeholder page does not show.
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"
STAKEHOLDER_DROP_TAGS = frozenset(
    {"analyst-only", "remove", "parameters", "injected-parameters", PAPERMILL_ERROR_TAG}
)
#: Cells nobody sees, not even analysts.
ANALYST_DROP_TAGS = frozenset({"remove"})

#: At most this many untranslated words are named in a page's note.
MAX_ENGLISH = 8
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# A bare object repr such as "<Axes: title={'center': 'x'}>", "<Figure size 800x400 ...>" or
# "PosixPath('/abs/figures/x.png')": the noise of a notebook's last expression, meaningless
# to a stakeholder (and a path would show the machine's folders).
_OBJECT_REPR = re.compile(r"^(<[\w.]+[\s:].*>|\w*Path\(.*\))$", re.DOTALL)


class StakeholderOutputs(Preprocessor):
    """Drop what a stakeholder should not read: stderr, errors, object reprs, empty cells.

    Warnings and log records reach a notebook as ``stderr`` streams, so dropping those
    streams removes them too.
    """

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        """Filter the outputs of every code cell and drop code cells left without output."""
        kept = []
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [out for out in cell.get("outputs", []) if _for_stakeholder(out)]
                if not cell.outputs:
                    continue
            kept.append(cell)
        nb.cells = kept
        return nb, resources


def in_language(nb: Any, lang: str, stage: str | None = None) -> Any:
    """A copy of ``nb`` as read in ``lang``: the outputs rendered in another language
    dropped (``StageContext.show`` tags each with its language; untagged ones are for
    every language) and each markdown block translated by the notebook's catalogue
    (its domain is the stage's name)."""
    nb = copy.deepcopy(nb)
    with i18n.language(lang):
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = translate_markdown(
                    cell.source, lambda block: i18n.dgettext(stage, block)
                )
            elif cell.cell_type == "code":
                cell.outputs = [
                    out
                    for out in cell.get("outputs", [])
                    if out.get("metadata", {}).get(i18n.OUTPUT_KEY, lang) == lang
                ]
    return nb


def _for_stakeholder(output: Any) -> bool:
    kind = output.get("output_type")
    if kind == "error":
        return False
    if kind == "stream":
        return output.get("name") == "stdout" and bool(output.get("text", "").strip())
    data = output.get("data", {})
    if set(data) == {"text/plain"}:
        return not _OBJECT_REPR.match(str(data["text/plain"]).strip())
    return True


def _house_exporter(*, code: bool) -> HTMLExporter:
    exporter = HTMLExporter(
        template_name="house",
        extra_template_basedirs=[str(NBCONVERT_TEMPLATES)],
        exclude_input=not code,
        exclude_input_prompt=not code,
        exclude_output_prompt=not code,
        # Markdown images that point at local files become data: URIs.
        embed_images=True,
        # Unused by our template; emptied so that no CDN address can slip back in if a
        # block of the lab template that uses them is ever inherited.
        mathjax_url="",
        require_js_url="",
        jupyter_widgets_base_url="",
        widget_renderer_url="",
        mermaid_js_url="",
        mermaid_layout_elk_js_url="",
    )
    tags = TagRemovePreprocessor(
        remove_cell_tags=set(ANALYST_DROP_TAGS if code else STAKEHOLDER_DROP_TAGS),
        remove_input_tags={"remove-input", "hide-input"},
        remove_all_outputs_tags={"remove-output", "hide-output"},
    )
    exporter.register_preprocessor(tags, enabled=True)
    if not code:
        exporter.register_preprocessor(StakeholderOutputs(), enabled=True)
    return exporter


@functools.cache
def _exporter(view: str) -> tuple[HTMLExporter, threading.Lock]:
    """One exporter per view, built once per process: building one (template lookup,
    Jinja environment, pygments) costs more than converting a typical stage notebook.
    The lock guards the exporter's per-conversion state if two threads export at once.
    """
    return _house_exporter(code=view == "analyst"), threading.Lock()


def notebook_title(nb: Any, stage: str) -> tuple[str, bool]:
    """The page title and whether the page must print it itself.

    A notebook that opens with a ``# Heading`` markdown cell already shows its title;
    otherwise the page adds a heading built from the stage name.
    """
    for cell in nb.cells:
        # papermill puts its error banner, a markdown cell, above everything else.
        if cell.cell_type != "markdown" or PAPERMILL_ERROR_TAG in cell.metadata.get("tags", []):
            continue
        first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
        if first.startswith("# "):
            return first[2:].strip(), False
        break
    return nb.metadata.get("title") or stage.replace("_", " "), True


def notebook_error(nb: Any) -> str | None:
    """``"Name: message"`` of the first error output, without its traceback."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                value = _ANSI.sub("", str(out.get("evalue", ""))).strip().splitlines()
                text = f"{out.get('ename', 'Error')}: {value[0] if value else ''}"
                return text.strip().rstrip(".")
    return None


def _render(nb: Any, view: str, house: dict[str, Any]) -> str:
    exporter, lock = _exporter(view)
    with lock:
        body, _ = exporter.from_notebook_node(nb, resources={"house": house})
    return body


def export_stage_html(
    notebook: Path,
    out_dir: Path,
    stage: str,
    languages: Sequence[str] = (i18n.SOURCE,),
    english: dict[str, list[str]] | None = None,
) -> dict[str, Path]:
    """Write a stage's stakeholder pages, one per language, and its analyst page.

    Parameters
    ----------
    notebook
        The executed notebook (``.ipynb``), e.g. ``reports/<run>/notebooks/01_ingest.ipynb``.
    out_dir
        The run's report folder; pages link back to its index in their language.
    stage
        The stage name, e.g. ``"01_ingest"``; names the files.
    languages
        The report's languages (``reports.languages``); English is always among them.
    english
        Per language, the words of the user's own data that have no translation and are
        shown in English (``StageContext`` records them); the page says so once.

    Returns
    -------
    dict[str, Path]
        ``{"html": out_dir/<stage>.html, "analyst_html": out_dir/<stage>.analyst.html}``
        and ``"html.<lang>": out_dir/<stage>.<lang>.html`` for every other language.

    Examples
    --------
    >>> export_stage_html(Path("reports/run/notebooks/01_ingest.ipynb"),
    ...                   Path("reports/run"), "01_ingest", ["zh", "en"])  # doctest: +SKIP
    {'html': PosixPath('reports/run/01_ingest.html'), ...}
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(notebook, as_version=4)
    paths = {"analyst_html": out_dir / f"{stage}.analyst.html"}
    for lang in languages:
        key = "html" if lang == i18n.SOURCE else f"html.{lang}"
        paths[key] = out_dir / i18n.page_name(stage, lang)
    others = [(lang, i18n.NAMES[lang], paths[k].name) for k, lang in _keyed(languages)]
    for key, lang in _keyed(languages):
        read = in_language(nb, lang, stage)
        with i18n.language(lang):
            title, show_title = notebook_title(read, stage)
            house = {
                **_common(read, stage, notebook, title, show_title),
                "lang": i18n.HTML_LANG[lang],
                "languages": [other for other in others if other[0] != lang],
                "index_href": i18n.page_name("index", lang),
                "view": "stakeholder",
                "view_label": _("Stakeholder view"),
                "other_href": paths["analyst_html"].name,
                "other_label": _("Analyst version (with code)"),
                "back_label": _("Run summary"),
                "chart_alt": _("Chart"),
                "stopped": _("This stage did not finish:"),
                "stopped_after": _("The page stops where the stage stopped."),
                "english": _english_note((english or {}).get(lang)),
            }
        write_page(paths[key], _render(read, "stakeholder", house))
    read = in_language(nb, i18n.SOURCE, stage)
    title, show_title = notebook_title(read, stage)
    analyst = {
        **_common(read, stage, notebook, title, show_title),
        "lang": i18n.SOURCE,
        "languages": [],
        "index_href": "index.html",
        "view": "analyst",
        "view_label": "Analyst view",
        "other_href": paths["html"].name,
        "other_label": "Stakeholder version",
        "back_label": "Run summary",
        "chart_alt": "Chart",
        # The analyst page shows the traceback itself; no banner needed.
        "error": None,
    }
    write_page(paths["analyst_html"], _render(read, "analyst", analyst))
    return paths


def _english_note(words: list[str] | None) -> dict[str, str] | None:
    if not words:
        return None
    shown = ", ".join(words[:MAX_ENGLISH]) + ("…" if len(words) > MAX_ENGLISH else "")
    text = _("Some words of this shop's own settings have no translation and are shown in English:")
    return {"text": text, "words": shown}


def _keyed(languages: Sequence[str]) -> list[tuple[str, str]]:
    return [("html" if lang == i18n.SOURCE else f"html.{lang}", lang) for lang in languages]


def _common(nb: Any, stage: str, notebook: Path, title: str, show_title: bool) -> dict[str, Any]:
    return {
        "css": house_css(),
        "title": title,
        "show_title": show_title,
        "stage": stage,
        "notebook": f"notebooks/{Path(notebook).name}",
        "error": notebook_error(nb),
    }
