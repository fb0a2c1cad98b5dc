"""HTML reports: stage pages for stakeholders and analysts, the index page, offline."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import nbformat
import papermill
import pytest
from browser import check_report
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from customer_analytics import plots
from customer_analytics.report import export_stage_html, write_index
from customer_analytics.report.index import format_value, key_figures, short_error

STAGE = "01_demo"
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d2a4"
    "3f0000000049454e44ae426082"
)
URL = re.compile(r"https?://")


def _notebook() -> nbformat.NotebookNode:
    """A small stage notebook with every kind of output the export must sort."""
    cells = [
        new_markdown_cell("# 01 · Demo stage\n\nWhat the shop delivered, in plain words."),
        new_code_cell('run_dir = ""', metadata={"tags": ["parameters"]}),
        new_code_cell("# CODE-MARKER: visible to analysts only\nprint('hello stakeholder')"),
        new_code_cell(
            "import sys, warnings\n"
            "print('STDERR-MARKER', file=sys.stderr)\n"
            "warnings.warn('WARNING-MARKER')"
        ),
        new_code_cell(
            "import matplotlib.pyplot as plt\n"
            "fig, ax = plt.subplots(figsize=(3, 2))\n"
            "ax.bar(['a', 'b'], [1, 2])\n"
            "plt.show()"
        ),
        new_code_cell("from pathlib import Path\nPath('/abs/figures/x.png')  # returned by savers"),
        new_code_cell(
            "import pandas as pd\n"
            "from IPython.display import Markdown, display\n"
            "display(Markdown('### Rows per table'))\n"
            "pd.DataFrame({'table': ['orders', 'customers'], 'rows': [12345, 678]})"
        ),
        new_code_cell("print('ANALYST-ONLY-OUTPUT')", metadata={"tags": ["analyst-only"]}),
        new_code_cell("print('REMOVED-OUTPUT')", metadata={"tags": ["remove"]}),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def _execute(nb: nbformat.NotebookNode, folder: Path, name: str) -> Path:
    source, executed = folder / f"{name}.src.ipynb", folder / f"{name}.ipynb"
    nbformat.write(nb, source)
    try:
        papermill.execute_notebook(
            str(source), str(executed), kernel_name="python3", progress_bar=False, cwd=str(folder)
        )
    except papermill.PapermillExecutionError:
        pass  # a failing stage still leaves its executed notebook, which we export
    return executed


def _manifest(run_dir: Path, stages: list[dict]) -> dict:
    manifest = {
        "run_id": run_dir.name,
        "status": "failed" if any(s["status"] == "failed" for s in stages) else "ok",
        "started": "2026-11-22T15:30:00+00:00",
        "finished": "2026-11-22T15:31:05+00:00",
        "seconds": 65.0,
        "config": {"run": {"name": "default", "title": "Synthetic shop <demo>"}},
        "git_commit": "abc123def4567890",
        "packages": {"pandas": "2.2.3"},
        "inputs": [{"path": "data/raw/synthetic/orders.csv", "sha256": "f" * 64, "rows": 512000}],
        "stages": stages,
        "findings": {STAGE: {"tables": 7, "rows_total": 512000, "rows": {"orders": 12345}}},
        "paths": {"report": str(run_dir)},
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    return manifest


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A report folder with one exported ok stage, one failed stage, one skipped, an index."""
    run_dir = tmp_path_factory.mktemp("reports") / "20261122-153000-default"
    (run_dir / "notebooks").mkdir(parents=True)
    (run_dir / "figures").mkdir()
    (run_dir / "figures" / f"{STAGE}-rows.png").write_bytes(PNG_1PX)
    executed = _execute(_notebook(), run_dir / "notebooks", STAGE)

    broken = _notebook()
    broken.cells.insert(3, new_code_cell("raise ValueError('orders table is empty')"))
    failed = _execute(broken, run_dir / "notebooks", "02_broken")

    timings = []
    for notebook, stage in [(executed, STAGE), (failed, "02_broken"), (executed, STAGE)]:
        t0 = time.perf_counter()
        paths = export_stage_html(notebook, run_dir, stage)
        timings.append(time.perf_counter() - t0)
    stages = [
        {
            "name": STAGE,
            "title": "Demo stage",
            "status": "ok",
            "seconds": 1.25,
            "html": f"{STAGE}.html",
            "analyst_html": f"{STAGE}.analyst.html",
            "summary": ["Read 7 tables with 512,000 rows.", "Names were <dropped>."],
            "chart": f"figures/{STAGE}-rows.png",
            "error": None,
        },
        {
            "name": "02_broken",
            "title": "Broken stage",
            "status": "failed",
            "seconds": 0.5,
            "html": "02_broken.html",
            "analyst_html": "02_broken.analyst.html",
            "error": "stage 02_broken failed in cell 3: ValueError: orders table is empty\n"
            "Traceback (most recent call last):\n  File 'x.py', line 1",
        },
        {"name": "03_rfm", "title": "RFM", "status": "skipped"},
    ]
    index = write_index(run_dir, _manifest(run_dir, stages))
    return {"dir": run_dir, "paths": paths, "index": index, "timings": timings}


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_export_writes_both_pages(report: dict) -> None:
    paths = report["paths"]
    assert set(paths) == {"html", "analyst_html"}
    assert paths["html"] == report["dir"] / f"{STAGE}.html"
    assert paths["analyst_html"] == report["dir"] / f"{STAGE}.analyst.html"
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


