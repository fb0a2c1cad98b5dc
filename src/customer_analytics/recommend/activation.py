"""What marketing tools import from 08_recommend: each consenting customer's picks with
the reason for each, products bought together, products to feature per persona, and the
carts to remind.

The picks come from the chosen model refitted on every purchase up to ``as_of``. A
product the customer bought in the last ``recommend.just_bought_days`` is left out
unless its repurchase cycle says it is due again within ``recommend.test_days``. Each
pick says why, in the order the checks run: the customer bought it before; they left it
in a cart in the last ``recommend.cart_days``; customers who bought one of their
products also bought it (the product of their history most
similar to it, item cosine); or it is popular in their persona (or overall).
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import scipy.sparse as sp

from customer_analytics.recommend.candidates import Candidate, ItemCosine, Training, left_in_cart

#: The reasons a pick gives, as the activation file writes them.
BOUGHT_BEFORE = "bought it before"
DUE_AGAIN = "bought it before, due again"
LEFT_IN_CART = "left it in the cart"
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
    # Row j: how similar each product is to j (the window's own, when a model made it).
    toward = ItemCosine().fit(train).similarity_.T.tocsr()
    label = names.reindex(train.items).fillna(pd.Series(train.items, index=train.items))
    k = min(top_n, len(train.items))
    frames = []
    for start in range(0, len(rows), 2048):
        batch = rows[start : start + 2048]
        owned = train.orders[batch].tocoo()
        days = train.days_since_last[batch].data  # stored where orders is, in its order
        cycle = train.cycle[owned.col]
        due = np.isfinite(cycle) & (days + train.horizon >= cycle)
        resting = (days < just_bought_days) & ~due
        banned = sp.csr_matrix(
            (np.ones(resting.sum()), (owned.row[resting], owned.col[resting])),
            shape=(len(batch), len(train.items)),
        )
        top, scores = model.top(batch, k, banned)
        frames.append(_explained(train, batch, top, scores, toward, label))
    columns = ["customer_id", "rank", "product_id", "reason", "score"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return out[np.isfinite(out["score"].astype(float))].reset_index(drop=True)


def _explained(
    train: Training,
    batch: np.ndarray,
    top: np.ndarray,
    scores: np.ndarray,
    toward: sp.csr_matrix,
    label: pd.Series,
) -> pd.DataFrame:
    """The picks of a batch of customers as rows, each with its reason (a short list's
    padding, position -1, is dropped by the caller by its score)."""
    b, k = top.shape
    top = np.maximum(top, 0)
    row = np.repeat(np.arange(b), k)

    def at(matrix: sp.spmatrix) -> np.ndarray:
        return np.asarray(matrix[row, top.ravel()]).reshape(b, k)

    owned = train.orders[batch] > 0
    bought = at(owned)
    days = at(train.days_since_last[batch])
    cycle = train.cycle[top]
    again = np.isfinite(cycle) & (days + train.horizon >= cycle)
    carted = at(left_in_cart(train, batch)) > 0
    # The customer's product most similar to each pick, and how similar it is.
    weighed = owned[row].multiply(toward[top.ravel()]).tocoo()
    best = np.lexsort((weighed.col, -weighed.data, weighed.row))  # closest, then first
    pick = weighed.row[best]
    first = best[np.r_[True, pick[1:] != pick[:-1]]]
    anchor, closeness = np.zeros(b * k, dtype=np.int64), np.zeros(b * k)
    anchor[weighed.row[first]] = weighed.col[first]
    closeness[weighed.row[first]] = weighed.data[first]
    anchor, closeness = anchor.reshape(b, k), closeness.reshape(b, k)
    persona = np.repeat(train.persona[batch] >= 0, k).reshape(b, k)
    also = "customers who bought " + label.to_numpy()[anchor].astype(str) + " also bought it"
    others = np.where(closeness > 0, also, np.where(persona, POPULAR_PERSONA, POPULAR))
    reason = np.where(
        bought, np.where(again, DUE_AGAIN, BOUGHT_BEFORE), np.where(carted, LEFT_IN_CART, others)
    )
    return pd.DataFrame(
        {
            "customer_id": np.repeat(train.customers[batch], k),
            "rank": np.tile(np.arange(1, k + 1), b),
            "product_id": train.items[top.ravel()],
            "reason": reason.ravel(),
            "score": scores.ravel(),
        }
    )


def bought_together(lines: ibis.Table, min_orders: int, per_product: int = 10) -> ibis.Table:
    """For each product, the products bought in the same order more than chance says,
    most reliably first.

    Support is the share of orders holding both, confidence the share of the product's
    orders that hold the other, lift the support over what independence would give
    (Agrawal, Imielinski & Swami 1993). The ranking is by Dunning's log-likelihood
    ratio ``G = 2 * sum k * ln(k / expected)`` over the pair's 2 x 2 table of orders
    (Dunning 1993, Computational Linguistics 19(1)), among pairs with a lift above 1:
    lift alone puts two rare products bought together once or twice on top, order
    counts alone put the best sellers there. Pairs in fewer than ``min_orders`` orders
    are left out.

    Returns
    -------
    ibis.Table
        ``product_id``, ``rank``, ``also_product_id``, ``orders``, ``support``,
        ``confidence``, ``lift``, ``llr``; sorted by product and rank.
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
    n = total.cast("float64")
    both, only_a = scored.orders.cast("float64"), (scored.orders_a - scored.orders).cast("float64")
    only_b = (scored.orders_b - scored.orders).cast("float64")
    neither = n - both - only_a - only_b
    with_a, with_b = scored.orders_a.cast("float64"), scored.orders_b.cast("float64")
    cells = (
        (both, with_a * with_b),
        (only_a, with_a * (n - with_b)),
        (only_b, (n - with_a) * with_b),
        (neither, (n - with_a) * (n - with_b)),
    )
    g = sum(ibis.ifelse(k > 0, k * (k * n / expected).ln(), 0.0) for k, expected in cells)
    scored = scored.mutate(
        support=scored.orders / total,
        confidence=scored.orders / scored.orders_a,
        lift=scored.orders * total / (scored.orders_a * scored.orders_b),
        llr=2.0 * g,
    )
    scored = scored.filter(scored.lift > 1)
    ranked = scored.mutate(
        rank=ibis.row_number().over(
            group_by="product_a", order_by=[ibis.desc("llr"), ibis.desc("orders"), "product_b"]
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
        llr=ranked.llr,
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
