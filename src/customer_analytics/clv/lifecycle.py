"""Lifecycle stage per customer (new, active, at risk, churned), from rules kept as data.

The rules (``lifecycle.yaml``) combine the count model's P(alive) with each customer's
own purchase rhythm; the first rule that holds names the stage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

RULES_FILE = Path(__file__).with_name("lifecycle.yaml")


def load_lifecycle_rules(path: str | Path | None = None) -> list[dict[str, str]]:
    """The ordered rules: ``name``, ``when`` (a pandas query expression) and ``doc``."""
    rules = yaml.safe_load(Path(path or RULES_FILE).read_text())
    for rule in rules:
        missing = {"name", "when", "doc"} - set(rule)
        if missing:
            raise ValueError(f"{path or RULES_FILE}: rule {rule} lacks {sorted(missing)}")
    return rules


def rhythm(summary: pd.DataFrame, days_per_unit: float) -> pd.DataFrame:
    """Each customer's purchase rhythm, in days, from the BTYD summary.

    The summary already counts distinct purchase days (``frequency`` repeat days,
    ``recency`` from the first to the last, ``T`` from the first to ``as_of``, in units
    of ``days_per_unit`` days), so no second pass over the transactions is needed.

    Returns
    -------
    pandas.DataFrame
        Same index: ``purchases``, ``days_since_first``, ``days_since_last``,
        ``own_gap_days`` (mean days between purchases; NaN for one-time buyers).
    """
    repeat = summary["frequency"]
    return pd.DataFrame(
        {
            "purchases": repeat + 1,
            "days_since_first": (summary["T"] * days_per_unit).round(),
            "days_since_last": ((summary["T"] - summary["recency"]) * days_per_unit).round(),
            "own_gap_days": (summary["recency"] * days_per_unit / repeat).where(repeat > 0),
        },
        index=summary.index,
    )


def lifecycle_stage(
    customers: pd.DataFrame, rules: list[dict[str, str]] | None = None
) -> pd.Series:
    """The stage of every customer: the first rule whose condition holds.

    Parameters
    ----------
    customers
        ``p_alive`` and the columns of :func:`rhythm`.
    rules
        From :func:`load_lifecycle_rules` (default: the package's).

    Returns
    -------
    pandas.Series
        The stage name per row; a rule set that leaves a customer without a stage fails.
    """
    rules = rules or load_lifecycle_rules()
    frame = customers.copy()
    repeat_gaps = frame["own_gap_days"].dropna()
    frame["typical_gap_days"] = float(repeat_gaps.median()) if len(repeat_gaps) else np.inf
    frame["own_gap_days"] = frame["own_gap_days"].fillna(frame["typical_gap_days"])
    stage = pd.Series(pd.NA, index=frame.index, dtype="object")
    for rule in rules:
        hit = frame.eval(rule["when"])
        hit = pd.Series(hit, index=frame.index) if np.ndim(hit) == 0 else hit
        stage = stage.where(stage.notna() | ~hit.astype(bool), rule["name"])
    if stage.isna().any():
        raise ValueError(
            f"lifecycle rules leave {int(stage.isna().sum())} customers without a stage"
        )
    return stage
