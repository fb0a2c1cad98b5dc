"""Parquet files written through Arrow's writer match DuckDB's own, and fail cleanly."""

from __future__ import annotations

import datetime as dt

import duckdb
import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer_analytics.utils.parquet import write_parquet


@pytest.fixture
def table(tmp_path) -> ibis.Table:
    frame = pd.DataFrame(
        {
            "text": ["a", None, "c", "dé", "", "f", "g"],
            "number": [1, 2, None, 4, 5, 6, 7],
            "amount": [1.5, None, 3.25, 4.0, 5.5, 6.0, 7.75],
            "when": pd.to_datetime(["2024-01-01 10:00", None, "2024-03-01 00:00", "2024-04-01 00:00",
                                    "2024-05-01 00:00", "2024-06-01 23:59", "2024-07-01 00:00"]),
        }
    )  # fmt: skip
    frame.to_parquet(tmp_path / "rows.parquet")
    t = ibis.duckdb.connect().read_parquet(tmp_path / "rows.parquet")
    # Microseconds, as both engines hold times (pandas wrote nanoseconds).
    return t.mutate(
        flag=t.number > 3, number=t.number.cast("int64"), when=t.when.cast("timestamp(6)")
    )


def _read(path) -> tuple[list, list]:
    con = duckdb.connect()
    schema = con.sql(f"DESCRIBE SELECT * FROM '{path}'").fetchall()
    rows = con.sql(f"SELECT * FROM read_parquet('{path}', file_row_number = true)").fetchall()
    return schema, rows


def test_same_file_contents_as_duckdb_writes_over_several_batches(table, tmp_path):
    write_parquet(table, tmp_path / "arrow.parquet", batch_rows=2)
    table.to_parquet(tmp_path / "duckdb.parquet")
    assert _read(tmp_path / "arrow.parquet") == _read(tmp_path / "duckdb.parquet")
    assert _read(tmp_path / "arrow.parquet")[1][0][:4] == ("a", 1, 1.5, dt.datetime(2024, 1, 1, 10))


def test_text_columns_carry_no_statistics_and_the_others_do(table, tmp_path):
    write_parquet(table, tmp_path / "arrow.parquet")
    chunk = pq.ParquetFile(tmp_path / "arrow.parquet").metadata.row_group(0)
    with_statistics = {
        chunk.column(i).path_in_schema
        for i in range(chunk.num_columns)
        if chunk.column(i).is_stats_set
    }
    assert with_statistics == {"number", "amount", "when", "flag"}


def test_no_rows_still_writes_the_columns(table, tmp_path):
    write_parquet(table.filter(table.text == "none of these"), tmp_path / "empty.parquet")
    schema, rows = _read(tmp_path / "empty.parquet")
    assert [c[0] for c in schema] == ["text", "number", "amount", "when", "flag"] and rows == []


def test_a_query_failing_after_the_first_batches_leaves_no_file(tmp_path):
    text = [str(i) for i in range(300_000)]
    text[250_000] = "not a number"  # reached after the first batches are written
    pd.DataFrame({"text": text}).to_parquet(tmp_path / "numbers.parquet")
    numbers = ibis.duckdb.connect().read_parquet(tmp_path / "numbers.parquet")
    with pytest.raises(duckdb.Error, match="Could not convert string 'not a number'"):
        write_parquet(
            numbers.select(n=numbers.text.cast("int64")), tmp_path / "bad.parquet", 10_000
        )
    assert not (tmp_path / "bad.parquet").exists()


def test_a_writer_failure_is_raised_in_the_caller(table, tmp_path):
    pd.DataFrame({"n": range(300_000)}).to_parquet(tmp_path / "many.parquet")
    many = table.get_backend().read_parquet(tmp_path / "many.parquet")
    with pytest.raises(FileNotFoundError):
        write_parquet(many, tmp_path / "no such folder" / "rows.parquet", batch_rows=10_000)
    # The reading stopped part-way; the connection is free for the next query.
    assert table.count().execute() == 7


def test_rows_held_in_python_are_written_too(tmp_path):
    frame = pd.DataFrame({"customer_id": ["a", "b"], "amount": [1.5, 2.0]})
    write_parquet(ibis.memtable(frame), tmp_path / "memory.parquet")
    assert pd.read_parquet(tmp_path / "memory.parquet").equals(frame)


def test_nanoseconds_from_pandas_are_written_as_microseconds(tmp_path):
    frame = pd.DataFrame({"when": pd.to_datetime(["2024-01-01 10:00:00.123456789"])})
    frame.to_parquet(tmp_path / "ns.parquet")  # DuckDB reads it as TIMESTAMP_NS
    write_parquet(
        ibis.duckdb.connect().read_parquet(tmp_path / "ns.parquet"), tmp_path / "t.parquet"
    )
    written = pq.read_table(tmp_path / "t.parquet")
    assert written.schema.field("when").type == pa.timestamp("us")
    assert written.column("when")[0].as_py() == dt.datetime(2024, 1, 1, 10, 0, 0, 123456)


def test_rows_are_numbered_in_the_order_written(table, tmp_path):
    write_parquet(table, tmp_path / "t.parquet", batch_rows=2, number_rows=True)
    written = pq.read_table(tmp_path / "t.parquet")
    assert written.column_names[-1] == "_row"
    assert written.column("_row").to_pylist() == list(range(1, 8))
    assert written.column("text").to_pylist()[:3] == ["a", None, "c"]
