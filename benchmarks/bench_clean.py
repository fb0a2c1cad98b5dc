"""Ingest and clean throughput against plain DuckDB SQL: seconds, lines per second, peak memory.

    .venv/bin/python benchmarks/bench_clean.py online-retail-ii
    .venv/bin/python benchmarks/bench_clean.py synthetic [--customers 790000] [--shop DIR]
    .venv/bin/python benchmarks/bench_clean.py            # both

``online-retail-ii``: an Online Retail II-sized export (1,083,818 lines: the UCI Online
Retail file from ``../shared/data`` and a copy of it one year earlier with other invoice
numbers, under Online Retail II's column names), as Parquet and as a Latin-1 CSV. Our
ingest + clean stages against plain DuckDB SQL that loads the file, tags the usual
rules (no customer, cancellation, quantity or price not positive) and writes the kept
lines: the floor that Ibis, quarantine, accounting and profiles are paid for on top of.

``synthetic``: a synthetic shop without events (about ten million order lines at the
default 790,000 customers; generated first, not timed), against plain DuckDB loading its
CSV files into Parquet.

Every measurement runs in its own process, so each peak memory is its own. Issue 3's
targets: one million lines in under 5 s; ten million synthetic lines in under 45 s
with peak memory under 4 GB.
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
ONLINE_RETAIL = ROOT.parent / "shared" / "data" / "online_retail.parquet"
II_COLUMNS = 'InvoiceNo AS Invoice, StockCode, Description, Quantity, InvoiceDate, UnitPrice AS Price, CustomerID AS "Customer ID", Country'  # fmt: skip


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited
    from the parent that started it)."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def child_pipeline(config: str, overrides: dict) -> dict:
    """Our ingest and clean stages (stage functions, no notebooks).

    Libraries are imported before the clock starts, Ibis's DuckDB backend included
    (it loads on first use, about 0.4 s), as the peers import DuckDB before theirs.
    """
    import ibis.backends.duckdb  # noqa: F401

    from customer_analytics.config import load_config
    from customer_analytics.pipeline.cache import ensure_stage
    from customer_analytics.sources import synthetic

    if config.endswith("default.yaml"):
        synthetic.SPEC["tables"].pop("events")  # the benchmark shop has none
    cfg = load_config(config, overrides)
    t0 = time.perf_counter()
    ensure_stage(cfg, "01_ingest")
    t1 = time.perf_counter()
    ensure_stage(cfg, "02_clean")
    t2 = time.perf_counter()
    return {"ingest_s": t1 - t0, "clean_s": t2 - t1, "seconds": t2 - t0, "peak_mb": _peak_mb()}


def child_duckdb_online_retail(path: str, out: str) -> dict:
    """Plain DuckDB: load, tag the usual rules, write the kept lines."""
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    if path.endswith(".csv"):
        source = f"read_csv('{path}', encoding = 'latin-1', header = true, timestampformat = '%m/%d/%Y %H:%M')"
    else:
        source = f"read_parquet('{path}')"
    con.execute(f"CREATE TABLE lines AS SELECT * FROM {source}")
    con.execute(
        """CREATE TABLE tagged AS SELECT *, CASE
             WHEN "Customer ID" IS NULL THEN 'guest'
             WHEN Invoice LIKE 'C%' THEN 'cancellation'
             WHEN Quantity <= 0 THEN 'quantity'
             WHEN Price <= 0 THEN 'price' END AS rule FROM lines"""
    )
    con.execute(f"COPY (SELECT * FROM tagged WHERE rule IS NULL) TO '{out}/kept.parquet'")
    con.execute(f"COPY (SELECT * FROM tagged WHERE rule IS NOT NULL) TO '{out}/set_aside.parquet'")
    return {"seconds": time.perf_counter() - t0, "peak_mb": _peak_mb()}


def child_duckdb_load(folder: str, out: str) -> dict:
    """Plain DuckDB: every CSV of the synthetic export to Parquet, as text."""
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    for csv in sorted(Path(folder).glob("*.csv")):
        con.execute(
            f"COPY (SELECT * FROM read_csv('{csv}', all_varchar = true, header = true)) "
            f"TO '{out}/{csv.stem}.parquet'"
        )
    return {"seconds": time.perf_counter() - t0, "peak_mb": _peak_mb()}


def measure(function: str, *args: object) -> dict:
    """Run one child function in a fresh process; return what it measured."""
    code = f"import json, sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import bench_clean; print(json.dumps(bench_clean.{function}(*json.loads(sys.argv[1]))))"  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(list(args))],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def online_retail_ii(tmp: Path) -> None:
    import duckdb

    if not ONLINE_RETAIL.is_file():
        sys.exit(f"{ONLINE_RETAIL} is missing (see ../shared/data/README.md)")
    parquet, csv = tmp / "online_retail_ii.parquet", tmp / "online_retail_ii.csv"
    con = duckdb.connect()
    earlier = II_COLUMNS.replace(
        "InvoiceNo AS Invoice", "regexp_replace(InvoiceNo, '(\\d+)', '9\\1') AS Invoice"
    ).replace("InvoiceDate", "InvoiceDate - INTERVAL 364 DAY AS InvoiceDate")
    con.execute(
        f"COPY (SELECT {earlier} FROM '{ONLINE_RETAIL}' UNION ALL "
        f"SELECT {II_COLUMNS} FROM '{ONLINE_RETAIL}') TO '{parquet}'"
    )
    utf8 = tmp / "utf8.csv"
    con.execute(
        f"COPY (SELECT * REPLACE (strftime(InvoiceDate, '%-m/%-d/%Y %-H:%M') AS InvoiceDate) "
        f"FROM '{parquet}') TO '{utf8}' (HEADER)"
    )
    csv.write_bytes(utf8.read_text(encoding="utf-8").encode("latin-1", errors="replace"))
    lines = con.execute(f"SELECT count(*) FROM '{parquet}'").fetchone()[0]
    print(f"Online Retail II-sized export: {lines:,} lines")
    for path in (parquet, csv):
        run = tmp / f"run-{path.suffix[1:]}"
        overrides = {
            "source.path": str(path),
            "data.dir": str(run / "data"),
            "reports.dir": str(run / "reports"),
        }
        ours = measure("child_pipeline", "configs/online_retail.yaml", overrides)
        (run / "peer").mkdir(parents=True)
        peer = measure("child_duckdb_online_retail", str(path), str(run / "peer"))
        print(
            f"  {path.suffix[1:]:8s} ours {ours['seconds']:5.2f} s (ingest {ours['ingest_s']:.2f} + "
            f"clean {ours['clean_s']:.2f}), {lines / ours['seconds']:>9,.0f} lines/s, "
            f"peak {ours['peak_mb']:,.0f} MB | plain DuckDB {peer['seconds']:5.2f} s, "
            f"peak {peer['peak_mb']:,.0f} MB | ratio {ours['seconds'] / peer['seconds']:.1f}x"
        )


def synthetic(tmp: Path, customers: int, shop: Path | None) -> None:
    from customer_analytics.config import load_config
    from customer_analytics.sources import synthetic as source

    overrides = {
        "data.dir": str(tmp / "data"),
        "reports.dir": str(tmp / "reports"),
        "source.synthetic.n_customers": customers,
    }
    folder = load_config("configs/default.yaml", overrides).source_path
    kept = shop / "raw" / "order_items.csv" if shop else None
    if kept is None or not kept.is_file():
        generate = "import sys; from customer_analytics.synthetic import generate; generate(sys.argv[1], n_customers=int(sys.argv[2]), events=False)"  # fmt: skip
        target = shop or folder
        subprocess.run([sys.executable, "-c", generate, str(target), str(customers)], check=True)
    if shop:  # the stages read the kept shop where they expect a generated one
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.symlink_to(shop.resolve(), target_is_directory=True)
    # Marked as this generator's shop so the stages do not generate it again.
    (folder / "generated.json").write_text(
        json.dumps({"generator": source.generator_fingerprint()})
    )
    with open(folder / "raw" / "order_items.csv") as f:
        lines = sum(1 for _ in f) - 1
    print(f"synthetic shop: {customers:,} customers, {lines:,} order lines (no events)")
    ours = measure("child_pipeline", "configs/default.yaml", overrides)
    (tmp / "peer").mkdir()
    peer = measure("child_duckdb_load", str(folder / "raw"), str(tmp / "peer"))
    print(
        f"  ours {ours['seconds']:5.1f} s (ingest {ours['ingest_s']:.1f} + clean {ours['clean_s']:.1f}), "
        f"{lines / ours['seconds']:>9,.0f} lines/s, peak {ours['peak_mb']:,.0f} MB | "
        f"plain DuckDB CSV -> Parquet {peer['seconds']:5.1f} s, peak {peer['peak_mb']:,.0f} MB | "
        f"ratio {ours['seconds'] / peer['seconds']:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "source", nargs="?", default="all", choices=["online-retail-ii", "synthetic", "all"]
    )
    parser.add_argument("--customers", type=int, default=790_000)
    parser.add_argument(
        "--shop",
        type=Path,
        help="keep the generated synthetic shop in this folder and reuse it on later runs "
        "(generating ten million lines takes minutes and is not what is measured)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.source in ("online-retail-ii", "all"):
            online_retail_ii(Path(tmp))
        if args.source in ("synthetic", "all"):
            synthetic(Path(tmp), args.customers, args.shop)


if __name__ == "__main__":
    main()
