"""Build the whole synthetic shop: clean tables, experiments, defects, then files and truth."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from customer_analytics.synthetic import (
    activity,
    experiments,
    items,
    marketing,
    people,
    shop,
)
from customer_analytics.synthetic import feedback as voice
from customer_analytics.synthetic.defects import DefectLog
from customer_analytics.synthetic.inject import inject_defects
from customer_analytics.utils import progress
from customer_analytics.utils.reference import REFERENCE

HERE = Path(__file__).resolve().parent
#: The generator's steps, for its progress lines.
GENERATION_STEPS = 5
SIZES = {"tiny": 400, "default": 20_000}
PROSPECT_SHARE = 0.04
CARRIER_COST = 12.0  # what the shop pays per shipped order, whatever the customer paid
DEFAULT_BGNBD = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}


@dataclass(frozen=True)
class GeneratedShop:
    """Where a generated shop was written and how."""

    raw_dir: Path
    truth_dir: Path
    n_customers: int
    seed: int
    params: dict


def _yaml(name: str) -> dict:
    return yaml.safe_load((HERE / name).read_text())


def generate(
    out_dir: str | Path,
    size: str = "default",
    n_customers: int | None = None,
    seed: int = 42,
    start: str = "2024-01-01",
    end: str = "2025-12-31",
    mode: str = "personas",
    bgnbd_params: dict | None = None,
    defect_rates: dict | None = None,
    events: bool = True,
    item_structure: bool = True,
) -> GeneratedShop:
    """Generate a synthetic shop into ``out_dir/raw`` (the export) and ``out_dir/truth``.

    Parameters
    ----------
    out_dir
        Folder to write into (created).
    size
        ``"tiny"`` (400 customers) or ``"default"`` (20,000).
    n_customers
        Overrides ``size``.
    seed
        The same seed and size give byte-identical files.
    start, end
        The data window as shop-local dates (Asia/Shanghai); the data ends at ``end`` 23:59:59.
    mode
        ``"personas"`` (the planted personas, experiments and defects) or ``"bgnbd"``
        (everybody follows one BG/NBD process with ``bgnbd_params``, in weeks; no
        defects, no experiments), to test that model fitting recovers the parameters.
    defect_rates
        Overrides of ``defects.yaml``.
    events
        Write the web/app events (skip for very large benchmark shops).
    item_structure
        Plant the item-level structure of :mod:`.items` (popularity, affinities,
        consumables, pairs, launches, abandoned carts bought later) and write it to the
        truth. Off, each line's product is its place on the category's price list, as
        before the structure came (its own seed streams: every other draw is the same).
    """
    if mode not in ("personas", "bgnbd"):
        raise ValueError(f"mode must be 'personas' or 'bgnbd', got {mode!r}")
    n = n_customers or SIZES[size]
    meta = _yaml("personas.yaml")
    personas = meta["personas"]
    design = _yaml("experiments.yaml")
    rates = {**_yaml("defects.yaml"), **(defect_rates or {})}
    bg = {**DEFAULT_BGNBD, **(bgnbd_params or {})}
    if mode == "bgnbd":
        rates = dict.fromkeys(rates, 0.0)
        design["experiments"] = {}
    # Streams 10 and 11 (the item structure), 12 (each customer's own promotion
    # sensitivity and channel mix) and 13 (orders an annoying campaign loses) came
    # later, and 14 to 17 (marketing, newcomers) later still, 18 and 19 (review texts and
    # their themes, personal data in them) last: spawning more children leaves the first
    # ones, and every earlier draw, as they were.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(20)]
    start_ts = pd.Timestamp(start)
    end_ts = pd.Timestamp(end) + pd.Timedelta(hours=23, minutes=59, seconds=59)
    window = (end_ts - start_ts) / pd.Timedelta(weeks=1)

    progress.step(f"synthetic shop: {n:,} customers and their purchases", 1, GENERATION_STEPS)
    pop = (
        people.draw_population(streams[0], n, personas, window, PROSPECT_SHARE)
        if mode == "personas"
        else people.bgnbd_population(streams[0], n, bg, window)
    )
    traits = people.draw_traits(streams[12], pop, personas)
    purchases, death = people.simulate_purchases(streams[1], pop, window + people.WEEKS_PER_YEAR)
    purchases = _seasonal(streams[1], purchases, pop, personas, meta["holidays"], start_ts)
    purchases["value"] = people.order_values(streams[2], pop, purchases["customer"].to_numpy())
    purchases["exp"], purchases["rank"] = "", 0
    future = purchases[purchases["t"] >= window]
    purchases = purchases[purchases["t"] < window]
    first_buy = purchases.groupby("customer")["t"].min().reindex(range(n)).fillna(np.inf).to_numpy()

    exposed, extras = {}, []
    for name, spec in design["experiments"].items():
        assigned = experiments.assign(streams[3], spec, pop, first_buy, window)
        assigned["recency"] = experiments.recency_weeks(purchases, assigned)
        counts = experiments.extra_counts(
            streams[3], spec, assigned, pop, traits, assigned["recency"].to_numpy(), death
        )
        exposed[name] = (assigned, counts)
        for arm in spec["arms"]:
            most = counts[arm].to_numpy()
            rows = np.repeat(np.arange(len(assigned)), most)
            rank = np.arange(rows.size) - np.repeat(np.cumsum(most) - most, most) + 1
            t = assigned["t"].to_numpy()[rows] + streams[3].uniform(
                0, spec["window_days"] / 7.0, rows.size
            )
            c = assigned["customer"].to_numpy()[rows]
            value = people.order_values(streams[3], pop, c) * spec.get("value_scale", {}).get(
                arm, 1.0
            )
            extras.append(
                pd.DataFrame(
                    {
                        "customer": c,
                        "t": t,
                        "repeat": True,
                        "value": value,
                        "exp": f"{name}:{arm}",
                        "rank": rank,
                    }
                )
            )
    purchases = pd.concat([purchases, *extras], ignore_index=True)
    purchases = purchases[purchases["t"] < window].sort_values(
        ["t", "customer"], kind="stable", ignore_index=True
    )

    progress.step(
        "synthetic shop: customers' details, products, orders and lines", 2, GENERATION_STEPS
    )
    customers = (
        shop.make_customers(
            streams[4], pop, personas, meta, pd.read_csv(REFERENCE / "cities_cn.csv"), start_ts
        )
        if mode == "personas"
        else _plain_customers(streams[4], pop, start_ts)
    )
    products = shop.make_products(streams[5], meta["categories"])
    orders = _orders(streams[6], purchases, pop, traits, personas, customers, start_ts)
    orders["_value"] = purchases["value"].to_numpy()
    lines = shop.make_lines(
        streams[6],
        orders,
        _persona_specs(personas, pop),
        meta["categories"],
        products,
    )
    planted = items.draw(streams[10], products, n, start_ts, end_ts) if item_structure else None
    if planted is not None:
        lines = items.plant(streams[11], planted, lines, orders, products)
    orders = shop.order_totals(
        orders,
        lines,
        streams[6],
        traits.promo[orders["_customer"].to_numpy()],
    )
    cost = (
        lines.merge(products[["product_id", "unit_cost"]], on="product_id")
        .assign(c=lambda d: d["unit_cost"] * d["quantity"])
        .groupby("order_id")["c"]
        .sum()
    )
    orders["_cost"] = cost.reindex(orders["order_id"]).to_numpy()
    coupon = orders["coupon_code"].to_numpy() != ""
    money = experiments.Economics(
        items_per_value=orders["_items_total"].sum() / orders["_value"].sum(),
        cost_share=orders["_cost"].sum() / orders["_items_total"].sum(),
        discount_rate=orders["discount_amount"].sum() / orders.loc[coupon, "_items_total"].sum(),
        shipping_fee=shop.SHIPPING_FEE,
        carrier_cost=CARRIER_COST,
    )

    effects, expected, exposures, orders, lines = _experiments(
        design, exposed, orders, lines, pop, traits, death, money, customers, start_ts,
        streams[7], streams[13],
    )  # fmt: skip
    protected = orders["_protected"].to_numpy()

    progress.step("synthetic shop: returns, cancellations, reviews and events", 3, GENERATION_STEPS)
    log = DefectLog()
    ok_orders = orders[~protected]
    returns = activity.make_returns(
        streams[8],
        ok_orders,
        lines,
        ok_orders["persona"].map(_attr(personas, "return_rate", 0.05)).to_numpy()
        * (mode == "personas"),
        end_ts,
    )
    cancels = activity.make_cancellations(streams[8], ok_orders, lines, rates["cancellation"])
    log.add("orders", returns[0]["order_id"], "return", returns[0]["original_order_id"])
    log.add("orders", cancels[0]["order_id"], "cancellation", cancels[0]["original_order_id"])
    reviews = activity.make_reviews(
        streams[8],
        orders,
        lines,
        orders["persona"].map(_attr(personas, "rating_mean", 4.0)).to_numpy(),
    )
    feedback = pd.concat([reviews, returns[2]], ignore_index=True)
    event_table = (
        activity.make_events(
            streams[9],
            orders,
            lines,
            orders["persona"].map(_attr(personas, "abandon_rate", 0.3)).to_numpy(),
            products,
        )
        if events
        else None
    )
    carts = None
    if event_table is not None and planted is not None:
        event_table, carts = items.carts_bought_later(
            streams[11],
            event_table,
            lines,
            orders,
            orders["persona"].map(_attr(personas, "cart_return_rate", 0.3)).to_numpy(),
        )
    touches = None
    if event_table is not None and mode == "personas":
        plan = marketing.load()
        tests = pd.concat(
            [pd.DataFrame({"customer": a["customer"].to_numpy(), "start": a["t"].to_numpy(),
                           "end": a["t"].to_numpy() + design["experiments"][name]["window_days"] / 7.0})
             for name, (a, _) in exposed.items()]
            or [pd.DataFrame(columns=["customer", "start", "end"])], ignore_index=True,
        )  # fmt: skip
        touches = _touches(streams[14], plan, pop, traits, death, customers, orders, event_table,
                           tests, start_ts, window)  # fmt: skip
        event_table["source"] = _session_sources(streams[15], plan, event_table["session_id"])
        event_table["campaign_id"] = None
        _click_to_buy(touches, orders, event_table)
    if event_table is not None:
        event_table = event_table.drop(columns="_order")
    orders = pd.concat([orders, returns[0], cancels[0]], ignore_index=True)
    lines = pd.concat([lines, returns[1], cancels[1]], ignore_index=True)

    progress.step("synthetic shop: defects, as a real export has them", 4, GENERATION_STEPS)
    tables = inject_defects(
        streams[9], rates, customers, orders, lines, feedback, event_table, end_ts, log, REFERENCE
    )
    sent = None
    if touches is not None:
        sent = _marketing_tables(streams[16], plan, touches, tables, pop, traits, meta,
                                 customers, products, start_ts, window)  # fmt: skip
        exposures = pd.concat([exposures, sent.exposures], ignore_index=True)
        orders = pd.concat([orders, sent.orders], ignore_index=True)
        future = pd.concat([future, sent.future], ignore_index=True)
    progress.step("synthetic shop: writing the export and its truth", 5, GENERATION_STEPS)
    out = Path(out_dir)
    truth = _truth_customers(
        pop, customers, tables["customers"], purchases, future, death, window, orders
    ).assign(planted_growth=False)
    if sent is not None and plan["growth"]["customers"] > 0:
        grown = _newcomers(streams[17], plan, meta, tables, products, start_ts, window, n, log)
        truth = pd.concat([truth, grown.assign(planted_growth=True)], ignore_index=True)
    # The reviews' texts come last, on streams of their own: every value drawn before
    # stays as it was (a return's reason in a theme's cell aside).
    cities = pd.read_csv(REFERENCE / "cities_cn.csv").drop_duplicates("variant")
    said = voice.plant(
        streams[18],
        streams[19],
        tables["feedback"],
        truth.drop_duplicates("customer_id").set_index("customer_id")["persona"],
        products.set_index("product_id")["category"],
        tables["customers"],
        cities.set_index("variant")["tier"],
    )
    tables["feedback"] = said.feedback
    params = {"seed": seed, "size": size, "n_customers": n, "start": start, "end": end, "mode": mode,
              "bgnbd_params": bg if mode == "bgnbd" else None, "defect_rates": rates, "time_unit": "weeks"}  # fmt: skip
    _write(out, tables, exposures, products, truth, log.frame(), effects, meta, design, params)
    expected.to_parquet(out / "truth" / "experiment_customers.parquet", index=False)
    said.themes.to_csv(out / "truth" / "feedback_themes.csv", index=False, lineterminator="\n")
    said.rows.to_parquet(out / "truth" / "feedback_rows.parquet", index=False)
    said.pii.to_parquet(out / "truth" / "feedback_pii.parquet", index=False)
    if sent is not None:
        csv_out = {"float_format": "%.4f", "index": False, "lineterminator": "\n"}
        sent.messages.to_csv(out / "raw" / "messages.csv", **csv_out)
        sent.spend.to_csv(out / "raw" / "spend.csv", **csv_out)
        sent.channels.to_parquet(out / "truth" / "marketing_orders.parquet", index=False)
        (out / "truth" / "marketing.yaml").write_text(yaml.safe_dump(sent.planted, sort_keys=False))
    if planted is not None:
        ids = customers["customer_id"].to_numpy()
        for name, frame in items.truth_tables(planted, ids).items():
            frame.to_parquet(out / "truth" / name, index=False)
        if carts is not None:
            carts.to_parquet(out / "truth" / "item_carts.parquet", index=False)
    return GeneratedShop(out / "raw", out / "truth", n, seed, params)


def _attr(personas: dict, key: str, default: float) -> dict:
    return {**{k: v.get(key, default) for k, v in personas.items()}, "bgnbd": default}


def _persona_specs(personas: dict, pop: people.Population) -> dict:
    specs = dict(personas)
    if "bgnbd" in set(pop.persona):
        specs["bgnbd"] = {"lines_mean": 2.0, "categories": [1 / 6] * 6}
    return specs


def _seasonal(rng, purchases, pop, personas, holidays, start_ts) -> pd.DataFrame:  # noqa: ANN001
    seasonal = [k for k, v in personas.items() if v.get("seasonal")]
    mask = (
        np.isin(pop.persona[purchases["customer"].to_numpy()], seasonal)
        & purchases["repeat"].to_numpy()
    )
    if mask.any():
        shifted = people.seasonal_shift(
            rng, purchases.loc[mask, "t"].to_numpy(), start_ts, holidays
        )
        signup = pop.signup[purchases.loc[mask, "customer"].to_numpy()]
        purchases.loc[mask, "t"] = np.maximum(shifted, signup + 0.01)
    return purchases.sort_values(["customer", "t"], kind="stable", ignore_index=True)


def _plain_customers(
    rng: np.random.Generator, pop: people.Population, start_ts: pd.Timestamp
) -> pd.DataFrame:
    n = len(pop.lam)
    signup = shop.local_time(start_ts, pop.signup, rng.uniform(7, 23, n), rng)
    return pd.DataFrame(
        {"customer_id": [f"C{i:07d}" for i in range(1, n + 1)], "name": "", "email": "", "phone": "", "gender": "",
         "birth_year": 0, "city": "", "country": "China", "signup_ts": shop.ts_text(signup),
         "acquisition_channel": "", "marketing_consent": "N", "_signup": signup}
    )  # fmt: skip


def _orders(rng, purchases, pop, traits, personas, customers, start_ts) -> pd.DataFrame:  # noqa: ANN001
    c = purchases["customer"].to_numpy()
    persona = pop.persona[c]
    hour = np.zeros(c.size)
    channel = np.empty(c.size, dtype=object)
    for name in np.unique(persona):  # sorted: set order would follow PYTHONHASHSEED
        mask = persona == name
        spec = personas.get(name, {"hour": {"mean": 14, "sd": 4}})
        hour[mask] = rng.normal(spec["hour"]["mean"], spec["hour"]["sd"], int(mask.sum()))
        # The customer's own channel mix, by inverse CDF on one uniform per order (the
        # draws numpy's choice makes, so a persona-wide mix gives its orders unchanged).
        cdf = np.cumsum(traits.channels[c[mask]], axis=1)
        u = rng.random(int(mask.sum()))[:, None] * cdf[:, -1:]
        channel[mask] = np.array(people.CHANNELS)[(u >= cdf).sum(axis=1).clip(max=2)]
    # The first purchase happens on the sign-up day: keep it at or after sign-up time.
    ts = shop.local_time(start_ts, purchases["t"].to_numpy(), hour, rng)
    ts = pd.DatetimeIndex(np.maximum(ts.to_numpy(), customers["_signup"].to_numpy()[c]))
    mobile = np.where(rng.random(c.size) < 0.55, "ios", "android")
    device = np.where(
        channel == "web", np.where(rng.random(c.size) < 0.85, "desktop", mobile), mobile
    )
    order_ids = np.char.add("O", np.char.zfill(np.arange(1, c.size + 1).astype(str), 8))
    return pd.DataFrame(
        {"order_id": order_ids, "customer_id": customers["customer_id"].to_numpy()[c], "order_ts": shop.ts_text(ts),
         "channel": channel, "device": device, "status": "completed", "coupon_code": "", "discount_amount": 0.0,
         "shipping_amount": 0.0, "original_order_id": "", "persona": persona, "_ts": ts, "_utc": ts - pd.Timedelta(hours=8),
         "_customer": c, "_t": purchases["t"].to_numpy(), "_exp": purchases["exp"].to_numpy(), "_rank": purchases["rank"].to_numpy()}
    )  # fmt: skip


def _money(orders: pd.DataFrame, free_over: float) -> pd.DataFrame:
    """Each order's value under a free-shipping threshold, defined as the clean stage and
    stage 07_ab_test measure it: revenue is the goods less the discount (shipping left
    out, as the clean orders' revenue); margin adds the shipping the customer paid and
    takes off the goods' cost and what the carrier is paid."""
    shipping = np.where(orders["_items_total"] >= free_over, 0.0, shop.SHIPPING_FEE)
    revenue = orders["_items_total"] - orders["discount_amount"]
    return pd.DataFrame(
        {
            "shipping": shipping,
            "revenue": revenue,
            "margin": revenue + shipping - orders["_cost"] - CARRIER_COST,
        }
    )


def _experiments(
    design, exposed, orders, lines, pop, traits, death, money, customers, start_ts, rng, lose_rng
):  # noqa: ANN001, ANN202
    """True effects from potential outcomes, and every exposed customer's expected
    outcomes; keep only the extra orders each arm realises, with its coupon."""
    effects, expected, logs = [], [], []
    orders = orders.assign(_protected=False)
    keep = orders["_rank"].to_numpy() == 0
    for name, (assigned, _counts) in exposed.items():
        spec = design["experiments"][name]
        window = spec["window_days"] / 7.0
        cust_pos = pd.Series(np.arange(len(assigned)), index=assigned["customer"].to_numpy())
        in_exp = orders["_customer"].isin(assigned["customer"])
        o = orders[in_exp & (orders["_exp"].str.startswith(f"{name}:") | (orders["_rank"] == 0))]
        pos = cust_pos.reindex(o["_customer"]).to_numpy()
        t0 = assigned["t"].to_numpy()[pos]
        inside = (o["_t"].to_numpy() >= t0) & (o["_t"].to_numpy() < t0 + window)
        o, pos = o[inside], pos[inside]
        orders.loc[o.index, "_protected"] = True
        outcome = pd.DataFrame(index=range(len(assigned)))
        base = o["_rank"].to_numpy() == 0
        # one uniform per order: an arm that annoys loses the orders below its chance
        lose_u = lose_rng.random(len(o))
        lost = {
            a: base & (lose_u < experiments.losses(spec, a, assigned, traits)[pos])
            for a in spec["arms"]
        }
        for arm in spec["arms"]:
            realised = ((base & ~lost[arm]) | (o["_exp"] == f"{name}:{arm}")).to_numpy()
            with_coupon = _with_coupon(o, pos, realised, spec.get("coupon", {}).get(arm, 0.0))
            value = _money(with_coupon, spec.get("shipping", {}).get(arm, shop.FREE_SHIPPING_OVER))
            value = value[realised]
            by = (
                pd.DataFrame(
                    {
                        "pos": pos[realised],
                        "orders": 1,
                        **{k: value[k].to_numpy() for k in ("revenue", "margin")},
                    }
                )
                .groupby("pos")
                .sum()
            )
            by = by.reindex(range(len(assigned)), fill_value=0)
            outcome[f"orders__{arm}"] = by["orders"].to_numpy()
            outcome[f"conversion__{arm}"] = (by["orders"].to_numpy() > 0).astype(float)
            outcome[f"revenue__{arm}"] = by["revenue"].to_numpy()
            outcome[f"margin__{arm}"] = by["margin"].to_numpy()
        effects.append(
            experiments.true_effects(
                name,
                spec,
                outcome,
                pop.persona[assigned["customer"].to_numpy()],
                design["metrics"],
                design.get("ratio_metrics", {}),
            )
        )
        c = assigned["customer"].to_numpy()
        base_orders = np.bincount(pos[base], minlength=len(assigned))
        alive = death[c] > assigned["t"].to_numpy()
        nominal = pop.lam[c] * window * alive
        by_persona = pd.DataFrame({"p": pop.persona[c], "real": base_orders, "nominal": nominal})
        by_persona = by_persona.groupby("p")[["real", "nominal"]].sum()
        scale = (by_persona["real"] / by_persona["nominal"]).reindex(pop.persona[c]).to_numpy()
        extra = {a: o["_exp"].to_numpy() == f"{name}:{a}" for a in spec["arms"]}
        per_value = {
            a: o["_items_total"].to_numpy()[e].sum() / o["_value"].to_numpy()[e].sum()
            for a, e in extra.items()
            if e.any()
        }
        outcomes = experiments.expected_outcomes(
            spec, assigned, pop, traits, assigned["recency"].to_numpy(), alive, scale, money,
            shop.FREE_SHIPPING_OVER, per_value,
        )  # fmt: skip
        expected.append(outcomes.assign(experiment_id=name))
        # Realise each customer's own arm: its extra orders, shipping rule and coupon.
        arm_of = assigned["arm"].to_numpy()[pos]
        own_extra = o["_exp"].to_numpy() == np.char.add(f"{name}:", arm_of.astype(str))
        keep[orders.index.get_indexer(o.index[own_extra])] = True
        own_lost = np.select(
            [arm_of == a for a in spec["arms"]], [lost[a] for a in spec["arms"]], False
        )
        keep[orders.index.get_indexer(o.index[own_lost])] = False
        if "coupon" in spec:
            face = np.array([spec["coupon"].get(a, 0.0) for a in arm_of])
            own = _with_coupon(o, pos, (base & ~own_lost) | own_extra, face)
            used = own["discount_amount"].to_numpy() != o["discount_amount"].to_numpy()
            orders.loc[o.index[used], "discount_amount"] = own["discount_amount"].to_numpy()[used]
            orders.loc[o.index[used], "coupon_code"] = spec["coupon_code"]
        if "shipping" in spec:
            rule = np.array([spec["shipping"][a] for a in arm_of])
            orders.loc[o.index, "shipping_amount"] = np.where(
                o["_items_total"] >= rule, 0.0, shop.SHIPPING_FEE
            )
        log = assigned.assign(experiment_id=name)
        lost = spec.get("lost_exposures", {})
        drop = rng.random(len(log)) < log["arm"].map(lost).fillna(0.0).to_numpy()
        logs.append(log[~drop])
    kept_orders = orders[keep].copy()
    kept_lines = lines[lines["order_id"].isin(kept_orders["order_id"])].reset_index(drop=True)
    exposures = (
        pd.concat(logs, ignore_index=True)
        if logs
        else pd.DataFrame(columns=["customer", "arm", "t", "experiment_id"])
    )
    assigned_ts = (
        shop.local_time(start_ts, exposures["t"].to_numpy(), np.full(len(exposures), 9.0), rng)
        if len(exposures)
        else pd.DatetimeIndex([])
    )
    exposure_table = pd.DataFrame(
        {"experiment_id": exposures["experiment_id"].to_numpy(), "customer_id": customers["customer_id"].to_numpy()[exposures["customer"].to_numpy().astype(int)],
         "variant": exposures["arm"].to_numpy(), "assigned_ts": shop.ts_text(assigned_ts)}
    )  # fmt: skip
    effect_table = pd.concat(effects, ignore_index=True) if effects else pd.DataFrame()
    return (
        effect_table,
        _per_customer(expected, customers, design),
        exposure_table,
        kept_orders.reset_index(drop=True),
        kept_lines,
    )


def _with_coupon(o: pd.DataFrame, pos: np.ndarray, realised: np.ndarray, face) -> pd.DataFrame:  # noqa: ANN001
    """The orders with a coupon of ``face`` (one value, or one per order) taken off
    each customer's first ``realised`` order in the window (never below zero)."""
    face = np.broadcast_to(np.asarray(face, dtype=float), (len(o),))
    if not face.any():
        return o
    first = realised & ~pd.Series(np.where(realised, pos, -1)).duplicated().to_numpy()
    room = o["_items_total"].to_numpy() - o["discount_amount"].to_numpy()
    extra = np.where(first, np.minimum(face, room), 0.0)
    return o.assign(discount_amount=o["discount_amount"].to_numpy() + np.round(extra, 2))


def _per_customer(expected: list, customers: pd.DataFrame, design: dict) -> pd.DataFrame:  # noqa: ANN001
    """One row per experiment, exposed customer and arm: the expected outcome of each
    metric (``expected_<metric>``) and its effect against the experiment's first arm
    (``effect_<metric>``)."""
    metrics = ["conversion", "orders", "revenue", "margin"]
    if not expected:
        return pd.DataFrame(columns=["experiment_id", "customer_id", "arm"])
    frame = pd.concat(expected, ignore_index=True)
    control = frame.groupby(["experiment_id", "customer"], sort=False)[metrics].transform("first")
    out = pd.DataFrame(
        {"experiment_id": frame["experiment_id"].to_numpy(),
         "customer_id": customers["customer_id"].to_numpy()[frame["customer"].to_numpy()],
         "arm": frame["arm"].to_numpy()}
    )  # fmt: skip
    for m in metrics:
        out[f"expected_{m}"] = frame[m].to_numpy()
        out[f"effect_{m}"] = frame[m].to_numpy() - control[m].to_numpy()
    return out


def _truth_customers(
    pop, customers, final_customers, purchases, future, death, window, orders
) -> pd.DataFrame:  # noqa: ANN001
    n = len(pop.lam)
    fut = future.groupby("customer").agg(
        purchases_next_12m=("t", "size"), value_next_12m=("value", "sum")
    )
    fut = fut.reindex(range(n), fill_value=0)
    real = orders[orders["status"] == "completed"].groupby("customer_id").size()
    base = pd.DataFrame(
        {"customer_id": customers["customer_id"], "person_id": customers["customer_id"], "canonical_customer_id": customers["customer_id"],
         "persona": pop.persona, "lambda": pop.lam, "p": pop.p, "nu": pop.nu, "alive_at_end": death > window,
         "dropout_week": np.where(np.isfinite(death), death, np.nan), "purchases_next_12m": fut["purchases_next_12m"].to_numpy(),
         "value_next_12m": fut["value_next_12m"].to_numpy(), "is_test_account": False, "is_prospect": pop.prospect}
    )  # fmt: skip
    extra = final_customers[~final_customers["customer_id"].isin(base["customer_id"])]
    origin = extra["_person"].to_numpy()
    twins = base.set_index("customer_id").reindex(origin).reset_index(drop=True)
    twins["customer_id"] = extra["customer_id"].to_numpy()
    twins["person_id"] = np.where(pd.isna(origin), extra["customer_id"].to_numpy(), origin)
    twins["canonical_customer_id"] = twins["person_id"]
    twins["is_test_account"] = extra["_test"].to_numpy()
    twins.loc[twins["is_test_account"], ["persona"]] = "test"
    out = pd.concat([base, twins], ignore_index=True)
    out["n_orders_in_window"] = out["customer_id"].map(real).fillna(0).astype(int)
    return out


def _write(
    out: Path, tables, exposures, products, truth, defects, effects, meta, design, params
) -> None:  # noqa: ANN001
    raw, tr = out / "raw", out / "truth"
    raw.mkdir(parents=True, exist_ok=True)
    tr.mkdir(parents=True, exist_ok=True)

    def csv(frame: pd.DataFrame, name: str) -> None:
        frame = frame[[c for c in frame.columns if not str(c).startswith("_") and c != "persona"]]
        frame.to_csv(raw / name, index=False, float_format="%.2f", lineterminator="\n")

    csv(tables["customers"], "customers.csv")
    csv(products, "products.csv")
    csv(tables["orders"], "orders.csv")
    csv(tables["order_items"], "order_items.csv")
    csv(tables["feedback"], "feedback.csv")
    csv(exposures, "exposures.csv")
    if tables["events"] is not None:
        tables["events"].to_parquet(raw / "events.parquet", index=False)
    truth.to_parquet(tr / "customers.parquet", index=False)
    defects.to_parquet(tr / "defects.parquet", index=False)
    effects.to_parquet(tr / "experiments.parquet", index=False)
    (tr / "personas.yaml").write_text(
        yaml.safe_dump(
            {
                k: {
                    "label": v["label"],
                    "traits": v["traits"],
                    # the share of a line in each category (normalised as make_lines draws it)
                    "categories": {
                        c: round(w / sum(v["categories"]), 6)
                        for c, w in zip(meta["categories"], v["categories"], strict=True)
                    },
                }
                for k, v in meta["personas"].items()
            },
            sort_keys=False,
        )
    )
    (tr / "experiments.yaml").write_text(yaml.safe_dump(design, sort_keys=False))
    (tr / "params.json").write_text(json.dumps(params, indent=1, sort_keys=True))


@dataclass(frozen=True)
class _Sent:
    """The marketing tables of the export, and their truth."""

    orders: pd.DataFrame  # the extra orders in the window (with private columns)
    future: pd.DataFrame  # extra orders after it: customer, t, value
    messages: pd.DataFrame
    spend: pd.DataFrame
    exposures: pd.DataFrame
    channels: pd.DataFrame  # every extra order and its channel
    planted: dict


def _week(ts: pd.DatetimeIndex | pd.Series, start_ts: pd.Timestamp) -> np.ndarray:
    return ((pd.DatetimeIndex(ts) - start_ts) / pd.Timedelta(weeks=1)).to_numpy()


def _touches(rng, plan, pop, traits, death, customers, orders, events, tests, start_ts, window):  # noqa: ANN001, ANN202
    """Draw the marketing touches (:func:`marketing.touches`) from the shop's orders and
    the carts left before them."""
    cart = events["session_id"].str.startswith("A").to_numpy() & (
        events["event_type"].to_numpy() == "add_to_cart"
    )
    left = events[cart]
    carts = pd.DataFrame(
        {"customer": orders["_customer"].to_numpy()[left["_order"].to_numpy()],
         "t": _week(left["event_ts"] + pd.Timedelta(hours=8), start_ts)}
    )  # fmt: skip
    carts = carts[carts["t"] < window]
    return marketing.touches(
        rng, plan, pop.lam, pop.signup, death, ~pop.prospect,
        customers["marketing_consent"].to_numpy() == "Y", traits.channels[:, 0],
        pd.DataFrame({"customer": orders["_customer"].to_numpy(), "t": orders["_t"].to_numpy()}),
        carts, tests, window, window + people.WEEKS_PER_YEAR,
    )  # fmt: skip


def _click_to_buy(touches, orders: pd.DataFrame, events: pd.DataFrame) -> None:  # noqa: ANN001
    """A click followed within a day by an order the customer would have placed anyway
    opened that order's session: it takes the message's channel and campaign as its source
    (so last touch credits the message)."""
    m = touches.messages
    base = pd.DataFrame({"customer": orders["_customer"].to_numpy(), "t": orders["_t"].to_numpy()})
    clicked = np.where(m["caused"], np.nan, m["clicked"].to_numpy())
    bought = marketing.next_purchase(base, m["customer"].to_numpy(), clicked, marketing.DAY)
    # one session per order: the last click before it opened it
    took = pd.Series(np.flatnonzero(bought >= 0), index=bought[bought >= 0])
    took = took[~took.index.duplicated(keep="last")]
    purchase = events["session_id"].str.startswith("S").to_numpy()
    rows = pd.Series(np.flatnonzero(purchase), index=events["_order"].to_numpy()[purchase])
    hit = rows[rows.index.isin(took.index)]
    message = took.reindex(hit.index).to_numpy()
    events.loc[events.index[hit.to_numpy()], "source"] = m["channel"].to_numpy()[message]
    events.loc[events.index[hit.to_numpy()], "campaign_id"] = m["campaign_id"].to_numpy()[message]


def _session_sources(rng, plan, sessions: pd.Series) -> np.ndarray:  # noqa: ANN001
    codes, unique = pd.factorize(sessions, sort=False)
    return marketing.sources(rng, plan, len(unique))[codes]


def _marketing_tables(rng, plan, touches, tables, pop, traits, meta, customers, products,
                      start_ts, window) -> _Sent:  # noqa: ANN001  # fmt: skip
    """Append marketing's extra orders, their lines and sessions (and the sessions of
    clicks and ad clicks) to the exported tables; the messages, spend and holdout tables;
    each channel's incremental orders and revenue."""
    extra = touches.extra
    extra = extra.assign(value=people.order_values(rng, pop, extra["customer"].to_numpy()))
    later = extra[extra["t"] >= window]
    extra = extra[extra["t"] < window].reset_index(drop=True)
    bought = extra.assign(repeat=True, exp="", rank=0)
    personas = meta["personas"]
    orders = _orders(rng, bought, pop, traits, personas, customers, start_ts)
    # The touch decides the time of day too (bought in the click's session, or after it).
    at = _local(start_ts, extra["t"].to_numpy())
    orders = orders.assign(_ts=at, _utc=at - pd.Timedelta(hours=8), order_ts=shop.ts_text(at))
    first = int(tables["orders"]["order_id"].str.extract(r"^O(\d+)$")[0].dropna().astype(int).max())
    orders["order_id"] = np.char.add(
        "O", np.char.zfill(np.arange(first + 1, first + 1 + len(orders)).astype(str), 8)
    )
    orders["_value"] = extra["value"].to_numpy()
    lines = shop.make_lines(
        rng, orders, _persona_specs(personas, pop), meta["categories"], products
    )
    orders = shop.order_totals(orders, lines, rng, traits.promo[orders["_customer"].to_numpy()])
    sessions = activity.make_events(rng, orders, lines, np.zeros(len(orders)), products)
    sessions = sessions[sessions["session_id"].str.startswith("S")]
    via = extra["clicked"].to_numpy()[sessions["_order"].to_numpy()]
    organic = marketing.sources(rng, plan, len(sessions))
    sessions = sessions.assign(
        session_id=sessions["session_id"].str.replace("S", "M", n=1),
        source=np.where(via, extra["channel"].to_numpy()[sessions["_order"].to_numpy()], organic),
        campaign_id=np.where(via, extra["campaign_id"].to_numpy()[sessions["_order"].to_numpy()], None),
    ).drop(columns="_order")  # fmt: skip
    m = touches.messages
    m = m[m["t"] < window].reset_index(drop=True)
    ids = customers["customer_id"].to_numpy()
    clicks = m[m["clicked"].notna() & ~m["caused"]]
    ads = touches.ads[(touches.ads["t"] < window) & ~touches.ads["caused"]]
    views = pd.concat(
        [
            pd.DataFrame({"at": clicks["clicked"].to_numpy(), "customer": clicks["customer"].to_numpy(),
                          "source": clicks["channel"].to_numpy(), "campaign_id": clicks["campaign_id"].to_numpy()}),
            pd.DataFrame({"at": ads["t"].to_numpy(), "customer": ads["customer"].to_numpy(), "source": "paid_ads",
                          "campaign_id": ads["campaign_id"].to_numpy()}),
        ],
        ignore_index=True,
    )  # fmt: skip
    views = pd.DataFrame(
        {"event_ts": _local(start_ts, views["at"].to_numpy()) - pd.Timedelta(hours=8),
         "session_id": np.char.add("K", np.arange(1, len(views) + 1).astype(str)),
         "customer_id": ids[views["customer"].to_numpy()], "event_type": "view",
         "product_id": rng.choice(products["product_id"].to_numpy(), len(views)),
         "source": views["source"].to_numpy(), "campaign_id": views["campaign_id"].to_numpy()}
    )  # fmt: skip
    tables["events"] = pd.concat([tables["events"], sessions, views], ignore_index=True)
    tables["orders"] = pd.concat([tables["orders"], orders], ignore_index=True)
    tables["order_items"] = pd.concat([tables["order_items"], lines], ignore_index=True)
    messages = pd.DataFrame(
        {"message_id": np.char.add("M", np.char.zfill(np.arange(1, len(m) + 1).astype(str), 9)),
         "customer_id": ids[m["customer"].to_numpy()], "channel": m["channel"].to_numpy(),
         "campaign_id": m["campaign_id"].to_numpy(), "sent_ts": _local_text(start_ts, m["t"]),
         "opened_ts": _local_text(start_ts, m["opened"]), "clicked_ts": _local_text(start_ts, m["clicked"]),
         "cost": m["cost"].to_numpy()}
    )  # fmt: skip
    return _Sent(
        orders=orders,
        future=later[["customer", "t", "value"]],
        messages=messages,
        spend=_spend(plan, touches.ads[touches.ads["t"] < window], tables, start_ts),
        exposures=_holdout_exposures(plan, touches.holdout, ids, start_ts),
        channels=_marketing_truth(extra, orders),
        planted={k: plan[k] for k in ("holdout", "fade", "growth", "window_days", "channels")},
    )


def _local(start_ts: pd.Timestamp, weeks: np.ndarray) -> pd.DatetimeIndex:
    return start_ts + pd.to_timedelta(np.round(np.asarray(weeks, float) * 7 * 86400), unit="s")


def _local_text(start_ts: pd.Timestamp, weeks: pd.Series | np.ndarray) -> np.ndarray:
    """Shop-local timestamp text, blank where there is no time (not opened, not clicked)."""
    weeks = np.asarray(weeks, float)
    text = shop.ts_text(_local(start_ts, np.nan_to_num(weeks)))
    return np.where(np.isnan(weeks), "", text)


def _spend(plan: dict, ads: pd.DataFrame, tables: dict, start_ts: pd.Timestamp) -> pd.DataFrame:
    """What the traffic channels cost per campaign and week (Monday's date): each paid-ad
    click, and each order an affiliate's session led to. Messages carry their own cost."""
    events = tables["events"]
    referred = events[(events["event_type"] == "purchase") & (events["source"] == "affiliate")]
    rows = pd.concat(
        [
            pd.DataFrame({"channel": "paid_ads", "campaign_id": ads["campaign_id"].to_numpy(),
                          "at": _local(start_ts, ads["t"].to_numpy()), "cost": plan["paid_ads"]["cpc"]}),
            pd.DataFrame({"channel": "affiliate", "campaign_id": "affiliate",
                          "at": pd.DatetimeIndex(referred["event_ts"]) + pd.Timedelta(hours=8),
                          "cost": plan["affiliate"]["cost_per_order"]}),
        ],
        ignore_index=True,
    )  # fmt: skip
    rows["week"] = (
        rows["at"].dt.normalize() - pd.to_timedelta(rows["at"].dt.weekday, unit="D")
    ).dt.strftime("%Y-%m-%d")
    spend = rows.groupby(["channel", "campaign_id", "week"], as_index=False)["cost"].sum()
    return spend.sort_values(["week", "channel", "campaign_id"], ignore_index=True)


def _holdout_exposures(
    plan: dict, holdout: pd.DataFrame, ids: np.ndarray, start_ts: pd.Timestamp
) -> pd.DataFrame:
    return pd.DataFrame(
        {"experiment_id": plan["holdout"]["experiment"], "customer_id": ids[holdout["customer"].to_numpy()],
         "variant": holdout["arm"].to_numpy(), "assigned_ts": _local_text(start_ts, holdout["t"].to_numpy())}
    )  # fmt: skip


def _marketing_truth(extra: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """Every order marketing brought (it would not exist without its channel's touch):
    its id, customer, channel, campaign, shop-local time and revenue (goods less discount)."""
    return pd.DataFrame(
        {"order_id": orders["order_id"].to_numpy(), "customer_id": orders["customer_id"].to_numpy(),
         "channel": extra["channel"].to_numpy(), "campaign_id": extra["campaign_id"].to_numpy(),
         "order_ts": orders["_ts"].to_numpy(),
         "revenue": (orders["_items_total"] - orders["discount_amount"]).to_numpy()}
    )  # fmt: skip


def _newcomers(rng, plan, meta, tables, products, start_ts, window, n, log) -> pd.DataFrame:  # noqa: ANN001
    """The planted growth: customers of one persona signing up in the last weeks, drawn
    as the shop's own are (their purchases, orders, lines and sessions appended to the
    export); returns their truth rows."""
    grow = plan["growth"]
    name = grow["persona"]
    persona = {name: {**meta["personas"][name], "share": 1.0}}
    k = int(round(grow["customers"] * n))
    pop = people.draw_population(rng, k, persona, window, 0.0)
    pop = replace(pop, signup=rng.uniform(window - grow["weeks_before_end"], window - 0.1, k))
    traits = people.draw_traits(rng, pop, persona)
    purchases, death = people.simulate_purchases(rng, pop, window + people.WEEKS_PER_YEAR)
    purchases["value"] = people.order_values(rng, pop, purchases["customer"].to_numpy())
    purchases["exp"], purchases["rank"] = "", 0
    future = purchases[purchases["t"] >= window]
    purchases = purchases[purchases["t"] < window].reset_index(drop=True)
    customers = shop.make_customers(
        rng, pop, persona, meta, pd.read_csv(REFERENCE / "cities_cn.csv"), start_ts
    )
    first = int(tables["customers"]["customer_id"].str[1:].astype(int).max())
    numbers = np.arange(first + 1, first + 1 + k).astype(str)
    customers["customer_id"] = np.char.add("C", np.char.zfill(numbers, 7))
    # Their e-mail and phone must be no one else's, or identity resolution merges them into
    # a customer of the shop: the e-mail takes the id's number (above every shop
    # customer's), the phone a prefix the shop's mobiles do not use.
    local = customers["email"].str.split("@").str[0].str.rstrip("0123456789")
    domain = customers["email"].str.split("@").str[1]
    customers["email"] = local + pd.Series(numbers, index=customers.index) + "@" + domain
    customers["phone"] = "199" + customers["phone"].str[3:]
    orders = _orders(rng, purchases, pop, traits, persona, customers, start_ts)
    last = int(tables["orders"]["order_id"].str.extract(r"^O(\d+)$")[0].dropna().astype(int).max())
    orders["order_id"] = np.char.add(
        "O", np.char.zfill(np.arange(last + 1, last + 1 + len(orders)).astype(str), 8)
    )
    orders["_value"] = purchases["value"].to_numpy()
    lines = shop.make_lines(rng, orders, persona, meta["categories"], products)
    orders = shop.order_totals(orders, lines, rng, traits.promo[orders["_customer"].to_numpy()])
    rate = np.full(len(orders), persona[name].get("abandon_rate", 0.3))
    events = activity.make_events(rng, orders, lines, rate, products)
    events = events[~events["session_id"].str.startswith("G")].drop(columns="_order")
    events["session_id"] = "N" + events["session_id"]
    events["source"] = _session_sources(rng, plan, events["session_id"])
    events["campaign_id"] = None
    spec = persona[name]
    returned = activity.make_returns(rng, orders, lines, np.full(len(orders), spec.get("return_rate", 0.05)),
                                     start_ts + pd.Timedelta(weeks=window))  # fmt: skip
    feedback = pd.concat([activity.make_reviews(rng, orders, lines, np.full(len(orders), spec.get("rating_mean", 4.0))),
                          returned[2]], ignore_index=True).sort_values("_ts", kind="stable", ignore_index=True)  # fmt: skip
    had = int(tables["feedback"]["feedback_id"].str[1:].astype(int).max())
    feedback.insert(
        0,
        "feedback_id",
        np.char.add("F", np.char.zfill(np.arange(had + 1, had + 1 + len(feedback)).astype(str), 7)),
    )
    feedback["ts"] = pd.DatetimeIndex(feedback["_ts"]).strftime("%Y-%m-%d %H:%M:%S")
    # Their returns are the cleaning rules' to catch, as the shop's own are.
    log.add("orders", returned[0]["order_id"], "return", returned[0]["original_order_id"])
    orders = pd.concat([orders, returned[0]], ignore_index=True)
    lines = pd.concat([lines, returned[1]], ignore_index=True)
    for table, frame in (
        ("customers", customers),
        ("orders", orders),
        ("order_items", lines),
        ("events", events),
        ("feedback", feedback),
    ):
        tables[table] = pd.concat([tables[table], frame], ignore_index=True)
    fut = (
        future.groupby("customer")
        .agg(n=("t", "size"), value=("value", "sum"))
        .reindex(range(k), fill_value=0)
    )
    ids = customers["customer_id"].to_numpy()
    return pd.DataFrame(
        {"customer_id": ids, "person_id": ids, "canonical_customer_id": ids, "persona": name, "lambda": pop.lam,
         "p": pop.p, "nu": pop.nu, "alive_at_end": death > window, "dropout_week": np.where(np.isfinite(death), death, np.nan),
         "purchases_next_12m": fut["n"].to_numpy(), "value_next_12m": fut["value"].to_numpy(), "is_test_account": False,
         "is_prospect": False, "n_orders_in_window": np.bincount(purchases["customer"], minlength=k)}
    )  # fmt: skip
