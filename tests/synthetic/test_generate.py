"""The synthetic shop: deterministic, sized as asked, and its truth agrees with its files."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
import yaml
from support import ROOT, CliRun, on_run

from customer_analytics.privacy import normalise_email, normalise_phone
from customer_analytics.synthetic import SIZES, generate

HERE = ROOT / "src" / "customer_analytics" / "synthetic"


def digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny")
    generate(out, size="tiny", seed=42)
    return out


@pytest.fixture
def default(config_run: Callable[[str], CliRun]) -> Path:
    """The default-size shop (seed 42) that the session's run of configs/default.yaml
    generated: its export and truth folders."""
    return Path(config_run("default").manifest["paths"]["truth"]).parent


def raw(shop: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(shop / "raw" / name, dtype=str, keep_default_na=False)


def test_same_seed_same_bytes_other_seed_other_data(tiny: Path, tmp_path: Path) -> None:
    # Another process with another hash seed: set and dict orders must not leak into data.
    script = f"from customer_analytics.synthetic import generate; generate({str(tmp_path / 'again')!r}, size='tiny', seed=42)"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script], check=True, env=env)
    generate(tmp_path / "other", size="tiny", seed=7)
    assert digest(tiny) == digest(tmp_path / "again")
    assert digest(tiny)["raw/orders.csv"] != digest(tmp_path / "other")["raw/orders.csv"]


def test_files_and_columns_are_the_documented_export(tiny: Path) -> None:
    spec = yaml.safe_load((HERE.parent / "sources" / "synthetic.yaml").read_text())["tables"]
    for table in spec.values():
        path = tiny / "raw" / table["file"]
        columns = (
            pd.read_parquet(path).columns
            if path.suffix == ".parquet"
            else raw(tiny, table["file"]).columns
        )
        assert list(columns) == list(table["columns"]), table["file"]


def test_sizes(tiny: Path) -> None:
    truth = pd.read_parquet(tiny / "truth" / "customers.parquet")
    people = truth[~truth["is_test_account"] & (truth["customer_id"] == truth["person_id"])]
    # the planted growth's newcomers (marketing.yaml) come on top of the size
    assert (~people["planted_growth"]).sum() == SIZES["tiny"]
    assert people["planted_growth"].sum() > 0
    assert set(truth["customer_id"]) == set(raw(tiny, "customers.csv")["customer_id"])


def test_truth_has_no_personal_data(tiny: Path) -> None:
    people = raw(tiny, "customers.csv")
    text = "".join(
        pd.read_parquet(p).astype(str).to_csv() for p in (tiny / "truth").glob("*.parquet")
    )
    text += "".join(p.read_text() for p in (tiny / "truth").glob("*.[jy]*"))
    assert not any(e in text for e in people["email"].head(200))
    assert not any(ph in text for ph in people["phone"].head(200))


def test_every_defect_key_exists_in_its_file(tiny: Path) -> None:
    defects = pd.read_parquet(tiny / "truth" / "defects.parquet")
    items = raw(tiny, "order_items.csv")
    keys = {
        "customers": set(raw(tiny, "customers.csv")["customer_id"]),
        "orders": set(raw(tiny, "orders.csv")["order_id"]),
        "order_items": set(items["order_id"] + "/" + items["line_no"]),
        "events": {
            str(i) for i in range(1, len(pd.read_parquet(tiny / "raw" / "events.parquet")) + 1)
        },
    }
    for table, part in defects.groupby("table"):
        missing = set(part["key"]) - keys[table]
        assert not missing, f"{table}: {sorted(missing)[:3]}"
    assert not defects.duplicated(["table", "key", "defect"]).any()


def _normalised(normalise, values: pd.Series) -> object:  # noqa: ANN001
    """The first value as the pipeline normalises it (the database does it at ingest)."""
    return ibis.literal(values.iloc[0], type="string").pipe(normalise).execute()


def test_duplicate_accounts_share_a_normalised_email_or_phone(tiny: Path) -> None:
    people = raw(tiny, "customers.csv").set_index("customer_id")
    dups = pd.read_parquet(tiny / "truth" / "defects.parquet").query(
        "defect == 'duplicate_account'"
    )
    assert len(dups) > 0
    for twin, original in zip(dups["key"], dups["detail"], strict=True):
        a, b = people.loc[[twin]], people.loc[[original]]
        same_email = _normalised(normalise_email, a["email"]) == _normalised(
            normalise_email, b["email"]
        )
        same_phone = _normalised(normalise_phone, a["phone"]) == _normalised(
            normalise_phone, b["phone"]
        )
        assert same_email or same_phone
        assert a["email"].iloc[0] != b["email"].iloc[0] or a["phone"].iloc[0] != b["phone"].iloc[0]
    truth = pd.read_parquet(tiny / "truth" / "customers.parquet").set_index("customer_id")
    assert (
        truth.loc[dups["key"], "canonical_customer_id"].to_numpy() == dups["detail"].to_numpy()
    ).all()


def test_cancellations_mirror_their_orders_and_returns_do_not_exceed_them(tiny: Path) -> None:
    orders = raw(tiny, "orders.csv").drop_duplicates()
    items = raw(tiny, "order_items.csv").drop_duplicates().astype({"quantity": int})
    reversals = orders[orders["status"].isin(["cancelled", "returned"])]
    assert len(reversals) > 0
    assert set(reversals["original_order_id"]) <= set(orders["order_id"])
    bought = items.groupby(["order_id", "product_id"])["quantity"].sum()
    for _, row in reversals.iterrows():
        lines = items[items["order_id"] == row["order_id"]]
        assert (lines["quantity"] < 0).all()
        for _, line in lines.iterrows():
            assert -line["quantity"] <= bought[(row["original_order_id"], line["product_id"])]


def test_experiments_truth_covers_every_arm_metric_and_persona(tiny: Path) -> None:
    design = yaml.safe_load((tiny / "truth" / "experiments.yaml").read_text())
    effects = pd.read_parquet(tiny / "truth" / "experiments.parquet")
    metrics = set(design["metrics"]) | set(design["ratio_metrics"])
    for name, spec in design["experiments"].items():
        part = effects[effects["experiment_id"] == name]
        assert set(part["arm"]) == set(spec["arms"]) and set(part["metric"]) == metrics
        assert "all" in set(part["segment"])
    aa = effects[effects["experiment_id"].isin(["aa_test", "srm_broken"])]
    assert np.allclose(aa["true_lift_abs"].fillna(0), 0)
    exposures = raw(tiny, "exposures.csv")
    holdout = yaml.safe_load((tiny / "truth" / "marketing.yaml").read_text())["holdout"]
    assert set(exposures["experiment_id"]) == {*design["experiments"], holdout["experiment"]}


def test_single_bgnbd_mode_is_recovered_by_lifetimes(tmp_path: Path) -> None:
    from lifetimes import BetaGeoFitter
    from lifetimes.utils import summary_data_from_transaction_data

    planted = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    generate(tmp_path, n_customers=5000, mode="bgnbd", bgnbd_params=planted, events=False, seed=42)
    orders = pd.read_csv(tmp_path / "raw" / "orders.csv", dtype=str)
    assert len(pd.read_parquet(tmp_path / "truth" / "defects.parquet")) == 0
    orders["ts"] = pd.to_datetime(orders["order_ts"])
    summary = summary_data_from_transaction_data(
        orders, "customer_id", "ts", observation_period_end="2025-12-31 23:59:59", freq="h"
    )
    # Hours, then weeks: daily periods would merge same-day purchases and bias alpha up.
    fitter = BetaGeoFitter().fit(summary["frequency"], summary["recency"] / 168, summary["T"] / 168)
    for name, value in planted.items():
        # Three standard errors per parameter: about a 1% chance that one of four misses.
        assert abs(fitter.params_[name] - value) < 3 * fitter.standard_errors_[name], (
            name,
            fitter.params_[name],
        )


def test_planted_traits_are_decided_by_their_distributions() -> None:
    """A categorical trait is planted only where its value leads the runner-up by at least
    0.10 (gender: a female share at least 0.10 from the 0.4/0.6 edges of "mixed"); a tie
    cannot be recovered by any clustering, so it must not be in the truth."""
    personas = yaml.safe_load((HERE / "personas.yaml").read_text())
    tiers = [f"tier-{i}" for i in range(1, 6)]
    for name, spec in personas["personas"].items():
        distributions = {
            "age_band": spec["age"],
            "city_tier": dict(zip(tiers, spec["tiers"], strict=True)),
            "top_category": dict(zip(personas["categories"], spec["categories"], strict=True)),
            "channel": dict(zip(personas["channels"], spec["channels"], strict=True)),
        }
        for trait, shares in distributions.items():
            ranked = sorted(shares.items(), key=lambda kv: -kv[1])
            decided = ranked[0][1] - ranked[1][1] >= 0.10 - 1e-9
            if trait in spec["traits"]:
                assert decided and spec["traits"][trait] == ranked[0][0], (name, trait)
        female = spec["female"]
        gender = "female" if female >= 0.6 else "male" if female < 0.4 else "mixed"
        margin = min(abs(female - 0.4), abs(female - 0.6))
        if "gender" in spec["traits"]:
            assert margin >= 0.10 - 1e-9 and spec["traits"]["gender"] == gender, name


@pytest.mark.slow
@on_run("default")
def test_default_size_persona_shares_and_defect_rates(default: Path) -> None:
    meta = yaml.safe_load((HERE / "personas.yaml").read_text())["personas"]
    rates = yaml.safe_load((HERE / "defects.yaml").read_text())
    truth = pd.read_parquet(default / "truth" / "customers.parquet")
    planted = truth[truth["customer_id"] == truth["person_id"]]
    # The shop's own people: not its test accounts, nor the planted growth's newcomers.
    planted = planted[~planted["is_test_account"] & ~planted["planted_growth"]]
    assert len(planted) == SIZES["default"]
    shares = planted["persona"].value_counts(normalize=True)
    for name, spec in meta.items():
        assert abs(shares[name] - spec["share"]) < 0.015, name
    defects = (
        pd.read_parquet(default / "truth" / "defects.parquet").groupby(["table", "defect"]).size()
    )
    people = len(planted)
    assert abs(defects[("customers", "city_spelling")] / people - rates["city_spelling"]) < 0.01
    assert abs(defects[("customers", "test_account")] / people - rates["test_account"]) < 0.002
    orders = raw(default, "orders.csv")
    completed = (orders["status"] == "completed").sum()
    assert abs(defects[("orders", "guest_order")] / completed - rates["guest_order"]) < 0.005
    assert (
        abs(
            defects[("orders", "nonstandard_timestamp")] / completed
            - rates["nonstandard_timestamp"]
        )
        < 0.006
    )
    assert abs(defects[("orders", "cancellation")] / completed - rates["cancellation"]) < 0.005
    lines = len(raw(default, "order_items.csv"))
    assert (
        abs(
            defects[("order_items", "exact_duplicate")] / lines
            - rates["exact_duplicate_order_items"]
        )
        < 0.003
    )


@pytest.mark.slow
@on_run("default")
def test_default_experiments_have_detectable_planted_effects(default: Path) -> None:
    effects = pd.read_parquet(default / "truth" / "experiments.parquet").query("segment == 'all'")
    push = effects.query(
        "experiment_id == 'push_personalised' and metric == 'conversion' and arm == 'treatment'"
    )
    assert push["true_lift_rel"].iloc[0] > 0.15
    free = effects.query("experiment_id == 'free_shipping' and arm == 'free'").set_index("metric")
    assert free.loc["conversion", "true_lift_rel"] > 0.1
    assert free.loc["margin_per_order", "true_lift_rel"] < -0.05
    exposures = raw(default, "exposures.csv").query("experiment_id == 'srm_broken'")
    share = (exposures["variant"] == "control").mean()
    assert share < 0.485
