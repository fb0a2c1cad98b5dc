"""How long the synthetic shop takes to generate, and how much memory, by size.

    .venv/bin/python benchmarks/bench_generator.py [--customers 1000000]

Prints seconds, peak resident memory and rows written for the default size and for a
large shop without events (the size used by the CLV and clustering benchmarks).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time

CHILD = """
import sys, time, resource, pathlib
from customer_analytics.synthetic import generate
t = time.perf_counter()
r = generate(sys.argv[1], n_customers=int(sys.argv[2]), events=sys.argv[3] == "1")
s = time.perf_counter() - t
rows = {p.name: sum(1 for _ in open(p)) - 1 for p in pathlib.Path(r.raw_dir).glob("*.csv")}
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{s:.1f} {peak:.0f} {rows['orders.csv']} {rows['order_items.csv']}")
"""


def measure(customers: int, events: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, tmp, str(customers), "1" if events else "0"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        seconds, peak, orders, lines = float(out[0]), float(out[1]), int(out[2]), int(out[3])
    label = f"{customers:,} customers{'' if events else ', no events'}"
    print(f"{label:<32} {seconds:7.1f} s  peak {peak:7,.0f} MB  {orders:>10,} orders {lines:>11,} lines"
          f"  ({time.perf_counter() - t:.1f} s with start-up)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    measure(20_000, events=True)
    measure(args.customers, events=False)


if __name__ == "__main__":
    main()
