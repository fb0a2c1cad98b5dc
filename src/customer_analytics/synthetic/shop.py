"""The synthetic shop's clean tables: customers, products, orders, lines, feedback, events.

Everything here is vectorised over rows; loops run over personas or categories only.
Defects are injected afterwards (:mod:`customer_analytics.synthetic.defects`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_analytics.synthetic.people import Population

FAMILY = [
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Xu",
    "Sun",
    "Ma",
    "Zhu",
    "Hu",
]
GIVEN = [
    "Wei",
    "Fang",
    "Na",
    "Min",
    "Jing",
    "Lei",
    "Yang",
    "Jun",
    "Yan",
    "Tao",
    "Xin",
    "Hui",
    "Ling",
    "Bo",
    "Qiang",
]
MAIL = ["qq.com", "163.com", "126.com", "sina.com", "outlook.com", "foxmail.com"]
ACQUISITION = ["app_store", "search", "social", "referral", "livestream"]
PRICE = {
    "beauty": 150,
    "fashion": 260,
    "mother_baby": 110,
    "electronics": 1400,
    "home": 190,
    "food": 55,
}
RETURN_REASONS = [
    "size does not fit",
    "damaged on arrival",
    "not as described",
    "changed my mind",
    "late delivery",
]
SHIPPING_FEE, FREE_SHIPPING_OVER = 15.0, 99.0


def ts_text(ts: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """The export's canonical timestamp text: shop-local ``YYYY-MM-DD HH:MM:SS``."""
    return pd.DatetimeIndex(ts).strftime("%Y-%m-%d %H:%M:%S").to_numpy()


def local_time(
    start: pd.Timestamp, weeks: np.ndarray, hour: np.ndarray, rng: np.random.Generator
) -> pd.DatetimeIndex:
    """Shop-local timestamps: the day from ``weeks``, the time of day from ``hour``."""
    day = start + pd.to_timedelta(np.floor(weeks * 7.0), unit="D")
    seconds = (np.mod(hour, 24.0) * 3600.0).astype(int) + rng.integers(0, 60, hour.size)
    return pd.DatetimeIndex(day) + pd.to_timedelta(np.minimum(seconds, 86399), unit="s")


def make_customers(
    rng: np.random.Generator,
    pop: Population,
    personas: dict,
    meta: dict,
    cities: pd.DataFrame,
    start: pd.Timestamp,
) -> pd.DataFrame:
    """The customer master with PII (names, e-mail, phone) and marketing consent."""
    n = len(pop.persona)
    ids = np.array([f"C{i:07d}" for i in range(1, n + 1)])
    family, given = rng.choice(FAMILY, n), rng.choice(GIVEN, n)
    names = np.char.add(np.char.add(given, " "), family)
    emails = np.char.add(np.char.add(np.char.lower(given), "."), np.char.lower(family))
    emails = np.char.add(np.char.add(emails, np.arange(1, n + 1).astype(str)), "@")
    emails = np.char.add(emails, rng.choice(MAIL, n))
    # Unique 11-digit mobiles: a fixed prefix plus a shuffled serial.
    serial = rng.choice(90_000_000, n, replace=False) + 10_000_000
    phones = np.char.add(rng.choice(["138", "139", "186", "150", "177"], n), serial.astype(str))
    gender = np.empty(n, dtype=object)
    birth = np.empty(n, dtype=int)
    tier = np.empty(n, dtype=int)
    bands = meta["age_bands"]
    for name, spec in personas.items():
        mask = pop.persona == name
        k = int(mask.sum())
        gender[mask] = np.where(rng.random(k) < spec.get("female", 0.5), "F", "M")
        band_names = list(spec["age"])
        chosen = rng.choice(
            len(band_names), k, p=np.array(list(spec["age"].values())) / sum(spec["age"].values())
        )
        lo = np.array([bands[band_names[c]][0] for c in chosen])
        hi = np.array([bands[band_names[c]][1] for c in chosen])
        birth[mask] = start.year - rng.integers(lo, hi + 1)
        tiers = np.array(spec.get("tiers", [0.2] * 5))
        tier[mask] = rng.choice(np.arange(1, 6), k, p=tiers / tiers.sum())
    gender[rng.random(n) < 0.02] = ""
    canonical = cities.drop_duplicates("city")
    city = np.empty(n, dtype=object)
    for t in range(1, 6):
        mask = tier == t
        city[mask] = rng.choice(
            canonical.loc[canonical["tier"] == t, "city"].to_numpy(), int(mask.sum())
        )
    signup = local_time(start, pop.signup, rng.uniform(7, 23, n), rng)
    return pd.DataFrame(
        {
            "customer_id": ids,
            "name": names,
            "email": emails,
            "phone": phones,
            "gender": gender,
            "birth_year": birth,
            "city": city,
            "country": "China",
            "signup_ts": ts_text(signup),
            "acquisition_channel": rng.choice(ACQUISITION, n),
            "marketing_consent": np.where(rng.random(n) < 0.7, "Y", "N"),
            "_signup": signup,
        }
    )


