"""The Ibis connection every stage's transaction-scale work runs on, and what differs
between its two engines.

DuckDB, embedded, is the default; Apache Spark (Ibis's PySpark backend) runs the same
expressions when ``engine.kind`` is ``spark``. Stage code writes Ibis against the
connection :func:`connect` opens and asks this module for the few things the engines
do differently, so no stage branches on the engine:

================================  ==============================  =============================
need                              DuckDB                          Spark
================================  ==============================  =============================
a 64-bit hash (:func:`hash64`)    ``hash``                        ``xxhash64`` (``hash`` is 32-bit)
a working table (:func:`keep`)    a temporary table               a view of checkpointed rows
a stage done (:func:`close`)      disconnect                      the session stays
memory for working tables         ``engine.duckdb.memory_limit``  ``spark.driver.memory`` and
                                  (spills to the stage's folder)  ``spark.executor.memory`` in
                                                                  ``engine.spark.conf``
join-side switch                  ``disabled_optimizers``         none (Spark plans its own;
(:func:`probe_with_wide_side`)                                    does not apply)
small reference files             DuckDB reads the CSV; both engines get the same Arrow table
(:func:`small_csv`)
timestamp texts and zones         ``strptime``, ICU               ``try_to_timestamp``, java.time
(``utils/timestamps.py``)
================================  ==============================  =============================

Reading the delivered files stays on DuckDB (the ingest's sources): it alone keeps a
CSV's or a workbook's delivered row order, which ``_row`` records.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import ibis
import ibis.expr.datatypes as dt

if TYPE_CHECKING:
    from customer_analytics.config import EngineSettings

#: Spark settings every session gets (``engine.spark.conf`` overrides them): times in
#: UTC as on DuckDB, no UI server or console progress bar, Arrow between Spark and
#: Python, Spark's own log quieted, and few shuffle partitions for one machine.
SPARK_DEFAULTS: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.extraJavaOptions": (
        f"-Dlog4j.configurationFile={Path(__file__).with_name('spark-log4j2.properties')}"
    ),
}

JAVA_HINT = (
    "Spark needs Java 17: install it (as root: make java, or on Debian "
    "apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
)


class EngineError(RuntimeError):
    """The configured engine cannot start; the message says what to install or fix."""


def connect(
    settings: EngineSettings | None = None, *, spill_dir: Path | None = None
) -> ibis.BaseBackend:
    """A connection to the configured engine.

    Parameters
    ----------
    settings
        The config's ``engine`` section; None: DuckDB with its defaults.
    spill_dir
        A stage that holds large working tables (:func:`keep`) gives a folder: DuckDB
        then holds them within ``engine.duckdb.memory_limit`` and spills the rest there.
        Spark spills to its own ``spark.local.dir``.
    """
    if settings is None or settings.kind == "duckdb":
        options = {}
        if spill_dir is not None:
            options["temp_directory"] = str(spill_dir)
            if settings is not None and settings.duckdb.memory_limit is not None:
                options["memory_limit"] = settings.duckdb.memory_limit
        return ibis.duckdb.connect(**options)
    return ibis.pyspark.connect(spark_session(settings.spark.master, settings.spark.conf))


def missing(settings: EngineSettings) -> str | None:
    """What the configured engine lacks on this machine to start, or None.

    Checked before a run starts (the command line exits 2 with it), so a Spark config
    on a machine without Java stops at once with what to install.
    """
    if settings.kind != "spark":
        return None
    if problem := _no_java():
        return problem
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "engine.kind is spark and pyspark is not installed: make install installs the lock"
    return None


def _no_java() -> str | None:
    if os.environ.get("JAVA_HOME") or shutil.which("java"):
        return None
    return f"engine.kind is spark and no Java was found. {JAVA_HINT}"


def warm_up(settings: EngineSettings) -> str | None:
    """A Python line that starts the engine's session, for a stage's kernel to run as it
    starts: a stage's kernel starts while the stage before it runs, so Java's start
    (several seconds) is paid beside that stage, not in the stage's own time."""
    if settings.kind != "spark":
        return None
    master, conf = settings.spark.master, dict(settings.spark.conf)
    return f"import {__name__} as e; e.spark_session({master!r}, {conf!r})"


_session_lock = threading.Lock()


