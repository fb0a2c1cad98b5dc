"""What a user's machine can do to a run: kill it, deny it a folder, fill its disk."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from findings import compare
from support import ROOT, cli, isolated_sets


@pytest.mark.slow
def test_a_killed_run_is_marked_interrupted_and_its_rerun_finds_the_same(tmp_path: Path) -> None:
    """Killed in the clustering's k search, a run left its report ``running`` and a
    temporary cache folder for good; the rerun marks it, cleans up, and finds what an
    uninterrupted run finds."""
    args = ["--config", "configs/tiny.yaml", *isolated_sets(tmp_path)]
    killed = subprocess.Popen(
        [sys.executable, "-m", "customer_analytics", "run", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in killed.stdout:
        if "05_clustering: Customer clusters" in line:
            break
    time.sleep(3)  # into the k search
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    (first,) = [p for p in (tmp_path / "reports").iterdir() if not p.is_symlink()]
    assert json.loads((first / "manifest.json").read_text())["status"] == "running"

    rerun = cli(*args)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads((first / "manifest.json").read_text())["status"] == "interrupted"
    cache = tmp_path / "data" / "cache"
    assert not [p for p in cache.glob("*/.*")], "temporaries were left in the cache"
    assert not [p for p in cache.glob("*/*/.report-*")]
    latest = json.loads((tmp_path / "reports" / "latest" / "manifest.json").read_text())
    assert compare(latest) == []


@pytest.mark.parametrize("key", ["reports.dir", "data.dir"])
def test_a_folder_that_cannot_be_written_stops_the_run_before_it_starts(
    tmp_path: Path, key: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = cli(
        "--config", "configs/tiny.yaml", *isolated_sets(tmp_path, **{key: str(blocker / "x")})
    )
    assert result.returncode == 2
    assert f"key '{key}': cannot write to {blocker / 'x'} ({blocker} is a file)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_full_disk_fails_the_run_with_what_to_do_and_a_failed_manifest(tmp_path: Path) -> None:
    """A file size limit stands in for a full disk (tests run as root, whom a full
    disk's reserved blocks would not stop): the shop's generation cannot write its files."""

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))

    result = subprocess.run(
        [sys.executable, "-m", "customer_analytics", "run", "--config", "configs/tiny.yaml",
         *isolated_sets(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, preexec_fn=small_files,
    )  # fmt: skip
    assert result.returncode == 1
    assert "File too large" in result.stderr and "make room and run again" in result.stderr
    assert "Traceback" not in result.stderr
    (report,) = [p for p in (tmp_path / "reports").iterdir() if not p.is_symlink()]
    assert json.loads((report / "manifest.json").read_text())["status"] == "failed"
