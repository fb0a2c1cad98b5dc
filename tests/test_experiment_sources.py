"""A shop's own exposure log (``source.kind: files``) through ingest, clean and 07_ab_test,
against the same shop read as the embedded synthetic source."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from customer_analytics.config import config_from_dict, load_config
from customer_analytics.sources.synthetic import ensure_generated
from customer_analytics.stage import ensure_stage, stage_findings

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["01_ingest", "02_clean", "07_ab_test"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The tiny synthetic shop, analysed as the embedded source, and its files re-exported
    as a shop would: the push test's log alone, with its own column names and no
    experiment id."""
    tmp = tmp_path_factory.mktemp("own")
    synthetic = load_config(
        ROOT / "configs" / "tiny.yaml",
        {"data.dir": str(tmp / "data"), "run.stages": STAGES, "ab.segments": []},
    )
    raw = ensure_generated(synthetic) / "raw"
    log = pd.read_csv(raw / "exposures.csv", dtype=str)
    push = log[log["experiment_id"] == "push_personalised"]
    push.rename(columns={"customer_id": "user", "assigned_ts": "sent_at", "variant": "group"})[
        ["user", "sent_at", "group"]
    ].to_csv(tmp / "push_log.csv", index=False)
    tables = {}
    for name in ("customers", "products", "orders", "order_items"):
        header = pd.read_csv(raw / f"{name}.csv", nrows=0).columns
        tables[name] = {"file": str(raw / f"{name}.csv"), "columns": {c: c for c in header}}
    tables["exposures"] = {
        "file": "push_log.csv",
        "columns": {"user": "customer_id", "sent_at": "assigned_ts", "group": "variant"},
        "constants": {"experiment_id": "push_personalised"},
    }
    experiments = yaml.safe_load((ROOT / "configs/experiments/synthetic.yaml").read_text())
    own = config_from_dict(
        {
            "run": {"name": "own", "stages": STAGES},
            "source": {"kind": "files", "path": str(tmp), "tables": tables},
            "shop": {"timezone": "Asia/Shanghai", "carrier_cost_per_order": 12.0},
            "ab": {"segments": [], "experiments": {"push_personalised": {
                **experiments["push_personalised"],
                "metrics": [*experiments["push_personalised"]["metrics"],
                            *experiments["free_shipping"]["metrics"][-1:]]}}},
            "privacy": {"dev_key": True},
            "data": {"dir": str(tmp / "data")},
        }
    )  # fmt: skip
    return {
        "log": push,
        "own": {s: ensure_stage(own, s) for s in STAGES},
        "synthetic": {s: ensure_stage(synthetic, s) for s in STAGES},
    }


def test_the_log_is_read_with_a_constant_experiment_id(shop: dict) -> None:
    exposures = pd.read_parquet(shop["own"]["01_ingest"] / "exposures.parquet")
    assert list(exposures.columns) == ["customer_id", "assigned_ts", "variant", "experiment_id"]
    assert set(exposures["experiment_id"]) == {"push_personalised"}
    assert len(exposures) == len(shop["log"])
    accounting = stage_findings(shop["own"]["02_clean"])["tables"]["exposures"]
    assert accounting["input_rows"] == len(shop["log"])


def test_own_files_give_the_same_experiment_as_the_embedded_source(shop: dict) -> None:
    own = stage_findings(shop["own"]["07_ab_test"])["experiments"]["push_personalised"]
    embedded = stage_findings(shop["synthetic"]["07_ab_test"])["experiments"]
    embedded = embedded["push_personalised"]
    assert own["counts"] == embedded["counts"] and sum(own["counts"].values()) > 100
    for metric in ("conversion", "orders", "revenue", "revenue_per_order"):
        assert own["arm_means"][metric] == pytest.approx(embedded["arm_means"][metric])
        key = f"treatment / {metric}"
        assert own["metrics"][key]["rel_lift"] == pytest.approx(
            embedded["metrics"][key]["rel_lift"]
        )
    # The margin guardrail from the shop's own product costs and carrier cost.
    margin = own["metrics"]["treatment / margin_per_order"]
    assert margin["harm_bound"] < margin["rel_lift"] and margin["mde"] > 0
    assert own["verdicts"]["treatment"]["decision"] in {"ship", "don't ship", "inconclusive"}


def test_margin_without_a_carrier_cost_is_a_clear_error(shop: dict, tmp_path: Path) -> None:
    from customer_analytics.ab_stage import ExperimentDataError, run_ab

    cfg = load_config(
        ROOT / "configs" / "tiny.yaml",
        {"data.dir": str(tmp_path), "shop.carrier_cost_per_order": None},
    )
    inputs = {s: shop["synthetic"][s] for s in ("01_ingest", "02_clean")}
    with pytest.raises(ExperimentDataError) as err:
        run_ab(cfg, inputs, tmp_path)
    message = str(err.value)
    assert "experiment free_shipping: metric 'margin_per_order'" in message
    assert "ab.experiments.free_shipping.metrics, from ab.experiments_file" in message
    assert "margin needs shop.carrier_cost_per_order" in message
