"""The reports folder: which runs are ours, which are in progress, the latest of each
config, and pruning.

A run folder is ours when its ``manifest.json`` names this tool and a run id equal to
the folder's name; anything else in the reports folder is never touched. A run holds a
lock on its folder (``.run.lock``) while it runs, so another process can tell a run in
progress from one that was killed: a run whose manifest still says ``running`` but whose
lock is free did not finish, and is marked ``interrupted`` when found.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from customer_analytics.report.index import write_index
from customer_analytics.utils.files import remove_abandoned, temporary_name

log = logging.getLogger("customer_analytics.run")

TOOL = "customer-analytics"
MANIFEST = "manifest.json"
LOCK = ".run.lock"
#: The link to the newest successful run of any config; ``latest-<run.name>`` per config.
LATEST = "latest"


class RunLock:
    """Held by a run on its folder while it runs (``with RunLock(folder): ...``)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK

    def __enter__(self) -> RunLock:
        self._handle = self.path.open("w")
        fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()  # closing releases the lock


def in_progress(folder: Path) -> bool:
    """Whether a process holds the folder's run lock (the run is still going)."""
    lock = folder / LOCK
    if not lock.is_file():
        return False
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False


def new_run_folder(reports_dir: Path, name: str) -> tuple[str, Path]:
    """A fresh run folder ``<time>-<name>``; an existing one is never reused."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    reports_dir.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        run_id = f"{stamp}-{name}" if n == 1 else f"{stamp}-{name}-{n}"
        try:
            (reports_dir / run_id).mkdir()
        except FileExistsError:
            continue
        return run_id, reports_dir / run_id
    raise RuntimeError(f"could not find a free run folder name under {reports_dir}")


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest whole or not at all (a reader never sees half of it)."""
    tmp = folder / f"{temporary_name('.manifest-')}.json"
    tmp.write_text(json.dumps(manifest, indent=2, default=str))
    tmp.replace(folder / MANIFEST)


def our_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest if it is a run of ours, else None (no manifest, one that
    does not read as JSON, or one another tool or a copy wrote)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    if manifest.get("tool") != TOOL or manifest.get("run_id") != folder.name:
        return None
    return manifest


def our_runs(reports_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Our run folders, oldest first, with their manifests; runs that did not finish and
    hold no lock are marked ``interrupted`` on the way."""
    runs = []
    if not reports_dir.is_dir():
        return runs
    for folder in sorted(reports_dir.iterdir(), key=lambda p: p.name):
        if folder.is_symlink() or not folder.is_dir():
            continue
        manifest = our_manifest(folder)
        if manifest is None:
            continue
        if manifest.get("status") == "running" and not in_progress(folder):
            manifest = _mark_interrupted(folder, manifest)
        runs.append((folder, manifest))
    return runs


def _mark_interrupted(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    manifest = {**manifest, "status": "interrupted"}
    remove_abandoned(folder, ".manifest-")
    write_manifest(folder, manifest)
    write_index(folder, manifest)
    log.info("run %s did not finish (its process is gone): marked interrupted", folder.name)
    return manifest


def config_name(manifest: dict[str, Any]) -> str:
    return str(manifest.get("config", {}).get("run", {}).get("name", ""))


def point_latest(reports_dir: Path, report: Path, name: str) -> None:
    """Point ``latest`` and ``latest-<name>`` at a finished run (atomically)."""
    for link in (LATEST, f"{LATEST}-{name}"):
        tmp = reports_dir / f"{temporary_name('.latest-')}link"
        tmp.symlink_to(report.name)
        tmp.replace(reports_dir / link)


def latest_of(reports_dir: Path, name: str) -> Path | None:
    """The newest successful run of config ``name`` (``latest-<name>``), if any."""
    link = reports_dir / f"{LATEST}-{name}"
    return link.resolve() if (link / MANIFEST).is_file() else None


def prune(reports_dir: Path, runs_data_dir: Path, name: str, keep: int) -> list[str]:
    """Delete config ``name``'s runs but its newest ``keep`` and its newest successful one.

    Only our runs of that config are considered (:func:`our_manifest`), and never one in
    progress. Returns the run ids removed (report folder and run data folder).
    """
    by_config: dict[str, list[tuple[Path, dict[str, Any]]]] = defaultdict(list)
    for folder, manifest in our_runs(reports_dir):
        by_config[config_name(manifest)].append((folder, manifest))
    runs = by_config.get(name, [])
    ok = [folder for folder, manifest in runs if manifest.get("status") == "ok"]
    protected = {folder for folder, _ in runs[-keep:]} | set(ok[-1:])
    removed = []
    for folder, _ in runs:
        if folder in protected or in_progress(folder):
            continue
        shutil.rmtree(folder)
        shutil.rmtree(runs_data_dir / folder.name, ignore_errors=True)
        removed.append(folder.name)
    if removed:
        log.info("pruned %d old run(s) of %s: %s", len(removed), name, ", ".join(removed))
    return removed


def check_writable(folder: Path, key: str) -> str | None:
    """Why ``folder`` (the setting ``key``) cannot hold a run's files, or None: it is
    made if missing, and a file is written in it and removed."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f"{temporary_name('.probe-')}w"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        blocker = next((p for p in (folder, *folder.parents) if p.exists()), folder)
        why = f"{blocker} is a file" if blocker.is_file() else error.strerror or str(error)
        return f"key '{key}': cannot write to {folder} ({why})"
    return None
