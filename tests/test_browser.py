"""The report checker of browser.py: it finds what a reader would find broken, and the
browser tests skip without Chromium except in CI."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, check_report, cjk_font_problems, cjk_fonts_used
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from support import CliRun, on_run

from customer_analytics.report.export import export_stage_html


@pytest.mark.browser
@on_run("tiny")
def test_checker_finds_problems(
    config_run: Callable[[str], CliRun], chromium: Path, tmp_path: Path
) -> None:
    """A broken page added to a copy of the tiny run's report: every problem named, and
    none in the run's own pages."""
    report = config_run("tiny").report
    run_dir = tmp_path / "run"
    shutil.copytree(report, run_dir)
    (run_dir / "bad.html").write_text(
        "<p>no heading</p>"
        '<img src="https://example.invalid/x.png">'
        '<img src="missing.png">'
        '<a href="nowhere.html">x</a>'
        '<img src="../outside.png">'
    )
    shutil.copy(next((report / "figures").glob("*.png")), tmp_path / "outside.png")
    problems = "\n".join(check_report(run_dir))
    assert "bad.html: requests https://example.invalid/x.png" in problems
    assert "bad.html: image does not load: missing.png" in problems
    assert "nowhere.html, which does not exist" in problems
    assert "has no visible heading" in problems
    assert "outside the report folder" in problems
    assert "index.html" not in problems.replace("bad.html", "")


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_missing_chromium_skips_except_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str, outcome: type
) -> None:
    import browser

    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", ci)
    assert not browser.chromium_available()
    with pytest.raises(outcome):
        browser.require_chromium()


def _chinese_stage(folder: Path) -> Path:
    """A stage page in Chinese, written by the real export: a heading, a paragraph with
    bold words, a list, and a code cell's stored outputs (a table and printed text)."""
    nb = new_notebook(
        cells=[
            new_markdown_cell(
                "# 客户分群\n\n本期共有 **1,234 位** 高价值客户（RFM 评分≥4），复购率上升。\n\n"
                "- 新客户：首单后 30 天内\n- 流失风险：超过 180 天未购买"
            ),
            new_code_cell(
                "show()",
                execution_count=1,
                outputs=[
                    new_output("stream", name="stdout", text="人数：1234，占比 12.5%\n"),
                    new_output(
                        "display_data",
                        data={
                            "text/html": "<table><tr><th>群组</th><td>忠诚客户</td></tr></table>"
                        },
                    ),
                ],
            ),
        ]
    )
    notebook = folder / "notebooks" / "05_clustering.ipynb"
    notebook.parent.mkdir(parents=True)
    nbformat.write(nb, notebook)
    return export_stage_html(notebook, folder, "05_clustering")["html"]


def _fonts_of(page_file: Path, **kwargs) -> tuple[list[str], set[str]]:
    """The font problems of a page, and the tags of the Chinese texts it checked."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(offline=True).new_page()
            page.goto(page_file.as_uri(), wait_until="load")
            problems = cjk_font_problems(page, **kwargs)
            checked = {tag for tag, _, _ in cjk_fonts_used(page)}
        finally:
            browser.close()
    return problems, checked


@pytest.mark.browser
def test_chinese_page_is_drawn_with_its_embedded_font(chromium: Path, tmp_path: Path) -> None:
    page_file = _chinese_stage(tmp_path)
    problems, checked = _fonts_of(page_file)
    assert problems == []
    # Checked: the heading, a paragraph and its bold words, list items, table cells and
    # a code cell's printed output.
    assert {"h1", "p", "strong", "li", "th", "td", "pre"} <= checked
    assert check_report_page(page_file) == []


def check_report_page(page_file: Path) -> list[str]:
    """check_report on a folder holding the page (and an index to satisfy it)."""
    (page_file.parent / "index.html").write_text("<h1>Index</h1>")
    return check_report(page_file.parent)


@pytest.mark.browser
def test_chinese_without_the_embedded_font_is_reported(chromium: Path, tmp_path: Path) -> None:
    """Found whatever the machine has: without the page's font the glyphs come from a
    system font (or none), and a family the page does not embed is never found."""
    page_file = _chinese_stage(tmp_path)
    html = page_file.read_text(encoding="utf-8")
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r'<style id="ca-cjk-font">.*?</style>', "", html, flags=re.S))
    assert "@font-face" not in bare.read_text(encoding="utf-8")

    problems, _ = _fonts_of(bare)
    assert problems and any(p.startswith("<h1>: 4 of 4 Chinese characters") for p in problems)
    assert all("system" in p or "none" in p for p in problems)

    problems, _ = _fonts_of(page_file, family="Noto Sans CJK TC")
    assert problems and all("embedded" in p for p in problems)
