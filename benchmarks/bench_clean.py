"""Ingest and clean throughput on a large synthetic shop: rows per second and peak memory.

    .venv/bin/python benchmarks/bench_clean.py [--customers 400000]

The shop is generated first (not timed), without events. Prints the seconds of the
ingest and clean stages' own work (no notebooks), their order-line throughput and the
process's peak resident memory. Issue 3 targets: ten million synthetic order lines in
under 45 s with peak memory under 4 GB.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time

from customer_analytics.config import load_config
from customer_analytics.sources import synthetic
from customer_analytics.stage import ensure_stage

GENERATE = "import sys; from customer_analytics.synthetic import generate; generate(sys.argv[1], n_customers=int(sys.argv[2]), events=False)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=400_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        overrides = {
            "data.dir": f"{tmp}/data",
            "reports.dir": f"{tmp}/reports",
            "source.synthetic.n_customers": args.customers,
        }
        cfg = load_config("configs/default.yaml", overrides)
        folder = cfg.source_path
        # Generated in another process, so its memory does not count here.
        subprocess.run(
            [sys.executable, "-c", GENERATE, str(folder), str(args.customers)], check=True
        )
        (folder / "generated.json").write_text(
            f'{{"generator": "{synthetic.generator_fingerprint()}"}}'
        )
        synthetic.SPEC["tables"].pop("events")  # the benchmark shop has none
        lines = sum(1 for _ in open(folder / "raw" / "order_items.csv")) - 1
        t0 = time.perf_counter()
        ensure_stage(cfg, "01_ingest")
        t1 = time.perf_counter()
        ensure_stage(cfg, "02_clean")
        t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.customers:,} customers, {lines:,} order lines (no events)")
    print(f"  ingest {t1 - t0:6.1f} s  {lines / (t1 - t0):>12,.0f} lines/s")
    print(f"  clean  {t2 - t1:6.1f} s  {lines / (t2 - t1):>12,.0f} lines/s")
    print(f"  ingest + clean {t2 - t0:6.1f} s, peak memory {peak:,.0f} MB")


if __name__ == "__main__":
    main()
