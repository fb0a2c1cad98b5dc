"""Features, clustering (with the k search) and personas at scale, against one plain K-Means.

    .venv/bin/python benchmarks/bench_personas.py [--customers 1000000] [--workdir DIR]

A synthetic shop of ``--customers`` customers without events (generated first, then
stages 01-04 computed; none of that timed) is clustered by stages 05_clustering and
06_personas, as the runner computes them (stage functions, no notebooks): features at
``as_of`` and at the snapshot, the k search over 2..10 with bootstrap stability, the
RFM-only baseline against the truth, the cards, every customer's tags and the audience
files. The peer is scikit-learn's ``KMeans(n_clusters=6)`` fitted once on the same
features, log-transformed and standardised: what a notebook that already knows k does.
Each side runs in its own process, so each peak memory is its own (VmHWM).

Issue 5's target: one million customers in under 5 minutes on 2 cores, peak under 8 GB.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES_BEFORE = ("01_ingest", "02_clean", "03_rfm", "04_clv")


def _peak_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def _config(overrides: dict):  # noqa: ANN202
    from customer_analytics.config import load_config
    from customer_analytics.sources import synthetic

    synthetic.SPEC["tables"].pop("events")  # the benchmark shop has none
    return load_config("configs/default.yaml", overrides)


def child_before(overrides: dict) -> dict:
    """Stages 01-04 (not timed by the benchmark; printed for orientation)."""
    from customer_analytics.pipeline.cache import ensure_stage

    cfg = _config(overrides)
    t0 = time.perf_counter()
    for stage in STAGES_BEFORE:
        ensure_stage(cfg, stage)
    return {"seconds": time.perf_counter() - t0}


def child_ours(overrides: dict) -> dict:
    from customer_analytics.pipeline.cache import ensure_stage
    from customer_analytics.pipeline.outputs import stage_findings

    cfg = _config(overrides)
    t0 = time.perf_counter()
    clustered = ensure_stage(cfg, "05_clustering")
    t1 = time.perf_counter()
    personas = ensure_stage(cfg, "06_personas")
    t2 = time.perf_counter()
    found = stage_findings(clustered)
    return {
        "clustering_s": t1 - t0,
        "personas_s": t2 - t1,
        "seconds": t2 - t0,
        "peak_mb": _peak_mb(),
        "customers": found["customers"],
        "k": found["k"],
        "truth": found.get("truth", {}),
        "personas": [p["name"] for p in stage_findings(personas)["personas"]],
    }


def child_peer(features: str, columns: list[str]) -> dict:
    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    from customer_analytics.clustering.stage import SKEWED

    table = pd.read_parquet(features, columns=columns)
    t0 = time.perf_counter()
    for column in SKEWED:
        if column in table:
            table[column] = np.log1p(table[column].clip(lower=0))
    scaled = StandardScaler().fit_transform(table.fillna(table.median()))
    KMeans(n_clusters=6, random_state=0).fit(scaled)
    return {"seconds": time.perf_counter() - t0, "peak_mb": _peak_mb()}


def measure(function: str, *args: object) -> dict:
    code = f"import json, sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import bench_personas; print(json.dumps(bench_personas.{function}(*json.loads(sys.argv[1])), default=str))"  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(list(args))],
        check=True,
        stdout=subprocess.PIPE,  # stderr passes through: a failing child says why
        text=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the generated shop and stages 01-04 in this folder and reuse them on "
        "later runs (they take minutes and are not what is measured)",
    )
    args = parser.parse_args()
    from customer_analytics.sources import synthetic as source

    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.workdir or Path(scratch)
        overrides = {
            "data.dir": f"{tmp}/data",
            "reports.dir": f"{tmp}/reports",
            "source.synthetic.n_customers": args.customers,
        }
        folder = _config(overrides).source_path
        if not (folder / "raw" / "order_items.csv").is_file():
            generate = "import sys; from customer_analytics.synthetic import generate; generate(sys.argv[1], n_customers=int(sys.argv[2]), events=False)"  # fmt: skip
            subprocess.run(
                [sys.executable, "-c", generate, str(folder), str(args.customers)], check=True
            )
        (folder / "generated.json").write_text(
            json.dumps({"generator": source.generator_fingerprint()})
        )
        for stage in ("05_clustering", "06_personas"):  # what is measured is never reused
            shutil.rmtree(Path(tmp, "data", "cache", stage), ignore_errors=True)
        before = measure("child_before", overrides)
        print(
            f"synthetic shop of {args.customers:,} customers; stages 01-04 in {before['seconds']:.0f} s"
        )
        ours = measure("child_ours", overrides)
        from customer_analytics.clustering.stage import FEATURES
        from customer_analytics.pipeline.outputs import stage_findings

        outputs = next(Path(tmp, "data", "cache", "05_clustering").glob("*/outputs"))
        features = FEATURES.at(outputs)
        found = stage_findings(outputs)
        peer = measure("child_peer", str(features), found["features"])
        print(
            f"  ours: {ours['customers']:,} buyers, features + clustering {ours['clustering_s']:.1f} s, "
            f"personas {ours['personas_s']:.1f} s, total {ours['seconds']:.1f} s, peak {ours['peak_mb']:,.0f} MB; "
            f"k={ours['k']}, truth {ours['truth']}"
        )
        print(
            f"  plain KMeans(k=6) on the same features: {peer['seconds']:.1f} s, peak {peer['peak_mb']:,.0f} MB "
            f"| ratio {ours['seconds'] / peer['seconds']:.1f}x"
        )
        print("  personas:", "; ".join(ours["personas"]))


if __name__ == "__main__":
    main()
