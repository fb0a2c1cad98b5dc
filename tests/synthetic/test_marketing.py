"""The synthetic shop's marketing: touches, the orders they bring, the holdout and the fade
are what marketing.yaml plants, and the truth agrees with the export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from customer_analytics.synthetic import generate, marketing

PLAN = marketing.load()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shop")
    generate(out, n_customers=3000, seed=3)
    return out


def read(shop: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(shop / "raw" / name, dtype=str, keep_default_na=False)


def test_every_order_marketing_brought_is_in_the_export_after_its_touch(shop: Path) -> None:
    brought = pd.read_parquet(shop / "truth" / "marketing_orders.parquet")
    orders = read(shop, "orders.csv").drop_duplicates("order_id").set_index("order_id")
    assert brought["order_id"].isin(orders.index).all()
    assert (
        orders.loc[brought["order_id"], "customer_id"].to_numpy() == brought["customer_id"]
    ).all()
    messages = read(shop, "messages.csv")
    sent = messages.assign(at=pd.to_datetime(messages["sent_ts"]))
    by_message = brought[brought["channel"].isin(list(PLAN["channels"]))]
    touched = by_message.merge(sent, on=["customer_id", "channel", "campaign_id"])
    after = touched[(touched["at"] <= pd.to_datetime(touched["order_ts"]))
                    & (pd.to_datetime(touched["order_ts"]) - touched["at"] <= pd.Timedelta(days=PLAN["window_days"] + 1))]  # fmt: skip
    assert set(after["order_id"]) == set(by_message["order_id"])


def test_holdout_customers_get_no_message_on_the_channel_after_assignment(shop: Path) -> None:
    hold = PLAN["holdout"]
    exposures = read(shop, "exposures.csv")
    arms = exposures[exposures["experiment_id"] == hold["experiment"]]
    assert set(arms["variant"]) == set(hold["arms"])
    share = (arms["variant"] == hold["arms"][1]).mean()
    assert abs(share - hold["share"]) < 0.04
    held = arms[arms["variant"] == hold["arms"][1]].set_index("customer_id")["assigned_ts"]
    messages = read(shop, "messages.csv")
    mine = messages[
        (messages["channel"] == hold["channel"]) & messages["customer_id"].isin(held.index)
    ]
    assert (
        pd.to_datetime(mine["sent_ts"])
        < pd.to_datetime(held.reindex(mine["customer_id"])).to_numpy()
    ).all()
    brought = pd.read_parquet(shop / "truth" / "marketing_orders.parquet")
    late = brought[
        (brought["channel"] == hold["channel"]) & brought["customer_id"].isin(held.index)
    ]
    assert (
        pd.to_datetime(late["order_ts"])
        < pd.to_datetime(held.reindex(late["customer_id"])).to_numpy() + pd.Timedelta(days=4)
    ).all()


def test_the_fading_channel_brings_fewer_orders_per_message_in_its_last_weeks(shop: Path) -> None:
    fade = PLAN["fade"]
    messages = read(shop, "messages.csv")
    brought = pd.read_parquet(shop / "truth" / "marketing_orders.parquet")
    start = pd.to_datetime(messages["sent_ts"]).max().normalize() - pd.Timedelta(
        weeks=fade["weeks_before_end"]
    )
    rate = []
    for late in (False, True):
        sent = messages[
            (messages["channel"] == fade["channel"])
            & ((pd.to_datetime(messages["sent_ts"]) >= start) == late)
        ]
        got = brought[
            (brought["channel"] == fade["channel"])
            & ((pd.to_datetime(brought["order_ts"]) >= start) == late)
        ]
        rate.append(len(got) / len(sent))
    assert rate[1] < 0.5 * rate[0]


def test_in_app_messages_follow_a_cart_and_intent_raises_clicks(shop: Path) -> None:
    messages = read(shop, "messages.csv")
    in_app = messages[messages["channel"] == "in_app"]
    assert (in_app["campaign_id"] == "in_app-cart").all()
    # Clicks are more common before an order: intent raises the touch (last-touch's bias).
    orders = read(shop, "orders.csv")
    orders = orders[orders["status"] == "completed"]
    email = messages[messages["channel"] == "email"].assign(
        at=lambda d: pd.to_datetime(d["sent_ts"])
    )
    o = orders.assign(ot=pd.to_datetime(orders["order_ts"], errors="coerce"))[["customer_id", "ot"]]
    joined = email.merge(o, on="customer_id")
    soon = joined[
        (joined["ot"] > joined["at"]) & (joined["ot"] - joined["at"] < pd.Timedelta(days=7))
    ]
    near = email["message_id"].isin(soon["message_id"])
    clicked = email["clicked_ts"] != ""
    assert clicked[near].mean() > 2 * clicked[~near].mean()


def test_spend_and_session_sources(shop: Path) -> None:
    spend = read(shop, "spend.csv")
    assert set(spend["channel"]) == {"paid_ads", "affiliate"}
    assert (spend["cost"].astype(float) > 0).all()
    assert np.isin(pd.read_parquet(shop / "raw" / "events.parquet")["source"].dropna().unique(),
                   [*PLAN["sources"], *PLAN["channels"]]).all()  # fmt: skip


def test_the_planted_growth_signs_up_buyers_of_one_persona_in_the_last_weeks(shop: Path) -> None:
    """The newcomers of marketing.yaml's growth are in the truth, of the growing persona,
    sign up within its last weeks and buy then: the persona's sign-ups in those weeks
    are more than the same span just before brought (the usual flow)."""
    grow = PLAN["growth"]
    truth = pd.read_parquet(shop / "truth" / "customers.parquet")
    new = truth[truth["planted_growth"]]
    assert len(new) == round(grow["customers"] * 3000) > 0
    assert (new["persona"] == grow["persona"]).all()
    customers = read(shop, "customers.csv").drop_duplicates("customer_id").set_index("customer_id")
    signup = pd.to_datetime(customers["signup_ts"], errors="coerce")  # some are malformed
    end = pd.Timestamp(json.loads((shop / "truth" / "params.json").read_text())["end"])
    start = end - pd.Timedelta(weeks=grow["weeks_before_end"]) + pd.Timedelta(days=1)
    theirs = signup.reindex(new["customer_id"]).dropna()
    assert len(theirs) > 0.9 * len(new)
    assert ((theirs >= start) & (theirs < end + pd.Timedelta(days=1))).all()
    bought = read(shop, "orders.csv")["customer_id"]
    assert new["customer_id"].isin(bought).all()
    persona = truth.drop_duplicates("customer_id").set_index("customer_id")["persona"]
    mine = signup[persona.reindex(signup.index) == grow["persona"]]
    late = ((mine >= start) & (mine < end + pd.Timedelta(days=1))).sum()
    before = ((mine >= start - (end - start)) & (mine < start)).sum()
    assert late > before + 0.5 * len(new)
