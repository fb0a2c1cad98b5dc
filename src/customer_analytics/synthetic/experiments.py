"""Planted experiments: assignment, potential outcomes and their true effects.

Every exposed customer gets, for every arm, a number of extra purchases during the
outcome window: Poisson with mean ``lambda * window * lift`` (zero after dropout), drawn
by inverse CDF from one uniform per customer, so arms differ only by their treatment
(common random numbers). The true effect of an arm is the mean outcome difference over
all exposed customers under both arms: known exactly, not estimated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from customer_analytics.synthetic.people import Population

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


def extra_counts(
    rng: np.random.Generator, spec: dict, exposed: pd.DataFrame, pop: Population, death: np.ndarray
) -> pd.DataFrame:
    """Extra purchases per customer under every arm (columns named by arm)."""
    c = exposed["customer"].to_numpy()
    weeks = spec["window_days"] / 7.0
    alive = death[c] > exposed["t"].to_numpy()
    u = rng.random(c.size)
    out = pd.DataFrame(index=exposed.index)
    for arm in spec["arms"]:
        lift = spec["lift"].get(arm, 0.0)
        if isinstance(lift, dict):
            lift = pop.persona[c].astype(object)
            lift = np.array([spec["lift"][arm].get(p, 0.0) for p in lift])
        mu = pop.lam[c] * weeks * np.asarray(lift, dtype=float) * alive
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
