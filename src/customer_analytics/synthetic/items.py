"""Item-level structure planted inside the orders the buy-till-you-die process draws.

The orders, their lines, each line's category and its place on the category's price list
come from :func:`customer_analytics.synthetic.shop.make_lines` as before; which product
of that category a line holds is drawn again here, from seed streams of its own, so no
other draw of the generator moves and the purchase counts the CLV truth rests on stand:

- **popularity**: a long tail per category, weight ``1 / rank ** POPULARITY_EXPONENT``
  over a random ranking of its products;
- **affinity**: each customer favours ``FAVOURITE_PRODUCTS`` products and
  ``FAVOURITE_BRANDS`` brands in every category (drawn with the square root of
  popularity, so favourites reach into the tail);
- **price**: a product far from the line's place on the price list is less likely
  (a Gaussian in price rank, so what customers spend stays near what they spent);
- **consumables** (``CONSUMABLES``): each customer has a staple product per consumable
  category (drawn like a favourite), bought again on a cycle of their own; a line of
  that category in an order placed when the staple is due becomes the staple;
- **complements**: pairs of products of one category; an order holding the first of a
  pair and another line of that category gets the second in that line with probability
  ``PAIR_PROBABILITY``;
- **launches**: ``LAUNCH_SHARE`` of the products are launched during the period and
  never bought before their launch day (cold start for items);
- **carts bought later** (:func:`carts_bought_later`): an abandoned cart, 1 to 20 days
  before an order of its customer, holds a product of that order with the probability
  ``cart_return_rate`` of the customer's persona (``personas.yaml``), else any product.

The truth (:func:`truth_tables`) records every customer's favourite products and brands,
staples with their cycles, the pairs and the launch days, and every abandoned cart
with whether its product was planted in the later order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

POPULARITY_EXPONENT = 1.1
FAVOURITE_PRODUCTS = 3
FAVOURITE_BRANDS = 2
#: How much more likely a favourite product (brand) is than another of its popularity.
PRODUCT_BOOST = 15.0
BRAND_BOOST = 2.0
#: Price-rank distance (in products of the category) at which a product is e^-1/2 as likely.
PRICE_BAND = 6.0
CONSUMABLES = {"food": 21.0, "mother_baby": 30.0}  # the median cycle in days
STAPLE_PROBABILITY = 0.8
PAIRS_PER_CATEGORY = 4
PAIR_PROBABILITY = 0.6
LAUNCH_SHARE = 0.1


@dataclass(frozen=True)
class Planted:
    """What :func:`plant` drew: per category, the products' weights and launch days, and
    per customer their favourites, staples and cycles."""

    weight: pd.Series  # by product id
    launch: pd.Series  # product id -> launch timestamp (local), NaT for products always sold
    favourites: pd.DataFrame  # customer, category, product_id
    brands: pd.DataFrame  # customer, category, brand
    staples: pd.DataFrame  # customer, category, product_id, cycle_days
    pairs: pd.DataFrame  # product_a, product_b


def draw(
    rng: np.random.Generator,
    products: pd.DataFrame,
    n_customers: int,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> Planted:
    """Draw the products' popularity and launches and every customer's affinities."""
    weight = pd.Series(0.0, index=products["product_id"].to_numpy())
    launch = pd.Series(pd.NaT, index=weight.index, dtype="datetime64[ns]")
    favourites, brands, staples, pairs = [], [], [], []
    customers = np.arange(n_customers)
    for category, rows in products.groupby("category", sort=True):
        ids = rows["product_id"].to_numpy()
        rank = rng.permutation(len(ids)) + 1
        w = 1.0 / rank**POPULARITY_EXPONENT
        weight[ids] = w
        launched = rng.random(len(ids)) < LAUNCH_SHARE
        days = rng.uniform(0.2, 0.9, len(ids)) * (end - start).days
        launch[ids[launched]] = start + pd.to_timedelta(days[launched].round(), unit="D")
        spread = np.sqrt(w) / np.sqrt(w).sum()
        favourite = _choose_many(rng, len(ids), n_customers, FAVOURITE_PRODUCTS, spread)
        favourites.append(
            pd.DataFrame(
                {
                    "customer": np.repeat(customers, FAVOURITE_PRODUCTS),
                    "category": category,
                    "product_id": ids[favourite.ravel()],
                }
            )
        )
        names = np.sort(rows["brand"].unique())
        brand = _choose_many(rng, len(names), n_customers, FAVOURITE_BRANDS, None)
        brands.append(
            pd.DataFrame(
                {
                    "customer": np.repeat(customers, FAVOURITE_BRANDS),
                    "category": category,
                    "brand": names[brand.ravel()],
                }
            )
        )
        # Staples and pairs are products sold all along, so no line holds one before
        # its launch.
        if category in CONSUMABLES:
            cycle = CONSUMABLES[category] * rng.lognormal(0.0, 0.3, n_customers)
            on_sale = np.where(~launched, spread, 0.0)
            staple = _choose_many(rng, len(ids), n_customers, 1, on_sale / on_sale.sum())[:, 0]
            staples.append(
                pd.DataFrame(
                    {
                        "customer": customers,
                        "category": category,
                        "product_id": ids[staple],
                        "cycle_days": cycle.round(1),
                    }
                )
            )
        ordered = ids[np.argsort(rank)]
        ordered = ordered[~launched[np.argsort(rank)]][: 4 * PAIRS_PER_CATEGORY]  # top sellers
        chosen = rng.permutation(len(ordered))[: 2 * PAIRS_PER_CATEGORY].reshape(-1, 2)
        pairs.append(pd.DataFrame(ordered[chosen], columns=["product_a", "product_b"]))
    return Planted(
        weight=weight,
        launch=launch,
        favourites=pd.concat(favourites, ignore_index=True),
        brands=pd.concat(brands, ignore_index=True),
        staples=pd.concat(staples, ignore_index=True),
        pairs=pd.concat(pairs, ignore_index=True),
    )


def _choose_many(
    rng: np.random.Generator, n: int, rows: int, k: int, p: np.ndarray | None
) -> np.ndarray:
    """``rows`` x ``k`` distinct indices below ``n`` per row, drawn with weights ``p``
    (Gumbel top-k: the k largest of log p + Gumbel noise)."""
    with np.errstate(divide="ignore"):  # a weight of 0: never chosen
        logp = np.zeros(n) if p is None else np.log(p)
    keys = logp[None, :] + rng.gumbel(size=(rows, n))
    return np.argsort(-keys, axis=1)[:, :k]


def plant(
    rng: np.random.Generator,
    planted: Planted,
    lines: pd.DataFrame,
    orders: pd.DataFrame,
    products: pd.DataFrame,
) -> pd.DataFrame:
    """The lines with their products drawn again (prices and amounts follow).

    Parameters
    ----------
    rng
        The items' own stream.
    planted
        From :func:`draw`.
    lines
        ``make_lines``' lines (``order_id``, ``product_id``, ``quantity``, ...).
    orders
        ``order_id``, ``_customer`` (population index) and ``_ts`` (local time).
    products
        The catalogue.
    """
    catalogue = products.set_index("product_id")
    at = orders.set_index("order_id").loc[lines["order_id"], ["_customer", "_ts"]]
    customer = at["_customer"].to_numpy()
    when = pd.DatetimeIndex(at["_ts"]).to_numpy()
    category = catalogue.loc[lines["product_id"], "category"].to_numpy()
    product = lines["product_id"].to_numpy().copy()
    for name in np.unique(category):
        mask = np.flatnonzero(category == name)
        product[mask] = _redraw(
            rng,
            planted,
            catalogue,
            name,
            lines["product_id"].to_numpy()[mask],
            customer[mask],
            when[mask],
        )
    product = _staples(rng, planted, product, category, customer, when)
    product = _complements(rng, planted, product, category, lines["order_id"].to_numpy())
    price = catalogue.loc[product, "list_price"].to_numpy()
    quantity = lines["quantity"].to_numpy()
    return lines.assign(
        product_id=product, unit_price=price, line_amount=np.round(quantity * price, 2)
    )


def _redraw(
    rng: np.random.Generator,
    planted: Planted,
    catalogue: pd.DataFrame,
    category: str,
    original: np.ndarray,
    customer: np.ndarray,
    when: np.ndarray,
) -> np.ndarray:
    """A product of ``category`` for each line, by popularity, affinity and price."""
    rows = catalogue[catalogue["category"] == category].sort_values("list_price")
    ids = rows.index.to_numpy()
    position = pd.Series(np.arange(len(ids)), index=ids)
    place = position[original].to_numpy()
    base = np.log(planted.weight[ids].to_numpy())
    launch = planted.launch[ids].to_numpy()
    favourite = planted.favourites[planted.favourites["category"] == category]
    everyone = int(planted.favourites["customer"].max()) + 1
    liked = np.zeros((everyone, len(ids)), dtype=bool)
    liked[favourite["customer"].to_numpy(), position[favourite["product_id"]].to_numpy()] = True
    brand = planted.brands[planted.brands["category"] == category]
    brand_of = rows["brand"].to_numpy()
    fond = np.zeros((everyone, len(ids)), dtype=bool)
    for name in np.unique(brand_of):
        members = brand["customer"].to_numpy()[brand["brand"].to_numpy() == name]
        fond[np.ix_(members, np.flatnonzero(brand_of == name))] = True
    out = np.empty(len(original), dtype=object)
    for start in range(0, len(original), 50_000):
        part = slice(start, start + 50_000)
        c = customer[part]
        logit = (
            base[None, :]
            - 0.5 * ((np.arange(len(ids))[None, :] - place[part, None]) / PRICE_BAND) ** 2
            + np.log(PRODUCT_BOOST) * liked[c]
            + np.log(BRAND_BOOST) * fond[c]
        )
        sold = pd.isna(launch)[None, :] | (launch[None, :] <= when[part, None])
        logit = np.where(sold, logit, -np.inf)
        pick = np.argmax(logit + rng.gumbel(size=logit.shape), axis=1)
        out[part] = ids[pick]
    return out


def _staples(
    rng: np.random.Generator,
    planted: Planted,
    product: np.ndarray,
    category: np.ndarray,
    customer: np.ndarray,
    when: np.ndarray,
) -> np.ndarray:
    """A consumable line in an order placed when the customer's staple is due becomes it.

    Due: at least the customer's cycle (times a uniform 0.8-1.2) since they last bought
    the staple, or never bought it yet.
    """
    product = product.copy()
    staples = planted.staples.set_index(["customer", "category"])
    for name in CONSUMABLES:
        rows = np.flatnonzero(category == name)
        if not len(rows):
            continue
        rows = rows[np.lexsort((when[rows], customer[rows]))]
        staple = staples.loc[pd.MultiIndex.from_arrays([customer[rows], np.full(len(rows), name)])]
        item, cycle = staple["product_id"].to_numpy(), staple["cycle_days"].to_numpy()
        jitter = rng.uniform(0.8, 1.2, len(rows))
        keep = rng.random(len(rows)) < STAPLE_PROBABILITY
        last_customer, last_bought = -1, None
        for i, row in enumerate(rows):
            if customer[row] != last_customer:
                last_customer, last_bought = customer[row], None
            days = (
                None if last_bought is None else (when[row] - last_bought) / np.timedelta64(1, "D")
            )
            if keep[i] and (days is None or days >= cycle[i] * jitter[i]):
                product[row] = item[i]
            if product[row] == item[i]:
                last_bought = when[row]
    return product


def _complements(
    rng: np.random.Generator,
    planted: Planted,
    product: np.ndarray,
    category: np.ndarray,
    order_id: np.ndarray,
) -> np.ndarray:
    """The second of a pair into another line of its category in the first's order (an
    order's lines are consecutive rows)."""
    drawn, product = product, product.copy()
    partner = dict(zip(planted.pairs["product_a"], planted.pairs["product_b"], strict=True))
    draws = rng.random(len(product))
    starts = np.flatnonzero(np.r_[True, order_id[1:] != order_id[:-1]])
    ends = np.r_[starts[1:], len(order_id)]
    first_row = np.repeat(starts, ends - starts)
    last_row = np.repeat(ends, ends - starts)
    holders = np.flatnonzero(pd.Series(drawn).isin(list(partner)).to_numpy())
    for row in holders[draws[holders] < PAIR_PROBABILITY]:
        for other in range(first_row[row], last_row[row]):
            if other != row and category[other] == category[row]:
                product[other] = partner[drawn[row]]
                break
    return product


