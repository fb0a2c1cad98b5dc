"""KPI series and cohorts of a ten-million-line shop: stage 10_monitor's queries against
the same aggregations in plain DuckDB SQL, in one run.

    .venv/bin/python benchmarks/bench_monitor.py [--customers 790000]

A synthetic shop without events (about 12.7 order lines per customer; generated,
ingested and cleaned first, not timed). On its kept orders, each side in a process of
its own: ours, the order measures of ``monitor/kpis.yaml`` per week and per month
(``kpis.measure_series``) and the cohorts (``cohorts.purchase_days`` and
``cohorts.triangles``); the peer, plain DuckDB SQL computing the same weekly and monthly
measures and the cohort triangle. The two sides' weekly orders and cohort sizes are
compared. Issue 22's target: KPI series and cohorts in under 30 s.
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
ORDER_MEASURES = ("orders", "revenue", "buyers", "new_buyers", "repeat_buyers")
PEER_SQL = """
WITH p AS (
  SELECT *, min(order_ts_utc) OVER (PARTITION BY customer_id) AS first_ts
  FROM read_parquet('{orders}') WHERE NOT is_return
)
SELECT date_trunc('{unit}', order_ts_utc) AS period, count(order_id) AS orders,
  count(DISTINCT customer_id) AS buyers,
  count(DISTINCT customer_id) FILTER (WHERE order_ts_utc = first_ts) AS new_buyers,
  count(DISTINCT customer_id) FILTER (WHERE order_ts_utc > first_ts) AS repeat_buyers
FROM p GROUP BY 1 ORDER BY 1
"""
PEER_REVENUE = """
SELECT date_trunc('{unit}', order_ts_utc) AS period, sum(revenue) AS revenue
FROM read_parquet('{orders}') GROUP BY 1 ORDER BY 1
"""
PEER_COHORTS = """
WITH d AS (
  SELECT customer_id, CAST(order_ts_utc AS DATE) AS day, sum(revenue) AS revenue
  FROM read_parquet('{orders}') WHERE NOT is_return GROUP BY 1, 2
), c AS (
  SELECT *, min(date_trunc('month', day)) OVER (PARTITION BY customer_id) AS cohort FROM d
)
SELECT cohort, date_diff('month', cohort, date_trunc('month', day)) AS age,
  count(DISTINCT customer_id) AS customers, sum(revenue) AS revenue
FROM c GROUP BY 1, 2 ORDER BY 1, 2
"""


def _peak_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def child(side: str, orders: str, as_of: str) -> dict:
    """One side's KPI series and cohorts, timed; what the parent compares."""
    import datetime as dt

    import duckdb
    import ibis.backends.duckdb  # noqa: F401  (imported before the clock, as DuckDB itself)

    from customer_analytics.monitor import cohorts, kpis

    found: dict = {"side": side}
    t0 = time.perf_counter()
    if side == "ours":
        con = ibis.duckdb.connect()
        tables = kpis.purchases_and_orders(con.read_parquet(orders))
        measures, _ = kpis.load_kpis()
        wanted = {m: measures[m] for m in ORDER_MEASURES}
        weekly, _ = kpis.measure_series(tables, wanted, "week")
        kpis.measure_series(tables, wanted, "month")
        found["kpis_s"] = time.perf_counter() - t0
        days = cohorts.purchase_days(tables["purchases"])
        triangle = cohorts.triangles(days, dt.date.fromisoformat(as_of))
        found["weekly_orders"] = weekly["orders"].astype(int).tolist()
        found["cohort_sizes"] = triangle["customers"]["customers"].astype(int).tolist()
    else:
        con = duckdb.connect()
        weekly = con.sql(PEER_SQL.format(orders=orders, unit="week")).df()
        for unit in ("week", "month"):
            con.sql(PEER_REVENUE.format(orders=orders, unit=unit)).df()
        con.sql(PEER_SQL.format(orders=orders, unit="month")).df()
        found["kpis_s"] = time.perf_counter() - t0
        triangle = con.sql(PEER_COHORTS.format(orders=orders)).df()
        found["weekly_orders"] = weekly["orders"].astype(int).tolist()
        found["cohort_sizes"] = triangle[triangle["age"] == 0]["customers"].astype(int).tolist()
    found["total_s"] = time.perf_counter() - t0
    found["cohorts_s"] = found["total_s"] - found["kpis_s"]
    found["peak_mb"] = _peak_mb()
    return found


def measure(side: str, orders: Path, as_of: str) -> dict:
    code = f"import sys, json; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import bench_monitor as b; print(json.dumps(b.child(*sys.argv[1:])))"  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", code, side, str(orders), as_of],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=790_000)
    args = parser.parse_args()

    from customer_analytics.clean.stage import KEPT
    from customer_analytics.config import load_config
    from customer_analytics.pipeline.cache import ensure_stage
    from customer_analytics.pipeline.outputs import stage_findings
    from customer_analytics.sources import synthetic

    with tempfile.TemporaryDirectory() as tmp:
        config = {"source.synthetic.n_customers": args.customers,
                  "reports.dir": f"{tmp}/reports", "data.dir": f"{tmp}/data"}  # fmt: skip
        synthetic.SPEC["tables"].pop("events")  # the benchmark shop has none
        generate = "import sys; from customer_analytics.synthetic import generate; generate(sys.argv[1], n_customers=int(sys.argv[2]), events=False)"  # fmt: skip
        cfg = load_config("configs/default.yaml", config)
        folder = cfg.source_path
        subprocess.run(
            [sys.executable, "-c", generate, str(folder), str(args.customers)], check=True
        )
        (folder / "generated.json").write_text(
            json.dumps({"generator": synthetic.generator_fingerprint()})
        )
        ingest = ensure_stage(cfg, "01_ingest")
        clean = ensure_stage(cfg, "02_clean")
        lines = stage_findings(ingest)["rows"]["order_items"]
        as_of = stage_findings(ingest)["as_of"]
        orders = KEPT.at(clean, table="orders")
        print(f"synthetic shop: {args.customers:,} customers, {lines:,} order lines")
        runs = {side: measure(side, orders, as_of) for side in ("ours", "duckdb")}
        ours, peer = runs["ours"], runs["duckdb"]
        same = ours["weekly_orders"][1:-1] == peer["weekly_orders"][1:-1]
        print(f"weekly orders equal (inner weeks): {same}; cohort sizes equal: "
              f"{ours['cohort_sizes'] == peer['cohort_sizes']}")  # fmt: skip
        for key in ("kpis_s", "cohorts_s", "total_s"):
            print(f"{key:10s} ours {ours[key]:6.1f} s  DuckDB SQL {peer[key]:6.1f} s  "
                  f"ratio {ours[key] / peer[key]:4.1f}x")  # fmt: skip
        print(f"peak memory: ours {ours['peak_mb']:,.0f} MB, DuckDB SQL {peer['peak_mb']:,.0f} MB "
              "(target: KPI series and cohorts under 30 s)")  # fmt: skip


if __name__ == "__main__":
    main()
