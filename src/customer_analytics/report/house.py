"""The templates and CSS every page of a report shares, and how a page is written."""

from __future__ import annotations

import functools
from pathlib import Path

from customer_analytics.report.fonts import embed_cjk_font

TEMPLATES = Path(__file__).parent / "templates"
HOUSE_CSS = TEMPLATES / "house.css"


@functools.cache
def house_css() -> str:
    """The house CSS shared by every page of a report."""
    return HOUSE_CSS.read_text(encoding="utf-8")


def write_page(path: Path, page: str) -> Path:
    """Write a report page: with the Chinese font it needs, and never half-written.

    Every page of a run (stage pages, index, history) is written here, so a page that
    shows Chinese always carries its font (:func:`.fonts.embed_cjk_font`, a subset of
    exactly its characters) and a page without Chinese stays as small as it was.

    Parameters
    ----------
    path
        The page's file, e.g. ``reports/<run>/index.html``.
    page
        The complete HTML page.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    # Written beside the page, then renamed over it: a reader (or the stage cache) never
    # sees a half-written page.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(embed_cjk_font(page), encoding="utf-8")
    tmp.replace(path)
    return path
