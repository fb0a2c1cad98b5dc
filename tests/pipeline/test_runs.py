"""The reports folder: only our runs are pruned, per config, never one in progress; a
run that did not finish is marked as such; each config has its own latest run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import ROOT

from customer_analytics.config import load_config
from customer_analytics.pipeline import runs
from customer_analytics.pipeline.context import find_run_dir


def make_run(reports: Path, data: Path, run_id: str, config: str, status: str) -> Path:
    """A run folder as the runner leaves it (manifest naming our tool and its run id)."""
    folder = reports / run_id
    folder.mkdir(parents=True)
    manifest = {
        "tool": runs.TOOL,
        "run_id": run_id,
        "status": status,
        "config": {"run": {"name": config}},
        "stages": [],
    }
    runs.write_manifest(folder, manifest)
    (data / run_id).mkdir(parents=True)
    return folder


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "reports", tmp_path / "data"


def test_prune_keeps_the_newest_and_the_newest_successful_run_of_the_config(
    folders: tuple[Path, Path],
) -> None:
    reports, data = folders
    for day, status in ((1, "ok"), (2, "failed"), (3, "failed")):
        make_run(reports, data, f"2025010{day}-000000-x", "x", status)
    assert runs.prune(reports, data, "x", keep=1) == ["20250102-000000-x"]
    assert sorted(p.name for p in reports.iterdir()) == ["20250101-000000-x", "20250103-000000-x"]
    assert not (data / "20250102-000000-x").exists()


def test_prune_counts_only_the_config_s_own_runs(folders: tuple[Path, Path]) -> None:
    """One config's failed run with keep=1 leaves every other config's reports alone
    (it pruned twenty reports, the only default one among them, before)."""
    reports, data = folders
    for day in range(1, 6):
        make_run(reports, data, f"2025010{day}-000000-default", "default", "ok")
    make_run(reports, data, "20250106-000000-quick", "quick", "failed")
    assert runs.prune(reports, data, "quick", keep=1) == []
    assert len(list(reports.iterdir())) == 6
    assert runs.prune(reports, data, "default", keep=2) == [
        "20250101-000000-default",
        "20250102-000000-default",
        "20250103-000000-default",
    ]


def test_prune_never_touches_a_folder_we_did_not_write(folders: tuple[Path, Path]) -> None:
    reports, data = folders
    make_run(reports, data, "20250101-000000-x", "x", "ok")
    make_run(reports, data, "20250102-000000-x", "x", "ok")
    foreign = {
        "theirs": {"status": "ok", "run_id": "theirs"},  # another tool's manifest
        "copy-of-a-run": {"tool": runs.TOOL, "run_id": "20250101-000000-x", "status": "ok"},
    }
    for name, manifest in foreign.items():
        (reports / name).mkdir()
        (reports / name / "manifest.json").write_text(json.dumps(manifest))
    (reports / "broken").mkdir()
    (reports / "broken" / "manifest.json").write_text("{not json")
    (reports / "empty").mkdir()
    (reports / "empty" / "manifest.json").write_text("")
    assert runs.prune(reports, data, "x", keep=1) == ["20250101-000000-x"]
    assert {"theirs", "copy-of-a-run", "broken", "empty"} <= {p.name for p in reports.iterdir()}


def test_a_run_in_progress_is_never_pruned_and_a_dead_one_is_marked_interrupted(
    folders: tuple[Path, Path],
) -> None:
    reports, data = folders
    slow = make_run(reports, data, "20250101-000000-x", "x", "running")
    dead = make_run(reports, data, "20250102-000000-x", "x", "running")
    make_run(reports, data, "20250103-000000-x", "x", "ok")
    with runs.RunLock(slow):
        assert runs.in_progress(slow) and not runs.in_progress(dead)
        assert runs.prune(reports, data, "x", keep=1) == ["20250102-000000-x"]
        assert json.loads((slow / "manifest.json").read_text())["status"] == "running"
    # The lock goes with the run: found again, the slow run is marked as not finished.
    statuses = {folder.name: m["status"] for folder, m in runs.our_runs(reports)}
    assert statuses == {"20250101-000000-x": "interrupted", "20250103-000000-x": "ok"}
    assert json.loads((slow / "manifest.json").read_text())["status"] == "interrupted"
    assert (slow / "index.html").is_file()


def test_each_config_has_its_latest_run_and_a_notebook_reads_its_own(
    folders: tuple[Path, Path],
) -> None:
    """A notebook opened by hand with the tiny config never reads another config's run,
    even when that one is the newest of all."""
    reports, data = folders
    tiny = make_run(reports, data, "20250101-000000-tiny", "tiny", "ok")
    other = make_run(reports, data, "20250102-000000-other", "other", "ok")
    cfg = load_config(ROOT / "configs" / "tiny.yaml", {"reports.dir": str(reports)})
    runs.point_latest(reports, other, "other")
    assert (reports / "latest").resolve() == other
    assert find_run_dir(None, cfg) is None
    runs.point_latest(reports, tiny, "tiny")
    runs.point_latest(reports, other, "other")
    assert find_run_dir(None, cfg) == tiny
    assert runs.latest_of(reports, "other") == other


def test_a_folder_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    problem = runs.check_writable(blocker / "reports", "reports.dir")
    assert (
        problem == f"key 'reports.dir': cannot write to {blocker / 'reports'} ({blocker} is a file)"
    )
    assert runs.check_writable(tmp_path / "fine" / "reports", "reports.dir") is None


def _compared(folder: Path, earlier: str | None, **fields: object) -> None:
    """Give a made run's manifest findings and the run it compared itself with."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["findings"] = {"01_ingest": {"as_of": "2025-08-27"}, **fields}
    manifest["paths"] = {"data": str(folder.parent.parent / "data" / folder.name)}
    if earlier:
        manifest["compared_with"] = {"10_monitor": {"run_id": earlier, "problem": None}}
    runs.write_manifest(folder, manifest)


