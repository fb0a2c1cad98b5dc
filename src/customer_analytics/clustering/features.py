"""One row per customer: what they are worth, how they shop, what they like, who they are.

Built from the clean tables with Ibis on DuckDB (each block is one aggregation), then
joined in pandas on the customer id: a frame of one row per customer fits one machine
at tens of millions of customers (DESIGN section 2). Every block is optional: a source
that lacks a table (Online Retail has no events, feedback or demographics) gets the
features it can, and :attr:`CustomerFeatures.missing` says which are absent and why.

Categorical traits enter as shares (share of orders per channel, share of lines per
category), never as one-hot columns: a share is a number with a meaning on a customer
who buys in several categories, and distances between shares are comparable.

The hour of day is circular (23:00 is next to 00:00), so it enters as the mean of the
orders' hour angles, ``hour_sin`` and ``hour_cos`` (Fisher 1993, *Statistical analysis
of circular data*), and for reading as ``order_hour``, the circular mean hour. The
weekday habit is one share, ``weekend_share`` (Saturday and Sunday, local time): the
split marketing acts on. Day-of-week shares would add six columns to the clustering
distance, pure noise on the synthetic shop, which plants no weekday habit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from customer_analytics.clean.identity import merged_ids
from customer_analytics.config import EngineSettings
from customer_analytics.pipeline import engine
from customer_analytics.utils.dates import day_end
from customer_analytics.utils.reference import reference_file
from customer_analytics.utils.text import slug
from customer_analytics.utils.timestamps import utc_to_local

#: Feature group -> the columns (or column prefixes ending in ``_``) it holds; what the
#: notebooks show and the clustering weighs as a group.
GROUPS: dict[str, tuple[str, ...]] = {
    "value": ("recency_days", "frequency", "monetary", "aov", "tenure_days", "clv", "p_alive"),
    "behaviour": (
        "rhythm_days",
        "basket_lines",
        "browse_to_buy",
        "cart_abandonment",
        "channel_",
        "device_",
        "hour_sin",
        "hour_cos",
        "weekend_share",
        "festival_share",
    ),
    "preference": ("category_", "brand_loyalty", "price_index"),
    "promotion": ("coupon_share",),
    "returns": ("return_share", "mean_rating"),
    "demographics": ("age", "female", "city_tier"),
}


def group_of(column: str) -> str | None:
    """The feature group a column belongs to (None for columns that are not features)."""
    for group, names in GROUPS.items():
        for name in names:
            if column == name or (name.endswith("_") and column.startswith(name)):
                return group
    return None


@dataclass
class CustomerFeatures:
    """The feature table and what could not be built.

    Attributes
    ----------
    table
        One row per customer with at least one kept order by ``as_of``, indexed by the
        merged customer id; numeric columns only (NaN where a customer has no data for
        a feature, e.g. no reviews). ``order_hour`` and ``consent`` are descriptive.
    missing
        Feature block -> why it is absent for this source.
    """

    table: pd.DataFrame
    missing: dict[str, str] = field(default_factory=dict)


def build_features(
    tables: Mapping[str, Path],
    as_of: dt.date,
    timezone_name: str,
    *,
    value: pd.DataFrame | None = None,
    festivals: tuple[str, ...] = (),
    festival_days: int = 10,
    engine_settings: EngineSettings | None = None,
) -> CustomerFeatures:
    """Per-customer features from the clean stage's tables as of the end of ``as_of``.

    Parameters
    ----------
    tables
        The clean stage's Parquet files by table name (``orders`` is required;
        ``order_items``, ``products``, ``events``, ``feedback``, ``customers`` and
        ``identity_map`` are used when present).
    as_of
        Orders, events and feedback after this day are ignored, so an earlier snapshot
        is described as it was then.
    timezone_name
        The shop's time zone: hours and weekdays are the customer's local habits.
    value
        Optional columns from the CLV stage indexed by customer id (``clv``,
        ``p_alive``) to carry along.
    festivals
        Month-day strings (``"11-11"``) of the shop's shopping festivals; with them,
        ``festival_share`` is the share of a customer's orders in the ``festival_days``
        before and on a festival.
    engine_settings
        The config's ``engine`` section; None: DuckDB.
    """
    con = engine.connect(engine_settings)
    end = day_end(as_of)
    tables = {name: con.read_parquet(path) for name, path in tables.items()}
    orders = tables["orders"]
    orders = orders.filter(orders.customer_id.notnull(), orders.order_ts_utc < end)
    merged = tables.get("identity_map")
    missing: dict[str, str] = {}

    if "is_return" not in orders.columns:  # a shop that keeps returns apart from orders
        orders = orders.mutate(is_return=ibis.literal(False))
    local = utc_to_local(orders.order_ts_utc, timezone_name)
    purchases = orders.filter(~orders.is_return).mutate(_local=local)
    blocks = [_value(orders, purchases, end)]
    blocks.append(_habits(purchases, festivals, festival_days))
    if not {"coupon_code", "discount_amount"} & set(orders.columns):
        missing["coupon_share"] = "no coupon or discount columns on orders"
    for column in ("channel", "device"):
        if column not in orders.columns:
            missing[f"{column}_*"] = f"no {column} column on orders"
    blocks += [_shares(purchases, column, prefix) for column, prefix in _share_columns(orders)]
    if "order_items" in tables and "products" in tables:
        blocks.append(_preferences(purchases, tables["order_items"], tables["products"]))
    else:
        missing["preference"] = "no order lines with product categories (order_items, products)"
    if "events" in tables:
        blocks.append(_browsing(tables["events"], merged, end))
    else:
        missing["browse_to_buy, cart_abandonment"] = "no web/app events table"
    if "feedback" in tables:
        blocks.append(_ratings(tables["feedback"], merged, end))
    else:
        missing["mean_rating"] = "no reviews (feedback table)"
    if "customers" in tables:
        blocks.append(_demographics(tables["customers"], as_of))
    else:
        missing["demographics"] = "no customers table"
    if not festivals:
        missing["festival_share"] = "no shopping festivals configured (shop.festivals)"

    table = blocks[0]
    for block in blocks[1:]:
        table = table.join(block, how="left")
    if value is not None:
        table = table.join(value, how="left")
    else:
        missing["clv, p_alive"] = "stage 04_clv did not run"
    table = _drop_empty(table, missing)
    return CustomerFeatures(table=table.sort_index(), missing=missing)


def _to_merged(table: ibis.Table, identity: ibis.Table | None) -> ibis.Table:
    """Rows of a table keyed by account id, re-keyed by the merged customer id."""
    return merged_ids(table.filter(table.customer_id.notnull()), identity)


def _frame(expr: ibis.Table) -> pd.DataFrame:
    return expr.execute().set_index("customer_id")


def _value(orders: ibis.Table, purchases: ibis.Table, end: dt.datetime) -> pd.DataFrame:
    """Recency, frequency, net monetary value, average order value, tenure, rhythm,
    lines per order and share of orders returned."""
    last = purchases.order_ts_utc.max()
    first = purchases.order_ts_utc.min()
    aggs = {"frequency": purchases.count(), "gross": purchases.revenue.sum()}
    if "n_lines" in purchases.columns:
        aggs["basket_lines"] = purchases.n_lines.mean()
    bought = purchases.group_by("customer_id").aggregate(**aggs, first_ts=first, last_ts=last)
    returns = orders.filter(orders.is_return)
    returned = returns.group_by("customer_id").aggregate(
        returned=returns.revenue.abs().sum(), n_returns=returns.count()
    )
    frame = _frame(bought.left_join(returned, "customer_id").drop("customer_id_right"))
    frame[["returned", "n_returns"]] = frame[["returned", "n_returns"]].fillna(0)
    end_ts = pd.Timestamp(end)
    out = pd.DataFrame(index=frame.index)
    out["recency_days"] = (end_ts - frame["last_ts"]).dt.total_seconds() / 86400
    out["tenure_days"] = (end_ts - frame["first_ts"]).dt.total_seconds() / 86400
    out["frequency"] = frame["frequency"].astype(float)
    out["monetary"] = frame["gross"] - frame["returned"]
    out["aov"] = frame["gross"] / frame["frequency"]
    span = (frame["last_ts"] - frame["first_ts"]).dt.total_seconds() / 86400
    out["rhythm_days"] = (span / (frame["frequency"] - 1)).where(frame["frequency"] > 1)
    if "basket_lines" in frame:
        out["basket_lines"] = frame["basket_lines"]
    out["return_share"] = frame["n_returns"] / frame["frequency"]
    return out


def _habits(purchases: ibis.Table, festivals: tuple[str, ...], days: int) -> pd.DataFrame:
    """Circular mean hour, weekend share, coupon share and festival share of purchases."""
    hour = purchases._local.hour() + purchases._local.minute() / 60
    angle = hour * (2 * np.pi / 24)
    aggs = {
        "hour_sin": angle.sin().mean(),
        "hour_cos": angle.cos().mean(),
        "weekend_share": purchases._local.day_of_week.index().isin([5, 6]).cast("float64").mean(),
    }
    coupon = ibis.literal(False)
    if "coupon_code" in purchases.columns:
        coupon = coupon | (purchases.coupon_code.notnull() & (purchases.coupon_code != ""))
    if "discount_amount" in purchases.columns:
        coupon = coupon | (purchases.discount_amount.fill_null(0) > 0)
    if {"coupon_code", "discount_amount"} & set(purchases.columns):
        aggs["coupon_share"] = coupon.cast("float64").mean()
    if festivals:
        aggs["festival_share"] = _near_festival(purchases._local, festivals, days).mean()
    frame = _frame(purchases.group_by("customer_id").aggregate(**aggs))
    frame["order_hour"] = circular_hour(frame["hour_sin"], frame["hour_cos"]).round(1) % 24
    return frame


def circular_hour(sin: pd.Series | float, cos: pd.Series | float) -> pd.Series | float:
    """The hour of day (0 to 24) of a circular mean: the angle of the mean of the orders'
    hour angles (Fisher 1993), so 23:00 and 01:00 average to midnight, not noon."""
    return np.mod(np.arctan2(sin, cos) * 24 / (2 * np.pi), 24)


def _near_festival(local: ibis.Value, festivals: tuple[str, ...], days: int) -> ibis.Value:
    """1.0 for a local timestamp on or up to ``days`` before a festival (any year)."""
    near = ibis.literal(False)
    for festival in festivals:
        month, day = (int(x) for x in festival.split("-"))
        for year_shift in (0, 1):  # a festival early in January is near late December
            at = ibis.date(local.year() + year_shift, month, day)
            gap = at.delta(local.date(), unit="day")
            near = near | ((gap >= 0) & (gap <= days))
    return near.cast("float64")


def _share_columns(orders: ibis.Table) -> list[tuple[str, str]]:
    return [(c, f"{c}_") for c in ("channel", "device") if c in orders.columns]


def _shares(purchases: ibis.Table, column: str, prefix: str) -> pd.DataFrame:
    """Share of each customer's orders per value of ``column`` (one column per value)."""
    counts = purchases.group_by(["customer_id", column]).aggregate(n=purchases.count())
    frame = counts.execute().pivot_table(
        index="customer_id", columns=column, values="n", fill_value=0, aggfunc="sum"
    )
    frame = frame.div(frame.sum(axis=1), axis=0)
    frame.columns = [f"{prefix}{slug(v)}" for v in frame.columns]
    return frame


