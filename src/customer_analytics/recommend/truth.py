"""Recommendations checked against the synthetic shop's planted item structure.

The generator (:mod:`customer_analytics.synthetic.items`) writes what drove every line's
product: each customer's favourite products and brands, their staples and cycles, the
products' popularity, the pairs bought together. From these a ranking that knows the
truth can be written down, and it bounds what any model learning from the orders can
reach:

``planted(i | u) = share(persona_u, category_i) * p(i | u, category_i)``, with
``p(i | u, k)`` proportional to ``popularity_i * PRODUCT_BOOST ** favourite(u, i) *
BRAND_BOOST ** favourite_brand(u, i)`` over the category's products (the generator's
own weights, the price band left out because it depends on each order's value), and
a staple due within the scored window (or never bought) at
``share * (STAPLE_PROBABILITY + (1 - STAPLE_PROBABILITY) * p)``.

A real shop has no truth folder: every function here then returns nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from customer_analytics.recommend import metrics
from customer_analytics.recommend.candidates import Training
from customer_analytics.recommend.interactions import Evaluated
from customer_analytics.synthetic import items as planted_items
from customer_analytics.synthetic.truth import planted_customers

#: How many "also bought" pairs the precision check reads, best first.
TOP_PAIRS = 20


def planted_scores(
    truth_dir: Path, train: Training, rows: np.ndarray, products: pd.DataFrame
) -> np.ndarray:
    """The truth-informed score of every item for the customers at ``rows``.

    Parameters
    ----------
    truth_dir
        The synthetic shop's truth folder.
    train
        The training window (its items, and when each customer last bought each).
    rows
        Customer rows of ``train``.
    products
        The catalogue, indexed by product id, with ``category`` and ``brand``.
    """
    people = planted_customers(truth_dir)
    person = people.set_index("customer_id")["canonical_customer_id"]
    persona = people.drop_duplicates("canonical_customer_id").set_index("canonical_customer_id")[
        "persona"
    ]
    shares = {
        name: spec["categories"]
        for name, spec in yaml.safe_load((truth_dir / "personas.yaml").read_text()).items()
    }
    customers = train.customers[rows]
    item_ids = train.items
    category = products["category"].reindex(item_ids).to_numpy()
    brand = products["brand"].reindex(item_ids).to_numpy()
    popularity = pd.read_parquet(truth_dir / "item_popularity.parquet").set_index("product_id")
    weight = popularity["weight"].reindex(item_ids).fillna(0.0).to_numpy()

    def by_customer(name: str) -> pd.DataFrame:
        table = pd.read_parquet(truth_dir / f"item_{name}.parquet")
        table["customer_id"] = person.reindex(table["customer_id"]).to_numpy()
        return table[table["customer_id"].isin(customers)]

    position = pd.Index(customers)
    boost = np.ones((len(rows), len(item_ids)))
    favourite = by_customer("favourites")
    favourite = favourite[favourite["product_id"].isin(item_ids)]
    boost[
        position.get_indexer(favourite["customer_id"]),
        item_ids.get_indexer(favourite["product_id"]),
    ] *= planted_items.PRODUCT_BOOST
    fond = by_customer("brands")
    brands = pd.Index(pd.unique(brand[pd.notna(brand)]))
    fond = fond[fond["brand"].isin(brands)]
    likes = np.zeros((len(rows), len(brands) + 1), dtype=bool)  # the last: no brand
    likes[position.get_indexer(fond["customer_id"]), brands.get_indexer(fond["brand"])] = True
    boost[likes[:, brands.get_indexer(brand)]] *= planted_items.BRAND_BOOST
    p = weight[None, :] * boost
    # Normalised over the category's products in the catalogue: products no one bought
    # in training still take their share of the category's draws.
    catalogue_weight = popularity["weight"].groupby(products["category"]).sum()
    by_persona = pd.DataFrame(shares).T.reindex(columns=category).fillna(0.0)
    share = by_persona.reindex(persona.reindex(customers).to_numpy()).fillna(0.0).to_numpy()
    for name in np.unique(category[pd.notna(category)]):
        cols = category == name
        extra = catalogue_weight.get(name, 0.0) - weight[cols].sum()
        p[:, cols] /= p[:, cols].sum(axis=1, keepdims=True) + max(extra, 0.0)
    score = share * p
    staples = by_customer("staples")
    staples = staples[staples["product_id"].isin(item_ids)]
    r = position.get_indexer(staples["customer_id"])
    c = item_ids.get_indexer(staples["product_id"])
    days = np.asarray(train.days_since_last[rows][r, c]).ravel()
    due = (days == 0) | (days + train.horizon >= 0.8 * staples["cycle_days"].to_numpy())
    p_staple = planted_items.STAPLE_PROBABILITY
    score[r[due], c[due]] = share[r[due], c[due]] * (p_staple + (1 - p_staple) * p[r[due], c[due]])
    return score


def truth_scores(
    truth_dir: Path | None,
    train: Training,
    scored: Evaluated,
    ndcg: dict[str, float],
    chosen: str,
    together: pd.DataFrame,
    products: pd.DataFrame,
) -> dict[str, Any]:
    """The planted ranking's NDCG@10 on the test window, each model's share of it, and
    the "also bought" pairs' precision against the planted pairs; nothing for a real
    shop.

    Parameters
    ----------
    truth_dir
        The synthetic shop's truth folder (``Config.truth_dir``), or None.
    train, scored
        The test window.
    ndcg
        Each model's test NDCG@10.
    chosen
        The model chosen on validation.
    together
        :func:`~customer_analytics.recommend.activation.bought_together`'s pairs.
    products
        The catalogue, indexed by product id.
    """
    if truth_dir is None or not (truth_dir / "item_popularity.parquet").is_file():
        return {}
    k = min(20, len(train.items))
    score = planted_scores(truth_dir, train, scored.rows, products)
    top = np.argsort(-score, axis=1, kind="stable")[:, :k]
    optimal = float(metrics.per_customer(top, scored.truth)["ndcg_at_10"].mean())
    return {
        "truth": {
            "planted_ndcg_at_10": round(optimal, 4),
            "share_of_planted": {name: round(value / optimal, 4) for name, value in ndcg.items()},
            "chosen": chosen,
            **pair_precision(truth_dir, together),
        }
    }


def pair_precision(truth_dir: Path, together: pd.DataFrame) -> dict[str, Any]:
    """The share of planted pairs among the :data:`TOP_PAIRS` best "also bought" pairs,
    ranked by log-likelihood ratio (ours) and by orders together (the co-popularity
    baseline: what "frequently bought together" shows when nothing corrects for
    popularity)."""
    planted = pd.read_parquet(truth_dir / "item_pairs.parquet")
    truth = {
        frozenset(pair) for pair in zip(planted["product_a"], planted["product_b"], strict=True)
    }
    pairs = together.assign(
        pair=[
            frozenset(p)
            for p in zip(together["product_id"], together["also_product_id"], strict=True)
        ]
    ).drop_duplicates("pair")

    def precision(by: list[str]) -> float:
        best = pairs.sort_values(by, ascending=False, kind="stable").head(TOP_PAIRS)
        return round(float(best["pair"].isin(truth).mean()), 4) if len(best) else 0.0

    return {
        "planted_pairs": len(truth),
        "pair_precision_at_20": precision(["llr", "orders"]),
        "pair_precision_at_20_co_popularity": precision(["orders", "llr"]),
    }
