"""Pseudonymisation at the door and small-group suppression."""

from __future__ import annotations

import hashlib
import hmac

import ibis
import pandas as pd
import pytest

from customer_analytics import privacy


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
    monkeypatch.setenv(privacy.SECRET_ENV, "s3cret")
    assert privacy.pseudonymisation_key(dev_key_allowed=True, source="x") == b"s3cret"


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
