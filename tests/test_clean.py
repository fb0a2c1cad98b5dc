"""Cleaning against the synthetic shop's truth: every planted defect caught by its rule, nothing else."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pytest

from customer_analytics.clean.engine import load_rules
from customer_analytics.clean.stage import run_clean
from customer_analytics.config import load_config
from customer_analytics.ingest import read_ingested
from customer_analytics.stage import ensure_stage

ROOT = Path(__file__).resolve().parents[1]

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


@pytest.fixture(scope="module", params=["tiny", pytest.param("default", marks=pytest.mark.slow)])
def cleaned(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("clean")
    cfg = load_config(
        ROOT / "configs" / f"{request.param}.yaml",
        {"data.dir": str(base / "data"), "reports.dir": str(base / "reports")},
    )
    ingest = ensure_stage(cfg, "01_ingest")
    out = base / "clean"
    out.mkdir()
    findings = run_clean(cfg, {"01_ingest": ingest}, out)
    truth = cfg.source_path / "truth"
    return {"out": out, "ingest": ingest, "findings": findings, "truth": truth}


def caught(cleaned: dict) -> pd.DataFrame:
    """Every (table, key, defect) the cleaning stage attributes to a rule."""
    out, ingest = cleaned["out"], cleaned["ingest"]
    rows = []
    for (table, rule), defect in CAUGHT_BY.items():
        quarantine = pd.read_parquet(out / "quarantine" / f"{table}.parquet")
        hit = quarantine[quarantine["_rule"] == rule]
        fixes_file = out / "fixes" / f"{table}.parquet"
        if fixes_file.is_file():
            fixes = pd.read_parquet(fixes_file)
            raw = read_ingested(ibis.duckdb.connect(), ingest / f"{table}.parquet").execute()
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
    quarantine = pd.read_parquet(cleaned["out"] / "quarantine" / f"{table}.parquet")
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
        kept = pd.read_parquet(cleaned["out"] / f"{table}.parquet")
        assert len(kept) == acc["kept_rows"]


def test_orders_carry_the_merged_customer_id(cleaned: dict) -> None:
    orders = pd.read_parquet(cleaned["out"] / "orders.parquet")
    truth = pd.read_parquet(cleaned["truth"] / "customers.parquet").set_index("customer_id")
    expected = orders["account_id"].map(truth["canonical_customer_id"])
    assert (orders["customer_id"] == expected).all()
    assert (orders["account_id"] != orders["customer_id"]).any()
    customers = pd.read_parquet(cleaned["out"] / "customers.parquet")
    assert set(orders["customer_id"]) <= set(customers["customer_id"])


def test_cancellations_name_the_purchase_they_cancel(cleaned: dict) -> None:
    quarantine = pd.read_parquet(cleaned["out"] / "quarantine" / "orders.parquet")
    cancels = quarantine[quarantine["_rule"] == "cancellation"]
    assert len(cancels) > 0
    assert (cancels["_detail"] == "cancels " + cancels["original_order_id"]).all()


def test_amounts_that_are_not_numbers_are_quarantined_with_the_value(tmp_path: Path) -> None:
    import ibis

    from customer_analytics.clean.engine import CleanContext
    from customer_analytics.clean.stage import _reference, clean_tables

    con = ibis.duckdb.connect()
    text = {
        "order_id": "string",
        "customer_id": "string",
        "order_ts": "string",
        "status": "string",
        "_row": "int64",
    }
    orders = ibis.memtable(
        pd.DataFrame(
            {
                "order_id": ["O1"],
                "customer_id": ["K1"],
                "order_ts": ["2025-01-02 10:00:00"],
                "status": ["completed"],
                "_row": [1],
            }
        ),
        schema=text,
    )
    lines = pd.DataFrame(
        {"order_id": ["O1", "O1", "O1"], "line_no": ["1", "2", "3"], "product_id": ["P1", "P2", "P3"],
         "quantity": ["2", "two", "1"], "unit_price": ["9.90", "5.00", "1,50"], "line_amount": ["19.80", "10", "1.5"], "_row": [1, 2, 3]}
    )  # fmt: skip
    items = ibis.memtable(
        lines, schema={c: "string" for c in lines.columns if c != "_row"} | {"_row": "int64"}
    )
    ctx = CleanContext(None, "UTC", {}, _reference(con))
    accounting = clean_tables(con, {"orders": orders, "order_items": items}, ctx, tmp_path)
    assert accounting["order_items"]["quarantined_by_rule"] == {"not_a_number": 2}
    quarantine = pd.read_parquet(tmp_path / "quarantine" / "order_items.parquet").sort_values(
        "_row"
    )
    assert list(quarantine["_detail"]) == ["quantity=two", "unit_price=1,50"]
    # Quarantined rows keep every value as delivered, the typed columns' text included.
    assert list(quarantine["quantity"]) == ["two", "1"]
    assert list(quarantine["unit_price"]) == ["5.00", "1,50"]
    kept = pd.read_parquet(tmp_path / "order_items.parquet")
    assert kept["quantity"].tolist() == [2] and kept["unit_price"].tolist() == [9.9]
    # The working tables are gone once the outputs are written (they hold every row).
    assert con.raw_sql("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall() == []


def test_line_level_export_rules_and_derived_orders(tmp_path: Path) -> None:
    """An Online-Retail-shaped export: one table of invoice lines, no orders table."""
    import ibis

    from customer_analytics.clean.engine import CleanContext
    from customer_analytics.clean.stage import _reference, clean_tables

    rows = [  # order_id, product_id, quantity, unit_price, customer_id, order_ts
        ("536365", "85123A", "6", "2.55", "17850", "2010-12-01 08:26:00"),
        ("536365", "71053", "6", "3.39", "17850", "2010-12-01 08:26:00"),
        ("536365", "71053", "6", "3.39", "17850", "2010-12-01 08:26:00"),  # exact duplicate
        ("C536379", "D", "-1", "27.50", "14527", "2010-12-01 09:41:00"),  # cancellation
        ("536380", "22139", "2", "1.00", "14527", "2010-12-01 09:00:00"),
        ("C536390", "22139", "-2", "1.00", "14527", "2010-12-01 10:00:00"),  # cancels 536380
        ("C536395", "22139", "-1", "1.00", "14527", "2010-12-01 10:05:00"),  # part of 536380
        ("C536396", "22139", "-3", "1.00", "14527", "2010-12-01 10:06:00"),  # more than bought
        ("A563185", "B", "1", "11062.06", None, "2011-08-12 14:50:00"),  # bad debt (guest first)
        ("A563186", "B", "1", "-11062.06", "12345", "2011-08-12 14:51:00"),  # bad debt adjustment
        ("536370", "POST", "3", "18.00", "12583", "2010-12-01 08:45:00"),  # postage
        ("536414", "22139", "56", "0.00", None, "2010-12-01 11:52:00"),  # guest
        ("536589", "21777", "-10", "0.00", "12345", "2010-12-01 16:50:00"),  # negative quantity
        ("536590", "21777", "2", "0.00", "12345", "2010-12-01 16:51:00"),  # zero price
        ("536591", "21777", "1", "1.25", "12345", "2011-12-10 10:00:00"),  # after the data's end
    ]
    cols = ["order_id", "product_id", "quantity", "unit_price", "customer_id", "order_ts"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["_row"] = range(1, len(frame) + 1)
    con = ibis.duckdb.connect()
    table = ibis.memtable(frame, schema={c: "string" for c in cols} | {"_row": "int64"})
    ctx = CleanContext(ibis.timestamp("2011-12-09 12:50:00"), "Europe/London", {}, _reference(con))
    accounting = clean_tables(con, {"order_items": table}, ctx, tmp_path)["order_items"]
    assert accounting["quarantined_by_rule"] == {
        "exact_duplicate": 1, "guest_order": 2, "after_data_end": 1, "cancellation": 4,
        "bad_debt_adjustment": 1, "non_product": 1, "negative_quantity": 1, "zero_price": 1,
    }  # fmt: skip
    assert accounting["kept_rows"] == 3
    quarantine = pd.read_parquet(tmp_path / "quarantine" / "order_items.parquet").set_index(
        "order_id"
    )
    assert quarantine.loc["C536390", "_detail"] == "cancels 536380"
    assert quarantine.loc["C536395", "_detail"] == "cancels 1 of 2 from 536380"
    assert quarantine.loc["C536396", "_detail"] == "original purchase not in the data"
    assert quarantine.loc["C536379", "_detail"] == "original purchase not in the data"
    orders = pd.read_parquet(tmp_path / "orders.parquet").sort_values("order_id")
    assert orders.to_dict("records")[0] | {"order_ts_utc": None} == {
        "order_id": "536365", "customer_id": "17850", "revenue": pytest.approx(6 * 2.55 + 6 * 3.39),
        "n_lines": 2, "order_ts_utc": None,
    }  # fmt: skip
    assert list(orders["order_id"]) == ["536365", "536380"]


def test_order_revenue_is_the_kept_lines_less_the_discount(cleaned: dict) -> None:
    """Recomputed with pandas from the delivered text, not from the stage's own outputs."""
    out, ingest = cleaned["out"], cleaned["ingest"]
    orders = pd.read_parquet(out / "orders.parquet").set_index("order_id")
    raw_lines = read_ingested(ibis.duckdb.connect(), ingest / "order_items.parquet").execute()
    kept_rows = pd.read_parquet(out / "order_items.parquet")["_row"]
    lines = raw_lines[raw_lines["_row"].isin(kept_rows)]
    items = pd.to_numeric(lines["line_amount"]).groupby(lines["order_id"]).sum()
    expected = items.reindex(orders.index) - orders["discount_amount"].fillna(0)
    expected = expected.fillna(0.0)  # no kept line: nothing of its value is known
    assert orders["revenue"].to_numpy() == pytest.approx(expected.round(2).to_numpy(), abs=0.011)
    assert (orders.loc[orders["is_return"], "revenue"] <= 0).all()
    assert (orders.loc[~orders["is_return"], "n_lines"] > 0).mean() > 0.99