def spark_session(master: str, conf: dict[str, str]):  # noqa: ANN201 (pyspark is optional to import)
    """The process's Spark session on ``master``, started on first use.

    A process holds one JVM and one session; later calls return it, so the stages of
    one notebook and the tests of one worker pay Java's start once.
    """
    if master.startswith("sc://"):
        raise EngineError(
            f"engine.spark.master {master}: Spark Connect is not supported (see the README)"
        )
    if problem := _no_java():
        raise EngineError(problem)
    from pyspark.sql import SparkSession

    with _session_lock:
        builder = SparkSession.builder.master(master).appName("customer-analytics")
        for key, value in {**SPARK_DEFAULTS, **conf}.items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as err:  # Py4J and the JVM raise many kinds; all mean the same
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise EngineError(
                f"cannot start a Spark session on master {master!r}: {first}. {JAVA_HINT}"
            ) from None
    return session


@ibis.udf.scalar.builtin(name="xxhash64")
def _xxhash64(value) -> dt.int64:  # noqa: ANN001 (any value: Spark's 64-bit hash)
    """Spark's ``xxhash64``."""


def hash64(columns: dict[str, ibis.Value], backend: ibis.BaseBackend) -> ibis.Value:
    """A 64-bit hash of a row's ``columns`` on ``backend``: equal rows, equal hashes.

    The values differ between engines (DuckDB's ``hash`` against Spark's ``xxhash64``);
    only which rows share a hash matters, and at 64 bits collisions are rare enough to be
    settled by comparing the rows (Spark's own ``hash`` is 32-bit: a billion rows would
    share hashes by the hundred million).
    """
    row = ibis.struct(columns)
    return _xxhash64(row) if backend.name == "pyspark" else row.hash()


def keep(con: ibis.BaseBackend, name: str, table: ibis.Table) -> ibis.Table:
    """``table`` computed once and held by the engine under ``name`` until :func:`drop`.

    DuckDB holds a temporary table in its own format (half the cost of writing and
    reading back Parquet; spilled beyond its memory limit); Spark a temporary view of
    the rows checkpointed on its executors, so that the plans of later steps start from
    them (identity resolution's rounds read each other: views of views left Spark
    planning for minutes at the third round).
    """
    if con.name == "pyspark":
        con._run_pre_execute_hooks(table)  # in-memory tables become views first
        frame = con._session.sql(con.compile(table)).localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        _checkpointed[name] = frame
        return con.table(name)
    return con.create_table(name, obj=table, temp=True)


_checkpointed: dict[str, object] = {}


def close(con: ibis.BaseBackend) -> None:
    """Let a stage's connection go: DuckDB's memory is freed; the process's Spark session
    stays for the next stage of this process (Ibis's disconnect would stop it, and the
    next connection would start Spark again)."""
    if con.name != "pyspark":
        con.disconnect()


def drop(con: ibis.BaseBackend, names: list[str]) -> None:
    """Free the working tables :func:`keep` made."""
    for name in names:
        if con.name == "pyspark":
            con._session.catalog.dropTempView(name)
            _checkpointed.pop(name).unpersist()
        else:
            # Ibis's drop_table writes SQL that DuckDB 2.0 does not parse.
            con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')


@contextlib.contextmanager
def probe_with_wide_side(con: ibis.BaseBackend) -> Iterator[None]:
    """Joins keep the hash table on the side the query names last (DuckDB only).

    DuckDB guesses that a filter keeps a fifth of its rows, so it would build the hash
    table of the kept orders and their revenue from the orders (every column of them)
    rather than from the narrow per-order sums (ten million lines: 7.1 against 5.1 s).
    Spark chooses join sides from its own statistics; nothing to switch there.
    """
    if con.name != "duckdb":
        yield
        return
    con.raw_sql("SET disabled_optimizers = 'build_side_probe_side'")
    try:
        yield
    finally:
        con.raw_sql("RESET disabled_optimizers")


def small_csv(path: Path, **options: object) -> ibis.Table:
    """A small reference file (a few thousand rows) as an in-memory table that either
    engine reads with the same column types: DuckDB reads and types it."""
    with duckdb.connect() as reader:
        return ibis.memtable(reader.read_csv(str(path), **options).to_arrow_table())
