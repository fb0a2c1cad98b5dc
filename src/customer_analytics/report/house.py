"""The templates and CSS every page of a report shares."""

from __future__ import annotations

import functools
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
HOUSE_CSS = TEMPLATES / "house.css"


@functools.cache
def house_css() -> str:
    """The house CSS shared by every page of a report."""
    return HOUSE_CSS.read_text(encoding="utf-8")
