"""Planted experiments: assignment, potential outcomes and their true effects.

Every exposed customer gets, for every arm, a number of extra purchases during the
outcome window: Poisson with mean ``lambda * window * lift`` (zero after dropout), drawn
by inverse CDF from one uniform per customer, so arms differ only by their treatment
(common random numbers). The true effect of an arm is the mean outcome difference over
all exposed customers under both arms: known exactly, not estimated.

A customer's lift is their persona's, times the experiment's ``modifiers`` (each scaled
to average 1 over the exposed, so the persona's lift keeps its meaning on average):

- ``promo: g``: (promotion sensitivity) ** g;
- ``recency_weeks: tau``: exp(-weeks since the last purchase / tau) (tau < 0 favours
  the lapsed);
- ``channel: {channel: factor}``: the customer's channel mix times the factors (a push
  reaches app users).

``annoyance`` takes orders away instead: under an arm, each of the customer's own orders
in the window is lost with the chance their channel mix gives (:func:`losses`; a push
to someone who shops on the web annoys them).

:func:`expected_outcomes` gives every exposed customer's expected outcome under every
arm from the same parameters: what the targeting stage's plan is checked against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from customer_analytics.synthetic.people import CHANNELS, Population, Traits

MAX_EXTRA = 6


def assign(
    rng: np.random.Generator,
    spec: dict,
    pop: Population,
    first_buy: np.ndarray,
    window_weeks: float,
) -> pd.DataFrame:
    """Assign eligible customers (bought before assignment) to arms by the planned split."""
    assign_t = window_weeks - spec["weeks_before_end"] + rng.uniform(0, 1, first_buy.size)
    eligible = np.flatnonzero(
        (first_buy < assign_t) & (rng.random(first_buy.size) < spec["eligible_share"])
    )
    split = np.array(spec["planned_split"], dtype=float)
    arm = rng.choice(len(spec["arms"]), eligible.size, p=split / split.sum())
    return pd.DataFrame(
        {"customer": eligible, "arm": np.array(spec["arms"])[arm], "t": assign_t[eligible]}
    )


def recency_weeks(purchases: pd.DataFrame, exposed: pd.DataFrame) -> np.ndarray:
    """Weeks from each exposed customer's last purchase before assignment to assignment.

    ``purchases`` is sorted by customer and time; every exposed customer bought before.
    """
    key = purchases["customer"].to_numpy() * 1e4 + purchases["t"].to_numpy()
    t = exposed["t"].to_numpy()
    last = np.searchsorted(key, exposed["customer"].to_numpy() * 1e4 + t) - 1
    return t - purchases["t"].to_numpy()[last]


def lifts(spec: dict, arm: str, exposed: pd.DataFrame, pop: Population, traits: Traits,
          recency: np.ndarray) -> np.ndarray:  # fmt: skip
    """Each exposed customer's lift of their purchase rate under ``arm`` (module notes)."""
    c = exposed["customer"].to_numpy()
    lift = spec["lift"].get(arm, 0.0)
    if isinstance(lift, dict):
        lift = np.array([lift.get(p, 0.0) for p in pop.persona[c]])
    lift = np.broadcast_to(np.asarray(lift, dtype=float), c.shape)
    mods = spec.get("modifiers", {})
    factors = []
    if "promo" in mods:
        factors.append(traits.promo[c] ** mods["promo"])
    if "recency_weeks" in mods:
        factors.append(np.exp(-recency / mods["recency_weeks"]))
    if "channel" in mods:
        factors.append(
            traits.channels[c] @ np.array([mods["channel"].get(k, 0.0) for k in CHANNELS])
        )
    for f in factors:
        lift = lift * f / f.mean()
    return lift


def losses(spec: dict, arm: str, exposed: pd.DataFrame, traits: Traits) -> np.ndarray:
    """Per exposed customer, the chance that ``arm`` loses each of their own orders in
    the window (``annoyance``: per channel of the customer's mix; a push annoys the
    customers who do not use the app)."""
    by_channel = spec.get("annoyance", {}).get(arm, {})
    weights = np.array([by_channel.get(k, 0.0) for k in CHANNELS])
    return traits.channels[exposed["customer"].to_numpy()] @ weights


def extra_counts(
    rng: np.random.Generator, spec: dict, exposed: pd.DataFrame, pop: Population,
    traits: Traits, recency: np.ndarray, death: np.ndarray,
) -> pd.DataFrame:  # fmt: skip
    """Extra purchases per customer under every arm (columns named by arm)."""
    c = exposed["customer"].to_numpy()
    weeks = spec["window_days"] / 7.0
    alive = death[c] > exposed["t"].to_numpy()
    u = rng.random(c.size)
    out = pd.DataFrame(index=exposed.index)
    for arm in spec["arms"]:
        mu = pop.lam[c] * weeks * lifts(spec, arm, exposed, pop, traits, recency) * alive
        out[arm] = np.minimum(stats.poisson.ppf(u, np.maximum(mu, 1e-12)), MAX_EXTRA).astype(int)
    return out