def _preferences(purchases: ibis.Table, items: ibis.Table, products: ibis.Table) -> pd.DataFrame:
    """Share of lines per category, top brand's share of lines, price against the category.

    Categories are shares of lines, not of spend: one television would otherwise outweigh
    a year of weekly groceries in what a customer is said to like.
    """
    if "line_amount" not in items.columns:
        items = items.mutate(line_amount=items.quantity * items.unit_price)
    lines = items.select("order_id", "product_id", "unit_price", "line_amount")
    lines = lines.join(purchases.select("order_id", "customer_id"), "order_id").join(
        products.select("product_id", "category", "brand"), "product_id"
    )
    lines = lines.filter(lines.line_amount > 0)
    counts = lines.group_by(["customer_id", "category"]).aggregate(n=lines.count())
    category = counts.execute().pivot_table(
        index="customer_id", columns="category", values="n", fill_value=0, aggfunc="sum"
    )
    category = category.div(category.sum(axis=1), axis=0)
    category.columns = [f"category_{slug(c)}" for c in category.columns]

    per_brand = lines.group_by(["customer_id", "brand"]).aggregate(n=lines.count())
    brand = per_brand.group_by("customer_id").aggregate(
        brand_loyalty=per_brand.n.max() / per_brand.n.sum()
    )
    median = lines.group_by("category").aggregate(median_price=lines.unit_price.median())
    priced = lines.join(median, "category")
    price = priced.group_by("customer_id").aggregate(
        price_index=(priced.unit_price / priced.median_price).mean()
    )
    return category.join([_frame(brand), _frame(price)], how="left")


