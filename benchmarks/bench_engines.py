"""DuckDB against Spark local[2], ingest to features, in one run: seconds per step, the
ratio, Spark's start-up, and Spark's jobs and shuffle stages per step.

    .venv/bin/python benchmarks/bench_engines.py                      # 1M order lines
    .venv/bin/python benchmarks/bench_engines.py --customers 790000   # 10M order lines

A synthetic shop without events (about 12.7 order lines per customer; generated first,
not timed) is ingested once (the ingest reads delivered files on DuckDB on either
engine), then each engine, in a process of its own, runs the clean stage, the RFM stage
(RFM and the BTYD summary) and the customer features of 05_clustering. Spark's shuffles
are counted from its status tracker: a job's stages beyond its last are shuffle map
stages (each ends in an exchange by customer, order or row id).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("02_clean", "03_rfm", "features")


def child(config_overrides: dict, ingest: str, kind: str) -> dict:
    """One engine's steps on the ingested shop, timed one by one."""
    import ibis.backends.duckdb  # noqa: F401  (imported before the clock, as DuckDB itself)

    from customer_analytics.clean.stage import clean_tables_of
    from customer_analytics.clustering.features import build_features
    from customer_analytics.config import load_config
    from customer_analytics.pipeline import engine
    from customer_analytics.pipeline.cache import ensure_stage
    from customer_analytics.pipeline.outputs import run_as_of
    from customer_analytics.sources import synthetic

    synthetic.SPEC["tables"].pop("events")  # as in the parent: the shop has none

    # The driver holds each output table as Arrow while it is written (README: Running
    # on a Spark cluster): ten million order lines need more than Spark's default 1 GB.
    spark_conf = {"spark.driver.memory": "8g"}
    cfg = load_config(
        "configs/default.yaml",
        {**config_overrides, "engine.kind": kind, "engine.spark.conf": spark_conf},
    )
    found: dict = {"kind": kind}
    tracker = None
    if kind == "spark":
        t0 = time.perf_counter()
        session = engine.spark_session(cfg.engine.spark.master, cfg.engine.spark.conf)
        session.sql("SELECT 1").collect()
        found["startup_s"] = time.perf_counter() - t0
        tracker = session.sparkContext.statusTracker()

    def step(name: str, work) -> None:  # noqa: ANN001
        if tracker is not None:
            session.sparkContext.setJobGroup(name, name)
        t0 = time.perf_counter()
        result = work()
        found[f"{name}_s"] = time.perf_counter() - t0
        if tracker is not None:
            jobs = [tracker.getJobInfo(j) for j in tracker.getJobIdsForGroup(name)]
            stages = sum(len(j.stageIds) for j in jobs if j is not None)
            found[f"{name}_jobs"], found[f"{name}_shuffles"] = len(jobs), stages - len(jobs)
        return result

    step("02_clean", lambda: ensure_stage(cfg, "02_clean"))
    rfm = step("03_rfm", lambda: ensure_stage(cfg, "03_rfm"))
    inputs = {"01_ingest": Path(ingest), "02_clean": ensure_stage(cfg, "02_clean"), "03_rfm": rfm}
    features = step(
        "features",
        lambda: build_features(
            clean_tables_of(inputs),
            run_as_of(inputs),
            cfg.shop.timezone,
            engine_settings=cfg.engine,
        ),
    )
    found["customers"] = len(features.table)
    return found


def measure(*args: object) -> dict:
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import bench_engines; "
        "print(json.dumps(bench_engines.child(*json.loads(sys.argv[1]))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(list(args))],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    if done.returncode:
        sys.exit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=79_000)
    args = parser.parse_args()

    from customer_analytics.config import load_config
    from customer_analytics.pipeline.cache import ensure_stage
    from customer_analytics.sources import synthetic

    with tempfile.TemporaryDirectory() as tmp:
        base = {"source.synthetic.n_customers": args.customers, "reports.dir": f"{tmp}/reports"}
        shared = {**base, "data.dir": f"{tmp}/ingest"}
        synthetic.SPEC["tables"].pop("events")  # the benchmark shop has none
        generate = "import sys; from customer_analytics.synthetic import generate; generate(sys.argv[1], n_customers=int(sys.argv[2]), events=False)"  # fmt: skip
        folder = load_config("configs/default.yaml", shared).source_path
        subprocess.run(
            [sys.executable, "-c", generate, str(folder), str(args.customers)], check=True
        )
        # Marked as this generator's shop so the stages do not generate it again.
        (folder / "generated.json").write_text(
            json.dumps({"generator": synthetic.generator_fingerprint()})
        )
        t0 = time.perf_counter()
        ingest = ensure_stage(load_config("configs/default.yaml", shared), "01_ingest")
        ingest_s = time.perf_counter() - t0
        lines = json.loads((ingest / "_stage.json").read_text())["findings"]["rows"]["order_items"]
        print(f"synthetic shop: {args.customers:,} customers, {lines:,} order lines; "
              f"ingest (DuckDB, both engines) {ingest_s:.1f} s")  # fmt: skip
        # One data folder: the engine is part of the later stages' cache keys, so each
        # engine computes its own outputs over the one ingest.
        runs = {kind: measure(shared, str(ingest), kind) for kind in ("duckdb", "spark")}
        duck, spark = runs["duckdb"], runs["spark"]
        print(f"Spark local[2] start-up: {spark['startup_s']:.1f} s")
        print(
            f"{'step':10s} {'DuckDB s':>9s} {'Spark s':>9s} {'ratio':>6s} {'jobs':>5s} {'shuffles':>8s}"
        )
        for name in STEPS:
            d, s = duck[f"{name}_s"], spark[f"{name}_s"]
            print(f"{name:10s} {d:9.1f} {s:9.1f} {s / d:5.1f}x {spark[f'{name}_jobs']:5d} "
                  f"{spark[f'{name}_shuffles']:8d}")  # fmt: skip
        total_d = sum(duck[f"{n}_s"] for n in STEPS)
        total_s = sum(spark[f"{n}_s"] for n in STEPS)
        print(f"{'total':10s} {total_d:9.1f} {total_s:9.1f} {total_s / total_d:5.1f}x "
              f"(Spark with its start-up {(total_s + spark['startup_s']) / total_d:.1f}x)")  # fmt: skip
        assert duck["customers"] == spark["customers"], (duck["customers"], spark["customers"])


if __name__ == "__main__":
    main()
