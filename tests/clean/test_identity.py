"""Identity resolution: accounts linked by shared e-mails or phones become one person."""

from __future__ import annotations

import ibis
import pandas as pd

from customer_analytics.clean.identity import resolve


def test_identity_resolution_follows_chains_of_alternating_keys() -> None:
    """a-b share an e-mail, b-c a phone, c-d an e-mail: one person, named by the oldest
    (d); e shares nothing; f and g share only a null. The rounds run on linked accounts
    only, so the accounts alone must still be mapped to themselves."""
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
