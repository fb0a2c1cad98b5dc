"""Stage 02_clean against the synthetic shop's truth (every planted defect caught by its
rule, nothing else) and on the real data sets, whose published figures it must explain."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import ibis
import pandas as pd
import pytest
import yaml
from support import CliRun, cli, isolated_sets, on_run, shared_file

from customer_analytics.clean.rule_engine import load_rules
from customer_analytics.clean.stage import FIXES, KEPT, QUARANTINE, QuarantineError
from customer_analytics.config import config_from_dict
from customer_analytics.ingest.stage import DELIVERED, read_ingested
from customer_analytics.pipeline.cache import ensure_stage
from customer_analytics.pipeline.outputs import stage_findings

#: (table, rule) -> the defect kind the generator records for it.
CAUGHT_BY = {
    ("customers", "test_account"): "test_account",
    ("customers", "signup_timestamp"): "nonstandard_timestamp",
    ("customers", "city_spelling"): "city_spelling",
    ("customers", "country_spelling"): "country_spelling",
    ("customers", "identity_merged"): "duplicate_account",
    ("orders", "exact_duplicate"): "exact_duplicate",
    ("orders", "test_account"): "test_account",
    ("orders", "guest_order"): "guest_order",
    ("orders", "order_timestamp"): "nonstandard_timestamp",
    ("orders", "cancellation"): "cancellation",
    ("orders", "return_order"): "return",
    ("order_items", "exact_duplicate"): "exact_duplicate",
    ("order_items", "zero_price"): "zero_price",
    ("order_items", "negative_price"): "negative_price",
    ("order_items", "wholesale_outlier"): "wholesale_outlier",
    ("events", "event_after_data_end"): "event_after_end",
}
KEYS = {
    "customers": ["customer_id"],
    "orders": ["order_id"],
    "order_items": ["order_id", "line_no"],
    "events": ["_row"],
}


def _key(frame: pd.DataFrame, table: str) -> pd.Series:
    return frame[KEYS[table]].astype(str).agg("/".join, axis=1)


@pytest.fixture(
    params=[
        pytest.param("tiny", marks=on_run("tiny")),
        pytest.param("default", marks=[pytest.mark.slow, on_run("default")]),
    ]
)
def cleaned(request: pytest.FixtureRequest, config_run: Callable[[str], CliRun]) -> dict:
    """The clean stage of the session's run of the tiny or the default shop."""
    run = config_run(request.param)
    stages = run.stages
    return {
        "out": stages["02_clean"],
        "ingest": stages["01_ingest"],
        "findings": run.findings("02_clean"),
        "truth": Path(run.manifest["paths"]["truth"]),
    }


def caught(cleaned: dict) -> pd.DataFrame:
    """Every (table, key, defect) the cleaning stage attributes to a rule."""
    out, ingest = cleaned["out"], cleaned["ingest"]
    rows = []
    for (table, rule), defect in CAUGHT_BY.items():
        quarantine = pd.read_parquet(QUARANTINE.at(out, table=table))
        hit = quarantine[quarantine["_rule"] == rule]
        fixes_file = FIXES.at(out, table=table)
        if fixes_file.is_file():
            fixes = pd.read_parquet(fixes_file)
            raw = read_ingested(ibis.duckdb.connect(), DELIVERED.at(ingest, table=table)).execute()
            fixed = raw[raw["_row"].isin(fixes.loc[fixes["rule"] == rule, "_row"])]
            hit = pd.concat([hit[KEYS[table]], fixed[KEYS[table]]])
        rows.append(
            pd.DataFrame({"table": table, "key": _key(hit, table).to_numpy(), "defect": defect})
        )
    return pd.concat(rows).drop_duplicates()


def earlier_catches(cleaned: dict, table: str, rule: str) -> set[str]:
    """Keys quarantined by a rule before ``rule``: the order of the rules decides."""
    names = [r.name for r in load_rules()[table]]
    # An exact duplicate takes the later copy of a key; the first copy goes on to later rules.
    before = [n for n in names[: names.index(rule)] if n != "exact_duplicate"]
    quarantine = pd.read_parquet(QUARANTINE.at(cleaned["out"], table=table))
    earlier = quarantine["_rule"].isin(before)
    if "order_quarantined" in before:  # lines carry their order's rule name
        earlier |= ~quarantine["_rule"].isin(names)
    return set(_key(quarantine[earlier & (quarantine["_rule"] != rule)], table))


