"""End to end: the CLI runs configs/tiny.yaml into a report folder, reuses, and fails well."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from browser import check_report
from support import CliRun, cli, isolated_sets, run_config

#: Three runs of the tiny shop in one folder, made by one worker.
pytestmark = pytest.mark.xdist_group("tiny_run")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A first run, a second one reusing its cache, and a ``--fresh`` one, in one folder."""
    base = tmp_path_factory.mktemp("tiny")
    # One run date for the three, so a midnight between them cannot move the cache keys.
    today = ("--set", "run.today=2026-06-30")
    first = run_config("tiny", base, *today)
    second = run_config("tiny", base, *today)
    fresh = run_config("tiny", base, "--fresh", *today)
    return {"base": base, "first": first, "second": second, "fresh": fresh}


def manifest_of(run: CliRun) -> tuple[Path, dict]:
    assert run.report is not None, run.process.stderr + run.process.stdout[-3000:]
    return run.report, run.manifest


def test_run_succeeds_and_prints_its_index(runs: dict) -> None:
    first = runs["first"]
    assert first.ok, first.process.stderr + first.process.stdout
    report, _ = manifest_of(first)
    assert (report / "index.html").is_file()
    assert (runs["base"] / "reports" / "latest").resolve() == manifest_of(runs["fresh"])[0]


def test_manifest_records_what_ran_on_which_data(runs: dict) -> None:
    report, manifest = manifest_of(runs["first"])
    assert manifest["run_id"] == report.name and manifest["status"] == "ok"
    assert manifest["config"]["run"]["name"] == "tiny"
    assert manifest["git_commit"] and manifest["packages"]["pandas"].startswith("2.2")
    assert {i["table"] for i in manifest["inputs"]} >= {"customers", "orders", "order_items"}
    for item in manifest["inputs"]:
        assert len(item["sha256"]) == 64 and item["rows"] > 0
    stages = {s["name"]: s for s in manifest["stages"]}
    assert list(stages) == manifest["config"]["run"]["stages"]
    for stage in stages.values():
        assert stage["status"] == "ok" and stage["seconds"] > 0
        assert (report / stage["html"]).is_file() and (report / stage["analyst_html"]).is_file()
        assert (report / stage["notebook"]).is_file()
        assert stage["name"] in manifest["findings"] and stage["summary"]
    ingest = manifest["findings"]["01_ingest"]
    assert ingest["rows"]["customers"] == sum(1 for _ in open(_raw(manifest) / "customers.csv")) - 1
    assert Path(manifest["paths"]["data"]).is_dir() and Path(manifest["paths"]["truth"]).is_dir()
    assert (Path(manifest["paths"]["data"]) / "01_ingest" / "orders.parquet").is_file()
    assert (report / "run.log").read_text().count("01_ingest") >= 2


def _raw(manifest: dict) -> Path:
    return Path(manifest["paths"]["truth"]).parent / "raw"


def without_comparison(findings: dict) -> dict:
    """A run's findings less what its comparison with the run before it found."""
    monitor = {k: v for k, v in findings["10_monitor"].items() if k not in {"since", "alerts"}}
    # The index's count of alerts, there only when a run was compared.
    headline = {k: v for k, v in monitor.get("headline", {}).items() if not k.startswith("Alerts")}
    return {**findings, "10_monitor": {**monitor, "headline": headline}}


def test_rerun_reuses_every_stage_and_gets_its_own_folder(runs: dict) -> None:
    """Every stage but 10_monitor: it compares the run with the one before (the first
    run, which had none before it), and its key covers that run."""
    assert runs["second"].ok, runs["second"].process.stderr
    first_dir, first = manifest_of(runs["first"])
    second_dir, second = manifest_of(runs["second"])
    assert second_dir != first_dir and first_dir.is_dir()
    statuses = {s["name"]: s["status"] for s in second["stages"]}
    assert statuses.pop("10_monitor") == "ok" and set(statuses.values()) == {"reused"}
    assert second["findings"]["10_monitor"]["since"]["run_id"] == first_dir.name
    assert without_comparison(first["findings"]) == without_comparison(second["findings"])
    assert (second_dir / "figures").is_dir() and any((second_dir / "figures").iterdir())
    # A reused stage runs no notebook: the runner itself publishes its audience files.
    for report, manifest in ((first_dir, first), (second_dir, second)):
        counts = manifest["findings"]["06_personas"]["audiences"]
        assert counts, "the synthetic shop has consenting customers"
        files = {p.name: len(pd.read_csv(p)) for p in (report / "audiences").glob("*.csv")}
        assert files == counts, report.name


