"""Blank and padded text, tested the cheap way first.

Ibis's ``strip()`` becomes DuckDB's ``trim`` with a set of characters, which is several
times slower than a regular expression that only looks at a value's ends (four million
order times: 1.16 s against 0.52 s). Nearly every delivered value has nothing to trim,
so the ends are checked first and only padded values are trimmed.
"""

from __future__ import annotations

import ibis

# The characters Ibis's strip() removes (Python's ASCII whitespace).
_SPACE = r"[ \t\n\r\x0b\x0c]"


def strip(value: ibis.StringValue) -> ibis.StringValue:
    """``value`` without leading and trailing whitespace, as ``value.strip()``."""
    padded = value.re_search(f"^{_SPACE}") | value.re_search(f"{_SPACE}$")
    return ibis.ifelse(padded, value.strip(), value)


def is_blank(value: ibis.StringValue) -> ibis.BooleanValue:
    """Null, empty or only whitespace."""
    return value.isnull() | value.re_search(f"^{_SPACE}*$")