def carts_bought_later(
    rng: np.random.Generator,
    events: pd.DataFrame,
    lines: pd.DataFrame,
    orders: pd.DataFrame,
    rate: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Abandoned carts that hold a product of the order they precede.

    Parameters
    ----------
    rng
        The items' own stream.
    events
        :func:`~customer_analytics.synthetic.activity.make_events`' events, with
        ``_order``; abandoned carts are the sessions whose id starts with ``A``.
    lines, orders
        The lines and orders ``events`` were made from.
    rate
        Per order, the probability its customer's abandoned carts before it hold one of
        its products.

    Returns
    -------
    events
        With the views and cart of each chosen abandoned session on that product.
    carts
        The truth: one row per abandoned cart (``session_id``, ``customer_id``,
        ``product_id``, ``order_id`` it precedes, ``bought_later``).
    """
    abandoned = events["session_id"].str.startswith("A").to_numpy()
    carted = np.flatnonzero(abandoned & (events["event_type"] == "add_to_cart").to_numpy())
    anchor = events["_order"].to_numpy()[carted]
    # Each anchor order's lines: a range of the lines sorted by order id.
    line_order = np.argsort(lines["order_id"].to_numpy().astype(str), kind="stable")
    sorted_ids = lines["order_id"].to_numpy().astype(str)[line_order]
    wanted = orders["order_id"].to_numpy().astype(str)[anchor]
    first = np.searchsorted(sorted_ids, wanted, side="left")
    counts = np.searchsorted(sorted_ids, wanted, side="right") - first
    bought_later = (rng.random(len(carted)) < rate[anchor]) & (counts > 0)
    which = first + np.floor(rng.random(len(carted)) * counts).astype(int)
    product = events["product_id"].to_numpy()[carted].copy()
    in_order = lines["product_id"].to_numpy()[line_order]
    product[bought_later] = in_order[which[bought_later]]
    session = events["session_id"].to_numpy()[carted]
    events = events.copy()
    by_session = pd.Series(product, index=session)
    rows = abandoned & events["product_id"].notna().to_numpy()
    events.loc[rows, "product_id"] = by_session.reindex(events.loc[rows, "session_id"]).to_numpy()
    truth = pd.DataFrame(
        {
            "session_id": session,
            "customer_id": orders["customer_id"].to_numpy()[anchor],
            "product_id": product,
            "order_id": orders["order_id"].to_numpy()[anchor],
            "bought_later": bought_later,
        }
    )
    return events, truth


def truth_tables(planted: Planted, customer_ids: np.ndarray) -> dict[str, pd.DataFrame]:
    """The planted structure by customer id, for the truth folder."""

    def named(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(customer_id=customer_ids[frame["customer"].to_numpy()]).drop(
            columns="customer"
        )

    launches = planted.launch.dropna().rename("launch_local").rename_axis("product_id")
    return {
        "item_favourites.parquet": named(planted.favourites),
        "item_brands.parquet": named(planted.brands),
        "item_staples.parquet": named(planted.staples),
        "item_pairs.parquet": planted.pairs,
        "item_launches.parquet": launches.reset_index(),
        "item_popularity.parquet": planted.weight.rename("weight")
        .rename_axis("product_id")
        .reset_index(),
    }
