"""Inject the configured defects into the clean synthetic tables (see defects.yaml)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from customer_analytics.synthetic.defects import (
    DefectLog,
    exact_duplicates,
    item_key,
    pick,
    price_defects,
    reformat_timestamps,
    spelling,
)


def _new_ids(prefix: str, after: int, count: int, width: int) -> np.ndarray:
    if count == 0:
        return np.array([], dtype=str)
    return np.char.add(
        prefix, np.char.zfill(np.arange(after + 1, after + count + 1).astype(str), width)
    )


def _email_variant(rng: np.random.Generator, emails: pd.Series) -> np.ndarray:
    """The same address up to case and spaces, as people retype it."""
    upper = emails.str.title()
    return np.where(
        rng.random(len(emails)) < 0.5, " " + upper, upper.str.replace("@", " @", regex=False) + " "
    )


def _phone_variant(phones: pd.Series) -> pd.Series:
    return phones.str[:3] + "-" + phones.str[3:7] + "-" + phones.str[7:]


def duplicate_accounts(rng, rate, customers, orders, log) -> tuple[pd.DataFrame, pd.DataFrame]:  # noqa: ANN001
    """Second accounts of some repeat buyers; later orders split across both accounts."""
    completed = orders[(orders["status"] == "completed") & ~orders["_protected"]]
    counts = completed.groupby("customer_id").size()
    candidates = np.flatnonzero(customers["customer_id"].map(counts).fillna(0).to_numpy() >= 2)
    chosen = customers.iloc[pick(rng, candidates, rate)]
    ids = _new_ids("C", len(customers), len(chosen), 7)
    twins = chosen.copy()
    twins["customer_id"] = ids
    by_email = rng.random(len(twins)) < 0.5
    twins["email"] = np.where(by_email, _email_variant(rng, chosen["email"]), chosen["email"])
    twins["phone"] = np.where(by_email, chosen["phone"], _phone_variant(chosen["phone"]))
    # Open the second account between the person's first and last order.
    span = (
        completed.groupby("customer_id")["_ts"].agg(["min", "max"]).reindex(chosen["customer_id"])
    )
    opened = span["min"] + (span["max"] - span["min"]) * rng.uniform(0.2, 0.6, len(chosen))
    twins["_signup"] = opened.to_numpy()
    twins["signup_ts"] = pd.DatetimeIndex(opened).strftime("%Y-%m-%d %H:%M:%S").to_numpy()
    twins["_person"] = chosen["customer_id"].to_numpy()
    twins["_test"] = False
    log.add("customers", ids, "duplicate_account", chosen["customer_id"].to_numpy())
    twin_of = pd.Series(ids, index=chosen["customer_id"].to_numpy())
    opened_of = pd.Series(opened.to_numpy(), index=chosen["customer_id"].to_numpy())
    movable = (
        orders["customer_id"].isin(twin_of.index)
        & ~orders["_protected"]
        & (orders["status"] == "completed")
        & (orders["_ts"] > orders["customer_id"].map(opened_of))
    )
    moved = movable.to_numpy() & (rng.random(len(orders)) < 0.5)
    orders = orders.copy()
    moved_ids = set(orders.loc[moved, "order_id"])
    follows = moved | orders["original_order_id"].isin(moved_ids).to_numpy()
    orders.loc[follows, "customer_id"] = orders.loc[follows, "customer_id"].map(twin_of).to_numpy()
    return pd.concat([customers, twins], ignore_index=True), orders


def extra_orders(
    rng, source, lines, count, customer_ids, first_id
) -> tuple[pd.DataFrame, pd.DataFrame]:  # noqa: ANN001
    """Copies of existing orders (with new ids and the given customers) and their lines."""
    picked = source.iloc[rng.integers(0, len(source), count)].copy()
    new = _new_ids("O", first_id, count, 8)
    mapping = pd.Series(new, index=range(count))
    picked["_old"] = picked["order_id"].to_numpy()
    picked["order_id"] = new
    picked["customer_id"] = customer_ids
    copied = (
        picked[["_old", "order_id"]]
        .merge(lines.rename(columns={"order_id": "_old"}), on="_old")
        .drop(columns="_old")
    )
    del mapping
    return picked.drop(columns="_old"), copied


def inject_defects(
    rng, rates, customers, orders, lines, feedback, events, end_ts, log: DefectLog, reference: Path
) -> dict:  # noqa: ANN001
    """Apply every defect kind in a fixed order and return the tables as exported."""
    customers = customers.assign(_person=None, _test=False)
    customers, orders = duplicate_accounts(rng, rates["duplicate_account"], customers, orders, log)
    owner = orders.drop_duplicates("order_id").set_index("order_id")["customer_id"]
    feedback = feedback.assign(
        customer_id=feedback["order_id"].map(owner).fillna(feedback["customer_id"])
    )
    next_order = int(orders["order_id"].str.extract(r"^O(\d+)$")[0].dropna().astype(int).max())
    pool = orders[(orders["status"] == "completed") & ~orders["_protected"]]

    n_test = int(round(rates["test_account"] * len(customers)))
    if n_test and len(pool):
        tests = customers.iloc[rng.integers(0, len(customers), n_test)].copy()
        tests["customer_id"] = _new_ids("C", len(customers), n_test, 7)
        domains = pd.read_csv(reference / "test_email_domains.csv")["domain"].to_numpy()
        tests["email"] = np.char.add(
            np.char.add("qa.user", np.arange(1, n_test + 1).astype(str)),
            np.char.add("@", rng.choice(domains, n_test)),
        )
        tests["name"] = "Test User"
        tests["_person"], tests["_test"] = None, True
        customers = pd.concat([customers, tests], ignore_index=True)
        log.add("customers", tests["customer_id"], "test_account")
        per = rng.integers(1, 4, n_test)
        o, li = extra_orders(
            rng,
            pool,
            lines,
            int(per.sum()),
            np.repeat(tests["customer_id"].to_numpy(), per),
            next_order,
        )
        next_order += len(o)
        log.add("orders", o["order_id"], "test_account")
        orders, lines = (
            pd.concat([orders, o], ignore_index=True),
            pd.concat([lines, li], ignore_index=True),
        )

    n_guest = int(round(rates["guest_order"] * len(pool)))
    if n_guest:
        o, li = extra_orders(rng, pool, lines, n_guest, "", next_order)
        log.add("orders", o["order_id"], "guest_order")
        orders, lines = (
            pd.concat([orders, o], ignore_index=True),
            pd.concat([lines, li], ignore_index=True),
        )

    ok = ((orders["status"] == "completed") & ~orders["_protected"]).to_numpy()
    stamp = pick(rng, np.flatnonzero(ok), rates["nonstandard_timestamp"])
    orders.loc[orders.index[stamp], "order_ts"] = reformat_timestamps(
        rng, orders["_ts"].iloc[stamp]
    )
    log.add("orders", orders["order_id"].iloc[stamp], "nonstandard_timestamp")
    signup = pick(rng, np.arange(len(customers)), rates["nonstandard_timestamp"])
    customers.loc[customers.index[signup], "signup_ts"] = reformat_timestamps(
        rng, pd.Series(pd.DatetimeIndex(customers["_signup"].iloc[signup]))
    )
    log.add("customers", customers["customer_id"].iloc[signup], "nonstandard_timestamp")

    for column, file in (("city", "cities_cn.csv"), ("country", "countries.csv")):
        reference_table = pd.read_csv(reference / file)
        rate = rates[f"{column}_spelling"]
        customers[column], moved = spelling(rng, customers[column], reference_table, column, rate)
        log.add("customers", customers["customer_id"].iloc[moved], f"{column}_spelling")

    line_ok = (
        lines["order_id"].isin(orders.loc[ok, "order_id"]).to_numpy()
        & (lines["quantity"] > 0).to_numpy()
    )
    lines = price_defects(rng, lines, line_ok, rates, log)
    lines = exact_duplicates(
        rng,
        lines,
        line_ok,
        rates["exact_duplicate_order_items"],
        "order_items",
        item_key(lines),
        log,
    )
    orders = exact_duplicates(
        rng, orders, ok, rates["exact_duplicate_orders"], "orders", orders["order_id"], log
    )

    if events is not None:
        late = pick(rng, np.arange(len(events)), rates["event_after_end"])
        utc_end = end_ts - pd.Timedelta(hours=8)
        events.loc[events.index[late], "event_ts"] = utc_end + pd.to_timedelta(
            rng.uniform(0.01, 30, late.size), unit="D"
        )
        log.add("events", late + 1, "event_after_end")
    feedback = feedback.sort_values("_ts", kind="stable", ignore_index=True)
    feedback.insert(
        0,
        "feedback_id",
        np.char.add("F", np.char.zfill(np.arange(1, len(feedback) + 1).astype(str), 7)),
    )
    feedback["ts"] = pd.DatetimeIndex(feedback["_ts"]).strftime("%Y-%m-%d %H:%M:%S")
    return {
        "customers": customers,
        "orders": orders,
        "order_items": lines,
        "feedback": feedback,
        "events": events,
    }