def true_effects(
    name: str,
    spec: dict,
    outcomes: pd.DataFrame,
    persona: np.ndarray,
    metrics: list[str],
    ratios: dict,
) -> pd.DataFrame:
    """Mean outcome per arm, metric and persona, with lifts against the first arm.

    ``outcomes`` holds one row per exposed customer and columns ``<metric>__<arm>``;
    ratio metrics (``ratios``: name -> (numerator, denominator)) are ratios of means.
    """

    def mean(mask: np.ndarray, metric: str, arm: str) -> float:
        if metric in ratios:
            num, den = ratios[metric]
            den_sum = outcomes.loc[mask, f"{den}__{arm}"].sum()
            return outcomes.loc[mask, f"{num}__{arm}"].sum() / den_sum if den_sum else np.nan
        return outcomes.loc[mask, f"{metric}__{arm}"].mean()

    rows = []
    control = spec["arms"][0]
    groups = [("all", np.ones(len(outcomes), dtype=bool))] + [
        (p, persona == p) for p in sorted(set(persona))
    ]
    for segment, mask in groups:
        for metric in [*metrics, *ratios]:
            base = mean(mask, metric, control)
            for arm in spec["arms"]:
                value = mean(mask, metric, arm)
                rows.append(
                    {"experiment_id": name, "metric": metric, "arm": arm, "segment": segment, "n": int(mask.sum()),
                     "true_mean": value, "true_lift_abs": value - base,
                     "true_lift_rel": (value - base) / base if base else np.nan}
                )  # fmt: skip
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Economics:
    """What one order is worth to the shop, per unit of its planted value, measured on
    the shop's own orders: the goods' list total per unit of value (``items_per_value``),
    the goods' cost per unit of list total (``cost_share``) and the mean coupon discount
    per unit of list total of a coupon order (``discount_rate``); with the shipping fee
    and the carrier's cost per order."""

    items_per_value: float
    cost_share: float
    discount_rate: float
    shipping_fee: float
    carrier_cost: float


def expected_outcomes(
    spec: dict, exposed: pd.DataFrame, pop: Population, traits: Traits, recency: np.ndarray,
    alive: np.ndarray, base_scale: np.ndarray, money: Economics, free_over: float,
    extra_items_per_value: dict[str, float],
) -> pd.DataFrame:  # fmt: skip
    """Each exposed customer's expected outcome under every arm (one row per customer
    and arm; columns ``conversion``, ``orders``, ``revenue``, ``margin``).

    The customer's own orders in the window are Poisson with mean ``B`` (their rate over
    the window while alive, times ``base_scale``: the festivals' pull, measured per
    persona, less the arm's :func:`losses`), an arm's extra orders Poisson with mean ``mu``; an order's list total is
    Gamma-distributed (the planted spend model) times ``items_per_value`` and the arm's
    ``value_scale``; a coupon arm's face value is paid on the first order. So, with
    ``P = 1 - exp(-B - mu)``: conversion ``P``, orders ``B + mu``, revenue and margin the
    orders' expected values less ``face * P``. The cap of :data:`MAX_EXTRA` extra orders
    is ignored.
    """
    c = exposed["customer"].to_numpy()
    weeks = spec["window_days"] / 7.0
    shape, rate = pop.p_spend[c], pop.nu[c]
    rows = []
    for arm in spec["arms"]:
        base = pop.lam[c] * weeks * alive * base_scale * (1.0 - losses(spec, arm, exposed, traits))
        mu = pop.lam[c] * weeks * lifts(spec, arm, exposed, pop, traits, recency) * alive
        conversion = 1.0 - np.exp(-base - mu)
        mu = sum(stats.poisson.sf(k, np.maximum(mu, 1e-12)) for k in range(MAX_EXTRA))
        face = spec.get("coupon", {}).get(arm, 0.0)
        threshold = spec.get("shipping", {}).get(arm, free_over)

        def per_order(
            per_value: float, threshold: float = threshold
        ) -> tuple[np.ndarray, np.ndarray]:
            """An order's expected revenue and margin, its value's list total ``per_value``
            times its value (the planted spend times the arm's ``value_scale``)."""
            items = per_value * shape / rate
            revenue = items * (1.0 - traits.promo[c] * money.discount_rate)
            pays_shipping = stats.gamma.cdf(threshold / per_value, shape, scale=1.0 / rate)
            margin = (
                revenue - money.cost_share * items + money.shipping_fee * pays_shipping
                - money.carrier_cost
            )  # fmt: skip
            return revenue, margin

        rev0, mar0 = per_order(money.items_per_value)
        rev1, mar1 = per_order(
            extra_items_per_value.get(arm, money.items_per_value)
            * spec.get("value_scale", {}).get(arm, 1.0)
        )
        rows.append(
            pd.DataFrame(
                {"customer": c, "arm": arm, "conversion": conversion, "orders": base + mu,
                 "revenue": base * rev0 + mu * rev1 - face * conversion,
                 "margin": base * mar0 + mu * mar1 - face * conversion}
            )
        )  # fmt: skip
    return pd.concat(rows, ignore_index=True)
