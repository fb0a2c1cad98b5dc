"""What the recommenders learn from: purchases per customer and product and window.

The per-line work is Ibis (it runs on DuckDB or Spark); what reaches pandas is one row
per customer and product bought in a window, which :func:`training` turns into the
sparse matrices the candidates read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
import scipy.sparse as sp

from customer_analytics.clean.identity import merged_ids
from customer_analytics.recommend.candidates import Training
from customer_analytics.recommend.metrics import Truth

#: A product's repurchase cycle needs this many customers who bought it twice or more.
CYCLE_CUSTOMERS = 3


class NotEnoughHistory(ValueError):
    """A window has nothing to learn from or no one to evaluate."""


def purchase_lines(orders: ibis.Table, items: ibis.Table) -> ibis.Table:
    """Purchase lines with their customer (the merged id) and time.

    Returns are left out, and lines without a product or with nothing paid (free gifts,
    a line cancelled out by a discount).

    Returns
    -------
    ibis.Table
        ``customer_id``, ``product_id``, ``order_id``, ``ts`` (the order's UTC time),
        ``revenue`` (the line's amount).
    """
    orders = orders.filter(orders.customer_id.notnull())
    if "is_return" in orders.columns:
        orders = orders.filter(~orders.is_return.fill_null(False))
    amount = (
        items.line_amount if "line_amount" in items.columns else items.quantity * items.unit_price
    )
    lines = items.filter(items.product_id.notnull()).mutate(_amount=amount.cast("float64"))
    lines = lines.filter(lines._amount > 0)
    joined = lines.join(orders.select("order_id", "customer_id", "order_ts_utc"), "order_id")
    return joined.select(
        "customer_id", "product_id", "order_id", ts=joined.order_ts_utc, revenue=joined._amount
    )


def customer_products(lines: ibis.Table, start: dt.datetime | None, end: dt.datetime) -> ibis.Table:
    """Per customer and product bought in [start, end): orders, revenue, first and last
    time; sorted by customer and product."""
    window = lines.filter(lines.ts < end)
    if start is not None:
        window = window.filter(window.ts >= start)
    keys = ["customer_id", "product_id"]
    pairs = window.group_by(keys).aggregate(
        orders=window.order_id.nunique(),
        revenue=window.revenue.sum(),
        first_ts=window.ts.min(),
        last_ts=window.ts.max(),
    )
    return pairs.order_by(keys)


def customer_orders(lines: ibis.Table, end: dt.datetime) -> ibis.Table:
    """Per customer, their orders with a purchase line before ``end``."""
    before = lines.filter(lines.ts < end)
    return before.group_by("customer_id").aggregate(orders=before.order_id.nunique())


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


@dataclass(frozen=True)
class Window:
    """One evaluation: the training purchases before ``start`` and the purchases in
    [``start``, ``end``) that score the picks."""

    name: str
    start: dt.datetime
    end: dt.datetime

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def windows(as_of_end: dt.datetime, validation_days: int, test_days: int) -> list[Window]:
    """The validation window, then the test window ending at ``as_of_end``."""
    test_start = as_of_end - dt.timedelta(days=test_days)
    validation_start = test_start - dt.timedelta(days=validation_days)
    return [
        Window("validation", validation_start, test_start),
        Window("test", test_start, as_of_end),
    ]


def training(
    pairs: pd.DataFrame,
    recent: pd.DataFrame,
    orders_per_customer: pd.DataFrame,
    persona: pd.Series,
    end: dt.datetime,
    horizon: int,
    carts: pd.DataFrame | None = None,
) -> Training:
    """The candidates' view of a training window; :class:`NotEnoughHistory` when it has
    no purchase or a single product.

    Parameters
    ----------
    pairs
        :func:`customer_products` over the training window.
    recent
        :func:`customer_products` over its last ``popular_days``.
    orders_per_customer
        :func:`customer_orders` at the window's end.
    persona
        Cluster or persona code per customer id (any others get -1).
    end
        The training window's end.
    horizon
        Days of the window that will be scored.
    carts
        :func:`carts_left` over the window's last ``recommend.cart_days`` (None without
        events); becomes ``extra["carts"]``, days from carting to the window's end, for
        the window's customers and products.
    """
    if pairs.empty:
        raise NotEnoughHistory(f"no purchases before {end:%Y-%m-%d} to learn from")
    customers = pd.Index(np.sort(pairs["customer_id"].unique()), name="customer_id")
    items = pd.Index(np.sort(pairs["product_id"].unique()), name="product_id")
    if len(items) < 2:
        raise NotEnoughHistory(
            f"only {len(items)} product was bought before {end:%Y-%m-%d}: there is nothing "
            "to choose between, so no recommendation can be made"
        )
    rows = customers.get_indexer(pairs["customer_id"])
    cols = items.get_indexer(pairs["product_id"])
    shape = (len(customers), len(items))
    orders = sp.csr_matrix((pairs["orders"].to_numpy(float), (rows, cols)), shape=shape)
    days = (pd.Timestamp(end) - pd.to_datetime(pairs["last_ts"])).dt.total_seconds() / 86400
    since = sp.csr_matrix((days.to_numpy() + 1e-9, (rows, cols)), shape=shape)
    recent = recent[recent["product_id"].isin(items)]
    recent_rows = customers.get_indexer(recent["customer_id"])
    recent_cols = items.get_indexer(recent["product_id"])
    recent_buyers = sp.csr_matrix((np.ones(len(recent)), (recent_rows, recent_cols)), shape=shape)
    popular = np.asarray(recent_buyers.sum(axis=0)).ravel()
    codes = persona.reindex(customers)
    extra = {"recent_buyers": recent_buyers}
    if carts is not None:
        known = carts[carts["customer_id"].isin(customers) & carts["product_id"].isin(items)]
        age = (pd.Timestamp(end) - pd.to_datetime(known["carted_ts"])).dt.total_seconds()
        extra["carts"] = sp.csr_matrix(
            (
                age.to_numpy() / 86400 + 1e-9,
                (
                    customers.get_indexer(known["customer_id"]),
                    items.get_indexer(known["product_id"]),
                ),
            ),
            shape=shape,
        )
    return Training(
        customers=customers,
        items=items,
        orders=orders,
        days_since_last=since,
        popular=popular,
        cycle=repurchase_cycles(pairs, items),
        persona=codes.fillna(-1).to_numpy(dtype=int),
        order_counts=orders_per_customer.set_index("customer_id")["orders"]
        .reindex(customers)
        .to_numpy(dtype=int),
        horizon=horizon,
        extra=extra,
    )


def trained_until(
    lines: ibis.Table,
    end: dt.datetime,
    horizon: int,
    persona: pd.Series,
    popular_days: int,
    carts: pd.DataFrame | None = None,
) -> Training:
    """:func:`training` on the purchases before ``end``, the engine counting them per
    customer and product (``popular_days``: how far back recent popularity reaches)."""
    recent_start = end - dt.timedelta(days=popular_days)
    return training(
        customer_products(lines, None, end).execute(),
        customer_products(lines, recent_start, end).execute(),
        customer_orders(lines, end).execute(),
        persona,
        end,
        horizon,
        carts,
    )


def repurchase_cycles(pairs: pd.DataFrame, items: pd.Index) -> np.ndarray:
    """Per item, the median over customers who bought it in two or more orders of their
    mean days between those orders; NaN with fewer than :data:`CYCLE_CUSTOMERS`."""
    again = pairs[pairs["orders"] >= 2]
    span = pd.to_datetime(again["last_ts"]) - pd.to_datetime(again["first_ts"])
    gap = span.dt.total_seconds() / 86400 / (again["orders"] - 1)
    by_item = gap.groupby(again["product_id"].to_numpy())
    cycle = by_item.median().where(by_item.size() >= CYCLE_CUSTOMERS)
    return cycle.reindex(items).to_numpy(dtype=float)


@dataclass(frozen=True)
class Evaluated:
    """The customers a window scores and what they bought in it."""

    rows: np.ndarray  # their rows in the training matrices
    truth: Truth
    counts: dict[str, int]  # window buyers, and those not evaluated and why


def evaluated(window_pairs: pd.DataFrame, train: Training) -> Evaluated:
    """Customers with a purchase in training and one of a known product in the window.

    A product first sold in the window cannot be recommended by a model trained before
    it; its purchases are counted apart (``only_new_products``), as are buyers new in
    the window (``new_customers``).
    """
    buyers = window_pairs["customer_id"].unique()
    known_customer = window_pairs["customer_id"].isin(train.customers)
    known = window_pairs[known_customer & window_pairs["product_id"].isin(train.items)]
    ids = np.sort(known["customer_id"].unique())
    rows = train.customers.get_indexer(ids)
    r = pd.Index(ids).get_indexer(known["customer_id"])
    c = train.items.get_indexer(known["product_id"])
    shape = (len(ids), len(train.items))
    bought = sp.csr_matrix((np.ones(len(known)), (r, c)), shape=shape)
    revenue = sp.csr_matrix((known["revenue"].to_numpy(float), (r, c)), shape=shape)
    returning = window_pairs.loc[known_customer, "customer_id"].nunique()
    counts = {
        "window_buyers": int(len(buyers)),
        "evaluated": int(len(ids)),
        "new_customers": int(len(buyers) - returning),
        "only_new_products": int(returning - len(ids)),
    }
    return Evaluated(rows=rows, truth=Truth(bought=bought, revenue=revenue), counts=counts)
