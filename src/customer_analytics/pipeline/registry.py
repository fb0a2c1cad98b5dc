"""The one ordered list of stages: the pipeline knows a stage by its name only.

Each entry names a stage, its title and the package holding it; the package's
``stage`` module has the stage's ``run(cfg, inputs, out)`` function and declares its
outputs (:mod:`customer_analytics.pipeline.outputs`), and ``notebooks/<name>.ipynb`` is
its notebook. The order is the pipeline's: a stage reads the stages before it. This
module imports nothing of ours, so the settings schema can take the names from here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StageEntry:
    """One stage: ``name`` (its notebook's file name), ``title``, ``package``, and the
    settings sections its code and notebook read (``settings``): the stage is handed
    only those, and its cache key covers them (of ``run``, only the fields that change
    numbers, :data:`RUN_FIELDS`) and the keys of the stages before it, no more.

    A stage that compares its run with an earlier run of the same config names in
    ``compares`` the setting (``section.field``, in one of its sections) that may pin
    that run's id; unpinned, it is the config's previous successful run. Such a stage
    is handed the earlier run (``earlier``), and its cache key covers that run's id and
    a hash of its findings."""

    name: str
    title: str
    package: str
    settings: tuple[str, ...]
    compares: str | None = None

    @property
    def module(self) -> str:
        """The module holding the stage's ``run`` function and declared outputs."""
        return f"{self.package}.stage"


def N_(message: str) -> str:  # noqa: N802 (gettext's name for it)
    """Mark a stage title for translation (the index shows it in the reader's language);
    this module imports nothing of ours, so it cannot use ``customer_analytics.i18n``'s."""
    return message


# The planted truth is found through source and data (Config.truth_dir), so the stages
# that check against it read both.
STAGES: tuple[StageEntry, ...] = (
    StageEntry(
        "01_ingest", N_("Ingestion and profile"), "customer_analytics.ingest",
        settings=("run", "source", "shop", "privacy", "data"),
    ),
    StageEntry(
        "02_clean", N_("Cleaning, quarantine and identity"), "customer_analytics.clean",
        settings=("clean", "shop", "ab", "engine"),
    ),
    StageEntry(
        "03_rfm", N_("RFM segments"), "customer_analytics.rfm",
        settings=("run", "rfm", "clv", "privacy", "engine"),
    ),
    StageEntry(
        "04_clv", N_("Customer lifetime value"), "customer_analytics.clv",
        settings=("clv", "rfm", "shop", "privacy", "source", "data", "engine"),
    ),
    StageEntry(
        "05_clustering", N_("Customer clusters"), "customer_analytics.clustering",
        settings=("run", "clustering", "rfm", "shop", "privacy", "source", "data", "engine"),
    ),
    StageEntry(
        "06_personas", N_("Personas and audiences"), "customer_analytics.personas",
        settings=("personas", "rfm", "shop", "privacy", "source", "data"),
    ),
    StageEntry(
        "07_ab_test", N_("Experiments (A/B tests)"), "customer_analytics.experiments",
        settings=("ab", "shop", "privacy", "source", "data", "engine"),
    ),
    StageEntry(
        "08_recommend", N_("Product recommendations"), "customer_analytics.recommend",
        settings=("recommend", "engine", "personas", "source", "data"),
    ),
    StageEntry(
        "09_targeting", N_("Targeting and budget"), "customer_analytics.targeting",
        settings=("targeting", "ab", "personas", "rfm", "shop", "engine", "source", "data"),
    ),
    StageEntry(
        "10_monitor", N_("Monitoring: KPIs and cohorts"), "customer_analytics.monitor",
        settings=("monitor", "shop", "clv", "rfm", "engine", "source", "data"),
        compares="monitor.compare_to",
    ),
)  # fmt: skip
#: The fields of the ``run`` section that change a stage's numbers (rows dated after
#: ``today`` are left out of the data's end; the name, title and stage list change none;
#: which stages ran reaches a key through the keys before it).
RUN_FIELDS = ("as_of", "snapshot_offset_days", "today")
STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)
_BY_NAME = {s.name: s for s in STAGES}


def entry(name: str) -> StageEntry:
    """The registry entry of stage ``name``; a KeyError names the known stages."""
    if name not in _BY_NAME:
        raise KeyError(f"unknown stage {name!r}; known: {list(STAGE_NAMES)}")
    return _BY_NAME[name]


def stage_title(name: str) -> str:
    return _BY_NAME[name].title if name in _BY_NAME else name


def stage_of_module(module: str) -> str:
    """The stage whose package holds ``module`` (a stage module declaring its outputs)."""
    for stage in STAGES:
        if module == stage.package or module.startswith(stage.package + "."):
            return stage.name
    raise KeyError(f"module {module} belongs to no registered stage")


def settings_of(name: str) -> tuple[str, ...]:
    """The settings sections stage ``name`` declares it reads."""
    return entry(name).settings


def compares(name: str) -> str | None:
    """The setting that pins the run stage ``name`` compares with, or None for a stage
    that compares no runs (:class:`StageEntry`)."""
    return entry(name).compares


def run_function(name: str) -> Callable[..., dict[str, Any]]:
    """Import stage ``name``'s module and return its ``run(cfg, inputs, out)``."""
    return importlib.import_module(entry(name).module).run
