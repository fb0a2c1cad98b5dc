"""The planted item-level structure (synthetic/items.py): every earlier draw stays where
it was, and the orders show the popularity tail, the favourites, the staples on their
cycles, the pairs, the launches and the carts bought later that the truth records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from customer_analytics.synthetic.generate import HERE, generate
from customer_analytics.synthetic.items import CONSUMABLES

CUSTOMERS = 2000


def _shop(folder: Path, items: bool) -> dict[str, pd.DataFrame]:
    shop = generate(folder, n_customers=CUSTOMERS, seed=7, events=False, item_structure=items)
    tables = {
        t: pd.read_csv(shop.raw_dir / f"{t}.csv", dtype=str)
        for t in ("customers", "orders", "order_items", "products")
    }
    if items:
        for name in ("favourites", "staples", "pairs", "launches"):
            tables[name] = pd.read_parquet(shop.truth_dir / f"item_{name}.parquet")
    return tables


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, pd.DataFrame]]:
    return {
        "plain": _shop(tmp_path_factory.mktemp("plain"), items=False),
        "items": _shop(tmp_path_factory.mktemp("items"), items=True),
    }


@pytest.fixture(scope="module")
def lines(shops) -> pd.DataFrame:
    """The planted shop's purchase lines with customer, time and category."""
    tables = shops["items"]
    orders = tables["orders"][tables["orders"]["original_order_id"].isna()]
    joined = (
        tables["order_items"]
        .merge(orders[["order_id", "customer_id", "order_ts"]], on="order_id")
        .merge(tables["products"][["product_id", "category"]], on="product_id")
    )
    return joined.assign(order_ts=pd.to_datetime(joined["order_ts"], errors="coerce")).dropna(
        subset=["order_ts", "customer_id"]
    )


def test_no_earlier_draw_moves(shops) -> None:
    plain, planted = shops["plain"], shops["items"]
    pd.testing.assert_frame_equal(plain["customers"], planted["customers"])
    same = ["order_id", "customer_id", "order_ts", "channel", "device", "status"]
    pd.testing.assert_frame_equal(plain["orders"][same], planted["orders"][same])
    kept = ["order_id", "line_no", "quantity"]
    pd.testing.assert_frame_equal(plain["order_items"][kept], planted["order_items"][kept])
    category = plain["products"].set_index("product_id")["category"]
    before = plain["order_items"]["product_id"].map(category)
    after = planted["order_items"]["product_id"].map(category)
    assert (before == after).mean() > 0.99  # lines keep their category (defects aside)


def test_popularity_has_a_long_tail(lines) -> None:
    counts = lines["product_id"].value_counts()
    top = counts.head(len(counts) // 10).sum() / counts.sum()
    assert top > 0.3


def test_customers_buy_their_favourites(lines, shops) -> None:
    favourites = shops["items"]["favourites"]
    liked = set(zip(favourites["customer_id"], favourites["product_id"], strict=True))
    share = np.mean(
        [pair in liked for pair in zip(lines["customer_id"], lines["product_id"], strict=True)]
    )
    assert share > 0.2  # 3 of 80 products per category: 4% by chance


def test_staples_are_rebought_when_due(lines, shops) -> None:
    """A consumable line is the customer's staple when the staple is due (a cycle since
    they last bought it, or never bought), and seldom before: most customers order less
    often than their cycle, so most of their consumable lines are due."""
    staples = shops["items"]["staples"].set_index(["customer_id", "category"])
    consumable = lines[lines["category"].isin(list(CONSUMABLES))].sort_values("order_ts")
    due, hit = [], []
    for (customer, category), rows in consumable.groupby(["customer_id", "category"]):
        if (customer, category) not in staples.index:  # a duplicate account the defects add
            continue
        staple, cycle = staples.loc[(customer, category), ["product_id", "cycle_days"]]
        last = None
        for ts, product in zip(rows["order_ts"], rows["product_id"], strict=True):
            days = None if last is None else (ts - last).total_seconds() / 86400
            due.append(days is None or days >= 1.2 * cycle)
            hit.append(product == staple)
            last = ts if product == staple else last
    due, hit = np.array(due), np.array(hit)
    # Planted: 0.8 when due. The generator decides "due" on every simulated order, the
    # experiments' unrealised extra orders among them, and the data keep only the
    # realised ones: with four planted experiments the measured rate was 0.61, with the
    # coupon test (issue 21) 0.596.
    assert hit[due].mean() > 0.55
    assert hit[~due].mean() < hit[due].mean() / 2


def test_pairs_are_bought_together(lines, shops) -> None:
    pairs = shops["items"]["pairs"]
    baskets = lines.groupby("order_id")["product_id"].apply(set)
    together = [
        np.mean([b in basket for basket in baskets if a in basket])
        for a, b in zip(pairs["product_a"], pairs["product_b"], strict=True)
        if any(a in basket for basket in baskets)
    ]
    assert len(together) > len(pairs) / 2
    assert np.mean(together) > 0.2


def test_nothing_is_bought_before_its_launch(lines, shops) -> None:
    launches = shops["items"]["launches"].set_index("product_id")["launch_local"]
    launched = lines[lines["product_id"].isin(launches.index)]
    assert len(launched) > 0
    assert (launched["order_ts"] >= launched["product_id"].map(launches)).all()


def test_abandoned_carts_are_bought_later_at_each_personas_rate(tmp_path: Path) -> None:
    """A cart planted as bought later holds a product of the order it precedes, 1 to
    20 days later; per persona the share planted is the persona's cart_return_rate."""
    shop = generate(tmp_path, n_customers=CUSTOMERS, seed=7)
    carts = pd.read_parquet(shop.truth_dir / "item_carts.parquet")
    lines = pd.read_csv(shop.raw_dir / "order_items.csv", dtype=str)
    later = carts[carts["bought_later"]]
    held = later.merge(
        lines[["order_id", "product_id"]].drop_duplicates(), how="left", indicator=True
    )
    assert (held["_merge"] == "both").all()
    events = pd.read_parquet(shop.raw_dir / "events.parquet")
    carted = events[events["event_type"] == "add_to_cart"].groupby("session_id")["product_id"]
    held = carted.first().reindex(carts["session_id"]).to_numpy()  # a defect may repeat a row
    assert (held == carts["product_id"].to_numpy()).mean() > 0.99  # or drop one
    persona = pd.read_parquet(shop.truth_dir / "customers.parquet").set_index("customer_id")[
        "persona"
    ]
    rates = {name: spec["cart_return_rate"] for name, spec in _personas().items()}
    by_persona = carts.groupby(persona.reindex(carts["customer_id"]).to_numpy())["bought_later"]
    for name, share in by_persona.mean().items():
        n = by_persona.size()[name]
        assert abs(share - rates[name]) < 4 * np.sqrt(rates[name] * (1 - rates[name]) / n) + 0.02, (
            name
        )


def _personas() -> dict:
    return yaml.safe_load((HERE / "personas.yaml").read_text())["personas"]
