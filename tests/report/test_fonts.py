"""The Chinese font: charts draw Chinese and refuse characters no font has; a page with
Chinese carries a subset of exactly its characters, a page without carries none."""

from __future__ import annotations

import base64
import io
import re
import time
import warnings

import matplotlib
import pytest
from fontTools.ttLib import TTFont
from matplotlib.figure import Figure

from customer_analytics.report import fonts, plots
from customer_analytics.report.house import house_css, write_page

# Characters of a Chinese report page: words, full-width punctuation and figures.
CHINESE = "客户分群：高价值客户（RFM 评分≥4）占 12.5%，复购率上升。"
FACE = re.compile(r'@font-face \{ font-family: "([^"]+)";.*?base64,([A-Za-z0-9+/=]+)"')


def _page(body: str) -> str:
    return f"<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>"


def _embedded_font(page: str) -> tuple[str, TTFont]:
    (found,) = FACE.findall(page)
    family, data = found
    return family, TTFont(io.BytesIO(base64.b64decode(data)))


def _chart(title: str) -> Figure:
    fig = Figure(figsize=(3, 2))
    ax = fig.subplots()
    ax.bar(["新客户", "老客户"], [3, 5])
    ax.set_title(title)
    ax.set_ylabel("订单数")
    return fig


def test_chart_with_chinese_draws_without_warnings(tmp_path) -> None:
    with matplotlib.rc_context():
        plots.use_house_style()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _chart(CHINESE).savefig(tmp_path / "zh.png")
        assert matplotlib.rcParams["font.family"] == fonts.CHART_FAMILIES
    assert (tmp_path / "zh.png").stat().st_size > 0


@pytest.mark.parametrize("missing", ["\ue000", "\U0001d11e"], ids=["private-use", "g-clef"])
def test_chart_with_a_character_no_font_has_raises(tmp_path, missing: str) -> None:
    with matplotlib.rc_context():
        plots.use_house_style()
        with pytest.raises(UserWarning, match="missing from font"):
            _chart(f"客户 {missing}").savefig(tmp_path / "bad.png")


def test_the_house_css_puts_the_page_family_first_for_cjk_only() -> None:
    """First in every font list; its unicode-range leaves Latin text to the system fonts."""
    lists = re.findall(r"(?:font|font-family): ([^;]+);", house_css())
    assert len(lists) >= 3
    for listed in lists:
        first = listed.split(",")[0].replace('"', "")
        assert first.endswith(fonts.PAGE_FAMILY), listed
    face = fonts.cjk_font_face("客")
    assert "unicode-range: U+2E80-2FDF, " in face and "U+0" not in face.split("src:")[0]


def test_page_with_chinese_embeds_exactly_its_characters() -> None:
    page = fonts.embed_cjk_font(_page(f"<h1>报告</h1><p>{CHINESE}</p><p>&#20998;析 English</p>"))
    family, font = _embedded_font(page)
    assert family == fonts.PAGE_FAMILY
    assert font.flavor == "woff"
    expected = set("报告客户分群：高价值（评）占，复购率上升。析")
    assert {chr(c) for c in font.getBestCmap()} == expected
    # One glyph per character, plus .notdef: no layout alternates ride along.
    assert len(font.getGlyphOrder()) == len(expected) + 1
    assert page.index('<style id="ca-cjk-font">') < page.index("</head>")
    assert "OFL" in font["name"].getDebugName(13) or "Open Font" in font["name"].getDebugName(13)


def test_page_without_chinese_gets_no_font() -> None:
    page = _page("<p>Customers: 1,234 — “high value” ≥ 4 · 12.5%</p>")
    assert fonts.embed_cjk_font(page) == page


def test_subset_is_fast_and_the_same_every_time() -> None:
    characters = "".join(chr(c) for c in range(0x5BA2, 0x5BA2 + 300))
    fonts.cjk_subset("客")  # the font file is read once per process, not per page
    start = time.perf_counter()
    first = fonts.cjk_subset(characters)
    seconds = time.perf_counter() - start
    assert first == fonts.cjk_subset(characters)
    # About 0.5 s on a quiet machine, 2.5 s with the two cores shared five ways; a font
    # parsed whole for every page (not lazily) would take far longer.
    assert seconds < 5, f"subsetting 300 characters took {seconds:.2f} s"


def test_written_pages_carry_the_font_when_they_show_chinese(tmp_path) -> None:
    zh = write_page(tmp_path / "x.zh.html", _page(f"<p>{CHINESE}</p>"))
    en = write_page(tmp_path / "x.html", _page("<p>Customers</p>"))
    assert "@font-face" in zh.read_text(encoding="utf-8")
    assert "@font-face" not in en.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.html", "x.zh.html"]


def test_a_page_without_head_is_refused() -> None:
    with pytest.raises(ValueError, match="</head>"):
        fonts.embed_cjk_font("<p>客户</p>")
