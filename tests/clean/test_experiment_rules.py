"""The rules of the experiment tables on a campaign file: each defect quarantined by its
rule, with the rule's reason, and the rows adding up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from support import campaign, pages_config, stamped_config, write_campaign

from customer_analytics.clean.rule_engine import load_rules
from customer_analytics.clean.stage import KEPT, QUARANTINE
from customer_analytics.clean.stage import run as run_clean
from customer_analytics.config import config_from_dict
from customer_analytics.ingest.stage import DELIVERED
from customer_analytics.ingest.stage import run as run_ingest
from customer_analytics.pipeline.cache import ensure_stage
from customer_analytics.pipeline.outputs import META_FILE, stage_findings


def _ingested(tmp_path: Path) -> tuple[Any, Path, Path, dict]:
    """The campaign file ingested into ``tmp_path/ingest`` (its findings not yet stored,
    so a test may change the delivered rows first), and an empty ``clean`` folder."""
    cfg = config_from_dict(campaign(write_campaign(tmp_path)))
    ingest, clean = tmp_path / "ingest", tmp_path / "clean"
    ingest.mkdir()
    clean.mkdir()
    return cfg, ingest, clean, run_ingest(cfg, {}, ingest)


def _cleaned(cfg: Any, ingest: Path, clean: Path, findings: dict) -> dict:
    (ingest / META_FILE).write_text(json.dumps({"findings": findings}))
    return run_clean(cfg, {"01_ingest": ingest}, clean)


def test_each_defect_is_quarantined_by_its_rule_and_rows_add_up(tmp_path: Path) -> None:
    cfg, ingest, clean, findings = _ingested(tmp_path)
    assert findings["rows"] == {"exposures": 8, "outcomes": 8}
    accounting = _cleaned(cfg, ingest, clean, findings)["tables"]

    rule_of = (
        pd.read_parquet(QUARANTINE.at(clean, table="exposures"))
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
    kept = pd.read_parquet(KEPT.at(clean, table="exposures"))
    assert kept["_row"].tolist() == [1, 6, 8]  # c1 twice in one arm stays
    # 09:00 in Berlin (summer time) is 07:00 UTC; the Z time is already UTC.
    assert kept["assigned_ts_utc"].tolist() == [
        pd.Timestamp("2024-05-01 07:00"),
        pd.Timestamp("2024-05-01 01:00"),
        pd.Timestamp("2024-05-03 07:00"),
    ]

    # The outcome columns of rows 3 and 8 repeat rows 2 and 1 (same customer, same
    # values): copies, caught before the exposure check.
    outcomes = pd.read_parquet(QUARANTINE.at(clean, table="outcomes")).set_index("_row")
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
    assert pd.read_parquet(KEPT.at(clean, table="outcomes"))["_row"].tolist() == [1, 6]
    assert accounting["outcomes"]["kept_rows"] == 2


def test_outcome_of_a_customer_never_exposed_is_quarantined(tmp_path: Path) -> None:
    cfg, ingest, clean, findings = _ingested(tmp_path)
    # An outcomes row of a customer the assignment log never names (as a separate
    # outcomes export would deliver it).
    delivered = DELIVERED.at(ingest, table="outcomes")
    outcomes = pd.read_parquet(delivered)
    extra = outcomes.iloc[[0]].assign(customer_id="c9", _row=9)
    pd.concat([outcomes, extra]).to_parquet(delivered, index=False)
    _cleaned(cfg, ingest, clean, findings)
    quarantine = pd.read_parquet(QUARANTINE.at(clean, table="outcomes")).set_index("_row")
    assert quarantine.loc[9, "_rule"] == "outcome_without_exposure"
    assert quarantine.loc[9, "_detail"] == "no exposure delivered"


# --- rules that need the configured experiments ------------------------------------------


def test_unknown_arms_text_outcomes_and_outcomes_before_assignment_are_quarantined(
    tmp_path: Path,
) -> None:
    cfg = stamped_config(tmp_path)
    clean = ensure_stage(cfg, "02_clean")
    exposures = pd.read_parquet(QUARANTINE.at(clean, table="exposures")).set_index("_row")
    assert exposures["_rule"].to_dict() == {5: "exposure_unknown_arm"}
    assert exposures.loc[5, "_detail"] == (
        "arm 'Control' not one of the arms configured for spring "
        "(ab.experiments.spring.arms): control, treatment"
    )
    outcomes = pd.read_parquet(QUARANTINE.at(clean, table="outcomes")).set_index("_row")
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
    kept = pd.read_parquet(KEPT.at(clean, table="outcomes")).set_index("customer_id")
    assert kept["outcome_ts_utc"].isna().tolist() == [False, False, False, True, True]
    accounting = stage_findings(clean)["tables"]["outcomes"]
    assert accounting["input_rows"] == 8 == accounting["kept_rows"] + 3


def test_rows_whose_arm_and_page_disagree_are_quarantined_before_two_arms(
    tmp_path: Path,
) -> None:
    """An exposure log stamped to the microsecond that records both the arm and the
    page shown: the times parse (the whole file was quarantined as unreadable times),
    and rows showing the other arm's page are set aside by exposure_arm_mismatch."""
    clean = ensure_stage(config_from_dict(pages_config(tmp_path)), "02_clean")
    exposures = pd.read_parquet(QUARANTINE.at(clean, table="exposures")).set_index("_row")
    assert exposures["_rule"].to_dict() == {
        6: "exposure_arm_mismatch",
        7: "exposure_arm_mismatch",
        8: "exposure_two_arms",
        9: "exposure_two_arms",
        10: "exposure_arm_mismatch",
    }
    assert exposures.loc[6, "_detail"] == "arm 'treatment' shows new_page, this row shows old_page"
    accounting = stage_findings(clean)["tables"]["exposures"]
    assert list(accounting["quarantined_by_rule"]) == ["exposure_arm_mismatch", "exposure_two_arms"]
    assert accounting["fixed_by_rule"] == {"exposure_timestamp": 0}  # microseconds are canonical
    kept = pd.read_parquet(KEPT.at(clean, table="exposures"))
    assert kept["customer_id"].tolist() == ["u1", "u2", "u3", "u4", "u5", "u9", "u10"]
    assert kept["assigned_ts_utc"].iloc[0] == pd.Timestamp("2017-01-21 21:11:48.556739")
    rules = [r.name for r in load_rules()["exposures"]]
    assert rules.index("exposure_arm_mismatch") < rules.index("exposure_two_arms")
