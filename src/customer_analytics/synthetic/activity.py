"""Reviews, returns and web/app events around the synthetic shop's orders."""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_analytics.synthetic.shop import RETURN_REASONS


def make_reviews(
    rng: np.random.Generator, orders: pd.DataFrame, lines: pd.DataFrame, rating_mean: np.ndarray
) -> pd.DataFrame:
    """About one order in five gets a review of its first line, a few days later."""
    chosen = np.flatnonzero(rng.random(len(orders)) < 0.2)
    first = lines.drop_duplicates("order_id").set_index("order_id")["product_id"]
    o = orders.iloc[chosen]
    rating = np.clip(np.rint(rng.normal(rating_mean[chosen], 0.8)), 1, 5).astype(int)
    return pd.DataFrame(
        {
            "kind": "review",
            "order_id": o["order_id"].to_numpy(),
            "customer_id": o["customer_id"].to_numpy(),
            "product_id": first.reindex(o["order_id"]).to_numpy(),
            "rating": rating,
            "return_reason": "",
            "_ts": o["_ts"].to_numpy()
            + pd.to_timedelta(rng.integers(1, 10, len(o)), unit="D").to_numpy(),
        }
    )


def make_returns(
    rng: np.random.Generator,
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    return_rate: np.ndarray,
    end: pd.Timestamp,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Returns of one line per returned order: an ``R`` order, its negative line, a feedback row."""
    when = orders["_ts"] + pd.to_timedelta(rng.integers(3, 15, len(orders)), unit="D")
    chosen = np.flatnonzero((rng.random(len(orders)) < return_rate) & (when <= end).to_numpy())
    o = orders.iloc[chosen].copy()
    first = lines.drop_duplicates("order_id").set_index("order_id").reindex(o["order_id"])
    ret_orders = o.assign(
        original_order_id=o["order_id"],
        order_id="R" + o["order_id"],
        status="returned",
        coupon_code="",
        discount_amount=0.0,
        shipping_amount=0.0,
        _ts=when.iloc[chosen].to_numpy(),
    )
    ret_lines = pd.DataFrame(
        {
            "order_id": ret_orders["order_id"].to_numpy(),
            "line_no": 1,
            "product_id": first["product_id"].to_numpy(),
            "quantity": -first["quantity"].to_numpy(),
            "unit_price": first["unit_price"].to_numpy(),
            "line_amount": -first["line_amount"].to_numpy(),
        }
    )
    feedback = pd.DataFrame(
        {
            "kind": "return",
            "order_id": o["order_id"].to_numpy(),
            "customer_id": o["customer_id"].to_numpy(),
            "product_id": first["product_id"].to_numpy(),
            "rating": pd.array([pd.NA] * len(o), dtype="Int64"),
            "return_reason": rng.choice(RETURN_REASONS, len(o)),
            "_ts": ret_orders["_ts"].to_numpy(),
        }
    )
    return ret_orders, ret_lines, feedback


def make_cancellations(
    rng: np.random.Generator, orders: pd.DataFrame, lines: pd.DataFrame, rate: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cancellations: a ``C`` order mirroring every line of the original with negative quantities."""
    chosen = orders.iloc[np.flatnonzero(rng.random(len(orders)) < rate)]
    cancel = chosen.assign(
        original_order_id=chosen["order_id"],
        order_id="C" + chosen["order_id"],
        status="cancelled",
        _ts=chosen["_ts"] + pd.to_timedelta(rng.integers(5, 600, len(chosen)), unit="min"),
    )
    mirrored = lines[lines["order_id"].isin(chosen["order_id"])].copy()
    mirrored["order_id"] = "C" + mirrored["order_id"]
    mirrored["quantity"] = -mirrored["quantity"]
    mirrored["line_amount"] = -mirrored["line_amount"]
    return cancel, mirrored


def make_events(
    rng: np.random.Generator,
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    abandon_rate: np.ndarray,
    products: pd.DataFrame,
) -> pd.DataFrame:
    """Sessions: one per order (views, cart, checkout, purchase) plus abandoned carts and anonymous browsing.

    The private column ``_order`` holds the position in ``orders`` of the order a
    session leads to or, for an abandoned cart, precedes (-1 for anonymous browsing).
    """
    n = len(orders)
    session = np.array([f"S{i:09d}" for i in range(1, n + 1)]) if n else np.array([], dtype=str)
    views = 2 + rng.poisson(2.0, n)
    per_order_lines = (
        lines.groupby("order_id", sort=False)
        .size()
        .reindex(orders["order_id"])
        .fillna(1)
        .astype(int)
        .to_numpy()
    )
    first_product = (
        lines.drop_duplicates("order_id")
        .set_index("order_id")["product_id"]
        .reindex(orders["order_id"])
        .to_numpy()
    )
    kinds_per = views + per_order_lines + 2
    idx = np.repeat(np.arange(n), kinds_per)
    step = np.arange(idx.size) - np.repeat(np.cumsum(kinds_per) - kinds_per, kinds_per)
    v, c = views[idx], per_order_lines[idx]
    event_type = np.where(
        step < v,
        "view",
        np.where(step < v + c, "add_to_cart", np.where(step == v + c, "checkout", "purchase")),
    )
    base = orders["_utc"].to_numpy()[idx]
    offset = pd.to_timedelta((step - kinds_per[idx]) * 45, unit="s").to_numpy()
    ordered = pd.DataFrame(
        {
            "event_ts": base + offset,
            "session_id": session[idx],
            "customer_id": orders["customer_id"].to_numpy()[idx],
            "event_type": event_type,
            "product_id": np.where(event_type == "checkout", None, first_product[idx]),
            "_order": idx,
        }
    )
    # Abandoned carts: sessions that end at the cart, in proportion to each order's persona rate.
    k = rng.poisson(abandon_rate * 1.5)
    aidx = np.repeat(np.arange(n), k)
    shift = pd.to_timedelta(rng.uniform(-20, -1, aidx.size), unit="D").to_numpy()
    products_pick = rng.choice(products["product_id"].to_numpy(), aidx.size)
    a_session = np.char.add("A", np.arange(1, aidx.size + 1).astype(str))
    abandoned = pd.concat(
        [
            pd.DataFrame({"event_ts": orders["_utc"].to_numpy()[aidx] + shift + pd.to_timedelta(s * 60, unit="s").to_numpy(),
                          "session_id": a_session, "customer_id": orders["customer_id"].to_numpy()[aidx],
                          "event_type": kind, "product_id": products_pick, "_order": aidx})
            for s, kind in ((0, "search"), (1, "view"), (2, "view"), (3, "add_to_cart"))
        ]
    )  # fmt: skip
    abandoned.loc[abandoned["event_type"] == "search", "product_id"] = None
    # Anonymous browsing: no customer id.
    m = max(n // 4, 1)
    anon_ts = (
        orders["_utc"].to_numpy()[rng.integers(0, max(n, 1), m)]
        if n
        else np.array([], "datetime64[ns]")
    )
    anonymous = pd.DataFrame(
        {"event_ts": anon_ts, "session_id": np.char.add("G", np.arange(1, m + 1).astype(str)), "customer_id": None,
         "event_type": "view", "product_id": rng.choice(products["product_id"].to_numpy(), m), "_order": -1}
    )  # fmt: skip
    events = pd.concat([ordered, abandoned, anonymous], ignore_index=True)
    return events.sort_values(["event_ts", "session_id"], kind="stable", ignore_index=True)
