"""The Chinese font of the reports: Noto Sans CJK SC, for charts and for pages.

The font comes from the ``noto-cjk-sans-otc`` package (a dependency in
``requirements.lock``, SIL Open Font License 1.1), so a run needs no system font and no
download: the package's ``NotoSansCJK-Regular.ttc`` holds the Simplified Chinese face
(face :data:`CJK_FACE` of the collection) beside the Japanese, Korean and Traditional
ones.

Charts
    :func:`register_cjk_font` adds the collection to matplotlib's font list in memory
    (nothing is written into matplotlib's install or cache), and :data:`CHART_FAMILIES`
    is the family list the house style sets: DejaVu Sans for Latin, then the Chinese face
    for the glyphs DejaVu Sans lacks. :func:`raise_on_missing_glyphs` makes matplotlib's
    "Glyph ... missing from font(s)" warning an error, so a chart never ships with empty
    boxes where text should be.
Pages
    :func:`embed_cjk_font` adds to a page that shows Chinese an ``@font-face`` rule with
    the face cut down to exactly the CJK characters of that page (a few hundred
    characters make tens of kilobytes instead of 16 MB), as a ``data:`` URI under the
    family name :data:`PAGE_FAMILY`, which the house CSS lists first: its
    ``unicode-range`` (the CJK blocks) keeps Latin text on the system fonts. Pages
    without CJK characters are left as they are.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import logging
import re
import warnings
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

#: The package that ships the font, and the collection file inside it.
FONT_PACKAGE = "noto-cjk-sans-otc"
FONT_FILE = "NotoSansCJK-Regular.ttc"
#: The Simplified Chinese face's family name and its index in the collection (the
#: collection's order: JP, KR, SC, TC, HK, then the Mono faces).
CJK_FAMILY = "Noto Sans CJK SC"
CJK_FACE = 2
#: Chart font families, in order: matplotlib takes each glyph from the first that has it.
CHART_FAMILIES = ["DejaVu Sans", CJK_FAMILY]
#: The page's family name for the embedded subset: a name of our own, so a page never
#: takes a system font of the same name for the subset (or the subset for a full font).
PAGE_FAMILY = "CA Noto Sans SC"
#: matplotlib's warning for a character no font of the family list has
#: (``matplotlib._text_helpers.warn_on_missing_glyph``).
MISSING_GLYPH = r"Glyph \d+ \(.*\) missing from font\(s\)"

#: The blocks a page's Chinese text is drawn from, as (first, last) code points: these
#: characters are in no Latin system font, so the embedded face must carry them. Latin
#: letters, digits and punctuation shared with Latin text (“ ” — …) stay on the system
#: fonts that come first in the house CSS.
CJK_BLOCKS = [
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x2FF0, 0x303F),  # ideographic description, CJK symbols and punctuation (，。、「」)
    (0x3040, 0x30FF),  # hiragana, katakana (the katakana middle dot ・)
    (0x3100, 0x312F),  # bopomofo
    (0x3190, 0x31FF),  # kanbun, bopomofo extended, CJK strokes
    (0x3200, 0x33FF),  # enclosed CJK letters, CJK compatibility (㎡)
    (0x3400, 0x4DBF),  # CJK unified ideographs extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE10, 0xFE1F),  # vertical forms
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # halfwidth and fullwidth forms (（），：；％)
    (0x20000, 0x3134F),  # CJK unified ideographs extensions B to G
]
_CJK = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in CJK_BLOCKS) + "]")
_UNICODE_RANGE = ", ".join(f"U+{a:X}-{b:X}" for a, b in CJK_BLOCKS)
#: Name records kept in a subset: family and style names, and (as the OFL asks of a
#: modified font) the copyright notice, the licence and its address.
_NAME_IDS = [0, 1, 2, 3, 4, 5, 6, 13, 14]
#: Tables a horizontal page does not need: vertical metrics and baselines, and the
#: layout tables (their closure would add vertical and alternate forms of every glyph).
_DROP_TABLES = ["BASE", "VORG", "vhea", "vmtx", "GSUB", "GPOS"]


class FontMissingError(RuntimeError):
    """The font's package is not installed."""


def cjk_font_file() -> Path:
    """The installed Noto Sans CJK collection (``.ttc``) file.

    Returns
    -------
    Path
        ``.../site-packages/noto_cjk_sans_otc/NotoSansCJK-Regular.ttc``.

    Raises
    ------
    FontMissingError
        When ``noto-cjk-sans-otc`` is not installed (``make install`` installs it).
    """
    try:
        import noto_cjk_sans_otc
    except ImportError as err:
        raise FontMissingError(
            f"the Chinese report font is missing: install {FONT_PACKAGE} "
            "(make install does, from requirements.lock)"
        ) from err
    path = Path(str(noto_cjk_sans_otc.FONT_PATH))
    if not path.is_file():
        raise FontMissingError(f"{FONT_PACKAGE} is installed without its {FONT_FILE}")
    return path


# The subsetter reports every font table it prunes at INFO: noise in a run's log.
logging.getLogger("fontTools").setLevel(logging.WARNING)


class _RegularForBold(logging.Filter):
    """Drop matplotlib's note that the Chinese face has no bold: it is known (the package
    ships the regular weight only, and bold titles take it), and repeating it in every
    notebook's output would bury the notes that matter."""

    def filter(self, record: logging.LogRecord) -> bool:
        known = str(record.msg).startswith("findfont: Failed to find font weight")
        return not (known and CJK_FAMILY in str(record.args))


