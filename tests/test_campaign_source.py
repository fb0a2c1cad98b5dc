"""Campaign files (one row per customer): read as exposures and outcomes, cleaned by rule."""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import pandas as pd
import pytest
from support import shared_file

from customer_analytics.clean.stage import run_clean
from customer_analytics.config import ConfigError, check_source, config_from_dict, load_config
from customer_analytics.ingest import run_ingest
from customer_analytics.sources import SourceError, read_source
from customer_analytics.stage import META_FILE, ensure_stage, stage_findings

ROOT = Path(__file__).resolve().parents[1]

# Customer c2 is in two arms; row 4 has a blank arm; row 5 an unreadable time; row 7
# repeats row 6 exactly. c1 is exposed twice to one arm at different times (kept).
CAMPAIGN = """\
cid,arm,when,spend,visit,history,channel
c1,A,2024-05-01 09:00:00,10.5,1,100,Web
c2,A,2024-05-01 09:00:00,0,0,50,Phone
c2,B,2024-05-02 09:00:00,0,0,50,Phone
c3, ,2024-05-01 09:00:00,3,1,20,Web
c4,B,yesterday,0,0,70,Web
c5,B,2024-05-01T01:00:00Z,7,1,80,Phone
c5,B,2024-05-01T01:00:00Z,7,1,80,Phone
c1,A,2024-05-03 09:00:00,10.5,1,100,Web
"""


def campaign(path: Path, **overrides: object) -> dict:
    spec = {
        "experiment_id": "spring",
        "arm": "arm",
        "customer_id": "cid",
        "assigned": "when",
        "outcomes": ["spend", "visit"],
        "covariates": ["history"],
        "segments": ["channel"],
        **overrides,
    }
    return {
        "run": {"name": "camp", "stages": ["01_ingest", "02_clean"]},
        "source": {"kind": "campaign", "path": str(path), "campaign": spec},
        "shop": {"timezone": "Europe/Berlin"},
    }


def write(tmp_path: Path, text: str = CAMPAIGN) -> Path:
    path = tmp_path / "campaign.csv"
    path.write_text(text)
    return path


def test_campaign_reads_into_exposures_and_outcomes_as_text(tmp_path: Path) -> None:
    cfg = config_from_dict(campaign(write(tmp_path)))
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
    cfg = config_from_dict(campaign(write(tmp_path), customer_id=None, assigned="2024-05-01"))
    exposures = read_source(cfg, ibis.duckdb.connect()).tables["exposures"].execute()
    assert exposures["customer_id"].tolist() == [str(i) for i in range(1, 9)]
    assert set(exposures["assigned_ts"]) == {"2024-05-01 00:00:00"}


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path = write(tmp_path)
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


def test_each_defect_is_quarantined_by_its_rule_and_rows_add_up(tmp_path: Path) -> None:
    cfg = config_from_dict(campaign(write(tmp_path)))
    ingest, clean = tmp_path / "ingest", tmp_path / "clean"
    ingest.mkdir()
    clean.mkdir()
    findings = run_ingest(cfg, {}, ingest)
    assert findings["rows"] == {"exposures": 8, "outcomes": 8}
    (ingest / META_FILE).write_text(json.dumps({"findings": findings}))
    accounting = run_clean(cfg, {"01_ingest": ingest}, clean)["tables"]

    rule_of = (
        pd.read_parquet(clean / "quarantine" / "exposures.parquet")
        .set_index("_row")[["_rule", "_detail"]]
        .to_dict("index")
    )
    assert {row: r["_rule"] for row, r in rule_of.items()} == {
        2: "exposure_two_arms",
        3: "exposure_two_arms",
        4: "exposure_missing_arm",
        5: "exposure_timestamp",
        7: "exact_duplicate",
    }
    assert rule_of[2]["_detail"] == "arms A, B" and rule_of[7]["_detail"] == "copy of row 6"
    kept = pd.read_parquet(clean / "exposures.parquet")
    assert kept["_row"].tolist() == [1, 6, 8]  # c1 twice in one arm stays
    # 09:00 in Berlin (summer time) is 07:00 UTC; the Z time is already UTC.
    assert kept["assigned_ts_utc"].tolist() == [
        pd.Timestamp("2024-05-01 07:00"),
        pd.Timestamp("2024-05-01 01:00"),
        pd.Timestamp("2024-05-03 07:00"),
    ]

    # The outcome columns of rows 3 and 8 repeat rows 2 and 1 (same customer, same
    # values): copies, caught before the exposure check.
    outcomes = pd.read_parquet(clean / "quarantine" / "outcomes.parquet").set_index("_row")
    assert outcomes["_rule"].to_dict() == {
        2: "outcome_without_exposure",
        3: "exact_duplicate",
        4: "outcome_without_exposure",
        5: "outcome_without_exposure",
        7: "exact_duplicate",
        8: "exact_duplicate",
    }
    assert outcomes.loc[2, "_detail"] == "exposure quarantined by exposure_two_arms"
    assert outcomes.loc[4, "_detail"] == "exposure quarantined by exposure_missing_arm"

    for table, acc in accounting.items():
        assert acc["input_rows"] == acc["kept_rows"] + acc["quarantined_rows"], table
        assert acc["quarantined_rows"] == sum(acc["quarantined_by_rule"].values())
    assert accounting["exposures"]["quarantined_by_rule"] == {
        "exact_duplicate": 1,
        "exposure_missing_arm": 1,
        "exposure_timestamp": 1,
        "exposure_two_arms": 2,
    }
    assert pd.read_parquet(clean / "outcomes.parquet")["_row"].tolist() == [1, 6]
    assert accounting["outcomes"]["kept_rows"] == 2