def test_index_page(report: dict) -> None:
    html = _read(report["index"])
    assert "Synthetic shop &lt;demo&gt;" in html  # autoescaped
    assert "Names were &lt;dropped&gt;." in html
    assert "20261122-153000-default" in html
    assert "2026-11-22 15:30 UTC" in html
    assert "512,000" in html and "12,345" in html
    assert f'src="figures/{STAGE}-rows.png"' in html
    assert f'href="{STAGE}.html"' in html and f'href="{STAGE}.analyst.html"' in html
    assert "1.2 s" in html or "1.3 s" in html
    assert "orders table is empty" in html
    assert "Traceback" not in html and "x.py" not in html
    assert "orders.csv" in html and "f" * 12 in html and "f" * 13 not in html
    assert "abc123def456" in html
    assert 'href="03_rfm.html"' not in html  # a skipped stage has no page to link


def test_index_tolerates_bare_stages(tmp_path: Path) -> None:
    manifest = {
        "run_id": "r",
        "status": "running",
        "stages": [
            {"name": "01_ingest", "status": "ok"},
            {"name": "02_clean", "status": "failed", "chart": "../outside.png", "summary": None},
        ],
    }
    html = _read(write_index(tmp_path, manifest))
    assert "01_ingest" in html and "02_clean" in html
    assert "<img" not in html and "<a href" not in html


@pytest.mark.parametrize(
    ("value", "text"),
    [(512000, "512,000"), (1234567.8, "1,234,568"), (0.12345, "0.123"), (True, "yes"), (None, "–")],
)
def test_format_value(value: object, text: str) -> None:
    assert format_value(value) == text


def test_key_figures_flatten_one_level() -> None:
    figures = key_figures(
        {"tables": 7, "rows": {"orders": 5}, "ids": [1, 2], "as_of": "2026-01-01"}
    )
    assert figures == [("Tables", "7"), ("Rows · orders", "5"), ("As of", "2026-01-01")]
    assert key_figures(None) == []


def test_a_stage_headline_chooses_the_key_figures() -> None:
    many = {f"size {i}": i for i in range(20)}
    findings = {**many, "headline": {"ARI": 0.8818, "Audience · a.csv": "<10", "Buyers": 19235}}
    assert key_figures(findings) == [
        ("ARI", "0.882"),
        ("Audience · a.csv", "<10"),
        ("Buyers", "19,235"),
    ]


def test_short_error_drops_traceback() -> None:
    assert short_error("boom: bad\nTraceback (most recent call last):\n  x") == "boom: bad"
    assert short_error(None) is None


def test_exporters_are_reused(report: dict) -> None:
    from customer_analytics.report.export import _exporter

    assert _exporter("stakeholder") is _exporter("stakeholder")
    # The first export builds the exporters; later ones reuse them.
    assert report["timings"][-1] < 5


@pytest.mark.browser
def test_report_opens_offline_in_chromium(report: dict, chromium: Path) -> None:  # noqa: F811
    assert check_report(report["dir"]) == []


@pytest.mark.browser
def test_checker_finds_problems(report: dict, chromium: Path, tmp_path: Path) -> None:  # noqa: F811
    run_dir = tmp_path / "run"
    shutil.copytree(report["dir"], run_dir)
    (run_dir / "bad.html").write_text(
        "<p>no heading</p>"
        '<img src="https://example.invalid/x.png">'
        '<img src="missing.png">'
        '<a href="nowhere.html">x</a>'
        '<img src="../outside.png">'
    )
    (tmp_path / "outside.png").write_bytes(PNG_1PX)
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


def test_group_colours_are_distinct_for_every_k() -> None:
    for n in range(1, 16):
        colours = [str(c) for c in plots.colours(n)]
        assert len(colours) == len(set(colours)) == n