@functools.cache
def register_cjk_font() -> Path:
    """Make Noto Sans CJK SC available to matplotlib, once per process.

    The collection is added to matplotlib's in-memory font list (``fontManager.addfont``),
    every face of it; matplotlib's install and font cache are left untouched.

    Returns
    -------
    Path
        The registered collection file.

    Examples
    --------
    >>> from matplotlib import font_manager
    >>> _ = register_cjk_font()
    >>> CJK_FAMILY in {f.name for f in font_manager.fontManager.ttflist}
    True
    """
    from matplotlib import font_manager

    path = cjk_font_file()
    font_manager.fontManager.addfont(path)
    logging.getLogger(font_manager.__name__).addFilter(_RegularForBold())
    return path


def raise_on_missing_glyphs() -> None:
    """Turn matplotlib's "Glyph ... missing from font(s)" warning into an error.

    The filter is process-wide on purpose: a stage notebook draws its charts in several
    places (``fig.tight_layout()``, ``st.figure``'s ``savefig``, the inline backend), and
    each of them must fail rather than draw an empty box for a character.
    """
    warnings.filterwarnings("error", message=MISSING_GLYPH, category=UserWarning)


def cjk_characters(text: str) -> str:
    """The distinct CJK characters of ``text`` (see :data:`CJK_BLOCKS`), in code-point order.

    HTML character references are read as the characters they stand for.

    Examples
    --------
    >>> cjk_characters("客户价值 RFM：客户&#20998;群")
    '价值分客户群：'
    """
    return "".join(sorted(set(_CJK.findall(html.unescape(text)))))


@functools.cache
def _font_data() -> bytes:
    # Read once per process: every page's subset starts from these bytes.
    return cjk_font_file().read_bytes()


@functools.cache
def _covered() -> frozenset[int]:
    """The code points the Chinese face has a glyph for."""
    font = TTFont(io.BytesIO(_font_data()), fontNumber=CJK_FACE, lazy=True)
    return frozenset(font.getBestCmap())


def cjk_subset(characters: str) -> bytes:
    """The Chinese face cut down to ``characters``, as a WOFF font.

    Characters the face lacks are left out (the browser falls back for them; the browser
    check of ``tests/browser.py`` reports it). WOFF compresses with zlib; WOFF2 would be
    about a third smaller but needs the brotli package.

    Parameters
    ----------
    characters
        The characters to keep, e.g. from :func:`cjk_characters`.

    Returns
    -------
    bytes
        The WOFF font, byte-for-byte the same for the same characters.
    """
    # The parsed font cannot be cached: the subsetter cuts it down in place. Parsing is
    # lazy, so a fresh one from the cached bytes costs little. The original timestamp
    # and bounding boxes are kept so the same characters give the same bytes in every run.
    font = TTFont(
        io.BytesIO(_font_data()),
        fontNumber=CJK_FACE,
        lazy=True,
        recalcBBoxes=False,
        recalcTimestamp=False,
    )
    options = subset.Options()
    options.name_IDs = _NAME_IDS
    options.layout_features = []
    options.drop_tables = [*options.drop_tables, *_DROP_TABLES]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in characters if ord(c) in _covered()])
    subsetter.subset(font)
    font.flavor = "woff"
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def cjk_font_face(characters: str) -> str:
    """An ``@font-face`` rule for :data:`PAGE_FAMILY` with the subset embedded as a
    ``data:`` URI.

    Its ``unicode-range`` is :data:`CJK_BLOCKS`: the house CSS lists the family first,
    and the range keeps every other character on the fonts after it.

    Examples
    --------
    >>> cjk_font_face("客户")[:60]
    '@font-face { font-family: "CA Noto Sans SC"; font-style: nor'
    """
    data = base64.b64encode(cjk_subset(characters)).decode("ascii")
    return (
        f'@font-face {{ font-family: "{PAGE_FAMILY}"; font-style: normal; '
        f"font-weight: 400; unicode-range: {_UNICODE_RANGE}; "
        f'src: url("data:font/woff;base64,{data}") format("woff"); }}'
    )


_EMBEDDED = re.compile(r'<style id="ca-cjk-font">.*?</style>\n', re.S)


def embed_cjk_font(page: str) -> str:
    """A page with the Chinese font it needs embedded, or the page as it was.

    Parameters
    ----------
    page
        A complete HTML page (with ``</head>``).

    Returns
    -------
    str
        When the page has CJK characters: the page with a ``<style>`` holding
        :func:`cjk_font_face` of exactly those characters, placed before ``</head>``;
        bold text takes the regular face, emboldened by the browser. Otherwise ``page``.
        A face embedded earlier is replaced.

    Raises
    ------
    ValueError
        When a page with CJK characters has no ``</head>`` to put the font in.
    """
    page = _EMBEDDED.sub("", page)  # a page written again gets one face, of its characters now
    characters = cjk_characters(page)
    if not characters:
        return page
    head_end = re.search(r"</head\s*>", page, flags=re.IGNORECASE)
    if head_end is None:
        raise ValueError("the page has no </head> for its Chinese font")
    style = f'<style id="ca-cjk-font">{cjk_font_face(characters)}</style>\n'
    return page[: head_end.start()] + style + page[head_end.start() :]
