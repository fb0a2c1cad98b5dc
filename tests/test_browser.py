"""The report checker of browser.py: it finds what a reader would find broken, and the
browser tests skip without Chromium except in CI."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from browser import check_report
from support import CliRun, on_run


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
