"""Run a config's stages as notebooks, in order, into a dated report folder.

Each stage notebook is executed by papermill in this process (one kernel per stage),
exported to stakeholder and analyst HTML in-process while the next stage's notebook runs,
and recorded in the run's ``manifest.json``. A stage whose cache key is unchanged is reused: its executed
notebook, HTML, figures, findings and outputs are linked from the cache instead of
recomputed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import papermill

from customer_analytics import i18n
from customer_analytics.config import Config, project_root
from customer_analytics.pipeline import cache, engine, kernels, runs
from customer_analytics.pipeline.cache import stage_keys
from customer_analytics.pipeline.outputs import INPUT_FILES, META_FILE
from customer_analytics.pipeline.registry import entry, stage_title
from customer_analytics.report.export import export_stage_html
from customer_analytics.report.history import write_history
from customer_analytics.report.index import write_index
from customer_analytics.utils import progress
from customer_analytics.utils.files import copy_tree, remove_abandoned, temporary_name

log = logging.getLogger("customer_analytics.run")

#: Folders of a stage's outputs copied into the run's report folder, for the tools that
#: import them (marketing tools read ``audiences/`` and ``activation/``). Copied by the runner for run and
#: reused stages alike, so a report never lacks files its manifest counts.
PUBLISHED = ("audiences", "activation")

_PACKAGES = (
    "pandas", "numpy", "scipy", "pyarrow", "duckdb", "ibis-framework", "lifetimes",
    "scikit-learn", "statsmodels", "matplotlib", "seaborn", "papermill", "nbconvert",
)  # fmt: skip


class StageFailed(RuntimeError):
    """A stage notebook raised; the message names the stage and the cell."""


@dataclass(frozen=True)
class RunResult:
    run_id: str
    report_dir: Path
    status: str
    manifest: dict[str, Any]

    @property
    def index(self) -> Path:
        return self.report_dir / "index.html"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=project_root(),
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=project_root(), capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _attach_log(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    return handler


class Runner:
    """Executes one run of a config.

    Parameters
    ----------
    cfg
        The validated configuration.
    fresh
        Recompute every stage even when its cache key is unchanged.
    """

    def __init__(self, cfg: Config, *, fresh: bool = False) -> None:
        self.cfg = cfg
        self.fresh = fresh

    def run(self) -> RunResult:
        """Run every configured stage; the run folder is locked while it runs."""
        run_id, report = runs.new_run_folder(self.cfg.reports_dir, self.cfg.run.name)
        with runs.RunLock(report):
            return self._run(run_id, report)

    def _run(self, run_id: str, report: Path) -> RunResult:
        cfg = self.cfg
        data = cfg.runs_data_dir / run_id
        data.mkdir(parents=True)
        handler = _attach_log(report / "run.log")
        started = time.perf_counter()
        manifest: dict[str, Any] = {
            "tool": runs.TOOL,
            "run_id": run_id,
            "status": "running",
            "pid": os.getpid(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "finished": None,
            "config": cfg.to_jsonable(),
            "git_commit": _git_commit(),
            "packages": _versions(),
            "inputs": [],
            "stages": [],
            "findings": {},
            "paths": {
                "report": str(report),
                "data": str(data),
                "cache": str(cfg.cache_dir),
                **({"truth": str(cfg.truth_dir)} if cfg.truth_dir else {}),
            },
        }
        # The run each comparing stage compares with is settled once, before any stage.
        compared = manifest["compared_with"] = cache.compared_runs(cfg, before=run_id)
        # The notebooks take their keys from here: code edited during the run cannot
        # split a stage's outputs and its report between two keys.
        keys = manifest["cache_keys"] = stage_keys(cfg, compared)
        runs.write_manifest(report, manifest)
        runs.our_runs(cfg.reports_dir)  # marks earlier runs that were killed as interrupted
        for leftover in cache.sweep(cfg.cache_dir):
            log.info("removed %s, left by a run that was killed", leftover)
        log.info("run %s: %d stage(s) -> %s", run_id, len(keys), report)
        # The stages' kernels write their progress lines into the run's log as well.
        os.environ[progress.RUN_LOG_ENV] = str(report / "run.log")
        self._ahead = _KernelsAhead(self._will_compute(keys), engine.warm_up(cfg.engine))
        self._behind = _Behind()
        try:
            for number, (stage, key) in enumerate(keys.items(), start=1):
                manifest["stages"].append(
                    self._stage(stage, key, report, data, manifest, number, len(keys))
                )
                runs.write_manifest(report, manifest)
                if manifest["stages"][-1]["status"] == "failed":
                    raise StageFailed(manifest["stages"][-1]["error"])
            self._behind.wait()
            manifest["status"] = "ok"
        except Exception as error:  # a stage's failure, or the run's own (a full disk)
            manifest["status"] = "failed"
            # The failed stage's page still shows where it stopped; a page that cannot be
            # written is the run's own failure when no stage failed first.
            error = self._behind.wait_quietly(error)
            if not isinstance(error, StageFailed):
                manifest["error"] = _run_error(error)
                log.error(manifest["error"])
                log.debug("where the run failed", exc_info=error)
            for stage in list(keys)[len(manifest["stages"]) :]:
                manifest["stages"].append(
                    {"name": stage, "title": stage_title(stage), "status": "skipped"}
                )
        finally:
            self._ahead.close()
            self._behind.close()
            os.environ.pop(progress.RUN_LOG_ENV, None)
            manifest["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            manifest["seconds"] = round(time.perf_counter() - started, 2)
            self._finish(report, manifest)
            log.info("run %s %s in %.1f s", run_id, manifest["status"], manifest["seconds"])
            logging.getLogger().removeHandler(handler)
            handler.close()
        return RunResult(run_id, report, manifest["status"], manifest)

    def _finish(self, report: Path, manifest: dict[str, Any]) -> None:
        """Record the outcome, point the latest links at a success and prune; a folder
        that cannot take even the manifest any more (a full disk) is logged, not raised."""
        cfg = self.cfg
        ok = manifest["status"] == "ok"
        try:
            runs.write_manifest(report, manifest)
            if ok:
                runs.point_latest(cfg.reports_dir, report, cfg.run.name)
            runs.prune(cfg.reports_dir, cfg.runs_data_dir, cfg.run.name, cfg.reports.keep)
            if ok:
                self._history(report)  # over the runs kept, before the index that links it
            write_index(report, manifest)
        except OSError as error:
            manifest["status"] = "failed"
            manifest["error"] = _run_error(error)
            log.error(manifest["error"])

    def _history(self, report: Path) -> None:
        """Write the history page over the config's kept successful runs (none when no
        run tracks a figure). A page that cannot be drawn is logged: the run's own
        findings stand without it."""
        kept = runs.successful_runs(self.cfg.reports_dir, self.cfg.run.name)
        try:
            write_history(report, [manifest for _, manifest in kept])
        except Exception as error:  # an unreadable older manifest, a chart not drawn
            log.warning("no history page: %s: %s", type(error).__name__, error)

    # -- one stage ------------------------------------------------------------------
    def _stage(
        self,
        stage: str,
        key: str,
        report: Path,
        data: Path,
        manifest: dict,
        number: int,
        total: int,
    ) -> dict[str, Any]:
        entry = self.cfg.cache_dir / stage / key
        record: dict[str, Any] = {
            "name": stage,
            "title": stage_title(stage),
            "cache_key": key,
            "html": f"{stage}.html",
            "analyst_html": f"{stage}.analyst.html",
            "notebook": f"notebooks/{stage}.ipynb",
        }
        if stage in manifest["compared_with"]:
            earlier = manifest["compared_with"][stage]
            record["compared_with"] = {
                k: earlier[k] for k in ("run_id", "findings_sha256", "problem")
            }
        t0 = time.perf_counter()
        log.info("[%d/%d] %s: %s ...", number, total, stage, record["title"])
        reusable = (
            (entry / self._stored / "stage.json").is_file()
            and (entry / "outputs" / META_FILE).is_file()
            and cache.entry_intact(entry, stage)
        )
        if self.fresh:
            # Drop the entry so the notebook's compute() cannot reuse cached outputs either.
            shutil.rmtree(entry, ignore_errors=True)
        if reusable and not self.fresh:
            self._reuse(entry, stage, report, data)
            record["status"] = "reused"
        else:
            error = self._execute(stage, report, data, record)
            record["status"] = "failed" if error else "ok"
            record["error"] = error
            if (report / "notebooks" / f"{stage}.ipynb").is_file():
                # Written while the next stage's notebook runs, on the core it leaves idle.
                # The key exists before: the manifest may be written while it is set.
                record["seconds_export"] = None
                self._behind.submit(self._write_pages, stage, entry, report, data, record)
        if record["status"] != "failed":
            _publish(data / stage, report)
        meta_path = data / "_meta" / f"{stage}.json"
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        record["summary"] = meta.get("summary", [])
        for key in ("summaries", "fallbacks"):
            if meta.get(key):
                record[key] = meta[key]
        record["chart"] = meta.get("chart")
        findings = meta.get("findings", {})
        manifest["inputs"].extend(findings.pop(INPUT_FILES, []))
        manifest["findings"][stage] = findings
        record["seconds"] = round(time.perf_counter() - t0, 2)
        log.info(
            "[%d/%d] %s: %s in %.1f s", number, total, stage, record["status"], record["seconds"]
        )
        return record

    def _execute(self, stage: str, report: Path, data: Path, record: dict[str, Any]) -> str | None:
        """Run the stage notebook; return an error naming the cell, or None.

        Fills ``record`` with the split of the stage's time: kernel start-up and
        overhead, and the cells' own work.
        """
        source = project_root() / "notebooks" / f"{stage}.ipynb"
        executed = report / "notebooks" / f"{stage}.ipynb"
        executed.parent.mkdir(parents=True, exist_ok=True)
        error = None
        t0 = time.perf_counter()
        km = self._ahead.take(stage)
        try:
            kernels.execute(source, executed, {"run_dir": str(report)}, km)
        except papermill.PapermillExecutionError as err:
            error = (
                f"stage {stage} failed in cell {err.cell_index} "
                f"(execution count {err.exec_count}): {err.ename}: {err.evalue}"
                f"{_what_to_do(err.evalue)}"
            )
            log.error(error)
        except Exception as err:  # the kernel died or the notebook is unreadable
            error = f"stage {stage} failed before or between cells: {type(err).__name__}: {err}"
            log.error(error)
        finally:
            kernels.stop(km)
        papermill_seconds = time.perf_counter() - t0
        if executed.is_file():
            cells = _cell_seconds(executed)
            record["seconds_cells"] = round(cells, 2)
            record["seconds_kernel"] = round(max(papermill_seconds - cells, 0.0), 2)
        return error

    def _write_pages(
        self, stage: str, entry: Path, report: Path, data: Path, record: dict[str, Any]
    ) -> None:
        """Export the executed notebook to the stage's pages and, when it finished, keep
        the stage in the cache for reuse; ``record`` gets the export's seconds."""
        t0 = time.perf_counter()
        meta = data / "_meta" / f"{stage}.json"
        english = json.loads(meta.read_text()).get("fallbacks") if meta.is_file() else None
        executed = report / "notebooks" / f"{stage}.ipynb"
        export_stage_html(executed, report, stage, self.cfg.reports.languages, english)
        record["seconds_export"] = round(time.perf_counter() - t0, 2)
        if record["status"] == "ok":
            self._store(entry, stage, report, data)

    def _will_compute(self, keys: dict[str, str]) -> list[str]:
        """The stages whose notebooks this run will execute (no stored report to reuse)."""
        return [
            stage
            for stage, key in keys.items()
            if self.fresh
            or not (self.cfg.cache_dir / stage / key / self._stored / "stage.json").is_file()
        ]

    def _store(self, entry: Path, stage: str, report: Path, data: Path) -> None:
        """Keep what the stage made beside its outputs in the cache, for reuse."""
        if (entry / self._stored / "stage.json").is_file():
            return
        entry.mkdir(parents=True, exist_ok=True)
        remove_abandoned(entry, ".report-")
        tmp = Path(tempfile.mkdtemp(prefix=temporary_name(".report-"), dir=entry))
        (tmp / "figures").mkdir()
        shutil.copy2(report / "notebooks" / f"{stage}.ipynb", tmp / "notebook.ipynb")
        for name in self._pages(stage):
            shutil.copy2(report / name, tmp / name)
        for fig in (report / "figures").glob(f"{stage}-*"):
            shutil.copy2(fig, tmp / "figures" / fig.name)
        meta = data / "_meta" / f"{stage}.json"
        (tmp / "stage.json").write_text(meta.read_text() if meta.is_file() else "{}")
        if cache.publish_dir(tmp, entry / self._stored):
            # Sealed once in place; until then the entry is not reused (it is recomputed).
            cache.seal(entry / self._stored)

    @property
    def _stored(self) -> str:
        """The cache entry's folder of the stage's pages and notebook: one per set of
        report languages, as the notebook's outputs are drawn in each of them."""
        languages = tuple(self.cfg.reports.languages)
        return "report" if languages == (i18n.SOURCE,) else "report-" + "-".join(languages)

    def _pages(self, stage: str) -> list[str]:
        pages = [i18n.page_name(stage, lang) for lang in self.cfg.reports.languages]
        return [*pages, f"{stage}.analyst.html"]

    def _reuse(self, entry: Path, stage: str, report: Path, data: Path) -> None:
        stored = entry / self._stored
        (report / "notebooks").mkdir(parents=True, exist_ok=True)
        shutil.copy2(stored / "notebook.ipynb", report / "notebooks" / f"{stage}.ipynb")
        for name in self._pages(stage):
            shutil.copy2(stored / name, report / name)
        copy_tree(stored / "figures", report / "figures")
        copy_tree(entry / "outputs", data / stage)
        (data / "_meta").mkdir(exist_ok=True)
        shutil.copy2(stored / "stage.json", data / "_meta" / f"{stage}.json")


