"""The history page: each tracked figure over a config's kept runs, offline."""

from __future__ import annotations

from pathlib import Path

from customer_analytics.report.history import tracked_points, write_history


def manifest(run_id: str, as_of: str | None, revenue: float | None, rate: float = 0.5) -> dict:
    tracked = {
        "revenue": {"label": "Net revenue", "value": revenue, "format": "money"},
        "repeat": {"label": "Repeat <rate>", "value": rate, "format": "percent"},
    }
    return {
        "run_id": run_id,
        "config": {"run": {"name": "tiny", "title": "Tiny shop"}, "shop": {"currency": "CNY"}},
        "findings": {"01_ingest": {"as_of": as_of}, "10_monitor": {"tracked": tracked}},
    }


def test_points_are_the_runs_by_as_of_with_their_tracked_figures() -> None:
    runs = [manifest("b", "2025-08-27", 2.0), manifest("a", "2025-08-13", 1.0),
            manifest("c", None, 3.0), {"run_id": "d", "findings": {}}]  # fmt: skip
    points = tracked_points(runs)
    assert [p["run_id"] for p in points] == ["a", "b"]  # c has no as_of, d tracks nothing
    assert points[1]["figures"]["revenue"]["value"] == 2.0


def test_the_page_plots_and_lists_every_kept_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "c"
    runs = [manifest("a", "2025-08-13", 18145.2, 0.77), manifest("b", "2025-08-27", None),
            manifest("c", "2025-12-31", 36090.3, 0.931)]  # fmt: skip
    page = write_history(run_dir, runs)
    html = page.read_text()
    assert page == run_dir / "history.html" and (run_dir / "figures" / "history.png").is_file()
    assert html.index("Aug 13, 2025") < html.index("Aug 27, 2025") < html.index("Dec 31, 2025")
    assert "CN¥18,145" in html and "93.1%" in html
    assert '<strong translate="no">c</strong> (this run)' in html
    assert "Repeat &lt;rate&gt;" in html and 'src="figures/history.png"' in html
    assert 'href="index.html"' in html and "http://" not in html and "https://" not in html
    assert write_history(tmp_path / "none", [{"run_id": "x", "findings": {}}]) is None
    assert not (tmp_path / "none").exists()
