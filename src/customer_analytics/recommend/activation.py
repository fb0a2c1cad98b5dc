"""What marketing tools import from 08_recommend: each consenting customer's picks with
the reason for each, products bought together, products to feature per persona, and the
carts to remind.

The picks come from the chosen model refitted on every purchase up to ``as_of``. A
product the customer bought in the last ``recommend.just_bought_days`` is left out
unless its repurchase cycle says it is due again within ``recommend.test_days``. Each
pick says why, in the order the checks run: the customer bought it before; customers
who bought one of their products also bought it (the product of their history most
similar to it, item cosine); or it is popular in their persona (or overall).
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd

from customer_analytics.clean.identity import merged_ids
from customer_analytics.recommend.candidates import Candidate, ItemCosine, Training

#: The reasons a pick gives, as the activation file writes them.
BOUGHT_BEFORE = "bought it before"
DUE_AGAIN = "bought it before, due again"
#: How the findings count the picks "customers who bought X also bought it", any X.
ALSO_BOUGHT = "customers who bought one of theirs also bought it"
POPULAR_PERSONA = "popular in your persona"
POPULAR = "popular now"


def picks(
    model: Candidate,
    train: Training,
    customers: pd.Index,
    top_n: int,
    just_bought_days: int,
    names: pd.Series,
) -> pd.DataFrame:
    """The top ``top_n`` picks of each of ``customers`` (those in ``train``), with reasons.

    Parameters
    ----------
    model
        Fitted on ``train``.
    train
        Every purchase up to ``as_of``; its ``horizon`` is how far ahead a due product
        may be.
    customers
        Whom to pick for (consenting customers); others in it are ignored.
    top_n
        Picks per customer.
    just_bought_days
        Products bought this recently are left out unless due again.
    names
        Product name by product id, for the reasons (ids where a name is missing).

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``rank`` (1 = best), ``product_id``, ``reason``, ``score``.
    """
    rows = np.sort(train.customers.get_indexer(customers))
    rows = rows[rows >= 0]
    similar = ItemCosine().fit(train).similarity_
    label = names.reindex(train.items).fillna(pd.Series(train.items, index=train.items))
    frames = []
    for start in range(0, len(rows), 2048):
        batch = rows[start : start + 2048]
        scores = model.score(batch).astype(np.float64)
        owned = train.orders[batch].toarray() > 0
        days = train.days_since_last[batch].toarray()
        due = np.isfinite(train.cycle) & (days + train.horizon >= train.cycle)
        scores[owned & (days < just_bought_days) & ~due] = -np.inf
        k = min(top_n, scores.shape[1])
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        frames.append(_explained(train, batch, top, scores, owned, due, similar, label))
    columns = ["customer_id", "rank", "product_id", "reason", "score"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return out[np.isfinite(out["score"].astype(float))].reset_index(drop=True)


def _explained(
    train: Training,
    batch: np.ndarray,
    top: np.ndarray,
    scores: np.ndarray,
    owned: np.ndarray,
    due: np.ndarray,
    similar: np.ndarray,
    label: pd.Series,
) -> pd.DataFrame:
    """The picks of a batch of customers as rows, each with its reason."""
    b, k = top.shape
    picked = np.take_along_axis
    bought, again = picked(owned, top, axis=1), picked(due, top, axis=1)
    # The customer's product most similar to each pick, and how similar it is.
    anchor = np.empty((b, k), dtype=np.int64)
    closeness = np.empty((b, k))
    for r in range(k):
        weighed = np.where(owned, similar[:, top[:, r]].T, 0.0)
        anchor[:, r] = weighed.argmax(axis=1)
        closeness[:, r] = weighed.max(axis=1)
    persona = np.repeat(train.persona[batch] >= 0, k).reshape(b, k)
    also = "customers who bought " + label.to_numpy()[anchor].astype(str) + " also bought it"
    reason = np.where(
        bought,
        np.where(again, DUE_AGAIN, BOUGHT_BEFORE),
        np.where(closeness > 0, also, np.where(persona, POPULAR_PERSONA, POPULAR)),
    )
    return pd.DataFrame(
        {
            "customer_id": np.repeat(train.customers[batch], k),
            "rank": np.tile(np.arange(1, k + 1), b),
            "product_id": train.items[top.ravel()],
            "reason": reason.ravel(),
            "score": picked(scores, top, axis=1).ravel(),
        }
    )


def bought_together(lines: ibis.Table, min_orders: int, per_product: int = 10) -> ibis.Table:
    """For each product, the products most often in the same order, by lift.

    Support is the share of orders holding both, confidence the share of the product's
    orders that hold the other, lift the support over what independence would give
    (Agrawal, Imielinski & Swami 1993). Pairs in fewer than ``min_orders`` orders are
    left out: a lift on two orders is noise.

    Returns
    -------
    ibis.Table
        ``product_id``, ``rank``, ``also_product_id``, ``orders``, ``support``,
        ``confidence``, ``lift``; sorted by product and rank.
    """
    baskets = lines.select("order_id", "product_id").distinct()
    item_orders = baskets.group_by("product_id").aggregate(item_orders=baskets.count())
    total = baskets.order_id.nunique().as_scalar()
    left = baskets.rename(product_a="product_id")
    right = baskets.rename(product_b="product_id")
    pairs = left.join(right, "order_id").filter(lambda t: t.product_a != t.product_b)
    together = pairs.group_by(["product_a", "product_b"]).aggregate(orders=pairs.count())
    together = together.filter(together.orders >= min_orders)
    a = item_orders.rename(product_a="product_id", orders_a="item_orders")
    b = item_orders.rename(product_b="product_id", orders_b="item_orders")
    scored = together.join(a, "product_a").join(b, "product_b")
    scored = scored.mutate(
        support=scored.orders / total,
        confidence=scored.orders / scored.orders_a,
        lift=scored.orders * total / (scored.orders_a * scored.orders_b),
    )
    ranked = scored.mutate(
        rank=ibis.row_number().over(
            group_by="product_a", order_by=[ibis.desc("lift"), ibis.desc("orders"), "product_b"]
        )
        + 1
    )
    ranked = ranked.filter(ranked["rank"] <= per_product)
    return ranked.select(
        product_id=ranked.product_a,
        rank=ranked["rank"],
        also_product_id=ranked.product_b,
        orders=ranked.orders,
        support=ranked.support,
        confidence=ranked.confidence,
        lift=ranked.lift,
    ).order_by(["product_id", "rank"])


def persona_products(train: Training, persona_names: list[str], top: int = 10) -> pd.DataFrame:
    """Per persona, the products most of its customers bought lately (``popular_days``)."""
    recent = train.extra["recent_buyers"]
    frames = []
    for code, name in enumerate(persona_names):
        members = train.persona == code
        if not members.any():
            continue
        buyers = np.asarray(recent[members].sum(axis=0)).ravel()
        best = np.argsort(-buyers, kind="stable")[:top]
        best = best[buyers[best] > 0]
        frames.append(
            pd.DataFrame(
                {
                    "persona": name,
                    "rank": np.arange(1, len(best) + 1),
                    "product_id": train.items[best],
                    "buyers": buyers[best].astype(int),
                    "share_of_persona": buyers[best] / members.sum(),
                }
            )
        )
    columns = ["persona", "rank", "product_id", "buyers", "share_of_persona"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def carts_left(
    events: ibis.Table,
    lines: ibis.Table,
    identity: ibis.Table | None,
    start: dt.datetime,
    end: dt.datetime,
) -> ibis.Table:
    """Products customers put in a cart in [start, end) and did not buy after that.

    Returns
    -------
    ibis.Table
        ``customer_id`` (merged), ``product_id``, ``carted_ts`` (the last time it went
        into a cart); sorted by customer and product.
    """
    carts = events.filter(
        events.event_type == "add_to_cart",
        events.product_id.notnull(),
        events.event_ts >= start,
        events.event_ts < end,
    )
    carts = merged_ids(carts.filter(carts.customer_id.notnull()), identity)
    carted = carts.group_by(["customer_id", "product_id"]).aggregate(carted_ts=carts.event_ts.max())
    bought = lines.filter(lines.ts >= start, lines.ts < end)
    bought = bought.group_by(["customer_id", "product_id"]).aggregate(bought_ts=bought.ts.max())
    joined = carted.left_join(bought, ["customer_id", "product_id"])
    left = joined.filter(joined.bought_ts.isnull() | (joined.bought_ts < joined.carted_ts))
    return left.select("customer_id", "product_id", "carted_ts").order_by(
        ["customer_id", "product_id"]
    )
