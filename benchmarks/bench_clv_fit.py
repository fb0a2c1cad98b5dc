"""CLV fits at scale: our de-duplicated weighted fit against lifetimes' plain fit.

    .venv/bin/python benchmarks/bench_clv_fit.py [--customers 1000000] [--units days weeks]
        [--models bgnbd pareto]

Customers are simulated from BG/NBD with CDNOW's weekly parameters (Fader, Hardie & Lee
2005: r 0.243, alpha 4.414 weeks, a 0.793, b 2.426) in numpy: first purchases spread over
12 weeks (as CDNOW's cohort), observed until day 365, purchase times recorded to the day
(recency and T in whole days, as a daily transaction log gives them); in weeks, recency
and T are whole calendar weeks as lifetimes' freq="W" makes them. lifetimes'
``beta_geometric_nbd_model`` loops in Python per customer, far too slow for a million.

For BG/NBD and Pareto/NBD, in days and in weeks, prints the seconds of lifetimes' plain
fit on every customer and of our fit (input checks, de-duplication, weighted fit and
log-likelihood), their ratio and the largest relative parameter difference (must be below
1e-6). The plain Pareto/NBD fit is given our fit's start and tolerance (lifetimes would
otherwise start at random and stop at tol 1e-4), so both aim at the same optimum.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, ParetoNBDFitter

from customer_analytics.clv import BetaGeoModel, ParetoNBDModel

WEEKLY = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def simulate(n: int, seed: int = 2005, cohort_days: int = 84, end_day: int = 365) -> dict:
    """BG/NBD customers, summaries in whole days and whole weeks."""
    rng = np.random.default_rng(seed)
    birth = rng.integers(0, cohort_days, n)
    age = (end_day - birth).astype(float)
    lam = rng.gamma(WEEKLY["r"], 1.0 / (7.0 * WEEKLY["alpha"]), n)  # purchases per day
    p = rng.beta(WEEKLY["a"], WEEKLY["b"], n)
    # Purchases while alive follow a Poisson process; the customer drops out after the
    # K-th repeat purchase, K geometric. Given N arrivals in (0, T], the x-th is the x-th
    # order statistic of N uniforms: T * Beta(x, N - x + 1).
    arrivals = rng.poisson(lam * age)
    x = np.minimum(arrivals, rng.geometric(p))
    last = np.zeros(n)
    bought = x > 0
    last[bought] = age[bought] * rng.beta(x[bought], arrivals[bought] - x[bought] + 1)
    recency = np.floor(last)
    week = lambda day: day // 7  # noqa: E731
    return {
        "days": pd.DataFrame({"frequency": x, "recency": recency, "T": age}),
        "weeks": pd.DataFrame(
            {
                "frequency": x,
                "recency": (week(birth + recency) - week(birth)).astype(float),
                "T": (week(end_day) - week(birth)).astype(float),
            }
        ),
    }


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def compare(name: str, plain, ours, data: pd.DataFrame, unit: str) -> None:
    columns = [data[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]
    lifetimes_fit, plain_s = timed(lambda: plain(*columns))
    model, ours_s = timed(lambda: ours(unit).fit(data))
    reference = lifetimes_fit.params_.to_numpy()
    diff = np.max(np.abs(model.params / reference - 1))
    shown = ", ".join(f"{k} {v:.4g}" for k, v in model.params_.items())
    print(
        f"  {name:<10} {unit:<5} plain {plain_s:8.2f} s  weighted {ours_s:7.2f} s  "
        f"ratio {plain_s / ours_s:6.1f}x  max rel diff {diff:.1e}  "
        f"({model.n_patterns_:,} distinct rows; {shown})"
    )
    if diff >= 1e-6:
        print(f"  !! {name} {unit}: parameters differ by {diff:.2e} (limit 1e-6)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--units", nargs="+", default=["days", "weeks"], choices=["days", "weeks"])
    parser.add_argument("--models", nargs="+", default=["bgnbd", "pareto"])
    args = parser.parse_args()
    data, sim_s = timed(lambda: simulate(args.customers))
    print(f"{args.customers:,} simulated BG/NBD customers ({sim_s:.1f} s to simulate)")
    fits = {
        "bgnbd": (
            "BG/NBD",
            lambda x, t_x, T: BetaGeoFitter().fit(x, t_x, T),
            lambda unit: BetaGeoModel(time_unit=unit),
        ),
        "pareto": (
            "Pareto/NBD",
            lambda x, t_x, T: ParetoNBDFitter().fit(
                x,
                t_x,
                T,
                initial_params=np.array(ParetoNBDModel.INITIAL_PARAMS),
                tol=ParetoNBDModel.default_tol,
                maxiter=10_000,
            ),
            lambda unit: ParetoNBDModel(time_unit=unit),
        ),
    }
    for unit in args.units:
        for key in args.models:
            compare(*fits[key][:1], *fits[key][1:], data[unit], unit)


if __name__ == "__main__":
    main()
