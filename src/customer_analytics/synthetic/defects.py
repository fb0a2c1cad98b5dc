"""Defects injected into the synthetic export, each row recorded with its kind.

Rows marked ``_protected`` (orders inside an experiment's outcome window) are never
hit, so the planted experiment effects stay exact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SHANGHAI_OFFSET = pd.Timedelta(hours=8)


class DefectLog:
    """Collects (table, key, defect, detail) records."""

    def __init__(self) -> None:
        self.rows: list[pd.DataFrame] = []

    def add(
        self,
        table: str,
        keys: pd.Series | np.ndarray,
        defect: str,
        detail: pd.Series | np.ndarray | str = "",
    ) -> None:
        keys = np.asarray(keys, dtype=object)
        detail = np.broadcast_to(np.asarray(detail, dtype=object), keys.shape)
        self.rows.append(
            pd.DataFrame(
                {
                    "table": table,
                    "key": keys.astype(str),
                    "defect": defect,
                    "detail": detail.astype(str),
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self.rows:
            return pd.DataFrame(columns=["table", "key", "defect", "detail"])
        return pd.concat(self.rows, ignore_index=True)


def pick(rng: np.random.Generator, candidates: np.ndarray, rate: float) -> np.ndarray:
    """A random subset of candidate positions, each chosen with probability ``rate``."""
    return candidates[rng.random(candidates.size) < rate]


def item_key(lines: pd.DataFrame) -> pd.Series:
    return lines["order_id"].astype(str) + "/" + lines["line_no"].astype(str)


def reformat_timestamps(rng: np.random.Generator, local: pd.Series) -> np.ndarray:
    """Other formats and zones for the same moments (never an ambiguous day/month)."""
    utc = local - SHANGHAI_OFFSET
    style = rng.integers(0, 4, len(local))
    iso_z = utc.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    offset = local.dt.strftime("%Y-%m-%dT%H:%M:%S+08:00")
    slashes = local.dt.strftime("%Y/%m/%d %H:%M:%S")
    epoch = ((utc - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)).astype(str)
    return np.select([style == 0, style == 1, style == 2], [iso_z, offset, slashes], epoch)


def price_defects(
    rng: np.random.Generator, lines: pd.DataFrame, ok: np.ndarray, rates: dict, log: DefectLog
) -> pd.DataFrame:
    """Zero and negative unit prices, and wholesale quantities, on unprotected lines."""
    lines = lines.copy()
    candidates = np.flatnonzero(ok)
    zero = pick(rng, candidates, rates["zero_price"])
    rest = np.setdiff1d(candidates, zero)
    negative = pick(rng, rest, rates["negative_price"])
    rest = np.setdiff1d(rest, negative)
    wholesale = pick(rng, rest, rates["wholesale_outlier"])
    lines.loc[lines.index[zero], "unit_price"] = 0.0
    lines.loc[lines.index[negative], "unit_price"] = -lines.loc[lines.index[negative], "unit_price"]
    lines.loc[lines.index[wholesale], "quantity"] = rng.integers(100, 500, wholesale.size)
    changed = lines.index[np.concatenate([zero, negative, wholesale])]
    lines.loc[changed, "line_amount"] = (
        lines.loc[changed, "quantity"] * lines.loc[changed, "unit_price"]
    ).round(2)
    keys = item_key(lines)
    log.add("order_items", keys.iloc[zero], "zero_price")
    log.add("order_items", keys.iloc[negative], "negative_price")
    log.add("order_items", keys.iloc[wholesale], "wholesale_outlier")
    return lines


def exact_duplicates(
    rng: np.random.Generator,
    frame: pd.DataFrame,
    ok: np.ndarray,
    rate: float,
    table: str,
    keys: pd.Series,
    log: DefectLog,
) -> pd.DataFrame:
    """Append exact copies of some rows right after the original (as exports duplicate)."""
    chosen = pick(rng, np.flatnonzero(ok), rate)
    log.add(table, keys.iloc[chosen], "exact_duplicate", "copy of the row above")
    copies = frame.iloc[chosen]
    out = pd.concat([frame, copies])
    order = np.concatenate([np.arange(len(frame)), chosen]).astype(float)
    order[len(frame) :] += 0.5
    return out.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)


def spelling(
    rng: np.random.Generator, values: pd.Series, reference: pd.DataFrame, column: str, rate: float
) -> tuple[pd.Series, np.ndarray]:
    """Replace some canonical values by a known non-canonical variant."""
    variants = reference[reference["variant"] != reference[column]]
    chosen = pick(rng, np.flatnonzero(values.isin(variants[column]).to_numpy()), rate)
    out = values.copy()
    by_value = variants.groupby(column)["variant"].apply(list)
    out.iloc[chosen] = [by_value[v][rng.integers(len(by_value[v]))] for v in values.iloc[chosen]]
    return out, chosen
