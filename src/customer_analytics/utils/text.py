"""Blank and padded text, tested the cheap way first.

Ibis's ``strip()`` becomes DuckDB's ``trim`` with a set of characters, which is several
times slower than looking at a value's two ends (four million order times: 1.23 s
against 0.21 s). Nearly every delivered value has nothing to trim, so only values with
a space or control character at either end are trimmed.
"""

from __future__ import annotations

import re

import ibis


def strip(value: ibis.StringValue) -> ibis.StringValue:
    """``value`` without leading and trailing whitespace, as ``value.strip()``."""
    # Strings compare bytewise: below "!" means empty, or starting with a space or a
    # control character (a superset of what strip() removes, so nothing is missed).
    padded = (value < "!") | (value.right(1) < "!")
    return ibis.ifelse(padded, value.strip(), value)


def is_blank(value: ibis.StringValue) -> ibis.BooleanValue:
    """Null, empty or only whitespace."""
    return value.isnull() | value.re_search(r"^[ \t\n\r\x0b\x0c]*$")


def slug(value: object, sep: str = "_") -> str:
    """``value`` as a column or file name: lower case, every run of other characters than
    letters and digits (any script) one ``sep``; "unknown" when nothing is left."""
    return re.sub(r"[\W_]+", sep, str(value).lower()).strip(sep) or "unknown"
