"""Source adapters: each reads one kind of shop export into the canonical tables.

:mod:`.base` holds what every adapter returns (:class:`~.base.SourceTables`) and its
errors; one module per kind of source reads it (``source.kind`` in the config).
"""

from __future__ import annotations

import importlib

import ibis

from customer_analytics.config import Config
from customer_analytics.sources.base import SourceError, SourceTables

#: ``source.kind`` -> the module and function that read it (imported when used).
ADAPTERS = {
    "synthetic": "customer_analytics.sources.synthetic:read_synthetic",
    "online_retail": "customer_analytics.sources.online_retail:read_online_retail",
    "cdnow": "customer_analytics.sources.cdnow:read_cdnow",
    "files": "customer_analytics.sources.files:read_files",
    "campaign": "customer_analytics.sources.campaign:read_campaign",
}

__all__ = ["ADAPTERS", "SourceError", "SourceTables", "read_source"]


def read_source(cfg: Config, con: ibis.BaseBackend) -> SourceTables:
    """Read the configured source through ``con`` (a DuckDB connection)."""
    if cfg.source.kind not in ADAPTERS:
        raise ValueError(f"key 'source.kind': no adapter for {cfg.source.kind!r}")
    module, _, function = ADAPTERS[cfg.source.kind].partition(":")
    return getattr(importlib.import_module(module), function)(cfg, con)
