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
  York 2003, IEEE Internet Computing), each product keeping its :data:`NEIGHBOURS`
  nearest (item-kNN, Deshpande & Karypis 2004): a customer's score for an item is the
  sum of its similarities to the items they bought.
- ``als``: alternating least squares for implicit feedback (Hu, Koren & Volinsky 2008,
  ICDM) from the ``implicit`` library, confidence ``1 + alpha * orders``, tuned on the
  validation window with five sweeps, not the library's fifteen: on the default shop's
  validation window 3 to 8 sweeps score the same NDCG@10 or better (stopping early
  regularises) at a third of the cost. The library's defaults untuned are the peer in
  ``benchmarks/bench_recommend.py``.
- ``blend``: buy-again plus ``weight`` times item cosine, each scaled to the customer's
  maximum, plus ``cart_weight`` times ``2 ** (-days_since_carted / CART_HALF_LIFE)`` for
  the products the customer left in a cart lately and has not bought since (a shop with
  web or app events); both weights tuned on the validation window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
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
#: The neighbours item cosine keeps per product: enough that a customer's few products
#: reach far past their top 20, few enough that a catalogue of ten thousand products is
#: ranked on a hundredth of it.
NEIGHBOURS = 100
#: Above this share of non-zero scores a dense ranking is quicker than a sparse one.
DENSE_SHARE = 0.1


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

    def __post_init__(self) -> None:
        same = self.orders.indptr, self.orders.indices
        if not all(
            map(np.array_equal, same, (self.days_since_last.indptr, self.days_since_last.indices))
        ):
            raise ValueError("Training.days_since_last must be stored exactly where orders is")

    @cached_property  # a frozen dataclass still has an instance dict to cache in
    def bought(self) -> sp.csr_matrix:
        """Customers x items, 1 where bought."""
        return (self.orders > 0).astype(np.float32).tocsr()


