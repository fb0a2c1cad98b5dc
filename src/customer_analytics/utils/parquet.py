"""Stage outputs written to Parquet by Arrow's writer while DuckDB computes their rows.

DuckDB computes on its threads while a writer thread encodes, and Arrow's writer
needs about half of the CPU time of DuckDB's ``COPY ... TO`` for text, the more so
without statistics of text columns. The ingest and clean stages write their tables
this way (the ten-million-line shop's clean stage: 23.3-24.9 against 26.8-27.6 s
with ``COPY``).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from pathlib import Path

import duckdb
import ibis
import ibis.expr.operations as ops
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

#: Rows per batch handed from DuckDB to the writer (each batch is at least one row group).
BATCH_ROWS = 1_000_000


def write_parquet(
    table: ibis.Table, path: Path, batch_rows: int = BATCH_ROWS, *, number_rows: bool = False
) -> None:
    """Write ``table``, an Ibis expression, to the Parquet file ``path``.

    The engine computes the next batches on its threads while a writer thread encodes the
    last one (the ten-million-line synthetic shop's order lines, CSV to Parquet on DuckDB:
    4.6-4.8 against 2.9-3.6 s). The file holds the same columns, types and rows, in the
    same order, as ``table.to_parquet(path)`` writes, on either engine (Spark's own
    writer makes a folder of files). A failure leaves no file behind; on DuckDB the
    query's own errors are DuckDB's (``duckdb.Error``), whenever they happen.

    Parameters
    ----------
    table
        The rows to write.
    path
        The file to write (replaced if it exists).
    batch_rows
        Rows per batch handed from the engine to the writer, at most.
    number_rows
        Add ``_row``, each row's 1-based place in the file (the ingest's delivered order).
    """
    reader = _batches(table, batch_rows)
    schema = reader.schema
    if number_rows:
        schema = schema.append(pa.field("_row", pa.int64()))
    pending: queue.Queue = queue.Queue(maxsize=2)
    failed: list[BaseException] = []

    def write() -> None:
        try:
            first = pending.get()
            dictionary = _worth_a_dictionary(first) if first is not None else True
            with pq.ParquetWriter(
                path,
                schema,
                use_dictionary=dictionary,
                write_statistics=_worth_statistics(schema),
                # Rows from pandas carry nanoseconds, which Spark does not read: both
                # engines keep microseconds (DuckDB's TIMESTAMP), finer digits are cut.
                coerce_timestamps="us",
                allow_truncated_timestamps=True,
            ) as writer:
                batch, written = first, 0
                while batch is not None:
                    if number_rows:
                        numbers = np.arange(written + 1, written + batch.num_rows + 1)
                        batch = pa.RecordBatch.from_arrays(
                            [*batch.columns, pa.array(numbers, pa.int64())], schema=schema
                        )
                    writer.write_batch(batch)
                    written += batch.num_rows
                    batch = pending.get()
        except BaseException as error:  # re-raised in the calling thread
            failed.append(error)
            while pending.get() is not None:  # unblock the reading side
                pass

    writer = threading.Thread(target=write, name=f"parquet-writer-{Path(path).name}")
    writer.start()
    read_all = False
    try:
        for batch in reader:
            if failed:
                break
            pending.put(batch)
        read_all = True
    except OSError as error:
        # A query failing after its first batch reaches here through Arrow's stream,
        # which carries DuckDB's message but not its exception class.
        raise duckdb.Error(str(error)) from error
    finally:
        reader.close()  # a partly read stream would hold the connection
        pending.put(None)
        writer.join()
        if failed or not read_all:
            Path(path).unlink(missing_ok=True)
    if failed:
        raise failed[0]


def _batches(table: ibis.Table, batch_rows: int) -> pa.RecordBatchReader:
    """``table``'s rows as a stream of Arrow batches, in the expression's order."""
    # Rows from Python (CDNOW, Excel) are few, and Ibis registers them with DuckDB only
    # on its own ways of running a query.
    backend = None if table.op().find(ops.InMemoryTable) else table.get_backend()
    if backend is not None and backend.name == "pyspark":
        # Ibis goes through pandas (nullable integers become floats); Spark 4 gives Arrow.
        backend._run_pre_execute_hooks(table)
        rows = backend._session.sql(backend.compile(table)).toArrow()
        rows = rows.cast(table.schema().to_pyarrow())
        return pa.RecordBatchReader.from_batches(rows.schema, rows.to_batches(batch_rows))
    if backend is None or backend.name != "duckdb":
        # Whole: Ibis 12 streams through a DuckDB call that DuckDB 2.0 removed.
        rows = table.to_pyarrow()
        return pa.RecordBatchReader.from_batches(rows.schema, rows.to_batches(batch_rows))
    # A streamed query draws DuckDB's progress bar on the terminal and into logs; Ibis's
    # own ways of running one do not. In Jupyter without ipywidgets DuckDB draws none
    # and refuses the setting.
    with contextlib.suppress(duckdb.InvalidInputException):
        backend.raw_sql("SET enable_progress_bar = false")
    return backend.con.sql(backend.compile(table)).to_arrow_reader(batch_rows)


def _worth_a_dictionary(batch: pa.RecordBatch, sample_rows: int = 20_000) -> list[str]:
    """The columns with at most half as many distinct values as rows in ``batch``'s start.

    Arrow's writer builds a dictionary of every column by default and keeps it while it
    stays under a megabyte per row group, as an id column's does (4.3 million orders:
    3.6-4.2 against 3.0-3.4 s without one for the order ids, times and customers).
    Counting a whole first batch would cost more than it saves on a million lines.
    """
    start = batch.slice(0, sample_rows)
    return [
        name
        for name, column in zip(start.schema.names, start.columns, strict=True)
        if pc.count_distinct(column).as_py() <= len(column) // 2
    ]


def _worth_statistics(schema: pa.Schema) -> list[str]:
    """The columns that get minimum and maximum statistics: all but text.

    A text column's statistics compare every value (the ten-million-line shop's order
    lines as delivered, six text columns: 3.9 against 2.8 CPU seconds to encode; the
    write 3.9-4.5 against 3.3-4.0 s), and what reads the stages' files scans them whole:
    the profile takes ranges from the values parsed as numbers and times, the rules look
    at every row, and later stages aggregate per customer. Numbers and times keep theirs.
    """
    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
    return [f.name for f in schema if not any(is_text(f.type) for is_text in text)]


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write a pandas frame that a later stage reads on the engine: times in
    microseconds, as both engines hold them (Spark refuses pandas' nanoseconds)."""
    frame.to_parquet(path, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