def _publish(outputs: Path, report: Path) -> None:
    """Copy the stage's :data:`PUBLISHED` folders into the report (copies, not links: the
    report folder must outlive a pruned cache)."""
    for name in PUBLISHED:
        if (outputs / name).is_dir():
            shutil.copytree(outputs / name, report / name, dirs_exist_ok=True)


class _Behind:
    """Work on finished stages (their pages) done in one thread, in order, while the run
    goes on; :meth:`wait` before anything reads it."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pages")
        self._futures: list[Future] = []

    def submit(self, work: Callable[..., None], *args: Any) -> None:
        self._futures.append(self._pool.submit(work, *args))

    def wait(self) -> None:
        """Wait for all the work submitted; raise the first failure."""
        futures, self._futures = self._futures, []
        for future in futures:
            future.exception()
        for future in futures:
            future.result()

    def wait_quietly(self, error: BaseException) -> BaseException:
        """Wait after the run failed with ``error``: a failure of the work here is logged
        and returned in its place when ``error`` is a stage's (the stage's own message is
        in its record)."""
        try:
            self.wait()
        except Exception as failed:
            log.debug("a page of a finished stage was not written", exc_info=failed)
            return failed if isinstance(error, StageFailed) else error
        return error

    def close(self) -> None:
        """Stop the thread: the work not yet started is dropped (an interrupted run, whose
        stages are not stored for reuse), the work running is waited for."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class _KernelsAhead:
    """The kernels of the stages a run computes, each started while the stage before it
    runs (:func:`~customer_analytics.pipeline.kernels.start`)."""

    def __init__(self, stages: list[str], warm_up: str | None) -> None:
        self.stages, self.warm_up = stages, warm_up
        self.waiting: dict[str, kernels.LocalKernelManager] = {}

    def _start(self, stage: str) -> kernels.LocalKernelManager:
        # Only the stages that run on the engine start its session.
        warm_up = self.warm_up if "engine" in entry(stage).settings else None
        return kernels.start(entry(stage).package, project_root() / "notebooks", warm_up)

    def take(self, stage: str) -> kernels.LocalKernelManager:
        """``stage``'s kernel (started now if none is waiting), and the next computed
        stage's started to wait."""
        km = self.waiting.pop(stage, None) or self._start(stage)
        later = [s for s in self.stages if s > stage and s not in self.waiting]
        if later:
            self.waiting[later[0]] = self._start(later[0])
        return km

    def close(self) -> None:
        """Shut down the kernels still waiting (a run that failed early)."""
        for km in self.waiting.values():
            kernels.stop(km)
        self.waiting.clear()


def _run_error(error: BaseException) -> str:
    """The run's own failure (outside any stage's notebook), naming the file it hit."""
    where = f" ({error.filename})" if isinstance(error, OSError) and error.filename else ""
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return (
        f"the run failed outside the stages: {type(error).__name__}: {reason}{where}"
        f"{_what_to_do(reason)}"
    )


#: Failures a user fixes outside the data, by what their message says.
_ADVICE = {
    "No space left on device": "the disk holding data.dir or reports.dir is full",
    "File too large": "a file reached the size limit of this process (ulimit -f)",
}


def _what_to_do(message: str) -> str:
    for says, why in _ADVICE.items():
        if says in message:
            return f" ({why}: make room and run again; finished stages are reused)"
    return ""


def _cell_seconds(notebook: Path) -> float:
    """Seconds the notebook's cells took, from papermill's per-cell metadata."""
    cells = json.loads(notebook.read_text())["cells"]
    return sum((c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0) for c in cells)


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stdout,
    )
    for noisy in ("papermill", "traitlets", "asyncio", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
