"""How to spend a budget: how many customers of each group get each option, and who.

An option is an action sent on a channel (a push, an SMS coupon, ...). For customer
``i`` and option ``o`` the inputs are the predicted incremental profit ``profit[i, o]``
(incremental margin minus the send cost: what is maximised) and the expected cash out
``cash[i, o]`` (the send cost plus a coupon's face value times the chance it is
redeemed: what the budget counts). Each channel has a capacity, and each customer gets
at most ``contacts`` options.

1. :func:`prices`: the shadow prices of the budget and of each channel, the duals of the
   problem's linear relaxation (HiGHS through :func:`scipy.optimize.linprog`), solved on
   a random sample of customers with the budget and capacities scaled to it when there
   are many (the budget's price then set again on every customer, by bisection). At
   these prices a customer is worth an option when its profit less the
   priced cash and send is positive (:func:`adjusted`): the Lagrangian relaxation,
   which with a few coupling constraints and many customers loses almost nothing
   (Everett 1963, Operations Research 11(3)).
2. :func:`plan_cells`: each customer joins the cell (group x option) of their best
   options at those prices; each cell's customers, best first, are cut into ``bands``,
   and :func:`scipy.optimize.milp` chooses how many of each cell to send to, under the
   budget, the capacities and the contacts, a band entered only once the one before it
   is full (a binary per band), so a cell's count is always its best customers.
3. :func:`assign`: each cell's customers in order up to its count; the budget and the
   capacities are then checked with the customers' own cash (the plan counted band
   averages), the lowest adjusted profits leaving until they hold, and what a channel
   and the budget still allow is filled, best adjusted profit first.

:func:`exact_plan` solves the problem per customer (a binary for every customer and
option, :func:`scipy.optimize.milp`): the optimum the steps above are checked against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

#: Customers in the linear relaxation that prices the budget and the channels.
PRICING_SAMPLE = 5_000
#: Relative tolerance within which an adjusted profit counts as zero (the solver's duals
#: carry rounding).
TIE = 1e-9


@dataclass(frozen=True)
class Problem:
    """What the allocation reads.

    Attributes
    ----------
    profit, cash
        Customers x options: predicted incremental profit and expected cash out.
    group
        Per customer, the group code (0 .. groups - 1).
    channel
        Per option, the channel code (0 .. channels - 1).
    budget
        The most cash out.
    capacity
        Per channel, the most sends.
    contacts
        The most options per customer.
    """

    profit: np.ndarray
    cash: np.ndarray
    group: np.ndarray
    channel: np.ndarray
    budget: float
    capacity: np.ndarray
    contacts: int = 1

    @property
    def groups(self) -> int:
        return int(self.group.max()) + 1 if len(self.group) else 0

    def sample(self, rows: np.ndarray) -> Problem:
        """The problem on ``rows``, the budget and capacities scaled to their share."""
        share = len(rows) / len(self.group)
        return Problem(
            self.profit[rows], self.cash[rows], self.group[rows], self.channel,
            self.budget * share, self.capacity * share, self.contacts,
        )  # fmt: skip


def _per_customer(problem: Problem) -> tuple[np.ndarray, np.ndarray, list[LinearConstraint]]:
    """The pairs with a positive profit (a loss is never sent) and the constraints on
    a 0/1 choice of each: budget, capacities, contacts."""
    customer, option = np.nonzero(problem.profit > 0)
    k = len(customer)
    n = len(problem.group)
    channels = len(problem.capacity)
    return (
        customer,
        option,
        [
            LinearConstraint(problem.cash[customer, option][None, :], -np.inf, problem.budget),
            LinearConstraint(
                sp.csr_matrix((np.ones(k), (problem.channel[option], np.arange(k))), (channels, k)),
                -np.inf,
                problem.capacity,
            ),
            LinearConstraint(
                sp.csr_matrix((np.ones(k), (customer, np.arange(k))), (n, k)),
                -np.inf,
                problem.contacts,
            ),
        ],
    )


def prices(
    problem: Problem, sample: int = PRICING_SAMPLE, seed: int = 0
) -> tuple[float, np.ndarray]:
    """The shadow prices of the budget and of each channel's capacity (step 1)."""
    n = len(problem.group)
    part = problem
    if n > sample:
        part = problem.sample(np.sort(np.random.default_rng(seed).choice(n, sample, replace=False)))
    customer, option, constraints = _per_customer(part)
    if not len(customer):
        return 0.0, np.zeros(len(problem.capacity))
    found = linprog(
        -part.profit[customer, option],
        A_ub=sp.vstack([sp.csr_matrix(c.A) for c in constraints], format="csr"),
        b_ub=np.concatenate([np.broadcast_to(c.ub, c.A.shape[0]) for c in constraints]),
        bounds=(0, 1),
        method="highs",
    )
    duals = -found.ineqlin.marginals  # per unit of each constraint's right-hand side
    budget, channel = float(duals[0]), duals[1 : 1 + len(problem.capacity)]
    return (budget if part is problem else _budget_price(problem, budget, channel)), channel


