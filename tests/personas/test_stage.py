"""Stage 06_personas: no persona too small to show, audiences of consenting customers
without personal data, the same names from the same seed, and the planted personas'
traits on their cards."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from support import ROOT, CliRun, on_run, shared_file

from customer_analytics.clean.stage import KEPT
from customer_analytics.clustering.stage import CLUSTERS, FEATURES
from customer_analytics.config import Config, load_config
from customer_analytics.personas.report import persona_sentences
from customer_analytics.personas.stage import (
    AUDIENCE_COLUMNS,
    AUDIENCES,
    CUSTOMERS_PERSONAS,
    MOVEMENT,
    NEW,
    PERSONAS,
)
from customer_analytics.personas.stage import run as run_personas
from customer_analytics.pipeline.outputs import META_FILE, stage_findings
from customer_analytics.pipeline.registry import run_function
from customer_analytics.utils.text import slug


def tiny_config(run: CliRun, **overrides: object) -> Config:
    """configs/tiny.yaml with ``overrides``, reading the run's data folder (where the
    shop and its planted truth were generated)."""
    data = {"data.dir": run.manifest["config"]["data"]["dir"]}
    return load_config(ROOT / "configs/tiny.yaml", {**data, **overrides})


@on_run("tiny")
def test_every_buyer_has_a_persona_and_no_persona_is_too_small(
    config_run: Callable[[str], CliRun],
) -> None:
    tiny = config_run("tiny").stages
    clusters = pd.read_parquet(CLUSTERS.path(tiny))
    found = stage_findings(tiny["06_personas"])
    minimum = load_config(ROOT / "configs/tiny.yaml").privacy.min_group_size
    assert found["personas"] and all(p["customers"] >= minimum for p in found["personas"])
    assert sum(p["customers"] for p in found["personas"]) == len(clusters)
    assert len({p["name"] for p in found["personas"]}) == len(found["personas"])


@on_run("tiny")
def test_audiences_hold_only_consenting_customers_and_no_pii(
    config_run: Callable[[str], CliRun],
) -> None:
    tiny = config_run("tiny").stages
    customers = pd.read_parquet(KEPT.path(tiny, table="customers"))
    consent = (
        (customers["marketing_consent"].str.upper() == "Y")
        .groupby(customers["merged_customer_id"])
        .all()
    )
    found = stage_findings(tiny["06_personas"])
    assert found["audiences"], "the synthetic shop has a consent column"
    pii = r"@|^\+?\d[\d -]{6,}$|^[0-9a-f]{64}$"
    for name, rows in found["audiences"].items():
        audience = pd.read_csv(AUDIENCES.path(tiny) / name, dtype=str)
        assert list(audience.columns) == AUDIENCE_COLUMNS
        assert len(audience) == rows
        assert consent.reindex(audience["customer_id"]).fillna(False).all(), name
        for column in audience.columns:
            assert not audience[column].fillna("").str.contains(pii).any(), (name, column)
    analysts = pd.read_parquet(CUSTOMERS_PERSONAS.path(tiny))
    assert not {"email", "email_hash", "phone", "phone_hash", "name"} & set(analysts.columns)
    assert len(analysts) == len(pd.read_parquet(CLUSTERS.path(tiny)))


@on_run("tiny")
def test_without_consent_no_audience_unless_the_config_states_a_basis(
    config_run: Callable[[str], CliRun], tmp_path: Path
) -> None:
    run = config_run("tiny")
    tiny = run.stages
    clustered = tmp_path / "05_clustering"
    clustered.mkdir()
    for item in tiny["05_clustering"].iterdir():
        (clustered / item.name).symlink_to(item)
    FEATURES.at(clustered).unlink()
    features = pd.read_parquet(FEATURES.path(tiny))
    features.drop(columns=["consent"]).to_parquet(FEATURES.at(clustered))
    inputs = {**tiny, "05_clustering": clustered}
    cfg = tiny_config(run)
    (tmp_path / "a").mkdir()
    found = run_personas(cfg, inputs, tmp_path / "a")
    assert found["audiences"] == {} and "no marketing-consent column" in found["audience_note"]
    assert not AUDIENCES.at(tmp_path / "a").exists()
    stated = tiny_config(run, **{"personas.consent_basis": "soft opt-in"})
    (tmp_path / "b").mkdir()
    found = run_personas(stated, inputs, tmp_path / "b")
    persona_rows = sum(v for k, v in found["audiences"].items() if k.startswith("persona-"))
    assert persona_rows == len(features) and "soft opt-in" in found["audience_note"]


def cluster_again(run: CliRun, tmp: Path, **overrides: object) -> tuple[dict, dict, Path]:
    """Stages 05_clustering and 06_personas of the tiny shop's run again, with
    ``overrides``; their findings and the personas stage's folder."""
    cfg = tiny_config(run, **overrides)
    inputs = {s: run.stages[s] for s in ("01_ingest", "02_clean", "03_rfm", "04_clv")}
    (tmp / "05").mkdir()
    (tmp / "06").mkdir()
    clustering = run_function("05_clustering")(cfg, inputs, tmp / "05")
    (tmp / "05" / META_FILE).write_text(json.dumps({"findings": clustering}, default=str))
    personas = run_personas(cfg, {**inputs, "05_clustering": tmp / "05"}, tmp / "06")
    return clustering, personas, tmp / "06"


