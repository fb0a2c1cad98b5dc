"""Every config in configs/ runs end to end through the command line, notebooks included,
and finds what its recorded baseline says (tests/end_to_end/baselines)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from browser import check_report
from findings import compare
from latin import chinese_pages, latin_words
from support import ROOT, CliRun, on_run, shared_file

CONFIGS = sorted(p.stem for p in (ROOT / "configs").glob("*.yaml"))
#: Configs that run on the embedded tiny shop in seconds (spark_local at the tiny size,
#: support.TEST_SETS); every other one reads a real data set or the default-size shop and
#: is marked slow.
QUICK = {"tiny", "spark_local"}


def _speed(config: str) -> list[pytest.MarkDecorator]:
    """``slow`` for the configs not in :data:`QUICK`, ``spark`` for those on Spark."""
    engine = yaml.safe_load((ROOT / "configs" / f"{config}.yaml").read_text()).get("engine", {})
    return [
        *([] if config in QUICK else [pytest.mark.slow]),
        *([pytest.mark.spark] if engine.get("kind") == "spark" else []),
    ]


def _needs_shared_data(config: str) -> None:
    """Skip (fail in CI) when a config's data set from ../shared/data is missing."""
    tree = yaml.safe_load((ROOT / "configs" / f"{config}.yaml").read_text())
    source = tree["source"]
    paths = [source.get("path")] if source.get("path") else []
    if source["kind"] == "files":
        paths = [str(Path(source["path"]) / t["file"]) for t in source["tables"].values()]
    for path in paths:
        if "shared/data" in path:
            shared_file(Path(path).name)


@pytest.mark.parametrize(
    "config",
    [pytest.param(c, marks=[on_run(c), *_speed(c)]) for c in CONFIGS],
)
def test_config_runs_through_the_command_line_with_its_baseline_findings(
    config: str, config_run: Callable[[str], CliRun]
) -> None:
    _needs_shared_data(config)
    run = config_run(config)
    assert run.ok, run.process.stderr + run.process.stdout[-3000:]
    manifest = run.manifest
    assert manifest["status"] == "ok"
    configured = yaml.safe_load((ROOT / "configs" / f"{config}.yaml").read_text())
    assert [s["name"] for s in manifest["stages"]] == configured["run"]["stages"]
    for stage in manifest["stages"]:
        assert stage["status"] == "ok", stage
        for page in (stage["html"], stage["analyst_html"], stage["notebook"]):
            assert (run.report / page).is_file(), page
    assert compare(manifest) == []


@pytest.mark.browser
@pytest.mark.parametrize(
    "config",
    [pytest.param(c, marks=[on_run(c), *_speed(c)]) for c in CONFIGS],
)
def test_config_report_opens_offline_in_chromium(
    config: str, config_run: Callable[[str], CliRun], chromium: Path
) -> None:
    _needs_shared_data(config)
    run = config_run(config)
    assert run.ok, run.process.stderr
    assert check_report(run.report) == []


@pytest.mark.parametrize(
    "config",
    [pytest.param(c, marks=[on_run(c), *_speed(c)]) for c in CONFIGS],
)
def test_config_writes_its_report_languages(
    config: str, config_run: Callable[[str], CliRun]
) -> None:
    """Each configured language gets its index and stage pages; a Chinese page shows no
    English outside the allow-list (tests/i18n/latin.py); a config without Chinese
    writes none."""
    _needs_shared_data(config)
    run = config_run(config)
    assert run.ok, run.process.stderr
    configured = yaml.safe_load((ROOT / "configs" / f"{config}.yaml").read_text())
    languages = (configured.get("reports") or {}).get("languages", ["en"])
    names = ["index", *(s["name"] for s in run.manifest["stages"])]
    for lang in languages:
        suffix = ".html" if lang == "en" else f".{lang}.html"
        assert [n for n in names if not (run.report / f"{n}{suffix}").is_file()] == [], lang
    pages = chinese_pages(run.report)
    if "zh" not in languages:
        assert pages == []
    english = {p.name: dict(latin_words(p.read_text(encoding="utf-8"))) for p in pages}
    assert {name: words for name, words in english.items() if words} == {}
