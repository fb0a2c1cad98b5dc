"""What a stage notebook holds on to: its config, its inputs, its outputs and its findings.

A notebook opens its stage with :func:`open_stage`. Under the runner (papermill passes
``run_dir``) outputs go to the run's data folder and figures to the run's report. Opened
by hand in JupyterLab (``run_dir`` empty), it reads its inputs from
``$CUSTOMER_ANALYTICS_RUN_DIR``, else the newest successful run of its own config
(``reports/latest-<run.name>``), or, when there is none,
computes them through the same cached stage functions, and writes to a scratch folder
so no finished run is ever changed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from customer_analytics import i18n
from customer_analytics.config import (
    RUN_DIR_ENV,
    Config,
    config_from_dict,
    load_config,
    project_root,
)
from customer_analytics.pipeline.cache import (
    cached_outputs,
    compared_run,
    compared_runs,
    ensure_stage,
    stage_key,
    stage_keys,
    upstream_of,
)
from customer_analytics.pipeline.outputs import META_FILE, Output
from customer_analytics.pipeline.registry import settings_of
from customer_analytics.pipeline.runs import MANIFEST, latest_of
from customer_analytics.utils import progress
from customer_analytics.utils.files import copy_tree


def find_run_dir(run_dir: str | Path | None, cfg: Config | None = None) -> Path | None:
    """The run a notebook reads from: the argument, the environment, or the newest
    successful run of the notebook's own config (never another config's)."""
    for candidate in (run_dir, os.environ.get(RUN_DIR_ENV)):
        if candidate:
            path = Path(candidate)
            path = path if path.is_absolute() else project_root() / path
            if not (path / MANIFEST).is_file():
                raise FileNotFoundError(f"{path} is not a run folder (no {MANIFEST})")
            return path.resolve()
    return None if cfg is None else latest_of(cfg.reports_dir, cfg.run.name)


@dataclass
class StageContext:
    """A stage's view of one run.

    Attributes
    ----------
    name
        The stage, e.g. ``"01_ingest"``.
    run_cfg
        The run's whole validated configuration (the pipeline's own use).
    mode
        ``"run"`` under the runner, ``"hand"`` when opened in JupyterLab.
    key
        The stage's cache key.
    inputs
        The output folder of every earlier stage of the run, by stage name.
    out_dir
        Where this stage's outputs are (the run's data folder, or the cache by hand).
    figures_dir
        Where figures are saved.
    meta_path
        Where the findings, summary sentences and headline chart are recorded.
    """

    name: str
    run_cfg: Config
    mode: str
    key: str
    inputs: dict[str, Path]
    out_dir: Path
    figures_dir: Path
    meta_path: Path
    run_dir: Path | None = None
    #: For a stage that compares runs: the earlier run, as the run's manifest records it.
    compared: dict[str, Any] | None = None
    _meta: dict[str, Any] = field(
        default_factory=lambda: {"findings": {}, "summary": [], "chart": None}
    )

    @property
    def cfg(self) -> Config:
        """The settings the stage declares (``pipeline/registry.py``); reading another
        section raises, since the stage's cache key does not cover it."""
        return self.run_cfg.only(settings_of(self.name), self.name)

    # -- inputs and outputs -------------------------------------------------------
    def compute(self) -> Path:
        """Run (or reuse) this stage's computation and return its output folder."""
        outputs = cached_outputs(self.run_cfg, self.name, self.key, self.inputs, self.compared)
        if self.mode == "run":
            copy_tree(outputs, self.out_dir)
        else:
            self.out_dir = outputs
        stored = json.loads((outputs / META_FILE).read_text())
        for key, value in stored["findings"].items():
            self.finding(key, value)
        return self.out_dir

    @property
    def findings(self) -> dict[str, Any]:
        """This stage's findings (after :meth:`compute`)."""
        return self._meta["findings"]

    def path(self, output: Output, **fields: str) -> Path:
        """A declared output of this stage or an earlier one, in this run."""
        if output.stage == self.name:
            return output.at(self.out_dir, **fields)
        return output.path(self.inputs, **fields)

    def read(self, output: Output, **fields: str) -> pd.DataFrame:
        """A declared Parquet output of this stage or an earlier one."""
        return pd.read_parquet(self.path(output, **fields))

    # -- findings, the one helper every stage records its headline figures through --
    def finding(self, key: str, value: Any) -> Any:
        """Record a machine-readable headline figure (ends up in the manifest)."""
        self._meta["findings"][key] = value
        self._save()
        return value

    def summary(self, sentence: str) -> str:
        """Add a plain-language sentence to the run's index page (English only: a stage
        whose sentences are translated gives them through :meth:`summaries`)."""
        if sentence not in self._meta["summary"]:
            self._meta["summary"].append(sentence)
        self._save()
        return sentence

    # -- pages in every report language --------------------------------------------
    @property
    def languages(self) -> tuple[str, ...]:
        """The languages this notebook renders: the run's ``reports.languages`` under the
        runner; English alone by hand (the analyst's view)."""
        return tuple(self.run_cfg.reports.languages) if self.mode == "run" else (i18n.SOURCE,)

    @contextmanager
    def _speaking(self, lang: str) -> Iterator[None]:
        """Within the block, words and formats are ``lang``'s; the YAML words that fell
        back to English are remembered for the page's note."""
        with i18n.language(lang), i18n.fallbacks() as english:
            yield
        self.remember_fallbacks(lang, english)

    def show(self, render: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Display ``render(*args, **kwargs)`` once per report language, each drawn in its
        language (:func:`customer_analytics.i18n.language`) and tagged with it, so that
        each language's page keeps its own (``report/export.py``). A string is shown as
        markdown. It is displayed inside its language too: a table's formatters run when
        it is shown."""
        from IPython.display import Markdown, display

        for lang in self.languages:
            with self._speaking(lang):
                shown = render(*args, **kwargs)
                if isinstance(shown, str):
                    shown = Markdown(shown)
                display(shown, metadata={i18n.OUTPUT_KEY: lang})
        self._save()

    def summaries(self, render: Callable[..., list[str]], *args: Any, **kwargs: Any) -> None:
        """The index page's sentences, ``render(*args, **kwargs)`` in every report
        language; the stage page shows them as a list."""
        by_language = {}
        for lang in self.languages:
            with self._speaking(lang):
                by_language[lang] = render(*args, **kwargs)
        self._meta["summaries"] = by_language
        self._meta["summary"] = by_language.get(i18n.SOURCE, [])
        self.show(lambda: "\n".join(f"- {s}" for s in by_language[i18n.current()]))

    def figure(
        self, fig: Any, name: str, *args: Any, headline: bool = False, **kwargs: Any
    ) -> None:
        """Save a chart as ``figures/<stage>-<name>.png`` (``-<name>.zh.png``...) and show it.

        ``fig`` is a function drawing the chart, called as ``fig(*args, **kwargs)`` once
        per report language; or, for a chart with no words to translate, a matplotlib
        figure already drawn, saved once. ``headline=True`` makes it the stage's chart on
        the index page. In a notebook the saved image is what the cell shows, and the
        figure is closed: drawn once, not a second time by the notebook's own display.
        Under the runner, the first language's chart is drawn here and the others' in a
        process forked from the kernel while the notebook goes on (:class:`_Elsewhere`);
        each shows in its place when the runner's last cell settles them.
        Returns nothing, so a cell ending with this call shows the chart, not a path.
        """
        from IPython import get_ipython
        from IPython.display import display

        self.figures_dir.mkdir(parents=True, exist_ok=True)
        kernel = get_ipython() is not None
        if hasattr(fig, "savefig"):  # no words: one chart for every language
            path = self.figures_dir / f"{self.name}-{name}.png"
            _save_figure(fig, path)
            if kernel:
                display(_image(path.read_bytes()))
        else:
            for number, lang in enumerate(self.languages):
                path = self.figures_dir / i18n.page_name(f"{self.name}-{name}", lang, ".png")
                chart = _Chart(fig, args, kwargs, lang, path)
                if number and kernel:
                    placeholder = display(
                        {"text/plain": ""},
                        raw=True,
                        metadata={i18n.OUTPUT_KEY: lang},
                        display_id=True,
                    )
                    ELSEWHERE.submit(chart, placeholder, self)
                    continue
                png, english = chart.draw()
                self.remember_fallbacks(lang, english)
                if kernel:
                    display(_image(png), metadata={i18n.OUTPUT_KEY: lang})
        if headline or self._meta["chart"] is None:
            self._meta["chart"] = f"figures/{self.name}-{name}.png"
        self._save()

    def remember_fallbacks(self, lang: str, english: Iterable[str]) -> None:
        """Record the YAML words shown in English on ``lang``'s page (the page's note)."""
        english = set(english)
        if english:
            held = self._meta.setdefault("fallbacks", {}).setdefault(lang, [])
            held.extend(sorted(english - set(held)))
            self._save()

    def _save(self) -> None:
        self.meta_path.parent.mkdir(parents=True, exist_ok=True)
        self.meta_path.write_text(json.dumps(self._meta, default=str, indent=1))


#: How every chart is saved: the same size and resolution in every language.
_SAVE = {"dpi": 110, "bbox_inches": "tight", "metadata": {"Software": None}}


def _save_figure(figure: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure.savefig(path, **_SAVE)
    plt.close(figure)


def _image(png: bytes) -> Any:
    from IPython.display import Image

    return Image(data=png, format="png")


@dataclass(frozen=True)
class _Chart:
    """One chart in one language: what to call, and where its PNG goes."""

    fig: Callable[..., Any]
    args: tuple
    kwargs: dict[str, Any]
    lang: str
    path: Path

    def draw(self) -> tuple[bytes, list[str]]:
        """Draw and save the chart in its language: (PNG, the YAML words it showed in
        English for want of a translation)."""
        with i18n.language(self.lang), i18n.fallbacks() as english:
            _save_figure(self.fig(*self.args, **self.kwargs), self.path)
        return self.path.read_bytes(), sorted(english)


def _quiet() -> None:
    """A forked drawing process writes nothing to the kernel's streams (they belong to
    the kernel's threads, which the fork did not copy); a warning made an error (a
    missing glyph) still fails the chart."""
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (open for the process's life)


class _Elsewhere:
    """Draws the charts of a page's other languages in one process forked from the
    kernel, while the kernel goes on with the notebook.

    Forked, not spawned: it starts in milliseconds with the kernel's modules, fonts and
    house style (missing glyphs as errors included) already loaded, so the second
    language costs the stage little more than the first. A chart the process cannot
    take (arguments that do not pickle) or fails to draw is drawn again in the kernel
    when settled, so its error, if any, is raised there with its traceback.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._pending: list[tuple[Future, _Chart, Any, StageContext]] = []

    def submit(self, chart: _Chart, placeholder: Any, context: StageContext) -> None:
        if self._pool is None:
            fork = multiprocessing.get_context("fork")
            self._pool = ProcessPoolExecutor(1, mp_context=fork, initializer=_quiet)
        self._pending.append((self._pool.submit(chart.draw), chart, placeholder, context))

    def settle(self) -> None:
        """Wait for every chart submitted and show each in its placeholder."""
        pending, self._pending = self._pending, []
        for future, chart, placeholder, context in pending:
            try:
                png, english = future.result()
            except Exception:  # drawn here instead: the same chart, its error raised here
                png, english = chart.draw()
            context.remember_fallbacks(chart.lang, english)
            placeholder.update(_image(png), metadata={i18n.OUTPUT_KEY: chart.lang})
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


