"""The Ibis connection every stage's transaction-scale work runs on.

DuckDB, embedded, is the engine; stage code writes Ibis expressions against the
connection this module opens, so a second engine changes this module, not the stages.
Reading the delivered files stays on DuckDB (the ingest's sources): it alone keeps a
CSV's or a workbook's delivered row order.
"""

from __future__ import annotations

from pathlib import Path

import ibis


def connect(*, memory_limit: str | None = None, spill_dir: Path | None = None) -> ibis.BaseBackend:
    """A new connection.

    Parameters
    ----------
    memory_limit
        DuckDB's memory for intermediate tables (``"3GB"``); beyond it they spill to
        ``spill_dir``. None: DuckDB's default (80% of the machine).
    spill_dir
        Where tables beyond ``memory_limit`` spill; None: DuckDB's default.
    """
    options = {}
    if memory_limit is not None:
        options["memory_limit"] = memory_limit
    if spill_dir is not None:
        options["temp_directory"] = str(spill_dir)
    return ibis.duckdb.connect(**options)