def _browsing(events: ibis.Table, identity: ibis.Table | None, end: dt.datetime) -> pd.DataFrame:
    """Share of sessions that end in a purchase, and carts left without buying per order.

    Abandonment is counted per order rather than as a share of carts: a share is capped
    at 1 and squeezes the customers who leave many carts together with those who leave one.
    """
    events = _to_merged(events.filter(events.event_ts < end), identity)
    sessions = events.group_by(["customer_id", "session_id"]).aggregate(
        bought=(events.event_type == "purchase").any(),
        carted=(events.event_type == "add_to_cart").any(),
    )
    bought = sessions.bought.cast("float64")
    left = (sessions.carted & ~sessions.bought).cast("float64")
    per_customer = sessions.group_by("customer_id").aggregate(
        browse_to_buy=bought.mean(),
        cart_abandonment=left.sum() / bought.sum().nullif(0),
    )
    return _frame(per_customer)


def _ratings(feedback: ibis.Table, identity: ibis.Table | None, end: dt.datetime) -> pd.DataFrame:
    reviews = feedback.filter(feedback.rating.notnull())
    reviews = _to_merged(reviews.mutate(rating=reviews.rating.cast("float64")), identity)
    if "ts_utc" in reviews.columns:
        reviews = reviews.filter(reviews.ts_utc < end)
    return _frame(reviews.group_by("customer_id").aggregate(mean_rating=reviews.rating.mean()))


