"""The stage registry: every entry is a stage package with its run function, its declared
outputs and its notebook, and the settings know the stages by the registry's names."""

from __future__ import annotations

import importlib

import pytest
from support import ROOT

from customer_analytics import config
from customer_analytics.pipeline import registry
from customer_analytics.pipeline.outputs import Outputs
from customer_analytics.pipeline.registry import STAGE_NAMES, STAGES, StageEntry


@pytest.mark.parametrize("entry", STAGES, ids=[s.name for s in STAGES])
def test_every_stage_module_has_a_run_function_and_declares_its_outputs(
    entry: StageEntry,
) -> None:
    module = importlib.import_module(entry.module)
    assert entry.module == f"{entry.package}.stage"
    assert callable(module.run)
    assert registry.run_function(entry.name) is module.run
    assert isinstance(module.OUTPUTS, Outputs)
    assert module.OUTPUTS.stage == entry.name
    assert list(module.OUTPUTS), f"{entry.module} declares no output"
    assert all(output.stage == entry.name for output in module.OUTPUTS)


@pytest.mark.parametrize("entry", STAGES, ids=[s.name for s in STAGES])
def test_every_stage_has_its_notebook(entry: StageEntry) -> None:
    assert (ROOT / "notebooks" / f"{entry.name}.ipynb").is_file()


def test_the_settings_know_the_registrys_stages_in_its_order() -> None:
    assert config.STAGE_NAMES is registry.STAGE_NAMES
    assert STAGE_NAMES == tuple(s.name for s in STAGES)
    assert list(STAGE_NAMES) == sorted(STAGE_NAMES)  # the numbers give the pipeline order
    assert len(set(STAGE_NAMES)) == len(STAGES)
    assert len({s.package for s in STAGES}) == len(STAGES)


def test_an_unknown_stage_is_named_with_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"unknown stage '99_magic'; known: \['01_ingest'"):
        registry.run_function("99_magic")
    assert registry.stage_title("04_clv") == "Customer lifetime value"
    assert registry.stage_title("99_magic") == "99_magic"


def test_a_module_belongs_to_the_stage_whose_package_holds_it() -> None:
    assert registry.stage_of_module("customer_analytics.clv.stage") == "04_clv"
    assert registry.stage_of_module("customer_analytics.experiments.stats.srm") == "07_ab_test"
    with pytest.raises(KeyError, match="belongs to no registered stage"):
        registry.stage_of_module("customer_analytics.clvx.stage")
    with pytest.raises(KeyError, match="belongs to no registered stage"):
        registry.stage_of_module("customer_analytics.pipeline.cache")
