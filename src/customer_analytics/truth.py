"""The synthetic shop's planted truth, as the stages that check themselves against it read it.

A real shop has no truth folder; every function here then returns None and the stage
records no truth check.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml


def truth_folder(ingest_dir: Path) -> Path | None:
    """The truth folder of a synthetic run (stage 01_ingest's ``paths.json`` names it)."""
    paths = ingest_dir / "paths.json"
    if not paths.is_file():
        return None
    folder = json.loads(paths.read_text()).get("truth")
    return Path(folder) if folder else None


def planted_personas(ingest_dir: Path) -> tuple[pd.Series, dict[str, dict[str, Any]]] | None:
    """Each person's planted persona (by the merged, oldest account's id) and each
    persona's defining traits in the tag dictionary's vocabulary."""
    folder = truth_folder(ingest_dir)
    if folder is None:
        return None
    customers = pd.read_parquet(folder / "customers.parquet")
    customers = customers[~customers["is_test_account"]]
    persona = customers.drop_duplicates("canonical_customer_id").set_index("canonical_customer_id")
    traits = yaml.safe_load((folder / "personas.yaml").read_text())
    return persona["persona"].rename_axis("customer_id"), {
        name: spec["traits"] for name, spec in traits.items()
    }
