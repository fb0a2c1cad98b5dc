"""Stage pages: the stakeholder view without code or noise, the analyst view with both,
failed stages explained, and every page readable offline (the report of conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import check_report

URL = re.compile(r"https?://")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_export_writes_both_pages(report: dict) -> None:
    paths = report["paths"]
    assert set(paths) == {"html", "analyst_html"}
    assert paths["html"] == report["dir"] / f"{report['stage']}.html"
    assert paths["analyst_html"] == report["dir"] / f"{report['stage']}.analyst.html"
    assert all(p.is_file() for p in paths.values())


def test_no_network_reference_in_any_page(report: dict) -> None:
    pages = sorted(report["dir"].glob("*.html"))
    assert len(pages) == 5  # index + 2 stages x 2 views
    for page in pages:
        html = _read(page)
        assert not URL.search(html), f"{page.name}: {URL.search(html).group()} found"
        assert "<script" not in html, page.name
        assert "@import" not in html and "@font-face" not in html, page.name


def test_stakeholder_page_has_findings_but_no_code_or_noise(report: dict) -> None:
    html = _read(report["paths"]["html"])
    assert "hello stakeholder" in html
    assert "Demo stage" in html
    assert 'href="index.html"' in html
    for hidden in [
        "CODE-MARKER",
        "print(",
        "import matplotlib",
        "STDERR-MARKER",
        "WARNING-MARKER",
        "UserWarning",
        "ANALYST-ONLY-OUTPUT",
        "REMOVED-OUTPUT",
        "In&nbsp;[",
        "run_dir",
        "jp-InputArea-editor",
    ]:
        assert hidden not in html, hidden
    assert html.count("data:image/png;base64,") == 1
    assert 'id="Rows-per-table"' in html and "customers</td>" in html
    assert "&lt;Axes" not in html and "&lt;Figure" not in html and "PosixPath" not in html


def test_analyst_page_has_code_and_images(report: dict) -> None:
    html = _read(report["paths"]["analyst_html"])
    assert "CODE-MARKER" in html
    assert "ANALYST-ONLY-OUTPUT" in html
    assert "STDERR-MARKER" in html  # analysts see warnings and stderr
    assert "REMOVED-OUTPUT" not in html
    assert 'href="index.html"' in html
    assert "data:image/png;base64," in html
    assert re.search(r'<img src="(?!data:)', html) is None


def test_failed_stage_pages_show_error_without_traceback(report: dict) -> None:
    stakeholder = _read(report["dir"] / "02_broken.html")
    assert "ValueError: orders table is empty" in stakeholder
    assert "Traceback" not in stakeholder
    assert "raise ValueError" not in stakeholder
    assert "An Exception was encountered" not in stakeholder  # papermill's banner
    assert "<title>01 · Demo stage</title>" in stakeholder  # not papermill's banner
    analyst = _read(report["dir"] / "02_broken.analyst.html")
    assert "orders table is empty" in analyst
    assert "Traceback" in analyst  # analysts get the full story


def test_exporters_are_reused(report: dict) -> None:
    from customer_analytics.report.export import _exporter

    assert _exporter("stakeholder") is _exporter("stakeholder")
    # The first export builds the exporters; later ones reuse them.
    assert report["timings"][-1] < 5


@pytest.mark.browser
def test_report_opens_offline_in_chromium(report: dict, chromium: Path) -> None:
    assert check_report(report["dir"]) == []