def test_outcome_of_a_customer_never_exposed_is_quarantined(tmp_path: Path) -> None:
    cfg = config_from_dict(campaign(write(tmp_path)))
    ingest, clean = tmp_path / "ingest", tmp_path / "clean"
    ingest.mkdir()
    clean.mkdir()
    run_ingest(cfg, {}, ingest)
    # An outcomes row of a customer the assignment log never names (as a separate
    # outcomes export would deliver it).
    outcomes = pd.read_parquet(ingest / "outcomes.parquet")
    extra = outcomes.iloc[[0]].assign(customer_id="c9", _row=9)
    pd.concat([outcomes, extra]).to_parquet(ingest / "outcomes.parquet", index=False)
    (ingest / META_FILE).write_text(json.dumps({"findings": {}}))
    run_clean(cfg, {"01_ingest": ingest}, clean)
    quarantine = pd.read_parquet(clean / "quarantine" / "outcomes.parquet").set_index("_row")
    assert quarantine.loc[9, "_rule"] == "outcome_without_exposure"
    assert quarantine.loc[9, "_detail"] == "no exposure delivered"


@pytest.mark.slow
def test_hillstrom_through_ingest_and_clean(tmp_path: Path) -> None:
    path = shared_file("hillstrom.csv")
    cfg = load_config(
        ROOT / "configs" / "hillstrom.yaml",
        {
            "data.dir": str(tmp_path / "data"),
            "reports.dir": str(tmp_path / "reports"),
            "source.path": str(path),
        },
    )
    stages = {stage: ensure_stage(cfg, stage) for stage in cfg.run.stages}
    assert stage_findings(stages["01_ingest"])["as_of"] == "2008-03-01"
    clean = stages["02_clean"]
    accounting = stage_findings(clean)["tables"]
    assert accounting["exposures"]["kept_rows"] == 64_000
    assert accounting["outcomes"]["kept_rows"] == 64_000
    exposures = pd.read_parquet(clean / "exposures.parquet")
    assert exposures["variant"].value_counts().to_dict() == {
        "Womens E-Mail": 21_387,
        "Mens E-Mail": 21_307,
        "No E-Mail": 21_306,
    }
    outcomes = pd.read_parquet(clean / "outcomes.parquet")
    joined = exposures.merge(outcomes, on=["experiment_id", "customer_id"], validate="1:1")
    metrics = joined[["visit", "conversion", "spend"]].astype(float).groupby(joined["variant"])
    expected = {
        "Mens E-Mail": (0.182757, 0.012531, 1.422617),
        "Womens E-Mail": (0.151400, 0.008837, 1.077202),
        "No E-Mail": (0.106167, 0.005726, 0.652789),
    }
    means = metrics.mean()
    for arm, values in expected.items():
        assert means.loc[arm].tolist() == pytest.approx(values, abs=1e-6), arm


# --- rules that need the configured experiments, and the stage on what is kept ------------

