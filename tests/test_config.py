"""Configs fail before any stage runs, naming the key or file at fault."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from support import ROOT

from customer_analytics.clustering.estimator import Method
from customer_analytics.config import (
    ClusteringSettings,
    ConfigError,
    load_config,
    parse_overrides,
)


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
def test_every_shipped_config_validates(name: str) -> None:
    cfg = load_config(ROOT / "configs" / name, check_inputs=False)
    assert cfg.run.stages


def test_overrides_are_applied_and_typed() -> None:
    cfg = load_config(
        ROOT / "configs/tiny.yaml", parse_overrides(["run.as_of=2025-06-30", "reports.keep=3"])
    )
    assert str(cfg.run.as_of) == "2025-06-30"
    assert cfg.reports.keep == 3


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("run.stagez=[01_ingest]", "key 'run.stagez': unknown key"),
        ("reports.keep=many", "key 'reports.keep'"),
        ("run.stages=[99_magic]", "unknown stage"),
        ("privacy.min_group_size=0", "key 'privacy.min_group_size'"),
        ("shop.timezone=Mars/Olympus", "unknown time zone"),
        ("source.kind=spreadsheet", "key 'source.kind'"),
        ("clean.max_quarantined_share=1.5", "key 'clean.max_quarantined_share': Input should"),
        ("run.today=yesterday", "key 'run.today': Input should be a valid date"),
    ],
)
def test_bad_values_name_the_key(override: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("(", r"\(")):
        load_config(ROOT / "configs/tiny.yaml", parse_overrides([override]))


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.yaml does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_malformed_override_is_explained() -> None:
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_overrides(["run.as_of"])


def test_every_clustering_method_of_the_estimator_is_accepted() -> None:
    methods = get_args(Method)
    assert get_args(ClusteringSettings.model_fields["method"].annotation) == methods
    for method in methods:
        cfg = load_config(
            ROOT / "configs/tiny.yaml", parse_overrides([f"clustering.method={method}"])
        )
        assert cfg.clustering.method == method
