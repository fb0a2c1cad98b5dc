"""The budget allocation (``targeting/allocation.py``) against the exact per-customer
optimum, and at a million customers.

    .venv/bin/python benchmarks/bench_allocation.py [--customers 1000000]

A simulated problem: 10 groups (personas), 6 actions (two messages, four coupons whose
face value is paid when redeemed) on 3 channels, so 18 options; each group likes some
options (a group effect) and each customer varies around it; the budget buys about a
fifth of one option per customer, each channel reaches at most 30% of them, one
contact per customer.

1. 10,000 customers: ours (prices, cell plan, assignment) beside the exact optimum, a
   binary per customer and option solved by ``scipy.optimize.milp`` (HiGHS). Target:
   within 0.5% of its profit.
2. ``--customers``: each step timed. Targets: the cell plan (10 x 6 x 3 cells) under
   1 s, the customers assigned within the cells under 1 minute.

Wall-clock figures are printed, never asserted: the machine is shared.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from customer_analytics.targeting import allocation
from customer_analytics.targeting.allocation import Problem

GROUPS, ACTIONS, CHANNELS = 10, 6, 3


def simulated(n: int, seed: int = 0) -> Problem:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, GROUPS, n)
    options = ACTIONS * CHANNELS
    send = np.repeat(rng.uniform(0.05, 0.5, CHANNELS), ACTIONS)
    face = np.tile(np.r_[0.0, 0.0, rng.uniform(5, 20, ACTIONS - 2)], CHANNELS)
    margin = 3 * rng.normal(0, 1, (GROUPS, options))[group] + rng.normal(0, 3, (n, options))
    cash = send + face * rng.uniform(0.02, 0.3, (n, options))
    return Problem(
        profit=margin - send,
        cash=cash,
        group=group,
        channel=np.repeat(np.arange(CHANNELS), ACTIONS),
        budget=0.2 * cash.mean() * n,
        capacity=np.full(CHANNELS, 0.3 * n),
    )


def ours(problem: Problem) -> tuple[dict[str, float], float]:
    t0 = time.perf_counter()
    score = allocation.adjusted(problem, allocation.prices(problem))
    t1 = time.perf_counter()
    counts = allocation.plan_cells(problem, score)
    t2 = time.perf_counter()
    sends = allocation.assign(problem, counts, score)
    t3 = time.perf_counter()
    times = {"prices": t1 - t0, "cells": t2 - t1, "assign": t3 - t2}
    return times, float(sends["profit"].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    problem = simulated(10_000)
    times, found = ours(problem)
    t0 = time.perf_counter()
    exact = float(allocation.exact_plan(problem)["profit"].sum())
    exact_s = time.perf_counter() - t0
    print(
        f"1. 10,000 customers, {GROUPS} groups x {ACTIONS} actions x {CHANNELS} channels: ours "
        f"{found:,.1f} in {sum(times.values()):.2f} s (prices {times['prices']:.2f}, cells "
        f"{times['cells']:.2f}, assign {times['assign']:.2f}) | exact milp {exact:,.1f} in "
        f"{exact_s:.1f} s | ours / exact {found / exact:.5f} (target at least 0.995)"
    )
    problem = simulated(args.customers, seed=1)
    built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times, found = ours(problem)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"2. {args.customers:,} customers: prices {times['prices']:.2f} s, cell plan "
        f"{times['cells']:.2f} s (target 1 s), assignment {times['assign']:.2f} s (target "
        f"60 s); profit {found:,.0f}; peak {peak:,.0f} MB (the problem alone {built:,.0f} MB)"
    )


if __name__ == "__main__":
    main()