# Arms are spelled "control" and "treatment" in the config; row 5 says "Control". Row 3
# spends "n/a"; row 4 converted on 30 April, before its assignment on 1 May; c7 and c8
# have no conversion time (they did not convert): blank times are kept.
STAMPED = """\
cid,arm,when,converted_at,spend,visit
c1,control,2024-05-01 09:00:00,2024-05-03 10:00:00,10.5,1
c2,treatment,2024-05-01 09:00:00,2024-05-02 12:00:00,20,1
c3,treatment,2024-05-01 09:00:00,2024-05-02 12:00:00,n/a,1
c4,control,2024-05-01 09:00:00,2024-04-30 18:00:00,8,1
c5,Control,2024-05-01 09:00:00,2024-05-02 08:00:00,3,1
c6,treatment,2024-05-01 09:00:00,2024-05-09 08:00:00,4,1
c7,control,2024-05-01 09:00:00,,0,0
c8,treatment,2024-05-01 09:00:00,,0,0
"""


def stamped_config(tmp_path: Path) -> object:
    tree = campaign(write(tmp_path, STAMPED), outcome_ts="converted_at", covariates=[], segments=[])
    tree["run"]["stages"] = ["01_ingest", "02_clean", "07_ab_test"]
    tree["ab"] = {
        "segments": [],
        "experiments": {
            "spring": {
                "arms": ["control", "treatment"],
                "planned_split": [1, 1],
                "metrics": [
                    {"name": "visit", "type": "proportion"},
                    {"name": "spend", "type": "mean"},
                ],
            }
        },
    }
    tree["data"] = {"dir": str(tmp_path / "data")}
    return config_from_dict(tree)


def test_unknown_arms_text_outcomes_and_outcomes_before_assignment_are_quarantined(
    tmp_path: Path,
) -> None:
    cfg = stamped_config(tmp_path)
    clean = ensure_stage(cfg, "02_clean")
    exposures = pd.read_parquet(clean / "quarantine" / "exposures.parquet").set_index("_row")
    assert exposures["_rule"].to_dict() == {5: "exposure_unknown_arm"}
    assert exposures.loc[5, "_detail"] == (
        "arm 'Control' not one of the arms configured for spring "
        "(ab.experiments.spring.arms): control, treatment"
    )
    outcomes = pd.read_parquet(clean / "quarantine" / "outcomes.parquet").set_index("_row")
    assert outcomes["_rule"].to_dict() == {
        3: "outcome_not_a_number",
        4: "outcome_before_assignment",
        5: "outcome_without_exposure",
    }
    assert outcomes.loc[3, "_detail"] == "spend=n/a"
    # 09:00 in Berlin is 07:00 UTC; 18:00 the evening before is 16:00 UTC.
    assert outcomes.loc[4, "_detail"] == (
        "outcome at 2024-04-30 16:00:00 UTC, assigned at 2024-05-01 07:00:00 UTC"
    )
    assert outcomes.loc[5, "_detail"] == "exposure quarantined by exposure_unknown_arm"
    kept = pd.read_parquet(clean / "outcomes.parquet").set_index("customer_id")
    assert kept["outcome_ts_utc"].isna().tolist() == [False, False, False, True, True]
    accounting = stage_findings(clean)["tables"]["outcomes"]
    assert accounting["input_rows"] == 8 == accounting["kept_rows"] + 3


def test_the_stage_counts_each_exposure_once_leaves_unknown_outcomes_out(tmp_path: Path) -> None:
    """c3's spend is unknown (n/a): left out, not counted as zero. c4's only outcome was
    before assignment: after assignment it did nothing, so it counts with zeros. c6
    converted on day 8 of a 14-day window: counted."""
    cfg = stamped_config(tmp_path)
    found = stage_findings(ensure_stage(cfg, "07_ab_test"))["experiments"]["spring"]
    assert found["outcomes"] == {
        "delivered": {"control": 2, "treatment": 3},
        "missing": {"control": 1},
        "unknown": {"treatment": 1},
    }
    assert found["counts"] == {"control": 3, "treatment": 3}
    assert found["arm_means"]["spend"] == pytest.approx(
        {"control": (10.5 + 0 + 0) / 3, "treatment": (20 + 4 + 0) / 3}
    )
    assert found["arm_means"]["visit"] == pytest.approx({"control": 1 / 3, "treatment": 2 / 3})


def test_outcome_time_column_must_exist(tmp_path: Path) -> None:
    path = write(tmp_path, STAMPED)
    with pytest.raises(SourceError, match=r"'converted' \(outcome_ts\)"):
        read_source(config_from_dict(campaign(path, outcome_ts="converted", covariates=[],
                                              segments=[])), ibis.duckdb.connect())  # fmt: skip
