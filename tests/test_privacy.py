"""Pseudonymisation at the door and small-group suppression."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import ibis
import pandas as pd
import pytest
import yaml
from support import cli, isolated_sets

from customer_analytics import privacy
from customer_analytics.config import SECRET_ENV


def _pseudonymised(frame: pd.DataFrame, key: bytes) -> tuple[pd.DataFrame, list[str]]:
    table, treated = privacy.pseudonymise(ibis.memtable(frame), key)
    return table.execute(), treated


def test_email_and_phone_match_after_normalisation_and_values_are_gone() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "name": ["Li Wei", "Li Wei", "Wang Fang"],
            "email": [" Li.Wei@Example.com", "li.wei@example.com ", "wang@example.com"],
            "phone": ["138-0013-8000", "138 0013 8000", None],
        }
    )
    out, treated = _pseudonymised(frame, b"k")
    assert list(out.columns) == ["customer_id", "email_hash", "email_domain", "phone_hash"]
    assert list(out["email_domain"]) == ["example.com", "example.com", "example.com"]
    assert out.loc[0, "email_hash"] == out.loc[1, "email_hash"] != out.loc[2, "email_hash"]
    assert out.loc[0, "phone_hash"] == out.loc[1, "phone_hash"]
    assert pd.isna(out.loc[2, "phone_hash"])
    assert sorted(treated) == ["email", "name", "phone"]
    text = out.drop(columns="email_domain").to_csv()
    assert "example.com" not in text and "13800138000" not in text and "Li Wei" not in text


@pytest.mark.parametrize("key", [b"k", b"x" * 64, b"a much longer key " * 8])
def test_hash_is_rfc_2104_hmac_sha256_of_the_normalised_value(key: bytes) -> None:
    """Checked against Python's own hmac module, keys shorter, equal to and over one block."""
    frame = pd.DataFrame({"email": [" Ü.Wei@Mail.COM ", None], "phone": ["+86 138-0013", "n/a"]})
    out, _ = _pseudonymised(frame, key)
    expected = hmac.new(key, "ü.wei@mail.com".encode(), hashlib.sha256).hexdigest()
    assert out.loc[0, "email_hash"] == expected
    assert out.loc[0, "phone_hash"] == hmac.new(key, b"861380013", hashlib.sha256).hexdigest()
    assert pd.isna(out.loc[1, "email_hash"]) and pd.isna(out.loc[1, "phone_hash"])


def test_key_never_appears_in_the_sql() -> None:
    key = b"s3cret-key-value"
    table, _ = privacy.pseudonymise(ibis.memtable({"email": ["a@b.cn"]}), key)
    sql = str(ibis.to_sql(table, dialect="duckdb"))
    ipad, opad = privacy._pads(key)
    for secret in (key, ipad, opad):
        assert secret.hex() not in sql.lower()
        assert "s3cret" not in sql and "\\x" not in sql


def test_hash_depends_on_key() -> None:
    frame = pd.DataFrame({"email": ["x@y.cn"]})
    assert (
        _pseudonymised(frame, b"one")[0].iloc[0, 0] != _pseudonymised(frame, b"two")[0].iloc[0, 0]
    )


def test_missing_key_refuses_with_instructions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(privacy.SECRET_ENV, raising=False)
    with pytest.raises(privacy.MissingSecretError, match="CUSTOMER_ANALYTICS_SECRET"):
        privacy.pseudonymisation_key(dev_key_allowed=False, source="shop.csv")


def test_dev_key_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(privacy.SECRET_ENV, raising=False)
    assert privacy.pseudonymisation_key(dev_key_allowed=True, source="synthetic") == privacy.DEV_KEY
    assert "DEVELOPMENT key" in caplog.text


def test_secret_from_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv(privacy.SECRET_ENV, secret)
    assert privacy.pseudonymisation_key(dev_key_allowed=True, source="x") == secret.encode()