@pytest.mark.browser
def test_report_opens_offline_in_chromium(runs: dict, chromium: Path) -> None:
    report, manifest = manifest_of(runs["second"])
    pages = {p.name for p in report.glob("*.html")}
    assert pages >= {"index.html"} | {s["html"] for s in manifest["stages"]}
    assert check_report(report) == []
    assert all((report / s["chart"]).is_file() for s in manifest["stages"])


def test_fresh_recomputes_every_stage_with_the_same_findings(runs: dict) -> None:
    assert runs["fresh"].ok, runs["fresh"].process.stderr
    _, fresh = manifest_of(runs["fresh"])
    _, first = manifest_of(runs["first"])
    assert {s["status"] for s in fresh["stages"]} == {"ok"}
    assert all(s["seconds_cells"] > 0 for s in fresh["stages"])
    assert without_comparison(fresh["findings"]) == without_comparison(first["findings"])


def test_no_personal_data_in_report_or_data_folders(runs: dict) -> None:
    _, manifest = manifest_of(runs["first"])
    people = pd.read_csv(_raw(manifest) / "customers.csv", dtype=str)
    secrets = set(people["email"].dropna().str.strip()) | set(people["name"].dropna())
    secrets |= set(people["phone"].dropna()) | set(
        people["phone"].dropna().str.replace(r"\D", "", regex=True)
    )
    secrets |= set(people["email"].dropna().str.lower().str.replace(r"\s+", "", regex=True))
    assert len(secrets) > 100
    folders = [Path(manifest["paths"]["report"]), Path(manifest["paths"]["data"])]
    checked = 0
    for folder in folders:
        for path in folder.rglob("*"):
            if not path.is_file() or path.suffix == ".png":
                continue
            if path.suffix == ".parquet":
                text = pd.read_parquet(path).astype(str).to_csv()
            else:
                text = path.read_bytes().decode("utf-8", errors="replace")
            leaked = [s for s in secrets if len(s) > 5 and s in text]
            assert not leaked, f"{path} contains personal data such as {leaked[0][:3]}..."
            checked += 1
    assert checked > 5


def test_bad_config_value_fails_before_any_stage(tmp_path: Path) -> None:
    result = cli(
        "--config", "configs/tiny.yaml", *isolated_sets(tmp_path, **{"reports.keep": "lots"})
    )
    assert result.returncode == 2
    assert "key 'reports.keep'" in result.stderr
    assert not (tmp_path / "reports").exists()


def test_unknown_key_and_missing_config_are_named(tmp_path: Path) -> None:
    result = cli(
        "--config", "configs/tiny.yaml", *isolated_sets(tmp_path, **{"run.colour": "blue"})
    )
    assert result.returncode == 2 and "key 'run.colour': unknown key" in result.stderr
    result = cli("--config", "configs/nope.yaml")
    assert result.returncode == 2 and "nope.yaml does not exist" in result.stderr


def test_pii_source_without_key_fails_naming_stage_cell_and_fix(tmp_path: Path) -> None:
    env = {"CUSTOMER_ANALYTICS_SECRET": ""}
    result = cli(
        "--config",
        "configs/tiny.yaml",
        *isolated_sets(tmp_path, **{"privacy.dev_key": "false"}),
        env=env,
    )
    assert result.returncode == 1
    assert "stage 01_ingest failed in cell" in result.stderr
    assert "MissingSecretError" in result.stderr and "CUSTOMER_ANALYTICS_SECRET" in result.stderr
    report = next(p for p in (tmp_path / "reports").iterdir() if p.is_dir())
    manifest = json.loads((report / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["stages"][0]["status"] == "failed"
    assert (report / "run.log").is_file() and "failed" in (report / "run.log").read_text()
    assert not (tmp_path / "reports" / "latest").exists()


def test_long_stages_say_how_far_they_are_on_the_terminal_and_in_the_log(runs: dict) -> None:
    """Progress inside the long steps (the generator, the model fits, the k search), not
    only a line when a stage ends."""
    report, _ = manifest_of(runs["first"])
    said = (
        "01_ingest: synthetic shop: 400 customers and their purchases (1 of 5)",
        "04_clv: fitting BG/NBD to the calibration period (1 of 3)",
        "05_clustering: k search: k=",
        "fitted to everyone and to 10 bootstrap samples (9 of 9)",
        "07_ab_test: analysing experiment push_personalised (1 of 5)",
    )
    terminal, log = runs["first"].process.stdout, (report / "run.log").read_text()
    for line in said:
        assert line in terminal and line in log, line
    assert terminal.index("05_clustering: k search") < terminal.index("] 05_clustering: ok")


def test_kernels_start_quietly(runs: dict) -> None:
    """Kernels talk over local sockets: none warns that it runs over TCP unencrypted."""
    for name in ("first", "second", "fresh"):
        process = runs[name].process
        assert "without encryption" not in process.stderr + process.stdout, name
