"""The engine module: what DuckDB and Spark do differently gives the same answers, and a
Spark config that cannot start says why."""

from __future__ import annotations

import sys
from pathlib import Path

import ibis
import pandas as pd
import pytest
from support import cli, isolated_sets

from customer_analytics.config import EngineSettings
from customer_analytics.pipeline import engine
from customer_analytics.utils.timestamps import java_pattern, to_utc, utc_to_local

#: Texts every parse branch meets: canonical, fractions, other local formats, ISO 8601
#: with Z or offsets, epoch seconds, single digits, impossible dates and rubbish.
TEXTS = [
    "2024-01-05 03:04:05", "2024-01-05 03:04:05.5", "2024-01-05 03:04:05.123456",
    "2024/01/05 03:04:05", "2024/1/5 3:04:05", "2024-1-5 3:4:5", "2024-01-05 03:04",
    "2024/01/05 03:04", "2024-01-05T03:04:05Z", "2024-01-05T03:04:05.25Z",
    "2024-01-05T03:04:05+08:00", "2024-01-05 03:04:05-0530", "2024-01-05T03:04:05+08",
    "1704423845", "1704423845.5", "2024-02-30 03:04:05", "2024-01-05 24:00:00",
    "yesterday", "", None, " 2024-01-05 03:04:05 ", "2024-03-31 01:30:00",
    "2024-03-31 02:30:00", "2024-10-27 01:30:00", "1999-12-31 23:59:59",
]  # fmt: skip


@pytest.fixture(scope="module")
def spark() -> ibis.BaseBackend:
    return engine.connect(EngineSettings(kind="spark"))


def _on(con: ibis.BaseBackend, frame: pd.DataFrame) -> ibis.Table:
    """``frame`` as a table of ``con`` (a Spark expression needs a Spark table; DuckDB
    computes in-memory tables)."""
    name = f"t_{abs(hash(tuple(frame.columns)))}"
    if con.name == "pyspark":
        con._session.createDataFrame(frame).createOrReplaceTempView(name)
        return con.table(name)
    return ibis.memtable(frame)


def test_strftime_formats_become_java_patterns() -> None:
    assert java_pattern("%Y-%m-%d %H:%M:%S.%f") == "yyyy-M-d H:m:s.SSSSSS"
    assert java_pattern("%Y-%m-%dT%H:%M:%SZ") == "yyyy-M-d'T'H:m:s'Z'"
    assert java_pattern("%d.%m.%Y %H:%M%z") == "d.M.yyyy H:m[xxx][xx][x]"
    with pytest.raises(ValueError, match="%b has no Spark pattern"):
        java_pattern("%d %b %Y")


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "Asia/Kathmandu"])
@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_timestamp_texts_parse_alike_on_both_engines(spark: ibis.BaseBackend, zone: str) -> None:
    frame = pd.DataFrame({"n": range(len(TEXTS)), "ts": TEXTS})
    got = {}
    for con in (ibis.duckdb.connect(), spark):
        t = _on(con, frame)
        parsed, canonical = to_utc(t.ts, zone)
        rows = t.select("n", "ts", utc=parsed, canonical=canonical).order_by("n")
        got[con.name] = con.execute(rows)
    duck, spark_rows = got["duckdb"], got["pyspark"]
    assert duck.utc.notna().sum() >= 15
    pd.testing.assert_frame_equal(duck, spark_rows, check_dtype=False)


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_utc_to_local_alike_on_both_engines(spark: ibis.BaseBackend) -> None:
    times = pd.DataFrame({"n": range(4), "utc": pd.to_datetime(
        ["2024-01-05 03:04:05", "2023-12-31 16:00:00", "1990-07-01 12:00:00", "2025-06-18 23:59:59.5"],
        format="ISO8601",
    )})  # fmt: skip
    got = [
        con.execute((t := _on(con, times)).select("n", local=utc_to_local(t.utc, "Asia/Shanghai"))
        .order_by("n"))
        for con in (ibis.duckdb.connect(), spark)
    ]  # fmt: skip
    pd.testing.assert_frame_equal(*got, check_dtype=False)
    assert got[0].local[1] == pd.Timestamp("2024-01-01 00:00:00")


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_hash64_is_64_bit_and_equal_for_equal_rows_on_both_engines(
    spark: ibis.BaseBackend,
) -> None:
    frame = pd.DataFrame({"a": ["x", "x", "y", None] * 500, "b": [1, 1, 2, 3] * 500})
    for con in (ibis.duckdb.connect(), spark):
        t = _on(con, frame)
        hashes = con.execute(t.select(h=engine.hash64({"a": t.a, "b": t.b}, con))).h
        assert hashes.nunique() == 3
        assert int(hashes.abs().max()) > 2**40  # a 32-bit hash never gets there


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_kept_tables_are_computed_once_and_dropped(spark: ibis.BaseBackend) -> None:
    t = _on(spark, pd.DataFrame({"a": [1, 2, 3]}))
    kept = engine.keep(spark, "_kept_test", t.mutate(b=t.a * 2))
    assert kept.b.sum().execute() == 12
    engine.drop(spark, ["_kept_test"])
    assert "_kept_test" not in spark.list_tables()


def test_a_spark_config_without_java_stops_before_running(tmp_path: Path) -> None:
    env = {"PATH": str(Path(sys.executable).parent), "JAVA_HOME": ""}
    done = cli(
        "--config", "configs/tiny.yaml", "--set", "engine.kind=spark",
        *isolated_sets(tmp_path), env=env,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "no Java was found" in done.stderr and "make java" in done.stderr
    assert not (tmp_path / "reports").exists()


def test_spark_connect_is_refused_with_what_to_give_instead(tmp_path: Path) -> None:
    done = cli(
        "--config", "configs/tiny.yaml", "--set", "engine.kind=spark",
        "--set", "engine.spark.master=sc://localhost:15002", *isolated_sets(tmp_path),
    )  # fmt: skip
    assert done.returncode == 2
    assert "Spark Connect (sc://) is not supported" in done.stderr


@pytest.mark.spark
@pytest.mark.xdist_group("spark-bad-master")
def test_a_session_that_cannot_start_names_its_master(tmp_path: Path) -> None:
    done = cli(
        "--config", "configs/tiny.yaml", "--set", "engine.kind=spark",
        "--set", "engine.spark.master=nowhere://x", "--set", "run.stages=[01_ingest,02_clean]",
        *isolated_sets(tmp_path),
    )  # fmt: skip
    assert done.returncode == 1
    assert "cannot start a Spark session on master 'nowhere://x'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_a_stage_closing_its_connection_leaves_the_session_to_the_next(
    spark: ibis.BaseBackend,
) -> None:
    session = spark._session
    engine.close(spark)
    again = engine.connect(EngineSettings(kind="spark"))
    assert again._session is session
    assert again.raw_sql("SELECT 1 AS one").collect()[0].one == 1