@pytest.mark.parametrize("secret", [" ", "s3cret", "x" * 31])
def test_a_short_secret_is_refused_with_how_to_make_one(
    monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    """Under 32 bytes a key is refused (even with the development key allowed): the
    message says how long it is, how to make one and that a new key changes every
    pseudonym."""
    monkeypatch.setenv(privacy.SECRET_ENV, secret)
    with pytest.raises(privacy.WeakSecretError) as refused:
        privacy.pseudonymisation_key(dev_key_allowed=True, source="x")
    message = str(refused.value)
    assert f"is {len(secret)} bytes long" in message and "at least 32" in message
    assert "secrets.token_hex(32)" in message and "changes every pseudonym" in message
    if secret.strip():
        assert secret not in message, "the message must not echo the key"


def test_small_groups_are_suppressed() -> None:
    table = pd.DataFrame(
        {"segment": ["Big", "Tiny"], "customers": [120, 4], "revenue": [1000.0, 35.0]}
    )
    shown = privacy.suppress_small_groups(table, "customers", 10, label_column="segment")
    assert shown.loc[0, "revenue"] == 1000.0
    assert shown.loc[1, "revenue"] is None and shown.loc[1, "customers"] is None
    assert "suppressed" in shown.loc[1, "segment"]


def test_small_cells_of_a_crosstab_are_masked_and_empty_ones_kept() -> None:
    table = pd.DataFrame({"a": [120, 4, 0], "b": [6, 10, 9]}, index=["x", "y", "z"])
    masked = privacy.suppress_small_cells(table, 10)
    assert masked.loc["x", "a"] == 120 and masked.loc["y", "b"] == 10
    assert masked.loc["z", "a"] == 0
    assert masked.isna().sum().sum() == 3  # 4, 6 and 9 people
    assert [privacy.count_for_report(n, 10) for n in (0, 1, 9, 10, 550)] == [
        0,
        "<10",
        "<10",
        10,
        550,
    ]


def test_pseudonymised_rows_keep_their_order() -> None:
    """The ingest stage numbers rows by their place in the written file, so the key must
    reach every row without a join (DuckDB does not keep row order through joins)."""
    n = 300_000
    frame = pd.DataFrame({"customer_id": range(n), "email": [f"u{i}@x.cn" for i in range(n)]})
    table, _ = privacy.pseudonymise(ibis.memtable(frame), b"k")
    assert "JOIN" not in str(ibis.to_sql(table, dialect="duckdb")).upper()
    assert (table.execute()["customer_id"].to_numpy() == range(n)).all()


# --- customer ids that are personal data, through the command line -----------------------

SECRET = "0123456789abcdef0123456789abcdef"


def _shop_with_email_ids(folder: Path, personal_ids: bool) -> Path:
    """A shop's own export whose customer ids are e-mail addresses, and its config."""
    folder.mkdir(parents=True, exist_ok=True)
    emails = [f"buyer{i}@example.com" for i in range(30)]
    pd.DataFrame({"Kunde": emails, "Stadt": ["Berlin"] * 30}).to_csv(
        folder / "customers.csv", index=False
    )
    pd.DataFrame(
        {
            "Bestellung": [f"O{i}" for i in range(60)],
            "Kunde": emails * 2,
            "Datum": ["2024-01-05 10:00:00"] * 30 + ["2024-03-05 10:00:00"] * 30,
            "Betrag": [20.0] * 60,
        }
    ).to_csv(folder / "orders.csv", index=False)
    tree = {
        "run": {"name": "own_ids", "stages": ["01_ingest", "02_clean", "03_rfm"]},
        "source": {
            "kind": "files",
            "path": str(folder),
            "tables": {
                "customers": {
                    "file": "customers.csv",
                    "columns": {"Kunde": "customer_id", "Stadt": "city"},
                    "personal_ids": personal_ids,
                },
                "orders": {
                    "file": "orders.csv",
                    "columns": {
                        "Bestellung": "order_id",
                        "Kunde": "customer_id",
                        "Datum": "order_ts",
                        "Betrag": "revenue",
                    },
                },
            },
        },
    }
    config = folder / "shop.yaml"
    config.write_text(yaml.safe_dump(tree))
    return config


def test_email_ids_stop_the_run_naming_the_column_and_the_setting(tmp_path: Path) -> None:
    config = _shop_with_email_ids(tmp_path / "export", personal_ids=False)
    result = cli("--config", str(config), *isolated_sets(tmp_path), env={SECRET_ENV: SECRET})
    assert result.returncode == 1
    assert "table customers, column customer_id has values 30 that look like e-mail" in (
        result.stderr
    )
    assert "source.tables.customers.personal_ids: true" in result.stderr
    assert "@example.com" not in result.stderr + result.stdout
    for path in tmp_path.rglob("*"):
        if path.is_file() and "export" not in path.parts:
            assert b"@example.com" not in path.read_bytes(), path


def test_declared_personal_ids_are_pseudonymised_alike_in_every_table(tmp_path: Path) -> None:
    config = _shop_with_email_ids(tmp_path / "export", personal_ids=True)
    result = cli("--config", str(config), *isolated_sets(tmp_path), env={SECRET_ENV: SECRET})
    assert result.returncode == 0, result.stderr
    data = next((tmp_path / "data" / "runs").iterdir())
    customers = pd.read_parquet(data / "02_clean" / "customers.parquet")
    orders = pd.read_parquet(data / "02_clean" / "orders.parquet")
    rfm = pd.read_parquet(data / "03_rfm" / "customers_rfm.parquet")
    assert customers["customer_id"].str.fullmatch(r"[0-9a-f]{64}").all()
    # The orders' ids were hashed in their own table the same way: every buyer is known.
    assert set(orders["customer_id"]) == set(customers["customer_id"])
    assert len(rfm) == 30 and (rfm["frequency"] == 2).all()
    for path in tmp_path.rglob("*"):
        if path.is_file() and "export" not in path.parts:
            assert b"@example.com" not in path.read_bytes(), path