ELSEWHERE = _Elsewhere()


def settle_figures() -> None:
    """Show every chart still being drawn in the other process in its place; the runner
    ends each stage notebook with a cell calling this (``pipeline/kernels.py``)."""
    ELSEWHERE.settle()


def open_stage(
    name: str, *, config_path: str = "configs/default.yaml", run_dir: str = ""
) -> StageContext:
    """Open a stage for a notebook.

    Parameters
    ----------
    name
        The stage's name (its notebook's file name without extension).
    config_path
        Opened by hand: the config whose newest successful run
        (``<reports.dir>/latest-<run.name>``) is read, or, when it has none, the config
        to compute from.
    run_dir
        The run folder the runner passes; empty when the notebook is opened by hand.
    """
    if run_dir:
        progress.attach(name)
        return _context_in_run(name, find_run_dir(run_dir), mode="run")
    cfg = load_config(config_path)
    found = find_run_dir(None, cfg)
    if found is not None:
        return _context_in_run(name, found, mode="hand")
    inputs = {s: ensure_stage(cfg, s) for s in upstream_of(cfg, name)}
    scratch = cfg.scratch_dir / "no-run" / name
    compared = compared_runs(cfg)
    return StageContext(
        name=name,
        run_cfg=cfg,
        mode="hand",
        key=_key(cfg, name, compared),
        inputs=inputs,
        out_dir=scratch,
        figures_dir=scratch / "figures",
        meta_path=scratch / META_FILE,
        compared=compared.get(name) or compared_run(cfg, name),
    )


