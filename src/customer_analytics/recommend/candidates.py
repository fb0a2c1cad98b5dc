"""The candidate recommenders: strong retail baselines, item-to-item co-occurrence,
implicit-feedback matrix factorisation, and a blend.

Every candidate is fitted on one training window (:class:`Training`) and scores items
for customers of that window; higher is better. Ties and items a model has no opinion
on (a customer's unbought items under buy-again) are broken by recent popularity, so
every list is full.

- ``popular``: recent popularity, the number of distinct customers who bought the item
  in the last ``popular_days`` of the training window.
- ``popular_persona``: the same within the customer's cluster (personas come from the
  clusters of 05_clustering); customers without one get the global list.
- ``buy_again``: the customer's own items, ``orders * 2 ** (-days_since_last /
  half_life)``, times ``min(1, (days_since_last + horizon) / cycle)`` for items with a
  repurchase cycle (the median, over customers who bought the item at least twice, of
  their mean days between its orders): an item not due within the scored window is
  damped, one due or overdue is not (Bhagat et al. 2018, "Buy It Again", KDD).
- ``item_cosine``: item-to-item cosine similarity of who bought what (Linden, Smith &
  York 2003, IEEE Internet Computing): a customer's score for an item is the sum of its
  similarities to the items they bought.
- ``als``: alternating least squares for implicit feedback (Hu, Koren & Volinsky 2008,
  ICDM) from the ``implicit`` library, confidence ``1 + alpha * orders``; ``als_default``
  is the library's defaults, ``als`` tuned on the validation window with five sweeps, not
  the library's fifteen: on the default shop's validation window 3 to 8 sweeps score
  the same NDCG@10 or better (stopping early regularises) at a third of the cost.
- ``blend``: buy-again plus ``weight`` times item cosine, each scaled to the customer's
  maximum, plus ``cart_weight`` times ``2 ** (-days_since_carted / CART_HALF_LIFE)`` for
  the products the customer left in a cart lately and has not bought since (a shop with
  web or app events); both weights tuned on the validation window.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

#: The baselines the chosen model must beat.
BASELINES = ("popular", "popular_persona", "buy_again")
#: Popularity's weight as a tie-breaker: far below any score a model gives.
TIE_BREAK = 1e-6
#: Days after which a product left in a cart counts half (a cart goes stale in weeks,
#: not months; the blend's ``cart_weight`` is what validation tunes).
CART_HALF_LIFE = 14.0


@dataclass(frozen=True)
class Training:
    """One training window's purchases, as the candidates read them.

    Attributes
    ----------
    customers, items
        The ids of the matrices' rows and columns (customers and products with a
        purchase in the window).
    orders
        Customers x items: orders holding the item (CSR, float).
    days_since_last
        Customers x items: days from the last order holding the item to the window's end
        (CSR; stored only where ``orders`` is).
    popular
        Per item, distinct customers in the last ``popular_days`` of the window.
    cycle
        Per item, the median days between a customer's orders of it (NaN when fewer
        than three customers bought it twice).
    persona
        Per customer, their persona or cluster code (-1 without one).
    order_counts
        Per customer, their orders in the window.
    horizon
        Days in the window that will be scored.
    extra
        ``recent_buyers`` (customers x items, 1 when bought in the last
        ``popular_days``) and, for a shop with web or app events, ``carts`` (customers
        x items, days from the last time the product was left in a cart to the window's
        end).
    """

    customers: pd.Index
    items: pd.Index
    orders: sp.csr_matrix
    days_since_last: sp.csr_matrix
    popular: np.ndarray
    cycle: np.ndarray
    persona: np.ndarray
    order_counts: np.ndarray
    horizon: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bought(self) -> sp.csr_matrix:
        """Customers x items, 1 where bought."""
        return (self.orders > 0).astype(np.float32).tocsr()


class Candidate:
    """A recommender: ``fit(training)`` then ``score(rows)`` for customer rows."""

    name = ""

    def fit(self, training: Training) -> Candidate:
        self.training_ = training
        tie = training.popular / max(training.popular.max(), 1)
        self.tie_ = (TIE_BREAK * tie).astype(np.float32)
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Scores of every item for the customers at ``rows`` (customers x items)."""
        return np.asarray(self._score(rows), dtype=np.float32) + self.tie_

    def _score(self, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Popular(Candidate):
    name = "popular"

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return np.zeros((len(rows), len(self.training_.items)))


class PopularInPersona(Candidate):
    name = "popular_persona"

    def fit(self, training: Training) -> Candidate:
        super().fit(training)
        recent = training.extra["recent_buyers"]  # customers x items, 1 when bought lately
        personas = np.unique(training.persona[training.persona >= 0])
        self.by_persona_ = {
            p: np.asarray(recent[training.persona == p].sum(axis=0)).ravel() for p in personas
        }
        return self

    def _score(self, rows: np.ndarray) -> np.ndarray:
        out = np.zeros((len(rows), len(self.training_.items)))
        for i, persona in enumerate(self.training_.persona[rows]):
            counts = self.by_persona_.get(persona)
            if counts is not None:
                out[i] = counts / max(counts.max(), 1)
        return out


class BuyAgain(Candidate):
    name = "buy_again"

    def __init__(self, half_life: float = 90.0, cycles: bool = True) -> None:
        self.half_life = half_life
        self.cycles = cycles

    def sparse_score(self, rows: np.ndarray) -> sp.csr_matrix:
        """The scores of the customers' own items (others score 0), as a sparse matrix."""
        t = self.training_
        orders = t.orders[rows].tocoo()
        days = np.asarray(t.days_since_last[rows][orders.row, orders.col]).ravel()
        value = orders.data * np.exp2(-days / self.half_life)
        if self.cycles:
            cycle = t.cycle[orders.col]
            due = np.where(np.isnan(cycle), 1.0, np.minimum(1.0, (days + t.horizon) / cycle))
            value = value * due
        return sp.csr_matrix((value, (orders.row, orders.col)), shape=(len(rows), len(t.items)))

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.sparse_score(rows).toarray()


class ItemCosine(Candidate):
    name = "item_cosine"

    def fit(self, training: Training) -> Candidate:
        super().fit(training)
        # Kept with the training window: the blend's search refits on the same window
        # with other weights, and the similarities do not depend on them.
        if "item_cosine" not in training.extra:
            bought = training.bought
            together = (bought.T @ bought).toarray().astype(np.float64)
            np.fill_diagonal(together, 0.0)
            buyers = np.sqrt(np.asarray(bought.sum(axis=0), dtype=np.float64).ravel())
            training.extra["item_cosine"] = together / np.maximum(np.outer(buyers, buyers), 1e-12)
        self.similarity_ = training.extra["item_cosine"]
        return self

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.training_.bought[rows] @ self.similarity_


class Als(Candidate):
    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.01,
        alpha: float = 10.0,
        iterations: int = 5,
        random_state: int = 0,
        name: str = "als",
        one_plus: bool = True,
    ) -> None:
        self.one_plus = one_plus
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.name = name

    def fit(self, training: Training) -> Candidate:
        from implicit.cpu.als import AlternatingLeastSquares

        super().fit(training)
        # implicit reads the matrix as the confidence c (times its alpha); Hu et al.'s
        # c = 1 + alpha * orders is folded in here, the library's own use left as it is.
        confidence = training.orders.astype(np.float32)
        if self.one_plus:
            confidence.data = 1.0 + self.alpha * confidence.data
        # One BLAS thread: implicit parallelises over users itself (and warns otherwise).
        with threadpool_limits(limits=1, user_api="blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=1.0 if self.one_plus else self.alpha,
                iterations=self.iterations,
                random_state=self.random_state,
                num_threads=0,  # every core: users are solved independently, so the
                # factors do not depend on the thread count
            )
            model.fit(confidence.tocsr(), show_progress=False)
        self.user_factors_, self.item_factors_ = model.user_factors, model.item_factors
        return self

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.user_factors_[rows] @ self.item_factors_.T