class Candidate:
    """A recommender: ``fit(training)``, then ``score(rows)`` or ``top(rows, k)`` for
    customer rows."""

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

    def top(
        self, rows: np.ndarray, k: int, banned: sp.csr_matrix | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best item positions for the customers at ``rows``, best first, and
        their scores; items ``banned`` (customers x items, non-zero where banned) are
        left out, and a list shorter than ``k`` is padded with position -1 and score
        -inf."""
        return _dense_top(self.score(rows), k, banned)


class SparseCandidate(Candidate):
    """A candidate that scores few items per customer (``sparse_score``; the others
    score their popularity tie-break alone), ranked on those items and the most popular
    unless the scores are dense enough for a dense ranking to be quicker."""

    def sparse_score(self, rows: np.ndarray) -> sp.csr_matrix:
        """The non-zero scores of the customers at ``rows``, customers x items."""
        raise NotImplementedError

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.sparse_score(rows).toarray()

    def top(
        self, rows: np.ndarray, k: int, banned: sp.csr_matrix | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        scores = self.sparse_score(rows)
        if scores.nnz <= DENSE_SHARE * scores.shape[0] * scores.shape[1]:
            return _sparse_top(scores, self.tie_, k, banned)
        return _dense_top(np.asarray(scores.toarray(), dtype=np.float32) + self.tie_, k, banned)


class Popular(SparseCandidate):
    name = "popular"

    def sparse_score(self, rows: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((len(rows), len(self.training_.items)))


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


class BuyAgain(SparseCandidate):
    name = "buy_again"

    def __init__(self, half_life: float = 90.0, cycles: bool = True) -> None:
        self.half_life = half_life
        self.cycles = cycles

    def sparse_score(self, rows: np.ndarray) -> sp.csr_matrix:
        t = self.training_
        orders = t.orders[rows]
        days = t.days_since_last[rows].data  # stored where orders is, in the same order
        value = orders.data * np.exp2(-days / self.half_life)
        if self.cycles:
            cycle = t.cycle[orders.indices]
            due = np.where(np.isnan(cycle), 1.0, np.minimum(1.0, (days + t.horizon) / cycle))
            value = value * due
        return sp.csr_matrix((value, orders.indices, orders.indptr), shape=orders.shape)


class ItemCosine(SparseCandidate):
    """Item-based nearest neighbours: each product keeps its ``neighbours`` most similar
    products (Deshpande & Karypis 2004, ACM TOIS 22(1)), so a customer scores the
    neighbours of what they bought rather than the whole catalogue."""

    name = "item_cosine"

    def __init__(self, neighbours: int = NEIGHBOURS) -> None:
        self.neighbours = neighbours

    def fit(self, training: Training) -> Candidate:
        super().fit(training)
        # Kept with the training window: the blend's search refits on the same window
        # with other weights, and the similarities do not depend on them.
        key = f"item_cosine_{self.neighbours}"
        if key not in training.extra:
            training.extra[key] = cosine_neighbours(training.bought, self.neighbours)
        self.similarity_ = training.extra[key]
        return self

    def sparse_score(self, rows: np.ndarray) -> sp.csr_matrix:
        return (self.training_.bought[rows] @ self.similarity_).tocsr()


def cosine_neighbours(bought: sp.csr_matrix, k: int, block: int = 2048) -> sp.csr_matrix:
    """Items x items: the cosine similarity of who bought what (Linden, Smith & York
    2003), each row keeping its ``k`` largest, the others and the diagonal 0.

    Computed ``block`` items at a time, so memory stays at ``block`` x items.
    """
    by_item = bought.T.tocsr().astype(np.float64)
    norms = np.sqrt(np.asarray(by_item.multiply(by_item).sum(axis=1)).ravel())
    n = by_item.shape[0]
    parts = []
    for start in range(0, n, block):
        stop = min(start + block, n)
        together = (by_item[start:stop] @ by_item.T).toarray()
        together /= np.maximum(np.outer(norms[start:stop], norms), 1e-12)
        together[np.arange(stop - start), np.arange(start, stop)] = 0.0
        if k < n - 1:
            beyond = np.argpartition(-together, k - 1, axis=1)[:, k:]
            np.put_along_axis(together, beyond, 0.0, axis=1)
        parts.append(sp.csr_matrix(together))
    return sp.vstack(parts, format="csr") if parts else sp.csr_matrix((0, 0))


class Als(Candidate):
    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.01,
        alpha: float = 10.0,
        iterations: int = 5,
        random_state: int = 0,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state

    def fit(self, training: Training) -> Candidate:
        from implicit.cpu.als import AlternatingLeastSquares

        super().fit(training)
        # implicit reads the matrix as the confidence c (times its alpha); Hu et al.'s
        # c = 1 + alpha * orders is folded in here, implicit's alpha left at 1.
        confidence = training.orders.astype(np.float32)
        confidence.data = 1.0 + self.alpha * confidence.data
        # One BLAS thread: implicit parallelises over users itself (and warns otherwise).
        with threadpool_limits(limits=1, user_api="blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=1.0,
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

    def top(
        self, rows: np.ndarray, k: int, banned: sp.csr_matrix | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """implicit's own top-k (products and selection in threads, in C++): the
        popularity tie-break rides along as one more factor, 1 for every customer."""
        from implicit.cpu.topk import topk

        users = np.hstack([self.user_factors_[rows], np.ones((len(rows), 1), np.float32)])
        items = np.hstack([self.item_factors_, self.tie_[:, None]])
        with threadpool_limits(limits=1, user_api="blas"):
            ids, scores = topk(items, users, k, filter_query_items=banned, num_threads=0)
        gone = scores <= np.finfo(np.float32).min  # what implicit gives a filtered item
        return np.where(gone, -1, ids).astype(np.int64), np.where(gone, -np.inf, scores)


class Blend(SparseCandidate):
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

    def sparse_score(self, rows: np.ndarray) -> sp.csr_matrix:
        again = _scaled(self.again_.sparse_score(rows))
        similar = _scaled(self.similar_.sparse_score(rows))
        carts = left_in_cart(self.training_, rows)
        return (again + self.weight * similar + self.cart_weight * carts).tocsr()


def left_in_cart(training: Training, rows: np.ndarray) -> sp.csr_matrix:
    """``2 ** (-days / CART_HALF_LIFE)`` where the customer left the product in a cart
    (and has not bought it since), else 0; all 0 without events."""
    carts = training.extra.get("carts")
    if carts is None:
        return sp.csr_matrix((len(rows), len(training.items)))
    carted = carts[rows].tocsr()
    carted.data = np.exp2(-carted.data / CART_HALF_LIFE)
    return carted


def _scaled(scores: sp.csr_matrix) -> sp.csr_matrix:
    """Each customer's scores over their maximum (rows without any stay 0)."""
    top = scores.max(axis=1).toarray().ravel()
    return (sp.diags(np.divide(1.0, top, where=top > 0, out=np.zeros_like(top))) @ scores).tocsr()


def top_items(model: Candidate, rows: np.ndarray, k: int, batch: int = 2048) -> np.ndarray:
    """The ``k`` best item positions for each customer row, best first, in batches of
    ``batch`` customers (:meth:`Candidate.top`)."""
    out = np.empty((len(rows), k), dtype=np.int64)
    for start in range(0, len(rows), batch):
        out[start : start + batch] = model.top(rows[start : start + batch], k)[0]
    return out


def _dense_top(
    scores: np.ndarray, k: int, banned: sp.csr_matrix | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best columns of each row of ``scores`` (changed in place: ``banned``
    cells become -inf), best first, and their scores."""
    if banned is not None:
        scores[banned.toarray() != 0] = -np.inf
    best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable")
    best = np.take_along_axis(best, order, axis=1)
    values = np.take_along_axis(scores, best, axis=1)
    return np.where(np.isfinite(values), best, -1), values


def _sparse_top(
    scores: sp.csr_matrix, tie: np.ndarray, k: int, banned: sp.csr_matrix | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of ``scores + tie`` per row, for non-negative sparse ``scores``,
    leaving out ``banned``.

    An item a row did not score is worth its tie-break alone, so only the ``k`` most
    popular of those (plus as many as the most items any row has banned) can make the
    list: each row's ``k`` best scored items and those are ranked. Short lists are
    padded as :meth:`Candidate.top` does.
    """
    n, m = scores.shape
    scores = scores.tocsr()
    scores.sum_duplicates()  # canonical: sorted columns, so ties go to the first column
    row = np.repeat(np.arange(n), np.diff(scores.indptr))
    col = scores.indices
    value = scores.data.astype(np.float32) + tie[col]
    if banned is not None:
        out = banned.tocoo()
        kept = ~np.isin(row * m + col, out.row.astype(np.int64) * m + out.col)
        row, col, value = row[kept], col[kept], value[kept]
    # Rows ascending, values descending: one stable sort of an exact key (a non-negative
    # float32's bits order as its values do, and row * 2**32 + bits fits a float64).
    key = row * 2.0**32 + (np.uint32(0xFFFFFFFF) - value.view(np.uint32))
    order = np.argsort(key, kind="stable")
    row, col, value = row[order], col[order], value[order]
    rank = np.arange(len(row)) - np.searchsorted(row, row)
    best = rank < k
    own_ids = np.full((n, k), -1, dtype=np.int64)
    own_values = np.full((n, k), -np.inf, dtype=np.float32)
    own_ids[row[best], rank[best]] = col[best]
    own_values[row[best], rank[best]] = value[best]
    extra = 0 if banned is None else int(np.diff(banned.tocsr().indptr).max(initial=0))
    popular = np.argsort(-tie, kind="stable")[: k + extra]
    structure = sp.csr_matrix((np.ones_like(scores.data), scores.indices, scores.indptr), (n, m))
    taken = structure[:, popular].toarray() > 0  # scored: ranked above with its score
    if banned is not None:
        taken |= banned.tocsr()[:, popular].toarray() != 0
    popular_values = np.where(taken, -np.inf, tie[popular][None, :]).astype(np.float32)
    ids = np.hstack([own_ids, np.broadcast_to(popular, (n, len(popular)))])
    values = np.hstack([own_values, popular_values])
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    values = np.take_along_axis(values, order, axis=1)
    ids = np.where(np.isfinite(values), np.take_along_axis(ids, order, axis=1), -1)
    return ids, values


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
        return ItemCosine(**params)
    if name == "als":
        return Als(random_state=seed, **params)
    if name == "blend":
        return Blend(**params)
    raise ValueError(f"unknown recommender {name!r}")


#: Every candidate, in the order the report lists them.
CANDIDATES = (*BASELINES, "item_cosine", "als", "blend")
