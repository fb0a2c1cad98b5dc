"""The synthetic shop's planted truth, as the stages that check themselves against it read it.

The generator writes it beside the export (``Config.truth_dir``). A real shop has no
truth folder: every function here then takes None, returns None, and the stage records
no truth check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml


def planted_customers(folder: Path | None) -> pd.DataFrame | None:
    """Every planted account but test accounts: its person (the oldest account's id,
    ``canonical_customer_id``), persona, process parameters and what it really did."""
    if folder is None:
        return None
    customers = pd.read_parquet(folder / "customers.parquet")
    return customers[~customers["is_test_account"]]


def planted_effects(folder: Path | None) -> pd.DataFrame | None:
    """The planted experiments' true effects per experiment, arm, metric and segment."""
    if folder is None or not (folder / "experiments.parquet").is_file():
        return None
    return pd.read_parquet(folder / "experiments.parquet")


def planted_personas(folder: Path | None) -> tuple[pd.Series, dict[str, dict[str, Any]]] | None:
    """Each person's planted persona (by the merged, oldest account's id) and each
    persona's defining traits in the tag dictionary's vocabulary."""
    if folder is None:
        return None
    customers = planted_customers(folder)
    persona = customers.drop_duplicates("canonical_customer_id").set_index("canonical_customer_id")
    traits = yaml.safe_load((folder / "personas.yaml").read_text())
    return persona["persona"].rename_axis("customer_id"), {
        name: spec["traits"] for name, spec in traits.items()
    }


def planted_marketing(folder: Path | None) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The orders marketing brought (order_id, customer_id, channel, campaign_id,
    shop-local order_ts, revenue), and the plan: its holdout, fade, growth and channels."""
    if folder is None or not (folder / "marketing_orders.parquet").is_file():
        return None
    plan = yaml.safe_load((folder / "marketing.yaml").read_text())
    return pd.read_parquet(folder / "marketing_orders.parquet"), plan
