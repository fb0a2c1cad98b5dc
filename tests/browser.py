"""Open a run's report in headless Chromium and list what a reader would find broken.

Besides links, images and requests, :func:`cjk_font_problems` checks that Chinese text
is drawn with the page's own embedded font (the Noto Sans CJK SC subset that
``customer_analytics.report.fonts`` embeds), not with whatever the machine falls back to.

Used by the report tests and reusable on any finished run::

    .venv/bin/python tests/browser.py reports/latest

Chromium is Debian's ``/usr/bin/chromium`` driven by playwright (``playwright install``
cannot download browsers here). Tests that need it use :func:`require_chromium` or the
``chromium`` fixture: they skip without it, except under ``CI=true`` where a missing
browser is a failure, so CI cannot go green by skipping.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from customer_analytics.report.fonts import CJK_BLOCKS, CJK_FAMILY

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Schemes a page may use without touching the network or the disk.
INLINE_SCHEMES = {"data", "blob", "about"}
#: Milliseconds to wait for a page's load event.
LOAD_TIMEOUT_MS = 30_000


def chromium_available() -> bool:
    """Whether Chromium and playwright's Python package are both usable here."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return False
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def require_chromium() -> None:
    """Skip the calling test without Chromium; fail instead when ``CI=true``."""
    if chromium_available():
        return
    message = f"headless Chromium is not available ({CHROMIUM} or the playwright package)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must run the browser tests")
    pytest.skip(message)


@pytest.fixture
def chromium() -> Path:
    """The Chromium executable, or a skip (a failure under ``CI=true``) without it."""
    require_chromium()
    return CHROMIUM


def _local_path(url: str) -> Path | None:
    parts = urlsplit(url)
    return Path(unquote(parts.path)).resolve() if parts.scheme == "file" else None


def _short(url: str, root: Path) -> str:
    """A URL as a reader of the problem list wants it: relative inside the report."""
    local = _local_path(url)
    if local is not None and _inside(local, root):
        return str(local.relative_to(root))
    return url[:60] + "…" if url.startswith("data:") and len(url) > 60 else url


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _request_problem(url: str, root: Path) -> str | None:
    """Why a request the page made is not allowed, or None when it stays in the report."""
    scheme = urlsplit(url).scheme
    if scheme in INLINE_SCHEMES:
        return None
    local = _local_path(url)
    if local is None:
        return f"requests {url} (outside the report: reports must open offline)"
    if not _inside(local, root):
        return f"requests {local}, a file outside the report folder"
    return None


