"""What a stage notebook holds on to: its config, its inputs, its outputs and its findings.

A notebook opens its stage with :func:`open_stage`. Under the runner (papermill passes
``run_dir``) outputs go to the run's data folder and figures to the run's report. Opened
by hand in JupyterLab (``run_dir`` empty), it reads its inputs from the newest run
(``$CUSTOMER_ANALYTICS_RUN_DIR``, else ``reports/latest``) or, when there is none,
computes them through the same cached stage functions, and writes to a scratch folder
so no finished run is ever changed.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from customer_analytics import cache
from customer_analytics.config import RUN_DIR_ENV, Config, config_from_dict, load_config

#: Stage name -> (title, "module:function" computing its outputs). The order of
#: ``config.STAGE_NAMES`` is the pipeline's; each stage reads the stages before it.
STAGES: dict[str, tuple[str, str]] = {
    "01_ingest": ("Ingestion and profile", "customer_analytics.ingest:run_ingest"),
    "02_clean": ("Cleaning, quarantine and identity", "customer_analytics.clean.stage:run_clean"),
    "03_rfm": ("RFM segments", "customer_analytics.rfm_stage:run_rfm"),
    "04_clv": ("Customer lifetime value", "customer_analytics.clv.stage:run_clv"),
    "05_clustering": ("Customer clusters", "customer_analytics.clustering_stage:run_clustering"),
    "06_personas": ("Personas and audiences", "customer_analytics.personas_stage:run_personas"),
    "07_ab_test": ("Experiments (A/B tests)", "customer_analytics.ab_stage:run_ab"),
}

META_FILE = "_stage.json"


def stage_findings(folder: Path) -> dict[str, Any]:
    """The findings a finished stage recorded in its output folder."""
    return json.loads((folder / META_FILE).read_text())["findings"]


def run_as_of(inputs: dict[str, Path]) -> dt.date:
    """The run's ``as_of`` as stage 01_ingest settled it: the config's, else the data's
    last day. Later stages read it from there rather than deciding again."""
    return dt.date.fromisoformat(stage_findings(inputs["01_ingest"])["as_of"])


def stage_title(stage: str) -> str:
    return STAGES.get(stage, (stage, ""))[0]


def compute_function(stage: str) -> Callable[[Config, dict[str, Path], Path], dict[str, Any]]:
    """The function computing a stage's outputs: ``f(cfg, inputs, out_dir) -> findings``."""
    if stage not in STAGES:
        raise KeyError(f"stage {stage} is not implemented yet (known: {sorted(STAGES)})")
    module, _, name = STAGES[stage][1].partition(":")
    return getattr(importlib.import_module(module), name)


def upstream_of(cfg: Config, stage: str) -> list[str]:
    stages = list(cfg.run.stages)
    return stages[: stages.index(stage)] if stage in stages else stages


def stage_keys(cfg: Config) -> dict[str, str]:
    """Every configured stage's cache key, chained in pipeline order."""
    keys: dict[str, str] = {}
    for stage in cfg.run.stages:
        keys[stage] = cache.stage_key(cfg, stage, [keys[s] for s in keys])
    return keys


