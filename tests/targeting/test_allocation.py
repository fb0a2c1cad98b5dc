"""The allocation against the exact per-customer optimum, and its constraints."""

from __future__ import annotations

import numpy as np
import pytest

from customer_analytics.targeting import allocation
from customer_analytics.targeting.allocation import Problem


def _problem(n: int, groups: int, actions: int, channels: int, contacts: int = 1) -> Problem:
    """Options = actions x channels; the first two actions are messages, the others
    coupons whose face value is paid when redeemed; each group likes some options."""
    rng = np.random.default_rng(n + groups)
    group = rng.integers(0, groups, n)
    options = actions * channels
    send = np.repeat(rng.uniform(0.05, 0.5, channels), actions)
    face = np.tile(np.r_[0.0, 0.0, rng.uniform(5, 20, actions - 2)], channels)
    margin = 3 * rng.normal(0, 1, (groups, options))[group] + rng.normal(0, 3, (n, options))
    cash = send + face * rng.uniform(0.02, 0.3, (n, options))
    return Problem(
        profit=margin - send,
        cash=cash,
        group=group,
        channel=np.repeat(np.arange(channels), actions),
        budget=0.2 * cash.mean() * n,
        capacity=np.full(channels, 0.3 * n),
        contacts=contacts,
    )


def _planned(problem: Problem):  # noqa: ANN202
    score = allocation.adjusted(problem, allocation.prices(problem))
    return allocation.assign(problem, allocation.plan_cells(problem, score), score)


def _holds(problem: Problem, sends) -> None:  # noqa: ANN001
    assert sends["cash"].sum() <= problem.budget + 1e-6
    per_channel = np.bincount(problem.channel[sends["option"]], minlength=len(problem.capacity))
    assert (per_channel <= problem.capacity).all()
    assert sends.groupby("customer").size().max() <= problem.contacts
    assert not sends.duplicated(["customer", "option"]).any()
    assert (sends["profit"] > 0).all()


@pytest.mark.parametrize("contacts", [1, 2])
def test_the_plan_is_within_half_a_percent_of_the_exact_optimum(contacts: int) -> None:
    problem = _problem(2000, groups=4, actions=3, channels=2, contacts=contacts)
    sends, exact = _planned(problem), allocation.exact_plan(problem)
    _holds(problem, sends)
    _holds(problem, exact)
    assert sends["profit"].sum() >= 0.995 * exact["profit"].sum()


@pytest.mark.slow
def test_ten_thousand_customers_ten_groups_eighteen_options() -> None:
    problem = _problem(10_000, groups=10, actions=6, channels=3)
    sends, exact = _planned(problem), allocation.exact_plan(problem)
    _holds(problem, sends)
    print(sends["profit"].sum(), exact["profit"].sum())
    assert sends["profit"].sum() >= 0.995 * exact["profit"].sum()


def test_customers_priced_alike_fill_a_channel_the_price_cuts_through() -> None:
    """A group's average prices each of its customers alike (an action no model refines):
    the relaxation fills part of such a tied cell and prices the channel at their
    profit, so they all score zero; they must still fill the capacity the price leaves."""
    problem = _problem(2000, groups=4, actions=3, channels=2)
    tied = problem.profit.mean(axis=0) + 5 * np.arange(4)[problem.group, None]
    problem = Problem(**{**problem.__dict__, "profit": tied, "budget": 1e9})
    sends, exact = _planned(problem), allocation.exact_plan(problem)
    _holds(problem, sends)
    assert sends["profit"].sum() >= 0.995 * exact["profit"].sum()


def test_a_sampled_price_plans_as_well_as_the_full_one() -> None:
    problem = _problem(6000, groups=5, actions=3, channels=2)
    plans = {}
    for sample in (len(problem.group), 3000):
        score = allocation.adjusted(problem, allocation.prices(problem, sample=sample))
        plans[sample] = allocation.assign(problem, allocation.plan_cells(problem, score), score)
        _holds(problem, plans[sample])
    assert plans[3000]["profit"].sum() >= 0.995 * plans[len(problem.group)]["profit"].sum()
    assert plans[3000]["cash"].sum() >= 0.99 * problem.budget


def test_no_budget_no_sends() -> None:
    problem = _problem(500, groups=2, actions=3, channels=2)
    broke = Problem(**{**problem.__dict__, "budget": 0.0})
    assert _planned(broke).empty
