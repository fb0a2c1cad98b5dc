"""What every source shares: a delivered file is checked against its configured sha256."""

from __future__ import annotations

import ibis
import pytest
from support import lifetimes_file

from customer_analytics.config import config_from_dict
from customer_analytics.sources import SourceError, read_source


def test_a_wrong_checksum_is_named() -> None:
    sample = lifetimes_file("CDNOW_sample.txt")
    cfg = config_from_dict(
        {
            "run": {"name": "x", "stages": ["01_ingest"]},
            "source": {"kind": "cdnow", "path": str(sample), "sha256": "0" * 64},
        }
    )
    with pytest.raises(SourceError, match="sha256 is [0-9a-f]{64}, but the config expects 0000"):
        read_source(cfg, ibis.duckdb.connect())
