"""The reports folder: which runs are ours, which are in progress, the latest of each
config, the earlier run a new one compares itself with, and pruning.

A run folder is ours when its ``manifest.json`` names this tool and a run id equal to
the folder's name; anything else in the reports folder is never touched. A run holds a
lock on its folder (``.run.lock``) while it runs, so another process can tell a run in
progress from one that was killed: a run whose manifest still says ``running`` but whose
lock is free did not finish, and is marked ``interrupted`` when found.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
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
    """Delete config ``name``'s runs but its newest ``keep``, its newest successful one
    and the runs those compared themselves with (:func:`compared_ids`).

    Only our runs of that config are considered (:func:`our_manifest`), and never one in
    progress. Returns the run ids removed (report folder and run data folder).
    """
    by_config: dict[str, list[tuple[Path, dict[str, Any]]]] = defaultdict(list)
    for folder, manifest in our_runs(reports_dir):
        by_config[config_name(manifest)].append((folder, manifest))
    runs = by_config.get(name, [])
    ok = [folder for folder, manifest in runs if manifest.get("status") == "ok"]
    protected = {folder for folder, _ in runs[-keep:]} | set(ok[-1:])
    # A kept run's comparison must stay readable: the run it compared itself with stays.
    compared = {run_id for folder, m in runs if folder in protected for run_id in compared_ids(m)}
    protected |= {folder for folder, _ in runs if folder.name in compared}
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


def findings_sha256(manifest: dict[str, Any]) -> str:
    """SHA-256 of a run's findings (the manifest's ``findings``, keys sorted): what a run
    that compares itself with it records, and its cache key covers."""
    blob = json.dumps(manifest.get("findings") or {}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def compared_ids(manifest: dict[str, Any]) -> set[str]:
    """The ids of the runs a run compared itself with (its ``compared_with``)."""
    records = manifest.get("compared_with") or {}
    return {r["run_id"] for r in records.values() if isinstance(r, dict) and r.get("run_id")}


def earlier_run(
    reports_dir: Path,
    name: str,
    *,
    pinned: str | None = None,
    before: str | None = None,
    setting: str = "the setting",
) -> dict[str, Any]:
    """The run a run of config ``name`` compares itself with, as its manifest records it.

    Parameters
    ----------
    reports_dir
        The reports folder.
    name
        The config's ``run.name``.
    pinned
        A run id the config names (``setting``); None: the newest successful run of
        ``name`` older than ``before``.
    before
        The comparing run's id (run ids sort by time); None: any run.
    setting
        The dotted setting that pins the run, for messages.

    Returns
    -------
    dict
        ``run_id`` (None when there is no run to compare with), ``findings_sha256``,
        ``report`` and ``data`` (its folders) and ``problem``: None when the run can be
        compared with, else a sentence saying why not, naming the run. Never raises for
        a missing, foreign or unfinished run.
    """
    none = {"run_id": None, "findings_sha256": None, "report": None, "data": None}
    if pinned is None:
        for folder, manifest in reversed(_runs_of(reports_dir, name)):
            if manifest.get("status") == "ok" and (before is None or folder.name < before):
                return _record(folder, manifest)
        return {**none, "problem": f"no earlier successful run of config '{name}' to compare with"}
    folder = reports_dir / pinned
    manifest = our_manifest(folder) if Path(pinned).name == pinned else None
    problem = None
    if manifest is None:
        problem = f"{setting} names run {pinned}, which is not a run in {reports_dir}"
    elif config_name(manifest) != name:
        problem = (
            f"{setting} names run {pinned}, a run of config '{config_name(manifest)}', not "
            f"'{name}': runs of different configs are not compared"
        )
    elif manifest.get("status") != "ok":
        problem = (
            f"{setting} names run {pinned}, which did not finish (status {manifest.get('status')})"
        )
    elif pinned == before:
        problem = f"{setting} names this run, {pinned}: a run is not compared with itself"
    if problem:
        return {**none, "run_id": pinned, "problem": problem}
    return _record(folder, manifest)


def _record(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    data = Path(str((manifest.get("paths") or {}).get("data", "")))
    problem = None
    if not data.is_dir():
        problem = f"run {folder.name} has no data folder any more ({data}): its outputs are gone"
    return {
        "run_id": folder.name,
        "findings_sha256": findings_sha256(manifest),
        "report": str(folder),
        "data": str(data),
        "problem": problem,
    }


def _runs_of(reports_dir: Path, name: str) -> list[tuple[Path, dict[str, Any]]]:
    """Config ``name``'s runs, oldest first, read only (unlike :func:`our_runs`, nothing
    is marked: a stage's cache key may ask while the run is going)."""
    if not reports_dir.is_dir():
        return []
    found = []
    for folder in sorted(reports_dir.iterdir(), key=lambda p: p.name):
        if folder.is_symlink() or not folder.is_dir():
            continue
        manifest = our_manifest(folder)
        if manifest is not None and config_name(manifest) == name:
            found.append((folder, manifest))
    return found


def successful_runs(reports_dir: Path, name: str) -> list[tuple[Path, dict[str, Any]]]:
    """Config ``name``'s successful runs in the folder, oldest first, with manifests."""
    return [(f, m) for f, m in _runs_of(reports_dir, name) if m.get("status") == "ok"]


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