@on_run("tiny")
def test_same_seed_same_clusters_and_names(
    config_run: Callable[[str], CliRun], tmp_path: Path
) -> None:
    run = config_run("tiny")
    tiny = run.stages
    again, names, _ = cluster_again(run, tmp_path)
    assert again["k"] == stage_findings(tiny["05_clustering"])["k"]
    first = pd.read_parquet(CLUSTERS.path(tiny))
    second = pd.read_parquet(CLUSTERS.at(tmp_path / "05"))
    pd.testing.assert_frame_equal(first, second)
    assert names["personas"] == stage_findings(tiny["06_personas"])["personas"]


@on_run("tiny")
def test_groups_under_the_minimum_are_merged_before_they_become_personas(
    config_run: Callable[[str], CliRun], tmp_path: Path
) -> None:
    minimum = 100  # the tiny shop's 385 buyers hold at most three groups of 100
    clustering, personas, out = cluster_again(
        config_run("tiny"),
        tmp_path,
        **{"clustering.k": 6, "privacy.min_group_size": minimum},
    )
    assert len(clustering["merged_small_clusters"]) >= 3
    sizes = clustering["cluster_sizes"].values()
    assert min(sizes) >= minimum and sum(sizes) == clustering["customers"]
    assert personas["suppressed_groups"] == 0
    assert all(p["customers"] >= minimum for p in personas["personas"])
    names = {p["name"] for p in personas["personas"]}
    movement = pd.read_parquet(MOVEMENT.at(out)).set_index("at_snapshot")
    assert set(movement.columns) == names and set(movement.index) == names | {NEW}
    assert {f"persona-{slug(n, '-')}.csv" for n in names} <= set(personas["audiences"])


@on_run("tiny")
def test_a_persona_under_the_minimum_is_shown_nowhere(
    config_run: Callable[[str], CliRun], tmp_path: Path
) -> None:
    """Every group is under 1,000 customers: all merge into the largest, which is still
    too small. No card, no name, no audience, no movement; small counts read "<1000"."""
    clustering, personas, out = cluster_again(
        config_run("tiny"),
        tmp_path,
        **{"clustering.k": 2, "privacy.min_group_size": 1000},
    )
    assert clustering["cluster_sizes"] == {"0": clustering["customers"]}
    assert personas["personas"] == [] and personas["suppressed_groups"] == 1
    assert json.loads(PERSONAS.at(out).read_text()) == []
    assert pd.read_parquet(CUSTOMERS_PERSONAS.at(out))["persona"].isna().all()
    movement = pd.read_parquet(MOVEMENT.at(out)).set_index("at_snapshot")
    assert movement.columns.empty and personas["movement_customers"] == 0
    assert personas["audiences"], "the segment audiences stay"
    for name, rows in personas["audiences"].items():
        assert not name.startswith("persona-")
        assert pd.read_csv(AUDIENCES.at(out) / name)["persona"].isna().all()
        assert personas["headline"][f"Audience · {name}"] == (0 if rows == 0 else "<1000")
    assert personas["headline"]["Personas"] == 0
    assert all(check["matched"] == 0 for check in personas["truth"].values())
    assert persona_sentences(personas)[0] == "No persona is large enough to describe."


@pytest.mark.slow
@on_run("default")
def test_default_shop_persona_cards_carry_the_planted_traits(
    config_run: Callable[[str], CliRun],
) -> None:
    """Each persona's card carries its planted persona's defining traits, one persona
    for each of the six planted ones."""
    personas = config_run("default").findings("06_personas")
    for planted, check in personas["truth"].items():
        assert check["matched"] == check["traits"], (planted, check["mismatches"])
    assert len({check["persona"] for check in personas["truth"].values()}) == 6


@pytest.mark.slow
@on_run("online_retail")
def test_online_retail_personas_without_truth_or_consent(
    config_run: Callable[[str], CliRun],
) -> None:
    shared_file("online_retail.parquet")
    personas = config_run("online_retail").findings("06_personas")
    assert personas["personas"] and "truth" not in personas
    assert personas["audiences"] == {} and "consent" in personas["audience_note"]
