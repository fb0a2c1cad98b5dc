"""What every source shares: a delivered file is checked against its configured sha256."""

from __future__ import annotations

from pathlib import Path

import ibis
import pytest
import yaml
from support import cli, isolated_sets, lifetimes_file

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


def test_a_malformed_line_beyond_the_sniffing_sample_is_named_without_its_content(
    tmp_path: Path,
) -> None:
    """DuckDB sniffs the first 20,480 lines; a line with an extra field after them used
    to fail with the line itself ("Original Line: ...") in the run log, the manifest,
    the pages, the notebook and on stderr. The error names file, line and column only."""
    secret = ("geheim.person@leak.example", "Geheim Person", "+49 170 5550199")
    lines = ["id,mail,name,phone,signup"]
    lines += [f"C{i},u{i}@example.com,N{i},0,2024-01-01 10:00:00" for i in range(30_000)]
    lines.append(f"C99999,{secret[0]},{secret[1]},{secret[2]},2024-01-01 10:00:00,EXTRA")
    lines += [f"D{i},d{i}@example.com,D{i},0,2024-01-02 10:00:00" for i in range(10)]
    (tmp_path / "customers.csv").write_text("\n".join(lines) + "\n")
    mapping = {"id": "customer_id", "mail": "email", "name": "name", "phone": "phone",
               "signup": "signup_ts"}  # fmt: skip
    config = tmp_path / "own.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "run": {"name": "own", "stages": ["01_ingest", "02_clean"]},
                "source": {
                    "kind": "files",
                    "path": str(tmp_path),
                    "tables": {"customers": {"file": "customers.csv", "columns": mapping}},
                },
                "privacy": {"dev_key": True},
            }
        )
    )
    result = cli("--config", str(config), *isolated_sets(tmp_path))
    assert result.returncode == 1, result.stderr
    assert "customers.csv" in result.stderr and "line 30,002" in result.stderr
    assert "column 6" in result.stderr  # the extra field, where DuckDB found it
    for folder in (tmp_path / "reports", tmp_path / "data"):
        for path in folder.rglob("*"):
            if path.is_file():
                text = path.read_bytes().decode("utf-8", errors="replace")
                assert not [s for s in secret if s in text], path
    assert not [s for s in secret if s in result.stderr + result.stdout]