def make_products(
    rng: np.random.Generator, categories: list[str], per_category: int = 80
) -> pd.DataFrame:
    """Products with list price and unit cost (so margin exists)."""
    rows = []
    for c, category in enumerate(categories):
        price = np.round(PRICE[category] * rng.lognormal(0.0, 0.55, per_category), 1)
        cost = np.round(price * rng.uniform(0.4, 0.7, per_category), 2)
        brands = [f"{category.split('_')[0].title()}Brand{b}" for b in range(1, 7)]
        for i in range(per_category):
            rows.append(
                (f"P{c + 1}{i + 1:04d}", f"{category.replace('_', ' ')} item {i + 1}", category,
                 brands[i % len(brands)], max(price[i], 1.0), cost[i])
            )  # fmt: skip
    return pd.DataFrame(
        rows, columns=["product_id", "product_name", "category", "brand", "list_price", "unit_cost"]
    )


def make_lines(
    rng: np.random.Generator,
    orders: pd.DataFrame,
    personas: dict,
    categories: list[str],
    products: pd.DataFrame,
) -> pd.DataFrame:
    """Order lines whose value roughly follows each order's Gamma-Gamma spend."""
    lines_mean = orders["persona"].map({k: v["lines_mean"] for k, v in personas.items()}).to_numpy()
    n_lines = 1 + rng.poisson(np.maximum(lines_mean - 1.0, 0.0))
    idx = np.repeat(np.arange(len(orders)), n_lines)
    line_no = np.arange(idx.size) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1
    persona = orders["persona"].to_numpy()[idx]
    category = np.empty(idx.size, dtype=object)
    for name, spec in personas.items():
        mask = persona == name
        w = np.array(spec["categories"], dtype=float)
        category[mask] = rng.choice(categories, int(mask.sum()), p=w / w.sum())
    target = (orders["_value"].to_numpy() / n_lines)[idx] * rng.lognormal(0, 0.25, idx.size)
    product = np.empty(idx.size, dtype=object)
    price = np.empty(idx.size)
    for cat in categories:
        mask = category == cat
        catalogue = products[products["category"] == cat].sort_values("list_price")
        # Spend is measured in "how expensive within the category": a customer's spend
        # scale moves them up the category's price list.
        rank = np.clip(
            np.searchsorted(np.sort(target[mask]), target[mask]) / max(mask.sum(), 1), 0, 1
        )
        pos = np.clip(
            (rank * len(catalogue)).astype(int) + rng.integers(-3, 4, int(mask.sum())),
            0,
            len(catalogue) - 1,
        )
        product[mask] = catalogue["product_id"].to_numpy()[pos]
        price[mask] = catalogue["list_price"].to_numpy()[pos]
    quantity = (
        1 + (rng.random(idx.size) < 0.15).astype(int) + (rng.random(idx.size) < 0.05).astype(int)
    )
    return pd.DataFrame(
        {
            "order_id": orders["order_id"].to_numpy()[idx],
            "line_no": line_no,
            "product_id": product,
            "quantity": quantity,
            "unit_price": price,
            "line_amount": np.round(quantity * price, 2),
        }
    )


def order_totals(
    orders: pd.DataFrame, lines: pd.DataFrame, rng: np.random.Generator, coupon_share: np.ndarray
) -> pd.DataFrame:
    """Coupons, discounts and shipping from each order's line total."""
    total = (
        lines.groupby("order_id", sort=False)["line_amount"]
        .sum()
        .reindex(orders["order_id"])
        .to_numpy()
    )
    coupon = rng.random(len(orders)) < coupon_share
    codes = rng.choice(["SAVE10", "NEWUSER", "FESTIVAL", "VIP5"], len(orders))
    out = orders.copy()
    out["coupon_code"] = np.where(coupon, codes, "")
    out["discount_amount"] = np.where(
        coupon, np.round(total * rng.uniform(0.05, 0.15, len(orders)), 2), 0.0
    )
    out["shipping_amount"] = np.where(total >= FREE_SHIPPING_OVER, 0.0, SHIPPING_FEE)
    out["_items_total"] = total
    return out
