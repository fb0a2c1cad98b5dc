"""A source read on its own, without a run: its config and its order lines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import ibis
import pytest

from customer_analytics.config import Config, config_from_dict
from customer_analytics.sources import read_source


@pytest.fixture
def source_config(tmp_path: Path) -> Callable[..., Config]:
    """``source_config(kind, path, **sections)``: ingest and clean of the file at ``path``
    (None: the source's default), data and reports under the test's folder."""

    def make(kind: str, path: Path | None, **sections: dict) -> Config:
        tree = {
            "run": {"name": kind, "stages": ["01_ingest", "02_clean"]},
            "source": {"kind": kind, "path": str(path) if path else None},
            "data": {"dir": str(tmp_path / "data")},
            "reports": {"dir": str(tmp_path / "reports")},
            **sections,
        }
        return config_from_dict(tree)

    return make


@pytest.fixture
def order_items(source_config: Callable[..., Config]) -> Callable[..., ibis.Table]:
    """``order_items(kind, path)``: the source's order lines as read, checked."""

    def read(kind: str, path: Path | None) -> ibis.Table:
        source = read_source(source_config(kind, path), ibis.duckdb.connect())
        source.check("order_items")
        return source.tables["order_items"]

    return read