def _key(cfg: Config, name: str, compared: dict[str, dict[str, Any]]) -> str:
    """The stage's cache key, also for a stage its config does not list."""
    keys = stage_keys(cfg, compared)
    return keys.get(name) or stage_key(
        cfg, name, list(keys.values()), compared.get(name) or compared_run(cfg, name)
    )


def _context_in_run(name: str, run: Path, mode: str) -> StageContext:
    manifest = json.loads((run / MANIFEST).read_text())
    cfg = config_from_dict(manifest["config"], origin=str(run / MANIFEST))
    data = Path(manifest["paths"]["data"])
    inputs = {s: data / s for s in upstream_of(cfg, name)}
    # The run this run compared itself with, by hand as under the runner.
    compared = manifest.get("compared_with") or {}
    if mode == "run":
        meta = data / "_meta" / f"{name}.json"
        key = manifest.get("cache_keys", {}).get(name) or _key(cfg, name, compared)
        return StageContext(
            name, cfg, mode, key, inputs, data / name, run / "figures", meta, run,
            compared.get(name),
        )  # fmt: skip
    scratch = cfg.scratch_dir / manifest["run_id"] / name
    return StageContext(
        name,
        cfg,
        mode,
        _key(cfg, name, compared),
        inputs,
        scratch,
        scratch / "figures",
        scratch / META_FILE,
        run,
        compared.get(name),
    )
