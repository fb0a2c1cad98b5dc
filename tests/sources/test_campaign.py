"""Campaign files (one row per customer): read as exposures and outcomes, as text."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pytest
from support import STAMPED, campaign, pages_config, write_campaign

from customer_analytics.config import ConfigError, check_source, config_from_dict
from customer_analytics.sources import SourceError, read_source


def test_campaign_reads_into_exposures_and_outcomes_as_text(tmp_path: Path) -> None:
    cfg = config_from_dict(campaign(write_campaign(tmp_path)))
    source = read_source(cfg, ibis.duckdb.connect())
    exposures = source.tables["exposures"].execute()
    outcomes = source.tables["outcomes"].execute()
    assert list(exposures.columns) == [
        "experiment_id",
        "customer_id",
        "variant",
        "assigned_ts",
        "_row",
    ]
    assert list(outcomes.columns) == [
        "experiment_id",
        "customer_id",
        "spend",
        "visit",
        "history",
        "channel",
        "_row",
    ]
    assert exposures["_row"].tolist() == list(range(1, 9)) == outcomes["_row"].tolist()
    assert set(exposures["experiment_id"]) == {"spring"}
    assert outcomes.loc[0, "spend"] == "10.5" and exposures.loc[4, "assigned_ts"] == "yesterday"


def test_without_id_column_the_row_is_the_id_and_a_date_is_every_assignment(
    tmp_path: Path,
) -> None:
    cfg = config_from_dict(
        campaign(write_campaign(tmp_path), customer_id=None, assigned="2024-05-01")
    )
    exposures = read_source(cfg, ibis.duckdb.connect()).tables["exposures"].execute()
    assert exposures["customer_id"].tolist() == [str(i) for i in range(1, 9)]
    assert set(exposures["assigned_ts"]) == {"2024-05-01 00:00:00"}


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path = write_campaign(tmp_path)
    with pytest.raises(
        SourceError, match=r"campaign.csv: configured column\(s\) 'segment' \(arm\)"
    ):
        read_source(config_from_dict(campaign(path, arm="segment")), ibis.duckdb.connect())
    with pytest.raises(SourceError, match=r"campaign.csv: .*'revenue' \(outcome"):
        read_source(config_from_dict(campaign(path, outcomes=["revenue"])), ibis.duckdb.connect())
    with pytest.raises(SourceError, match=r"'when_sent' \(assigned\)"):
        read_source(config_from_dict(campaign(path, assigned="when_sent")), ibis.duckdb.connect())
    without_section = campaign(path)
    del without_section["source"]["campaign"]
    with pytest.raises(ConfigError, match=r"key 'source.campaign'"):
        check_source(config_from_dict(without_section))


def test_outcome_time_column_must_exist(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, STAMPED)
    with pytest.raises(SourceError, match=r"'converted' \(outcome_ts\)"):
        read_source(config_from_dict(campaign(path, outcome_ts="converted", covariates=[],
                                              segments=[])), ibis.duckdb.connect())  # fmt: skip


def test_a_date_format_parses_assignment_and_outcome_times_and_names_what_does_not(
    tmp_path: Path,
) -> None:
    text = "cid,arm,when,done,spend\nc1,A,01.05.2024 09:00,02.05.2024 10:30,1\nc2,B,,,0\n"
    path = write_campaign(tmp_path, text)
    spec = {"outcome_ts": "done", "outcomes": ["spend"], "covariates": [], "segments": []}
    cfg = config_from_dict(campaign(path, date_format="%d.%m.%Y %H:%M", **spec))
    source = read_source(cfg, ibis.duckdb.connect())
    source.check("exposures")
    source.check("outcomes")
    exposures = source.tables["exposures"].execute()
    outcomes = source.tables["outcomes"].execute()
    assert exposures["assigned_ts"].tolist()[0] == pd.Timestamp("2024-05-01 09:00")
    assert outcomes["outcome_ts"].tolist()[0] == pd.Timestamp("2024-05-02 10:30")
    assert exposures["assigned_ts"].isna().tolist() == [False, True]  # blank: for the rules
    write_campaign(tmp_path, text.replace("01.05.2024 09:00", "2024-05-01 09:00"))
    source = read_source(cfg, ibis.duckdb.connect())
    with pytest.raises(
        SourceError, match=r"column 'when' has 1 value\(s\) that are not in the date"
    ):
        source.check("exposures")


def test_what_each_arm_shows_is_read_into_exposures(tmp_path: Path) -> None:
    tree = pages_config(tmp_path)
    source = read_source(config_from_dict(tree), ibis.duckdb.connect())
    exposures = source.tables["exposures"].execute()
    assert exposures["shown"].tolist()[:2] == ["old_page", "old_page"]
    assert source.notes["shown_by_arm"] == {
        "landing": {"control": "old_page", "treatment": "new_page"}
    }
    tree["source"]["campaign"]["shown"]["column"] = "page"
    with pytest.raises(SourceError, match=r"'page' \(shown.column\)"):
        read_source(config_from_dict(tree), ibis.duckdb.connect())