class Blend(Candidate):
    name = "blend"

    def __init__(
        self, weight: float = 1.0, half_life: float = 90.0, cart_weight: float = 1.0
    ) -> None:
        self.weight = weight
        self.half_life = half_life
        self.cart_weight = cart_weight

    def fit(self, training: Training) -> Candidate:
        super().fit(training)
        self.again_ = BuyAgain(self.half_life).fit(training)
        self.similar_ = ItemCosine().fit(training)
        return self

    def _score(self, rows: np.ndarray) -> np.ndarray:
        again = _scaled(self.again_._score(rows))
        similar = _scaled(np.asarray(self.similar_._score(rows)))
        return again + self.weight * similar + self.cart_weight * left_in_cart(self.training_, rows)


def left_in_cart(training: Training, rows: np.ndarray) -> np.ndarray:
    """``2 ** (-days / CART_HALF_LIFE)`` where the customer left the product in a cart
    (and has not bought it since), else 0; all 0 without events."""
    out = np.zeros((len(rows), len(training.items)))
    carts = training.extra.get("carts")
    if carts is not None:
        carted = carts[rows].tocoo()
        out[carted.row, carted.col] = np.exp2(-carted.data / CART_HALF_LIFE)
    return out


def _scaled(scores: np.ndarray) -> np.ndarray:
    """Each customer's scores over their maximum (rows without any stay 0)."""
    top = scores.max(axis=1, keepdims=True)
    return np.divide(scores, top, where=top > 0, out=np.zeros_like(scores, dtype=float))


