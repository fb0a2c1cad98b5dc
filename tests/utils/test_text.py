"""Text helpers: blank and padded values in Ibis expressions, and slugs for names."""

from __future__ import annotations

import ibis
from hypothesis import given, settings
from hypothesis import strategies as st

from customer_analytics.utils.text import is_blank, slug, strip


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet=" \t\n\r\x0b\x0c\xa0\x01!ab\u00e9", max_size=6), max_size=20))
def test_strip_and_is_blank_match_their_plain_definitions(values):
    """The cheap whitespace checks give what Ibis's strip() does."""
    space = " \t\n\r\x0b\x0c"
    table = ibis.memtable({"x": [*values, None]}, schema={"x": "string"})
    got = table.select(stripped=strip(table.x), blank=is_blank(table.x)).to_pandas()
    assert got.stripped.tolist()[:-1] == [v.strip(space) for v in values]
    assert got.stripped.isna().tolist()[-1]
    assert got.blank.tolist() == [v.strip(space) == "" for v in values] + [True]


def test_slug_joins_words_of_any_script_and_names_the_empty_unknown() -> None:
    assert slug("Can't Lose Them", "-") == "can-t-lose-them"
    assert slug("  Größe / 尺寸 ") == "größe_尺寸"
    assert slug(" -- ") == slug("") == "unknown"
