"""The marketing tables' rules: a shop's own messages and spend, read through the
mapped-files source and cleaned by the command line, each defect quarantined by its rule."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml
from support import run_config

from customer_analytics.clean.stage import KEPT, QUARANTINE

LINES = "Invoice,Customer,When,Item,Qty,Price\n1,K1,2024-05-02 10:00:00,A,1,20\n"
MESSAGES = """id,customer,channel,campaign,sent,opened,clicked,cost
m1,K1,push,spring,2024-05-01 09:00:00,2024-05-01 09:05:00,2024-05-01 09:06:00,0.01
m1,K1,push,spring,2024-05-01 09:00:00,2024-05-01 09:05:00,2024-05-01 09:06:00,0.01
m2,K1,sms,spring,2024-05-01 09:00:00,,,n/a
m3,K1,sms,spring,,,,0.05
m4,K1,sms,spring,2024-05-01 09:00:00,last week,,0.05
m5,K1,fax,spring,2024-05-01 09:00:00,,,0.05
m6,K1,email,spring,2024-05-01 09:00:00,,2024-05-01 08:00:00,0.02
m7,K1,push,spring,2024-05-01 09:00:00,,,-0.01
m8,K1, SMS ,spring,2024-05-01 09:00:00,,,0.05
"""
SPEND = """channel,campaign,week,cost
search,spring,2024-W18,100
search,spring,2024-W18,100
social,spring,2024-W18,about 50
carrier pigeon,spring,2024-W18,5
paid_ads,spring,2024-W18,-3
affiliate,spring,2024-W18,12.5
E-Mail,spring,2024-W18,7
"""


def _own_shop(folder: Path) -> Path:
    for name, text in (("lines.csv", LINES), ("messages.csv", MESSAGES), ("spend.csv", SPEND)):
        (folder / name).write_text(text)
    tables = {
        "order_items": {"file": "lines.csv", "columns": {
            "Invoice": "order_id", "Customer": "customer_id", "When": "order_ts",
            "Item": "product_id", "Qty": "quantity", "Price": "unit_price"}},
        "messages": {"file": "messages.csv", "columns": {
            "id": "message_id", "customer": "customer_id", "channel": "channel",
            "campaign": "campaign_id", "sent": "sent_ts", "opened": "opened_ts",
            "clicked": "clicked_ts", "cost": "cost"}},
        "spend": {"file": "spend.csv", "columns": {
            "channel": "channel", "campaign": "campaign_id", "week": "week", "cost": "cost"}},
    }  # fmt: skip
    config = folder / "own.yaml"
    config.write_text(yaml.safe_dump({
        "run": {"name": "own", "stages": ["01_ingest", "02_clean"]},
        "source": {"kind": "files", "path": str(folder), "tables": tables},
        "clean": {"max_quarantined_share": 0.9},
    }))  # fmt: skip
    return config


def test_each_message_and_spend_defect_is_quarantined_by_its_rule(tmp_path: Path) -> None:
    run = run_config(_own_shop(tmp_path), tmp_path)
    assert run.ok, run.process.stderr
    clean = run.stages["02_clean"]
    messages = pd.read_parquet(QUARANTINE.at(clean, table="messages"))
    assert dict(zip(messages["message_id"], messages["_rule"], strict=True)) == {
        "m1": "exact_duplicate",
        "m2": "not_a_number",
        "m3": "sent_timestamp",
        "m4": "opened_timestamp",
        "m5": "unknown_channel",
        "m6": "touch_before_send",
        "m7": "negative_cost",
    }
    assert messages.set_index("message_id").loc["m2", "cost"] == "n/a"  # as delivered
    assert "clicked 2024-05-01 08:00:00" in messages.set_index("message_id").loc["m6", "_detail"]
    kept = pd.read_parquet(KEPT.at(clean, table="messages"))
    assert sorted(kept["message_id"]) == ["m1", "m8"]
    assert kept.set_index("message_id").loc["m8", "channel"] == "sms"  # delivered " SMS "
    assert kept["cost"].dtype == "float64"

    spend = pd.read_parquet(QUARANTINE.at(clean, table="spend"))
    assert sorted(zip(spend["channel"], spend["_rule"], strict=True)) == [
        ("carrier pigeon", "unknown_channel"),
        ("paid_ads", "negative_cost"),
        ("search", "exact_duplicate"),
        ("social", "not_a_number"),
    ]
    kept = pd.read_parquet(KEPT.at(clean, table="spend"))
    assert sorted(kept["channel"]) == ["affiliate", "email", "search"]  # "E-Mail" is e-mail
    found = run.findings("02_clean")["tables"]
    assert found["messages"]["kept_rows"] == 2 and found["spend"]["kept_rows"] == 3
