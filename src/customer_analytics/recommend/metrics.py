"""Offline ranking metrics per customer, and paired bootstrap intervals over customers.

Every metric is computed per evaluated customer from their ranked picks and the items
they bought in the scored window, so two models are compared on the same customers and
their difference gets a paired interval: each bootstrap sample draws customers with
replacement once and scores every model on that draw (Efron & Tibshirani 1993, ch. 13).

Definitions (Järvelin & Kekäläinen 2002 for NDCG; Manning, Raghavan & Schütze 2008,
ch. 8, for MAP):

- HR@k: 1 when at least one of the top k was bought.
- NDCG@k: sum over the top k of rel / log2(rank + 1), divided by the same sum for an
  ideal ranking of min(k, bought) relevant items.
- MAP@k: the mean of precision@rank over the ranks of the hits in the top k, divided by
  min(k, bought).
- recall@k: the share of the bought items in the top k.
- revenue hit rate: the window's revenue of the bought items that were in the top k,
  over all the window's revenue of the evaluated customers (a ratio of sums).
- coverage: the share of the catalogue that appears in anyone's top k.
- novelty: the mean self-information, -log2 of the share of training customers who
  bought the item, of the items recommended (Zhou et al. 2010, PNAS).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

#: The per-customer metrics, by their finding names.
PER_CUSTOMER = ("hr_at_10", "ndcg_at_10", "map_at_10", "recall_at_20")
#: Every metric the findings carry per model.
METRICS = (*PER_CUSTOMER, "revenue_hit_rate", "coverage", "novelty")


@dataclass(frozen=True)
class Truth:
    """What the evaluated customers bought in the scored window.

    Attributes
    ----------
    bought
        Customers x items, 1 where the customer bought the item in the window (CSR).
    revenue
        Customers x items, the window's revenue of that item from that customer (CSR).
    """

    bought: sp.csr_matrix
    revenue: sp.csr_matrix


def per_customer(top: np.ndarray, truth: Truth) -> dict[str, np.ndarray]:
    """The per-customer metrics of ranked picks, and each customer's revenue hit.

    Parameters
    ----------
    top
        Customers x 20 item positions, best first (all of them in a catalogue of fewer).
    truth
        The window's purchases of the same customers, in the same order.

    Returns
    -------
    dict
        :data:`PER_CUSTOMER` arrays, plus ``revenue_hit`` and ``revenue`` per customer.
    """
    hits = np.take_along_axis(truth.bought.toarray(), top, axis=1) > 0
    n_bought = np.asarray(truth.bought.sum(axis=1)).ravel().astype(int)
    hits10 = hits[:, :10]
    k = hits10.shape[1]  # 10, or fewer in a catalogue of fewer products
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discounts)[np.minimum(n_bought, k) - 1]
    ranks = np.arange(1, k + 1)
    precision_at_rank = np.cumsum(hits10, axis=1) / ranks
    revenue = truth.revenue.toarray()
    return {
        "hr_at_10": hits10.any(axis=1).astype(float),
        "ndcg_at_10": (hits10 * discounts).sum(axis=1) / ideal,
        "map_at_10": (precision_at_rank * hits10).sum(axis=1) / np.minimum(n_bought, k),
        "recall_at_20": hits.sum(axis=1) / n_bought,
        "revenue_hit": np.take_along_axis(revenue, top[:, :10], axis=1).sum(axis=1, where=hits10),
        "revenue": revenue.sum(axis=1),
    }


def catalogue_metrics(top: np.ndarray, popularity: np.ndarray) -> dict[str, float]:
    """Coverage and novelty of the top 10 lists.

    Parameters
    ----------
    top
        Customers x at least 10 item positions.
    popularity
        Per item, the share of training customers who bought it.
    """
    top10 = top[:, :10]
    share = np.clip(popularity[top10], 1e-12, None)
    return {
        "coverage": len(np.unique(top10)) / len(popularity),
        "novelty": float(-np.log2(share).mean()),
    }


def bootstrap_draws(customers: int, n_bootstrap: int, seed: int) -> np.ndarray:
    """``n_bootstrap`` x ``customers`` indices: the customers each bootstrap sample holds,
    shared by every model so that differences are paired."""
    return np.random.default_rng(seed).integers(0, customers, size=(n_bootstrap, customers))


def summarise(values: dict[str, np.ndarray], draws: np.ndarray) -> dict[str, float]:
    """Each per-customer metric's mean with a 95% percentile interval, and the revenue
    hit rate (a ratio of sums) with its interval, over the same draws."""
    out: dict[str, float] = {}
    for name in PER_CUSTOMER:
        out.update(_with_interval(name, values[name].mean(), values[name][draws].mean(axis=1)))
    rate = values["revenue_hit"].sum() / values["revenue"].sum()
    resampled = values["revenue_hit"][draws].sum(axis=1) / values["revenue"][draws].sum(axis=1)
    out.update(_with_interval("revenue_hit_rate", rate, resampled))
    return out


def paired_difference(
    ours: np.ndarray, theirs: np.ndarray, draws: np.ndarray, name: str = "ndcg_at_10"
) -> dict[str, float]:
    """The mean per-customer difference ``ours - theirs`` with its paired 95% interval."""
    diff = ours - theirs
    found = _with_interval(name, diff.mean(), diff[draws].mean(axis=1))
    return {k.replace(name, f"{name}_diff", 1): v for k, v in found.items()}


def by_group(values: dict[str, np.ndarray], groups: pd.Series) -> pd.DataFrame:
    """Mean per-customer metrics and the number of customers per group."""
    frame = pd.DataFrame({name: values[name] for name in PER_CUSTOMER})
    frame["group"] = groups.to_numpy()
    table = frame.groupby("group").mean()
    table.insert(0, "customers", frame.groupby("group").size())
    return table


def _with_interval(name: str, estimate: float, resampled: np.ndarray) -> dict[str, float]:
    low, high = np.percentile(resampled, [2.5, 97.5])
    return {name: float(estimate), f"{name}_low": float(low), f"{name}_high": float(high)}


def carts_bought_later(
    carts: sp.csr_matrix | None, truth: Truth, tops: dict[str, np.ndarray]
) -> dict[str, float | int]:
    """Products the evaluated customers left in a cart before the window and bought in
    it: how many, and the share of them in each model's top 10.

    Parameters
    ----------
    carts
        The evaluated customers x items, nonzero where left in a cart (None without
        events: nothing to count).
    truth
        The window's purchases of the same customers.
    tops
        Per model, the customers' ranked item positions.
    """
    if carts is None:
        return {}
    later = carts.multiply(truth.bought).tocoo()
    found: dict[str, float | int] = {"products": int(later.nnz)}
    for name, top in tops.items():
        hit = (top[later.row, :10] == later.col[:, None]).any(axis=1)
        found[name] = round(float(hit.mean()), 4) if later.nnz else 0.0
    return found
