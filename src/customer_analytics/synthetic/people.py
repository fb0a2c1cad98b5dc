"""Customers of the synthetic shop: who they are and when they buy.

Time is measured in weeks from the start of the window (shop-local midnight). Each
customer follows the BG/NBD story of Fader, Hardie & Lee (2005): a first purchase at
sign-up, then purchases at rate ``lambda`` until dropping out, which happens right after
a repeat purchase with probability ``p``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WEEKS_PER_YEAR = 52.0


@dataclass(frozen=True)
class Population:
    """Per-customer truth drawn from the personas (arrays aligned by customer)."""

    persona: np.ndarray  # persona name per customer
    signup: np.ndarray  # weeks since window start
    lam: np.ndarray  # purchases per week
    p: np.ndarray  # dropout probability after each repeat purchase
    nu: np.ndarray  # Gamma-Gamma spend scale (order value ~ Gamma(p_spend, rate=nu))
    p_spend: np.ndarray
    prospect: np.ndarray  # registered, never buys


def draw_population(
    rng: np.random.Generator, n: int, personas: dict, window_weeks: float, prospect_share: float
) -> Population:
    """Assign personas and draw each customer's process parameters."""
    names = list(personas)
    shares = np.array([personas[k]["share"] for k in names], dtype=float)
    persona_idx = rng.choice(len(names), size=n, p=shares / shares.sum())
    lam, p, nu, p_spend = (np.empty(n) for _ in range(4))
    for i, name in enumerate(names):
        mask = persona_idx == i
        k = int(mask.sum())
        b, s = personas[name]["btyd"], personas[name]["spend"]
        lam[mask] = rng.gamma(b["r"], 1.0 / b["alpha"], k)
        p[mask] = rng.beta(b["a"], b["b"], k)
        nu[mask] = rng.gamma(s["q"], 1.0 / s["gamma"], k)
        p_spend[mask] = s["p"]
    signup = rng.uniform(0.0, window_weeks - 1.0, n)
    prospect = rng.random(n) < prospect_share
    return Population(np.array(names)[persona_idx], signup, lam, p, nu, p_spend, prospect)


@dataclass(frozen=True)
class Traits:
    """What makes one customer answer a campaign differently from their persona.

    ``promo`` is the customer's own promotion sensitivity (the share of their orders
    that use a coupon), Beta-distributed around their persona's ``coupon_share`` with
    concentration :data:`PROMO_CONCENTRATION`; ``channels`` is their own mix of order
    channels (rows sum to 1), Dirichlet around the persona's ``channels`` with
    concentration :data:`CHANNEL_CONCENTRATION`. The BG/NBD-only population gets its
    persona's values unchanged.
    """

    promo: np.ndarray
    channels: np.ndarray  # (customers, CHANNELS)


#: The order channels, in the order of the personas' ``channels`` weights.
CHANNELS = ("app", "mini_program", "web")
PROMO_CONCENTRATION = 4.0
CHANNEL_CONCENTRATION = 2.0


def draw_traits(rng: np.random.Generator, pop: Population, personas: dict) -> Traits:
    """Draw each customer's promotion sensitivity and channel mix around their persona's."""
    n = len(pop.lam)
    promo, channels = np.full(n, 0.3), np.full((n, 3), 1.0 / 3.0)
    for name in np.unique(pop.persona):  # sorted: set order would follow PYTHONHASHSEED
        if name not in personas:
            continue
        mask = pop.persona == name
        k = int(mask.sum())
        share = personas[name]["coupon_share"]
        promo[mask] = rng.beta(share * PROMO_CONCENTRATION, (1 - share) * PROMO_CONCENTRATION, k)
        w = np.array(personas[name]["channels"], dtype=float)
        channels[mask] = rng.dirichlet(w / w.sum() * CHANNEL_CONCENTRATION, k)
    return Traits(promo, channels)


def bgnbd_population(
    rng: np.random.Generator, n: int, params: dict, window_weeks: float
) -> Population:
    """Everybody follows one BG/NBD process with the given r, alpha, a, b (weeks)."""
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    nu = rng.gamma(4.0, 1.0 / 60.0, n)
    return Population(
        np.full(n, "bgnbd"), rng.uniform(0.0, window_weeks - 1.0, n), lam, p, nu, np.full(n, 6.0),
        np.zeros(n, dtype=bool),
    )  # fmt: skip


def simulate_purchases(
    rng: np.random.Generator, pop: Population, horizon: float
) -> tuple[pd.DataFrame, np.ndarray]:
    """Purchase times up to ``horizon`` weeks, and each customer's dropout time.

    Returns a frame (customer, t, repeat) sorted by customer and time, and per customer
    the time of the purchase after which they dropped out (``inf`` while alive).
    Vectorised over customers: each round draws every still-active customer's next gap.
    """
    n = len(pop.lam)
    buyers = np.flatnonzero(~pop.prospect)
    rows_c, rows_t = [buyers], [pop.signup[buyers]]
    death = np.full(n, np.inf)
    active = buyers.copy()
    t = pop.signup[active].copy()
    while active.size:
        t = t + rng.exponential(1.0 / pop.lam[active])
        inside = t < horizon
        active, t = active[inside], t[inside]
        rows_c.append(active)
        rows_t.append(t.copy())
        dies = rng.random(active.size) < pop.p[active]
        death[active[dies]] = t[dies]
        active, t = active[~dies], t[~dies]
    customers = np.concatenate(rows_c)
    times = np.concatenate(rows_t)
    repeat = np.ones(times.size, dtype=bool)
    repeat[: buyers.size] = False
    frame = pd.DataFrame({"customer": customers, "t": times, "repeat": repeat})
    return frame.sort_values(["customer", "t"], kind="stable", ignore_index=True), death


def order_values(rng: np.random.Generator, pop: Population, customers: np.ndarray) -> np.ndarray:
    """Spend per order from the Gamma-Gamma model (Fader & Hardie 2013)."""
    return rng.gamma(pop.p_spend[customers], 1.0 / pop.nu[customers])


def seasonal_shift(
    rng: np.random.Generator, t: np.ndarray, start: pd.Timestamp, holidays: list[str]
) -> np.ndarray:
    """Move purchase times to a few days before the nearest shopping festival."""
    years = range(start.year - 1, start.year + 5)
    festivals = np.array(
        [(pd.Timestamp(f"{y}-{md}") - start).days / 7.0 for y in years for md in holidays]
    )
    nearest = festivals[np.abs(t[:, None] - festivals[None, :]).argmin(axis=1)]
    return nearest - rng.uniform(0.0, 1.5, t.size)