def top_items(model: Candidate, rows: np.ndarray, k: int, batch: int = 2048) -> np.ndarray:
    """The ``k`` best item positions for each customer row, best first, in batches.

    A model whose scores are sparse (``sparse_score``: a customer's own items) is ranked
    on those items and the ``k`` most popular only: every other item scores its
    popularity tie-break alone, so none of them can beat the ``k`` most popular. The
    lists are the same, at a few items per customer instead of the whole catalogue.
    """
    out = np.empty((len(rows), k), dtype=np.int64)
    sparse = getattr(model, "sparse_score", None)
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        if sparse is not None:
            out[start : start + batch] = _sparse_top(sparse(part), model.tie_, k)
            continue
        scores = model.score(part)
        best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable")
        out[start : start + batch] = np.take_along_axis(best, order, axis=1)
    return out


def _sparse_top(scores: sp.csr_matrix, tie: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` best of ``scores + tie`` per row, for non-negative sparse ``scores``."""
    n = scores.shape[0]
    popular = np.argsort(-tie, kind="stable")[:k]
    own = scores.tocoo()
    row = np.concatenate([own.row, np.repeat(np.arange(n), k)])
    col = np.concatenate([own.col, np.tile(popular, n)])
    value = np.concatenate([own.data, np.zeros(n * k)]).astype(np.float32)  # as score() does
    # An owned item among the most popular appears twice: keep its scored entry.
    first = np.unique(row.astype(np.int64) * len(tie) + col, return_index=True)[1]
    row, col, value = row[first], col[first], value[first] + tie[col[first]]
    order = np.lexsort((col, -value, row))
    starts = np.searchsorted(row[order], np.arange(n))
    return col[order][starts[:, None] + np.arange(k)[None, :]]


#: The hyper-parameters tuned on the validation window, per candidate, in the order a
#: coordinate search tries them: each in turn takes the value that scores best with the
#: others held, starting from the first value of each (ALS: 6 fits instead of a grid's 18).
SEARCH: dict[str, list[tuple[str, tuple[float, ...]]]] = {
    "buy_again": [("half_life", (90.0, 30.0, 365.0))],
    "als": [
        ("alpha", (10.0, 1.0, 40.0)),
        ("factors", (64, 32, 128)),
        ("regularization", (0.01, 0.1)),
    ],
    "blend": [("weight", (1.0, 0.1, 0.3, 3.0)), ("cart_weight", (1.0, 0.0, 3.0))],
}


def search(name: str, training: Training) -> list[tuple[str, tuple[float, ...]]]:
    """The hyper-parameters to tune for ``name`` on ``training``: the blend's cart weight
    only where there are carts (a shop without events has none to weigh)."""
    steps = SEARCH.get(name, [])
    if "carts" not in training.extra:
        steps = [(param, values) for param, values in steps if param != "cart_weight"]
    return steps


def make(name: str, seed: int, **params: Any) -> Candidate:
    """A candidate by name, with hyper-parameters."""
    if name == "popular":
        return Popular()
    if name == "popular_persona":
        return PopularInPersona()
    if name == "buy_again":
        return BuyAgain(**params)
    if name == "item_cosine":
        return ItemCosine()
    if name == "als":
        return Als(random_state=seed, **params)
    if name == "als_default":
        from implicit.cpu.als import AlternatingLeastSquares

        defaults = inspect.signature(AlternatingLeastSquares).parameters
        return Als(
            **{
                k: defaults[k].default for k in ("factors", "regularization", "alpha", "iterations")
            },
            random_state=seed,
            name="als_default",
            one_plus=False,
        )
    if name == "blend":
        return Blend(**params)
    raise ValueError(f"unknown recommender {name!r}")


#: Every candidate, in the order the report lists them.
CANDIDATES = (*BASELINES, "item_cosine", "als_default", "als", "blend")