def test_the_earlier_run_is_the_previous_successful_one_of_the_config_or_the_pinned_one(
    folders: tuple[Path, Path],
) -> None:
    reports, data = folders
    for day, config, status in ((1, "x", "ok"), (2, "x", "failed"), (3, "y", "ok"),
                                (4, "x", "running")):  # fmt: skip
        folder = make_run(reports, data, f"2025010{day}-000000-{config}", config, status)
        _compared(folder, None, **{"10_monitor": {"day": day}})
    found = runs.earlier_run(reports, "x", before="20250104-000000-x")
    assert found["run_id"] == "20250101-000000-x" and found["problem"] is None
    manifest = json.loads((reports / "20250101-000000-x" / "manifest.json").read_text())
    assert found["findings_sha256"] == runs.findings_sha256(manifest)
    assert found["data"] == str(data / "20250101-000000-x")
    assert runs.earlier_run(reports, "x", before="20250101-000000-x")["problem"] == (
        "no earlier successful run of config 'x' to compare with"
    )
    setting = "monitor.compare_to"
    for pinned, says in [
        ("20250101-000000-x", None),
        ("20250103-000000-y", "a run of config 'y', not 'x': runs of different configs"),
        ("20250102-000000-x", "which did not finish (status failed)"),
        ("19990101-000000-x", f"which is not a run in {reports}"),
        ("../20250101-000000-x", "which is not a run in"),
        ("20250104-000000-x", "which did not finish (status running)"),
    ]:
        record = runs.earlier_run(reports, "x", pinned=pinned, setting=setting)
        assert record["run_id"] == pinned.removeprefix("../") or says, pinned
        if says is None:
            assert record["problem"] is None
        else:
            assert record["problem"].startswith(f"{setting} names run {pinned}") and (
                says in record["problem"]
            ), record["problem"]
    shutil.rmtree(data / "20250101-000000-x")
    assert "has no data folder any more" in runs.earlier_run(reports, "x")["problem"]


def test_prune_keeps_the_runs_the_kept_runs_compared_themselves_with(
    folders: tuple[Path, Path],
) -> None:
    """Only the kept runs' comparisons count, so the chain of earlier runs still goes:
    keep=2 keeps the two newest, the run the newest-but-one compared with (the one before
    it) and the older run the newest was pinned to; the run before that goes."""
    reports, data = folders
    ids = [f"2025010{day}-000000-x" for day in range(1, 6)]
    for run_id, earlier in zip(ids, [None, *ids[:-1]], strict=True):
        _compared(make_run(reports, data, run_id, "x", "ok"), earlier)
    pinned = make_run(reports, data, "20250106-000000-x", "x", "ok")
    _compared(pinned, ids[1])  # compare_to an older run
    assert runs.prune(reports, data, "x", keep=2) == [ids[0], ids[2]]
    assert sorted(p.name for p in reports.iterdir()) == [ids[1], ids[3], ids[4], pinned.name]
    assert (data / ids[1]).is_dir()
    assert runs.compared_ids(json.loads((pinned / "manifest.json").read_text())) == {ids[1]}
