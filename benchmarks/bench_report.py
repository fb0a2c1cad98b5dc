"""How long `make report` takes once the environment exists, and where the time goes.

Runs configs/default.yaml twice into a temporary folder: a cold run (the synthetic shop
generated, every stage computed) and a warm rerun (every stage reused from the cache).
Prints the split of the cold run between generating the data, kernel start-up, the
stages' own cells and HTML export. Target (issue 2): under 90 s on 2 cores.

    .venv/bin/python benchmarks/bench_report.py [--config configs/default.yaml]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time

from customer_analytics.config import load_config
from customer_analytics.pipeline.runner import Runner
from customer_analytics.sources.synthetic import ensure_generated

TARGET_SECONDS = 90.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        overrides = {"reports.dir": f"{tmp}/reports", "data.dir": f"{tmp}/data"}
        cfg = load_config(args.config, overrides)
        t0 = time.perf_counter()
        if cfg.source.kind == "synthetic":
            ensure_generated(cfg)
        generate = time.perf_counter() - t0
        cold = Runner(cfg).run()
        cold_total = time.perf_counter() - t0
        t1 = time.perf_counter()
        warm = Runner(cfg).run()
        warm_total = time.perf_counter() - t1
    assert cold.status == "ok" and warm.status == "ok", (cold.status, warm.status)
    stages = cold.manifest["stages"]
    split = {
        "generate data": generate,
        "kernel start-up": sum(s.get("seconds_kernel", 0) for s in stages),
        "stage cells": sum(s.get("seconds_cells", 0) for s in stages),
        "HTML export": sum(s.get("seconds_export", 0) for s in stages),
    }
    split["runner overhead"] = cold_total - sum(split.values())
    print(f"config {args.config}: {len(stages)} stage(s)")
    print(f"cold run (generate + compute): {cold_total:6.1f} s   target < {TARGET_SECONDS:.0f} s")
    for name, seconds in split.items():
        print(f"  {name:<16} {seconds:6.1f} s  {seconds / cold_total:5.0%}")
    for s in stages:
        print(
            f"    {s['name']:<14} kernel {s.get('seconds_kernel', 0):5.1f}  cells {s.get('seconds_cells', 0):5.1f}"
            f"  export {s.get('seconds_export', 0):5.1f}"
        )
    print(
        f"warm rerun (all stages reused): {warm_total:6.1f} s  ({warm_total / cold_total:.0%} of cold)"
    )


if __name__ == "__main__":
    main()
