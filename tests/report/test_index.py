"""The index page of a run: findings, key figures, errors without tracebacks, inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from customer_analytics.personas.report import later_slot
from customer_analytics.report.index import format_value, key_figures, short_error, write_index


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_index_page(report: dict) -> None:
    html, stage = _read(report["index"]), report["stage"]
    assert "Synthetic shop &lt;demo&gt;" in html  # autoescaped
    assert "Names were &lt;dropped&gt;." in html
    assert "20261122-153000-default" in html
    assert "Nov 22, 2026 15:30 UTC" in html
    assert "512,000" in html and "12,345" in html
    assert f'src="figures/{stage}-rows.png"' in html
    assert f'href="{stage}.html"' in html and f'href="{stage}.analyst.html"' in html
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
    assert figures == [("Tables", "7"), ("Rows · orders", "5"), ("As of", "Jan 1, 2026")]
    assert key_figures(None) == []


def test_a_stage_headline_chooses_the_key_figures() -> None:
    many = {f"size {i}": i for i in range(20)}
    findings = {**many, "headline": {"ARI": 0.8818, "Audience · a.csv": "<10", "Buyers": 19235}}
    assert key_figures(findings) == [
        ("ARI", "0.882"),
        ("Audience · <code>a.csv</code>", "<10"),  # a file name after " · " is code
        ("Buyers", "19,235"),
    ]


def test_short_error_drops_traceback() -> None:
    assert short_error("boom: bad\nTraceback (most recent call last):\n  x") == "boom: bad"
    assert short_error(None) is None


def _compared_manifest(since: dict, alerts: list) -> dict:
    return {
        "run_id": "r",
        "status": "ok",
        "findings": {"01_ingest": {"as_of": "2025-12-31"},
                     "10_monitor": {"since": since, "alerts": alerts}},
        "stages": [{"name": "01_ingest", "status": "ok"}, {"name": "10_monitor", "status": "ok"}],
    }  # fmt: skip


def test_index_opens_with_what_changed_and_the_alerts(tmp_path: Path) -> None:
    since = {"run_id": "20251217-000000-tiny", "as_of": "2025-12-17",
             "not_compared": {"verdicts": "run x did not run 07_ab_test"}}  # fmt: skip
    alerts = [{"rule": "kpi_change", "subject": "revenue", "before": 1000.0, "after": 1500.5},
              {"rule": "verdict_changed", "subject": "<coupon>", "before": None,
               "after": "ship"}]  # fmt: skip
    (tmp_path / "10_monitor.html").write_text("")
    html = _read(write_index(tmp_path, _compared_manifest(since, alerts)))
    assert html.index("What changed since Dec 17, 2025") < html.index('id="01_ingest"')
    assert "20251217-000000-tiny" in html and "1,000 → 1,500" in html
    assert "kpi change" in html and "&lt;coupon&gt;" in html and "– → ship" in html
    assert "verdicts (run x did not run 07_ab_test)" in html
    assert 'href="10_monitor.html"' in html and "No alert" not in html
    quiet = _read(write_index(tmp_path, _compared_manifest(since, [])))
    assert "No alert" in quiet


def test_index_names_why_there_is_no_comparison(tmp_path: Path) -> None:
    since = {"run_id": "nope", "problem": "monitor.compare_to names run nope, which is not a run"}
    html = _read(write_index(tmp_path, _compared_manifest(since, [])))
    assert "What changed since" not in html
    assert "No comparison with an earlier run: monitor.compare_to names run nope" in html
    plain = _read(write_index(tmp_path, {"run_id": "r", "stages": []}))
    assert "comparison" not in plain and "history.html" not in plain


def test_index_in_chinese_beside_the_english_one(tmp_path: Path) -> None:
    since = {"run_id": "20251217-000000-tiny", "as_of": "2025-12-17"}
    alerts = [{"rule": "kpi_change", "subject": "revenue", "before": 1000.0, "after": 1500.5,
               "zh": {"rule": "KPI 变化", "subject": "收入"}}]  # fmt: skip
    manifest = _compared_manifest(since, alerts)
    manifest["config"] = {"reports": {"languages": ["zh", "en"]}}
    write_index(tmp_path, manifest)
    zh, en = _read(tmp_path / "index.zh.html"), _read(tmp_path / "index.html")
    assert 'lang="zh' in zh and 'href="index.html"' in zh and 'href="index.zh.html"' in en
    assert "自 2025年12月17日 以来的变化" in zh and "KPI 变化" in zh and "收入" in zh
    assert "kpi change" in en and "KPI 变化" not in en


def test_the_index_names_each_persona_with_the_later_stages_lines(tmp_path: Path) -> None:
    """The products 08_recommend picks and the actions 09_targeting plans for a persona
    are written by the index (06_personas imports nothing downstream), in each language."""
    persona = {
        "cluster": 0,
        "name": "Young urban beauty lovers",
        "full_name": "Xiaolin, one of the young urban beauty lovers",
        "avatar": {"colour": "#2f6f9f", "initials": {"en": "X", "zh": "晓"}},
        "words": {"zh": {"name": "年轻都市美妆爱好者", "full_name": "晓琳，年轻都市美妆爱好者"}},
    }
    manifest = {
        "run_id": "r",
        "status": "ok",
        "config": {"reports": {"languages": ["en", "zh"]}},
        "stages": [{"name": "06_personas", "status": "ok"}],
        "findings": {
            "06_personas": {"personas": [persona, {"cluster": 1, "name": "Other shoppers"}]},
            "08_recommend": {"persona_products": {"Young urban beauty lovers": ["P1", "P2"]}},
            "09_targeting": {
                "plan": {"groups": "persona", "top_cells": [["Young urban beauty lovers", "push"]]}
            },
        },
    }
    # the persona page as 06_personas writes it: a slot per card (personas.report.later_slot)
    for lang, stem in (("en", "06_personas.html"), ("zh", "06_personas.zh.html")):
        slots = "".join(
            later_slot(p["cluster"]) for p in manifest["findings"]["06_personas"]["personas"]
        )
        (tmp_path / stem).write_text(f"<html><head></head><body>{lang}{slots}</body></html>")
    english = _read(write_index(tmp_path, manifest))
    assert "Xiaolin, one of the young urban beauty lovers" in english and "<svg" in english
    assert "Products to recommend (08): <code>P1</code>, <code>P2</code>" in english
    assert "In the targeting plan (09): <code>push</code>" in english
    assert "Other shoppers" in english
    chinese = _read(tmp_path / "index.zh.html")
    assert "晓琳，年轻都市美妆爱好者" in chinese and "推荐商品（08）" in chinese
    # the persona page's cards get the same lines, in the page's language, and only once
    # however often the index is written (a rerun)
    write_index(tmp_path, manifest)
    page = _read(tmp_path / "06_personas.html")
    assert page.count("Products to recommend (08): <code>P1</code>, <code>P2</code>") == 1
    assert page.count("In the targeting plan (09): <code>push</code>") == 1
    page_zh = _read(tmp_path / "06_personas.zh.html")
    assert page_zh.count("推荐商品（08）") == 1 and page_zh.count('id="ca-cjk-font"') == 1
    assert '<div class="ca-later" data-cluster="1"></div>' in page_zh
