"""A report folder the report tests share: one exported ok stage, one failed stage, one
skipped, and the index page."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import papermill
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from customer_analytics.pipeline.kernels import execute
from customer_analytics.report.export import export_stage_html
from customer_analytics.report.index import write_index

STAGE = "01_demo"
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d2a4"
    "3f0000000049454e44ae426082"
)


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
        execute(source, executed)
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


@pytest.fixture(scope="session")
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
    return {"dir": run_dir, "stage": STAGE, "paths": paths, "index": index, "timings": timings}