def test_precision_and_recall_are_one_per_defect_kind(cleaned: dict) -> None:
    truth = pd.read_parquet(cleaned["truth"] / "defects.parquet")
    truth = truth[
        truth.set_index(["table", "defect"]).index.isin([(t, d) for (t, _), d in CAUGHT_BY.items()])
    ]
    found = caught(cleaned)
    planted = set(map(tuple, truth[["table", "key", "defect"]].to_numpy()))
    got = set(map(tuple, found[["table", "key", "defect"]].to_numpy()))
    rule_of = {(t, d): r for (t, r), d in CAUGHT_BY.items()}
    for table, defect in sorted({(t, d) for t, _, d in planted}):
        want = {k for t, k, d in planted if (t, d) == (table, defect)}
        want -= earlier_catches(cleaned, table, rule_of[(table, defect)])
        have = {k for t, k, d in got if (t, d) == (table, defect)}
        assert have == want, (
            f"{table}/{defect}: missed {sorted(want - have)[:3]}, wrongly {sorted(have - want)[:3]}"
        )


def test_accounting_balances_per_table(cleaned: dict) -> None:
    for table, acc in cleaned["findings"]["tables"].items():
        assert acc["input_rows"] == acc["kept_rows"] + acc["quarantined_rows"], table
        assert acc["quarantined_rows"] == sum(acc["quarantined_by_rule"].values())
        kept = pd.read_parquet(KEPT.at(cleaned["out"], table=table))
        assert len(kept) == acc["kept_rows"]


def test_orders_carry_the_merged_customer_id(cleaned: dict) -> None:
    orders = pd.read_parquet(KEPT.at(cleaned["out"], table="orders"))
    truth = pd.read_parquet(cleaned["truth"] / "customers.parquet").set_index("customer_id")
    expected = orders["account_id"].map(truth["canonical_customer_id"])
    assert (orders["customer_id"] == expected).all()
    assert (orders["account_id"] != orders["customer_id"]).any()
    customers = pd.read_parquet(KEPT.at(cleaned["out"], table="customers"))
    assert set(orders["customer_id"]) <= set(customers["customer_id"])


def test_cancellations_name_the_purchase_they_cancel(cleaned: dict) -> None:
    quarantine = pd.read_parquet(QUARANTINE.at(cleaned["out"], table="orders"))
    cancels = quarantine[quarantine["_rule"] == "cancellation"]
    assert len(cancels) > 0
    assert (cancels["_detail"] == "cancels " + cancels["original_order_id"]).all()


def test_order_revenue_is_the_kept_lines_less_the_discount(cleaned: dict) -> None:
    """Recomputed with pandas from the delivered text, not from the stage's own outputs."""
    out, ingest = cleaned["out"], cleaned["ingest"]
    orders = pd.read_parquet(KEPT.at(out, table="orders")).set_index("order_id")
    raw_lines = read_ingested(
        ibis.duckdb.connect(), DELIVERED.at(ingest, table="order_items")
    ).execute()
    kept_rows = pd.read_parquet(KEPT.at(out, table="order_items"))["_row"]
    lines = raw_lines[raw_lines["_row"].isin(kept_rows)]
    items = pd.to_numeric(lines["line_amount"]).groupby(lines["order_id"]).sum()
    expected = items.reindex(orders.index) - orders["discount_amount"].fillna(0)
    expected = expected.fillna(0.0)  # no kept line: nothing of its value is known
    assert orders["revenue"].to_numpy() == pytest.approx(expected.round(2).to_numpy(), abs=0.011)
    assert (orders.loc[orders["is_return"], "revenue"] <= 0).all()
    assert (orders.loc[~orders["is_return"], "n_lines"] > 0).mean() > 0.99


# --- real data sets: the session's command-line run of each config -----------------------


@pytest.mark.slow
@on_run("hillstrom")
def test_hillstrom_through_ingest_and_clean(config_run: Callable[[str], CliRun]) -> None:
    shared_file("hillstrom.csv")
    stages = config_run("hillstrom").stages
    assert stage_findings(stages["01_ingest"])["as_of"] == "2008-03-01"
    clean = stages["02_clean"]
    accounting = stage_findings(clean)["tables"]
    assert accounting["exposures"]["kept_rows"] == 64_000
    assert accounting["outcomes"]["kept_rows"] == 64_000
    exposures = pd.read_parquet(KEPT.at(clean, table="exposures"))
    assert exposures["variant"].value_counts().to_dict() == {
        "Womens E-Mail": 21_387,
        "Mens E-Mail": 21_307,
        "No E-Mail": 21_306,
    }
    outcomes = pd.read_parquet(KEPT.at(clean, table="outcomes"))
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