def _demographics(customers: ibis.Table, as_of: dt.date) -> pd.DataFrame:
    """Age, female (1/0), city tier (from the reference table) and marketing consent.

    Merged accounts: the person's age and gender from any account that has them; consent
    only when every account of the person consents (an opt-out anywhere wins).
    """
    key = "merged_customer_id" if "merged_customer_id" in customers.columns else "customer_id"
    cols = customers.columns
    aggs = {}
    if "birth_year" in cols:
        year = customers.birth_year.cast("string").try_cast("int64")
        aggs["age"] = (as_of.year - year).cast("float64").max()
    if "gender" in cols:
        gender = customers.gender.upper()
        female = ibis.cases((gender.isin(["F", "FEMALE"]), 1.0), (gender.isin(["M", "MALE"]), 0.0))
        aggs["female"] = female.max()
    if "city" in cols:
        tiers = ibis.memtable(_city_tiers())
        customers = customers.left_join(tiers, customers.city == tiers.city_name)
        aggs["city_tier"] = customers.tier.max()
    if "marketing_consent" in cols:
        consent = customers.marketing_consent.cast("string").upper().isin(["Y", "YES", "TRUE", "1"])
        aggs["consent"] = consent.cast("float64").min()
    if not aggs:
        return pd.DataFrame()
    frame = customers.group_by(key).aggregate(**aggs).rename(customer_id=key)
    return _frame(frame)


def _city_tiers() -> pd.DataFrame:
    cities = pd.read_csv(reference_file("cities_cn.csv"))
    return (
        cities.drop_duplicates("city")
        .rename(columns={"city": "city_name"})[["city_name", "tier"]]
        .astype({"tier": "float64"})
    )


def _drop_empty(table: pd.DataFrame, missing: dict[str, str]) -> pd.DataFrame:
    """Drop columns with no value for anyone (a table present but empty), saying so."""
    empty = [c for c in table.columns if table[c].isna().all()]
    for column in empty:
        missing[column] = "no customer has a value"
    return table.drop(columns=empty)