def _budget_price(problem: Problem, guess: float, channel: np.ndarray, steps: int = 30) -> float:
    """The budget's price at which every customer's choices at the prices cost the
    budget, by bisection from a sample's ``guess`` (a sample's price is noisy, and the
    budget is the constraint that binds hardest)."""

    def cash_at(price: float) -> float:
        customer, option = _best(problem, adjusted(problem, (price, channel)))
        return float(problem.cash[customer, option].sum())

    if cash_at(0.0) <= problem.budget:
        return 0.0
    low, high = 0.0, max(guess, 1e-6)
    while cash_at(high) > problem.budget:
        low, high = high, 2 * high
    for _ in range(steps):
        middle = (low + high) / 2
        low, high = (middle, high) if cash_at(middle) > problem.budget else (low, middle)
    return high


def adjusted(problem: Problem, price: tuple[float, np.ndarray]) -> np.ndarray:
    """Customers x options: profit less the cash and the send at their shadow prices."""
    budget, channel = price
    return problem.profit - budget * problem.cash - channel[problem.channel][None, :]


def _best(problem: Problem, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's best ``contacts`` options with a positive profit and a score not
    below zero, as (customer, option) pairs.

    A score of zero is the margin: where customers tie on profit (a group's average
    prices each of its customers alike), the linear relaxation fills part of the tied
    cell and prices the constraint at exactly their profit, so all of them score zero.
    They stay in their cell and :func:`plan_cells` decides how many are sent; dropping
    them left a channel's capacity unused."""
    n = score.shape[0]
    tie = TIE * (1 + np.abs(problem.profit))
    worth = np.where((score > -tie) & (problem.profit > 0), score, -np.inf)
    if problem.contacts == 1:
        top = worth.argmax(axis=1)[:, None]
    else:
        top = np.argsort(-worth, axis=1, kind="stable")[:, : problem.contacts]
    customer = np.repeat(np.arange(n), top.shape[1])
    option = top.ravel()
    kept = np.isfinite(worth[customer, option])
    return customer[kept], option[kept]


def _choices(problem: Problem, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_best`, sorted by cell (group, option), then score, best first."""
    customer, option = _best(problem, score)
    order = np.lexsort((-score[customer, option], option, problem.group[customer]))
    return customer[order], option[order]


def plan_cells(
    problem: Problem, score: np.ndarray, bands: int = 10, time_limit: float = 30.0
) -> np.ndarray:
    """Groups x options: how many customers of each group get each option (step 2)."""
    n_options = problem.profit.shape[1]
    counts = np.zeros((problem.groups, n_options), dtype=int)
    customer, option = _choices(problem, score)
    if not len(customer):
        return counts
    cell = problem.group[customer] * n_options + option
    starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    parts = [
        part
        for begin, end in zip(starts, np.r_[starts[1:], len(cell)], strict=True)
        for part in np.array_split(np.arange(begin, end), min(bands, end - begin))
    ]
    size = np.array([len(p) for p in parts], dtype=float)
    value = np.array([problem.profit[customer[p], option[p]].mean() for p in parts])
    cost = np.array([problem.cash[customer[p], option[p]].mean() for p in parts])
    band_cell = cell[[p[0] for p in parts]]
    m = len(parts)
    zeros = sp.csr_matrix((1, m))
    by_channel = sp.csr_matrix(
        (np.ones(m), (problem.channel[band_cell % n_options], np.arange(m))),
        (len(problem.capacity), m),
    )
    by_group = sp.csr_matrix(
        (np.ones(m), (band_cell // n_options, np.arange(m))), (problem.groups, m)
    )
    people = np.bincount(problem.group, minlength=problem.groups) * problem.contacts
    follows = np.flatnonzero(band_cell[1:] == band_cell[:-1])  # band k + 1 of the same cell
    k = len(follows)
    constraints = [
        LinearConstraint(sp.hstack([cost[None, :], zeros]), -np.inf, problem.budget),
        LinearConstraint(sp.hstack([by_channel, 0 * by_channel]), -np.inf, problem.capacity),
        LinearConstraint(sp.hstack([by_group, 0 * by_group]), -np.inf, people),
        # full (binary) only when the band's count is its size; the next band only after
        LinearConstraint(sp.hstack([sp.identity(m), -sp.diags(size)]), 0, np.inf),
        LinearConstraint(
            sp.hstack([
                sp.csr_matrix((np.ones(k), (np.arange(k), follows + 1)), (k, m)),
                -sp.csr_matrix((size[follows + 1], (np.arange(k), follows)), (k, m)),
            ]),
            -np.inf, 0,
        ),
    ]  # fmt: skip
    found = milp(
        c=np.r_[-value, np.zeros(m)],
        integrality=np.ones(2 * m),
        bounds=Bounds(np.zeros(2 * m), np.r_[size, np.ones(m)]),
        constraints=constraints,
        options={"time_limit": time_limit},
    )
    if found.x is None:
        raise ValueError(f"the allocation found no plan: {found.message}")
    np.add.at(counts.ravel(), band_cell, np.round(found.x[:m]).astype(int))
    return counts


def assign(problem: Problem, counts: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    """Customers into the planned cells (step 3).

    Returns
    -------
    pandas.DataFrame
        ``customer``, ``option``, ``profit``, ``cash``: one row per send, by customer.
    """
    n_options = problem.profit.shape[1]
    customer, option = _choices(problem, score)
    cell = problem.group[customer] * n_options + option
    rank = np.arange(len(cell)) - np.searchsorted(cell, cell)
    chosen = rank < counts.ravel()[cell]
    customer, option = customer[chosen], option[chosen]
    # The customers' own cash and sends, the lowest adjusted profit out first.
    order = np.argsort(-score[customer, option], kind="stable")
    customer, option = customer[order], option[order]
    fits = np.cumsum(problem.cash[customer, option]) <= problem.budget + 1e-9
    for ch, capacity in enumerate(problem.capacity):
        on = np.flatnonzero(problem.channel[option] == ch)
        fits[on[int(capacity) :]] = False
    customer, option = _fill(problem, score, customer[fits], option[fits])
    sends = pd.DataFrame(
        {
            "customer": customer,
            "option": option,
            "profit": problem.profit[customer, option],
            "cash": problem.cash[customer, option],
        }
    )
    return sends.sort_values(["customer", "option"]).reset_index(drop=True)


def _fill(
    problem: Problem, score: np.ndarray, customer: np.ndarray, option: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The sends, with what a channel's capacity and the budget still allow added,
    channel by channel, best adjusted profit first.

    Each customer sits in one cell, that of their best option at the prices; where two
    options tie at the margin (customers priced alike on both), the cells leave one
    channel short, and this fills it."""
    n, _ = problem.profit.shape
    sent = np.zeros(problem.profit.shape, dtype=bool)
    sent[customer, option] = True
    room = problem.capacity - np.bincount(problem.channel[option], minlength=len(problem.capacity))
    budget = problem.budget - problem.cash[customer, option].sum()
    added_customer, added_option = [customer], [option]
    for ch in np.flatnonzero(room >= 1):
        contacts_left = sent.sum(axis=1) < problem.contacts
        tie = TIE * (1 + np.abs(problem.profit))
        open_ = (problem.channel == ch)[None, :] & ~sent & contacts_left[:, None]
        worth = np.where(open_ & (score > -tie) & (problem.profit > 0), score, -np.inf)
        best = worth.argmax(axis=1)
        who = np.flatnonzero(np.isfinite(worth[np.arange(n), best]))
        who = who[np.argsort(-worth[who, best[who]], kind="stable")][: int(room[ch])]
        fits = np.cumsum(problem.cash[who, best[who]]) <= budget + 1e-9
        who = who[fits]
        sent[who, best[who]] = True
        budget -= problem.cash[who, best[who]].sum()
        added_customer.append(who)
        added_option.append(best[who])
    return np.concatenate(added_customer), np.concatenate(added_option)


def exact_plan(problem: Problem, time_limit: float = 600.0) -> pd.DataFrame:
    """The per-customer optimum under the same budget, capacities and contacts."""
    customer, option, constraints = _per_customer(problem)
    found = milp(
        c=-problem.profit[customer, option],
        integrality=np.ones(len(customer)),
        bounds=Bounds(0, 1),
        constraints=constraints,
        options={"time_limit": time_limit},
    )
    if found.x is None:
        raise ValueError(f"the exact allocation found no plan: {found.message}")
    chosen = found.x > 0.5
    customer, option = customer[chosen], option[chosen]
    return pd.DataFrame(
        {
            "customer": customer,
            "option": option,
            "profit": problem.profit[customer, option],
            "cash": problem.cash[customer, option],
        }
    )
