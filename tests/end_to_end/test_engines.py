"""The same pipeline on both engines: configs/spark_local.yaml (the tiny shop on Spark,
support.TEST_SETS) against the same config on DuckDB, through the command line. Every
stage's tables and quarantines hold the same rows in the same order with the same types,
numbers equal to 1e-9 relative, and the findings are the same."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from findings import IGNORED
from support import CliRun, on_run, run_config, shared_file

RTOL = 1e-9
#: Findings that name where and when a run happened, or its cache key (which covers the
#: engine), not what the stage found.
ENGINE_KEYS = IGNORED | {"key"}


def _same_table(left: pa.Table, right: pa.Table) -> list[str]:
    """How two tables differ: schema, row count, or the first differing values of a column."""
    if left.schema != right.schema:
        return [f"schema {left.schema} != {right.schema}"]
    if left.num_rows != right.num_rows:
        return [f"{left.num_rows} != {right.num_rows} rows"]
    found = []
    for name, a, b in zip(left.column_names, left.columns, right.columns, strict=True):
        if pa.types.is_floating(a.type):
            x, y = a.to_numpy(zero_copy_only=False), b.to_numpy(zero_copy_only=False)
            same = np.isclose(x, y, rtol=RTOL, atol=0, equal_nan=True) | (x == y)
        else:
            same = np.array([u == v for u, v in zip(a.to_pylist(), b.to_pylist(), strict=True)])
        if not same.all():
            row = int(np.argmin(same))
            found.append(f"{name}: row {row}: {a[row]} != {b[row]}")
    return found


def _same_json(left: Any, right: Any, where: str = "") -> list[str]:
    """Differences of two findings trees, floats to :data:`RTOL` relative."""
    if isinstance(left, dict) and isinstance(right, dict):
        keys = (set(left) | set(right)) - ENGINE_KEYS
        return [
            d for k in sorted(keys) for d in _same_json(left.get(k), right.get(k), f"{where}/{k}")
        ]
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [d for i, (a, b) in enumerate(zip(left, right, strict=True)) for d in _same_json(a, b, f"{where}[{i}]")]  # fmt: skip
    if isinstance(left, float) and isinstance(right, float):
        close = math.isclose(left, right, rel_tol=RTOL) or (math.isnan(left) and math.isnan(right))
        return [] if close else [f"{where}: {left} != {right}"]
    return [] if left == right else [f"{where}: {left!r} != {right!r}"]


def engine_differences(duckdb: CliRun, spark: CliRun) -> list[str]:
    """Every difference between two runs' stage outputs (Parquet and JSON files)."""
    found = []
    for stage, folder in duckdb.stages.items():
        other = spark.stages[stage]
        files = {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}
        theirs = {p.relative_to(other) for p in other.rglob("*") if p.is_file()}
        found += [f"{stage}: only on DuckDB: {p}" for p in sorted(files - theirs)]
        found += [f"{stage}: only on Spark: {p}" for p in sorted(theirs - files)]
        for path in sorted(files & theirs):
            if path.suffix == ".parquet":
                diffs = _same_table(pq.read_table(folder / path), pq.read_table(other / path))
            elif path.suffix == ".json":
                left, right = (json.loads((f / path).read_text()) for f in (folder, other))
                diffs = _same_json(left, right)
            else:
                continue
            found += [f"{stage}/{path}: {d}" for d in diffs]
    found += [f"findings{d}" for d in _same_json(duckdb.manifest["findings"], spark.manifest["findings"])]  # fmt: skip
    return found


@pytest.mark.spark
@on_run("spark_local")
def test_the_tiny_shop_gives_the_same_outputs_on_spark_and_duckdb(
    config_run: Callable[[str], CliRun], tmp_path: Path
) -> None:
    spark = config_run("spark_local")
    assert spark.ok, spark.process.stderr[-3000:]
    duckdb = run_config("spark_local", tmp_path, "--set", "engine.kind=duckdb")
    assert duckdb.ok, duckdb.process.stderr[-3000:]
    assert engine_differences(duckdb, spark) == []


@pytest.mark.spark
@pytest.mark.slow
@on_run("online_retail")
def test_online_retail_gives_the_same_outputs_on_spark_and_duckdb(
    config_run: Callable[[str], CliRun], tmp_path: Path
) -> None:
    """The session's run of the config (on DuckDB, its engine) against one on Spark."""
    shared_file("online_retail.parquet")
    duckdb = config_run("online_retail")
    spark = run_config("online_retail", tmp_path, "--set", "engine.kind=spark")
    for run in (duckdb, spark):
        assert run.ok, run.process.stderr[-3000:]
    assert engine_differences(duckdb, spark) == []


def test_the_comparison_sees_a_changed_number_order_or_type() -> None:
    assert _same_json({"a": 1.0, "key": "x"}, {"a": 1.0 + 1e-12, "key": "y"}) == []
    assert _same_json({"a": 1.0}, {"a": 1.001}) == ["/a: 1.0 != 1.001"]
    table = pa.table({"id": ["a", "b"], "x": [1.0, float("nan")]})
    assert _same_table(table, table) == []
    assert _same_table(table, table.take([1, 0])) != []
    assert _same_table(table, table.set_column(1, "x", pa.array([1.0, 2.0]))) != []
    assert _same_table(table, table.cast(pa.schema([("id", pa.string()), ("x", pa.float32())])))