@pytest.mark.slow
@on_run("online_retail")
def test_online_retail_cleaning_explains_every_difference_from_the_usual_recipe(
    config_run: Callable[[str], CliRun],
) -> None:
    """The config keeps wholesale quantities (``clean.keep_wholesale``)."""
    shared_file("online_retail.parquet")
    run = config_run("online_retail")
    assert run.manifest["config"]["clean"]["keep_wholesale"]
    clean = run.stages["02_clean"]
    ingested = DELIVERED.at(run.stages["01_ingest"], table="order_items")
    raw = read_ingested(ibis.duckdb.connect(), ingested).execute()
    usual = (
        raw["customer_id"].notna()
        & (raw["quantity"] > 0)
        & (raw["unit_price"] > 0)
        & ~raw["order_id"].str.startswith("C")
    )
    assert (
        usual.sum(),
        raw.loc[usual, "customer_id"].nunique(),
        raw.loc[usual, "order_id"].nunique(),
    ) == (397_884, 4_338, 18_532)
    kept = pd.read_parquet(KEPT.at(clean, table="order_items"))
    quarantine = pd.read_parquet(QUARANTINE.at(clean, table="order_items"))
    assert len(kept) + len(quarantine) == len(raw)
    ours = raw["_row"].isin(kept["_row"])
    assert not (ours & ~usual).any(), "a line the usual recipe drops was kept"
    # Every line the usual recipe keeps and we set aside is named by one of our rules.
    explained = (
        quarantine[quarantine["_row"].isin(raw.loc[usual & ~ours, "_row"])]["_rule"]
        .value_counts()
        .to_dict()
    )
    assert sum(explained.values()) == (usual & ~ours).sum()
    assert set(explained) == {"exact_duplicate", "non_product"}
    assert explained["exact_duplicate"] <= 5_268
    # Cancellations with a customer, matched to the latest earlier purchase line of the
    # same customer and product: 2,918 of 8,872 cancel a whole line, 4,563 part of one;
    # 1,391 cancel more than any earlier line (several purchases, or one from before the
    # data's start) and say so.
    cancels = quarantine[quarantine["_rule"] == "cancellation"]["_detail"]
    assert (
        len(cancels),
        cancels.str.fullmatch(r"cancels \d+").sum(),
        cancels.str.fullmatch(r"cancels \d+ of \d+ from \d+").sum(),
        (cancels == "original purchase not in the data").sum(),
    ) == (8_872, 2_918, 4_563, 1_391)


@pytest.mark.slow
@on_run("cdnow")
def test_cdnow_keeps_zero_value_transactions_as_the_papers_do(
    config_run: Callable[[str], CliRun],
) -> None:
    """The config keeps them (``clean.keep_zero_price``), marked as free."""
    run = config_run("cdnow")
    assert run.manifest["config"]["clean"]["keep_zero_price"]
    kept = pd.read_parquet(KEPT.at(run.stages["02_clean"], table="order_items"))
    assert (
        len(kept) == 6_919 and kept["customer_id"].nunique() == 2_357 and kept["is_free"].sum() > 0
    )


# --- a run that keeps nothing, or little, stops -------------------------------------------

LINES = "Invoice,Customer,When,Item,Qty,Price\n"
MAPPING = {"Invoice": "order_id", "Customer": "customer_id", "When": "order_ts",
           "Item": "product_id", "Qty": "quantity", "Price": "unit_price"}  # fmt: skip


def _own_lines(folder: Path, text: str, **clean: object) -> dict:
    (folder / "lines.csv").write_text(LINES + text)
    return {
        "run": {"name": "own", "stages": ["01_ingest", "02_clean"]},
        "source": {"kind": "files", "path": str(folder),
                   "tables": {"order_items": {"file": "lines.csv", "columns": MAPPING}}},
        "clean": clean,
        "data": {"dir": str(folder / "data")},
    }  # fmt: skip


def test_a_table_that_keeps_no_row_stops_the_run_naming_its_rules(tmp_path: Path) -> None:
    """Every line is a guest order: the run used to succeed with nothing to analyse."""
    tree = _own_lines(tmp_path, "1,,2024-05-01 10:00:00,A,1,2\n2,,2024-05-01 11:00:00,B,1,2\n")
    own = tmp_path / "own.yaml"
    own.write_text(yaml.safe_dump(tree))
    result = cli("--config", str(own), *isolated_sets(tmp_path))
    assert result.returncode == 1
    assert "table order_items: no row is kept" in result.stderr
    assert "all 2 rows (guest_order 2;" in result.stderr


def test_a_table_losing_more_than_the_allowed_share_stops_naming_the_rules(
    tmp_path: Path,
) -> None:
    rows = "1,K1,2024-05-01 10:00:00,A,1,2\n2,,2024-05-01 11:00:00,B,1,2\n3,,2024-05-01 12:00:00,C,1,2\n"
    with pytest.raises(QuarantineError) as err:
        ensure_stage(config_from_dict(_own_lines(tmp_path, rows)), "02_clean")
    assert "table order_items: the cleaning rules set aside 2 of 3 rows (66.7%)" in str(err.value)
    assert "more than clean.max_quarantined_share (50%): guest_order 2" in str(err.value)
    allowed = config_from_dict(_own_lines(tmp_path, rows, max_quarantined_share=0.7))
    assert (
        stage_findings(ensure_stage(allowed, "02_clean"))["tables"]["order_items"]["kept_rows"] == 1
    )