def test_identity_resolution_follows_chains_of_alternating_keys() -> None:
    """a-b share an e-mail, b-c a phone, c-d an e-mail: one person, named by the oldest
    (d); e shares nothing; f and g share only a null. The rounds run on linked accounts
    only, so the accounts alone must still be mapped to themselves."""
    from customer_analytics.clean.identity import resolve

    accounts = ibis.memtable(
        pd.DataFrame(
            {
                "customer_id": list("abcdefg"),
                "signup_ts_utc": pd.to_datetime(
                    [
                        "2024-05-01",
                        "2024-04-01",
                        "2024-03-01",
                        "2024-01-01",
                        "2023-01-01",
                        "2024-06-01",
                        "2024-07-01",
                    ]
                ),  # fmt: skip
                "email_hash": ["e1", "e1", "e2", "e2", "e3", None, None],
                "phone_hash": ["p1", "p2", "p2", "p3", "p4", None, None],
            }
        )
    )
    con = ibis.duckdb.connect()
    names = iter(range(100))

    def materialise(table: ibis.Table) -> ibis.Table:
        return con.create_table(f"t{next(names)}", obj=table, temp=True)

    got = resolve(con.create_table("accounts", accounts), ["email_hash", "phone_hash"], materialise)
    got = got.to_pandas().set_index("customer_id")
    assert got["merged_customer_id"].to_dict() == {
        "a": "d", "b": "d", "c": "d", "d": "d", "e": "e", "f": "f", "g": "g"
    }  # fmt: skip
    assert got["matched_on"].to_dict() == {
        "a": "email_hash", "b": "email_hash", "c": "email_hash", "d": "email_hash",
        "e": "", "f": "", "g": "",
    }  # fmt: skip