def cached_outputs(cfg: Config, stage: str, key: str, inputs: dict[str, Path]) -> Path:
    """The stage's outputs for ``key``, computed once and then reused."""
    entry = cfg.cache_dir / stage / key / "outputs"
    if (entry / META_FILE).is_file():
        return entry
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=_ensure(cfg.cache_dir / stage)))
    out = tmp / "outputs"
    out.mkdir()
    try:
        findings = compute_function(stage)(cfg, inputs, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # a failed stage leaves nothing behind
        raise
    (out / META_FILE).write_text(
        json.dumps({"stage": stage, "key": key, "findings": findings}, default=str, indent=1)
    )
    cache.publish_dir(tmp, entry.parent)
    return entry


def ensure_stage(cfg: Config, stage: str) -> Path:
    """Compute (or reuse) a stage and everything before it, without notebooks."""
    keys = stage_keys(cfg) if stage in cfg.run.stages else {}
    if stage not in keys:
        raise KeyError(f"stage {stage} is not in run.stages {list(cfg.run.stages)}")
    inputs: dict[str, Path] = {}
    for name in upstream_of(cfg, stage) + [stage]:
        path = cached_outputs(cfg, name, keys[name], dict(inputs))
        inputs[name] = path
    return inputs[stage]


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def find_run_dir(run_dir: str | Path | None, reports_dir: Path | None = None) -> Path | None:
    """The run a notebook reads from: the argument, the environment, or the newest run."""
    from customer_analytics.config import project_root

    for candidate in (run_dir, os.environ.get(RUN_DIR_ENV)):
        if candidate:
            path = Path(candidate)
            path = path if path.is_absolute() else project_root() / path
            if not (path / "manifest.json").is_file():
                raise FileNotFoundError(f"{path} is not a run folder (no manifest.json)")
            return path.resolve()
    latest = (reports_dir or project_root() / "reports") / "latest"
    return latest.resolve() if (latest / "manifest.json").is_file() else None


@dataclass
class StageContext:
    """A stage's view of one run.

    Attributes
    ----------
    name
        The stage, e.g. ``"01_ingest"``.
    cfg
        The run's validated configuration.
    mode
        ``"run"`` under the runner, ``"hand"`` when opened in JupyterLab.
    out_dir
        Where this stage's outputs are (the run's data folder, or the cache by hand).
    figures_dir
        Where figures are saved.
    """

    name: str
    cfg: Config
    mode: str
    key: str
    inputs: dict[str, Path]
    out_dir: Path
    figures_dir: Path
    meta_path: Path
    run_dir: Path | None = None
    _meta: dict[str, Any] = field(
        default_factory=lambda: {"findings": {}, "summary": [], "chart": None}
    )

    # -- inputs and outputs -------------------------------------------------------
    def compute(self) -> Path:
        """Run (or reuse) this stage's computation and return its output folder."""
        outputs = cached_outputs(self.cfg, self.name, self.key, self.inputs)
        if self.mode == "run":
            cache.link_tree(outputs, self.out_dir)
        else:
            self.out_dir = outputs
        stored = json.loads((outputs / META_FILE).read_text())
        for key, value in stored["findings"].items():
            self.finding(key, value)
        return self.out_dir

    def read(self, table: str, stage: str | None = None) -> pd.DataFrame:
        """A Parquet table written by this stage (default) or an earlier one."""
        folder = self.out_dir if stage in (None, self.name) else self.inputs[stage]
        return pd.read_parquet(folder / f"{table}.parquet")

    def meta(self, stage: str | None = None) -> dict[str, Any]:
        folder = self.out_dir if stage in (None, self.name) else self.inputs[stage]
        return json.loads((folder / META_FILE).read_text())

    # -- findings, the one helper every stage records its headline figures through --
    def finding(self, key: str, value: Any) -> Any:
        """Record a machine-readable headline figure (ends up in the manifest)."""
        self._meta["findings"][key] = value
        self._save()
        return value

    def summary(self, sentence: str) -> str:
        """Add a plain-language sentence to the run's index page."""
        if sentence not in self._meta["summary"]:
            self._meta["summary"].append(sentence)
        self._save()
        return sentence

    def figure(self, fig: Any, name: str, *, headline: bool = False) -> None:
        """Save a matplotlib figure as ``figures/<stage>-<name>.png``.

        ``headline=True`` makes it the stage's chart on the index page. Returns nothing,
        so a cell ending with this call shows the chart, not a file path.
        """
        path = _ensure(self.figures_dir) / f"{self.name}-{name}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
        if headline or self._meta["chart"] is None:
            self._meta["chart"] = f"figures/{path.name}"
        self._save()

    def _save(self) -> None:
        _ensure(self.meta_path.parent)
        self.meta_path.write_text(json.dumps(self._meta, default=str, indent=1))


def open_stage(
    name: str, *, config_path: str = "configs/default.yaml", run_dir: str = ""
) -> StageContext:
    """Open a stage for a notebook.

    Parameters
    ----------
    name
        The stage's name (its notebook's file name without extension).
    config_path
        Opened by hand: the config whose newest run (``<reports.dir>/latest``) is read,
        or, when it has none, the config to compute from.
    run_dir
        The run folder the runner passes; empty when the notebook is opened by hand.
    """
    if run_dir:
        return _context_in_run(name, find_run_dir(run_dir), mode="run")
    cfg = load_config(config_path)
    found = find_run_dir(None, cfg.reports_dir)
    if found is not None:
        return _context_in_run(name, found, mode="hand")
    inputs = {s: ensure_stage(cfg, s) for s in upstream_of(cfg, name)}
    keys = stage_keys(cfg)
    scratch = cfg.scratch_dir / "no-run" / name
    return StageContext(
        name=name,
        cfg=cfg,
        mode="hand",
        key=keys.get(name) or cache.stage_key(cfg, name, list(keys.values())),
        inputs=inputs,
        out_dir=scratch,
        figures_dir=scratch / "figures",
        meta_path=scratch / META_FILE,
    )


def _context_in_run(name: str, run: Path, mode: str) -> StageContext:
    manifest = json.loads((run / "manifest.json").read_text())
    cfg = config_from_dict(manifest["config"], origin=str(run / "manifest.json"))
    data = Path(manifest["paths"]["data"])
    keys = stage_keys(cfg)
    inputs = {s: data / s for s in upstream_of(cfg, name)}
    if mode == "run":
        return StageContext(
            name,
            cfg,
            mode,
            keys[name],
            inputs,
            data / name,
            run / "figures",
            data / "_meta" / f"{name}.json",
            run,
        )
    scratch = cfg.scratch_dir / manifest["run_id"] / name
    key = keys.get(name) or cache.stage_key(cfg, name, list(keys.values()))
    return StageContext(
        name, cfg, mode, key, inputs, scratch, scratch / "figures", scratch / META_FILE, run
    )