def _link_problem(href: str, page_file: Path, root: Path) -> str | None:
    """Why a relative link is broken, or None. Absolute links and anchors are not checked."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path:
        return None  # same-page anchor ("#x"), or an absolute address
    target = (page_file.parent / unquote(parts.path)).resolve()
    if not _inside(target, root):
        return f"links to {href}, outside the report folder"
    if not target.is_file():
        return f"links to {href}, which does not exist"
    return None


_IMAGES_JS = "() => Array.from(document.images).map(i => [i.currentSrc || i.src, i.naturalWidth])"
_HREFS_JS = (
    "() => Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))"
)


#: Keeps the page's rendered text nodes that have CJK characters in ``window.__caCjkText``
#: and returns, per node, its element's tag and how many CJK characters it has.
_CJK_TEXT_JS = """(ranges) => {
  const isCjk = (ch) => {
    const c = ch.codePointAt(0);
    return ranges.some(([a, b]) => c >= a && c <= b);
  };
  const found = [];
  const walker = document.createTreeWalker(document.body || document, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const tag = node.parentElement ? node.parentElement.tagName : '';
    if (['STYLE', 'SCRIPT', 'TITLE', 'NOSCRIPT', 'TEMPLATE'].includes(tag)) continue;
    const count = Array.from(node.data).filter(isCjk).length;
    const range = document.createRange();
    range.selectNodeContents(node);
    if (count && range.getClientRects().length) found.push([node, tag.toLowerCase(), count]);
  }
  window.__caCjkText = found.map(([node]) => node);
  return found.map(([, tag, count]) => [tag, count]);
}"""


def cjk_fonts_used(page) -> list[tuple[str, int, list[dict]]]:
    """Which fonts Chromium drew each piece of a page's Chinese text with.

    Every rendered text node with CJK characters (``customer_analytics.report.fonts``'s
    ``CJK_BLOCKS``) is asked of the DevTools protocol's ``CSS.getPlatformFontsForNode``,
    after the page's web fonts have loaded.

    Parameters
    ----------
    page
        A loaded playwright page.

    Returns
    -------
    list of (str, int, list of dict)
        Per text node: its element's tag, how many CJK characters it has, and the fonts
        that drew its glyphs as the protocol gives them (``familyName``,
        ``postScriptName``, ``isCustomFont``: a web font of the page, ``glyphCount``).
    """
    page.evaluate("() => document.fonts.ready.then(() => true)")
    texts = page.evaluate(_CJK_TEXT_JS, [list(block) for block in CJK_BLOCKS])
    if not texts:
        return []
    cdp = page.context.new_cdp_session(page)
    used = []
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        cdp.send("DOM.getDocument", {"depth": 0})  # node ids are given out after this
        for i, (tag, count) in enumerate(texts):
            found = cdp.send("Runtime.evaluate", {"expression": f"window.__caCjkText[{i}]"})
            node = cdp.send("DOM.requestNode", {"objectId": found["result"]["objectId"]})
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
            used.append((tag, count, fonts["fonts"]))
    finally:
        cdp.detach()
    return used


def cjk_font_problems(page, family: str = CJK_FAMILY) -> list[str]:
    """Where a page's Chinese text is not drawn with the page's own embedded font.

    Every CJK character must be drawn by a web font of the page (``isCustomFont``, so
    never a font of the machine) whose family is ``family``; other characters of the same
    text may take any font. See :func:`cjk_fonts_used`.

    Parameters
    ----------
    page
        A loaded playwright page.
    family
        The embedded font's own family name (the font file's, not the CSS name).

    Returns
    -------
    list of str
        One line per text whose CJK glyphs came (partly) from another font, naming the
        fonts used; empty when all Chinese text takes the embedded font.
    """
    problems = []
    for tag, count, fonts in cjk_fonts_used(page):
        embedded = sum(
            f["glyphCount"] for f in fonts if f["isCustomFont"] and f["familyName"] == family
        )
        if embedded < count:
            named = ", ".join(
                f"{f['familyName']} ({'embedded' if f['isCustomFont'] else 'system'}, "
                f"{f['glyphCount']} glyphs)"
                for f in fonts
            )
            problems.append(
                f"<{tag}>: {count - embedded} of {count} Chinese characters not drawn with "
                f"the embedded {family}; fonts used: {named or 'none'}"
            )
    return problems


def _has_visible_heading(page) -> bool:
    headings = page.locator("h1, h2, h3")
    return any(headings.nth(i).is_visible() for i in range(headings.count()))


def _check_page(context, page_file: Path, root: Path) -> list[str]:
    problems: list[str] = []
    requested: list[str] = []
    page = context.new_page()
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "console",
        lambda msg: problems.append(f"console error: {msg.text}") if msg.type == "error" else None,
    )
    try:
        page.goto(page_file.as_uri(), wait_until="load", timeout=LOAD_TIMEOUT_MS)
        for src, width in page.evaluate(_IMAGES_JS):
            if not width:
                problems.append(f"image does not load: {_short(src, root)}")
        for href in page.evaluate(_HREFS_JS):
            problem = _link_problem(href, page_file, root)
            if problem:
                problems.append(problem)
        if not _has_visible_heading(page):
            problems.append("has no visible heading")
        problems += cjk_font_problems(page)
    except Exception as err:  # a page that does not load is a finding, not a crash
        problems.append(f"does not load: {type(err).__name__}: {err}")
    finally:
        page.close()
    problems += [p for url in requested if (p := _request_problem(url, root))]
    return [f"{page_file.name}: {p}" for p in dict.fromkeys(problems)]


def _block_network(route) -> None:
    # Record-and-fail is the check; aborting too keeps a broken report from reaching
    # the network from a test machine.
    if urlsplit(route.request.url).scheme in {"file", *INLINE_SCHEMES}:
        route.continue_()
    else:
        route.abort()


def report_pages(run_dir: Path) -> list[Path]:
    """``index.html`` first, then every other ``*.html`` of the report folder."""
    pages = sorted(p for p in Path(run_dir).glob("*.html") if p.name != "index.html")
    return [Path(run_dir) / "index.html", *pages]


def check_report(run_dir: Path) -> list[str]:
    """Open every page of a report in headless Chromium and list its problems.

    For ``index.html`` and every ``*.html`` of ``run_dir``: every request must stay inside
    the report folder (no http/https, no file outside it), the page must load, every
    ``<img>`` must have a natural width above zero, every relative ``<a href>`` must name
    an existing file of the report, a heading must be visible, no script errors, and
    Chinese text must be drawn with the page's embedded font (:func:`cjk_font_problems`).

    Parameters
    ----------
    run_dir
        A run's report folder, e.g. ``reports/20261122-153000-default``.

    Returns
    -------
    list of str
        Problems as ``"<page>: <what>"``; empty when the report is fine.
    """
    from playwright.sync_api import sync_playwright

    root = Path(run_dir).resolve()
    problems: list[str] = []
    pages = report_pages(root)
    if not pages[0].is_file():
        problems.append("index.html: missing")
        pages = pages[1:]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True)
            context.route("**/*", _block_network)
            for page_file in pages:
                problems += _check_page(context, page_file, root)
        finally:
            browser.close()
    return problems


if __name__ == "__main__":
    found = check_report(Path(sys.argv[1] if len(sys.argv) > 1 else "reports/latest"))
    print("\n".join(found) or "no problems found")
    sys.exit(1 if found else 0)
