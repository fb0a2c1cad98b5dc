"""Open a run's report in headless Chromium and list what a reader would find broken.

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
    an existing file of the report, a heading must be visible, and no script errors.

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
