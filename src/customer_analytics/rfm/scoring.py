"""RFM scores 1-5 that never split equal values, with fixed cut points where ties would.

Scoring works on the pandas frame of one row per customer (:func:`~customer_analytics.
rfm.summary.customer_rfm` executed): the ``auto`` method needs the whole score
distribution to decide between quantiles and fixed cut points and to report the values
each score covers, and such a frame fits one machine even at tens of millions of
customers (DESIGN section 2). The settings are data (``scoring.yaml``).

References
----------
Hughes, A. M. (1994). Strategic Database Marketing. Probus (the RFM quintile scores).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from customer_analytics.utils.dates import TimeUnit, days_per_unit

SCORING_FILE = Path(__file__).with_name("scoring.yaml")
DIMENSIONS = ("recency", "frequency", "monetary")
METHODS = ("quantile", "fixed", "auto")


@dataclass(frozen=True)
class DimensionScore:
    """How one RFM dimension was scored.

    Attributes
    ----------
    dimension, column
        ``recency``/``frequency``/``monetary`` and the customer_rfm column scored.
    requested, method
        The setting (``quantile``, ``fixed``, ``auto``) and what was used.
    reason
        Why that method, in words for the notebook.
    cut_points
        The fixed cut points in the column's unit (None for quantiles).
    ranges
        Per score 1..5: (lowest value, highest value, customers); NaN where empty.
    """

    dimension: str
    column: str
    requested: str
    method: str
    reason: str
    cut_points: tuple[float, ...] | None
    ranges: tuple[tuple[float, float, int], ...]


@dataclass(frozen=True)
class RFMScoring:
    """The scoring of one snapshot: one :class:`DimensionScore` per dimension."""

    time_unit: str
    dimensions: dict[str, DimensionScore]

    def to_frame(self) -> pd.DataFrame:
        """One row per dimension and score: method, value range and customers."""
        rows = [
            {
                "dimension": d.dimension,
                "method": d.method,
                "score": s,
                "min": lo,
                "max": hi,
                "customers": n,
            }
            for d in self.dimensions.values()
            for s, (lo, hi, n) in enumerate(d.ranges, start=1)
        ]
        return pd.DataFrame(rows)


def load_scoring(path: str | Path | None = None) -> dict[str, Any]:
    """The scoring settings (``scoring.yaml`` unless ``path``), checked."""
    settings = yaml.safe_load(Path(path or SCORING_FILE).read_text())
    for dim in DIMENSIONS:
        if settings["method"].get(dim) not in METHODS:
            raise ValueError(f"scoring method of {dim} must be one of {METHODS}")
    for key in ("recency_days", "frequency", "monetary"):
        cuts = settings["fixed"][key]
        if len(cuts) != 4 or list(cuts) != sorted(set(cuts)):
            raise ValueError(f"fixed.{key} needs four increasing cut points, not {cuts}")
    return settings


def quantile_scores(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Scores 1..5 from customer quintiles that keep ties together.

    A customer's percentile is the mid-rank of its value, (average rank - 0.5) / n, and
    its score floor(5 * percentile) + 1: exact quintiles without ties, and one score for
    a block of equal values (the one its middle falls into). Integer arithmetic, so block
    midpoints on a quintile boundary always go up.
    """
    x = values if higher_is_better else -values
    twice_rank = (2 * x.rank(method="average")).round().astype("int64")
    return ((5 * (twice_rank - 1)) // (2 * len(x)) + 1).astype("int64")


def fixed_scores(
    values: pd.Series, cut_points: list[float], higher_is_better: bool = True
) -> pd.Series:
    """Scores 1..5 from four cut points: the number of cut points a value exceeds."""
    exceeded = np.searchsorted(np.asarray(cut_points, dtype=float), values.to_numpy(), "left")
    scores = 1 + exceeded if higher_is_better else 5 - exceeded
    return pd.Series(scores, index=values.index, dtype="int64")


def score_rfm(
    rfm: pd.DataFrame,
    time_unit: TimeUnit = "days",
    scoring: dict[str, Any] | str | Path | None = None,
    methods: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, RFMScoring]:
    """Add ``r_score``, ``f_score``, ``m_score`` (1..5, 5 best) to a customer frame.

    Parameters
    ----------
    rfm
        :func:`customer_rfm` executed to pandas (one row per customer).
    time_unit
        The unit of its ``recency``, for the fixed recency cut points (kept in days).
    scoring
        Settings (as :func:`load_scoring` returns) or a YAML path; default
        ``scoring.yaml``.
    methods
        Per-dimension override of the settings' method, e.g. ``{"frequency": "fixed"}``.

    Returns
    -------
    tuple of pandas.DataFrame and RFMScoring
        The frame with the three scores, and how each dimension was scored.
    """
    step = days_per_unit(time_unit)
    settings = scoring if isinstance(scoring, dict) else load_scoring(scoring)
    chosen = {**settings["method"], **(methods or {})}
    out = rfm.copy()
    report = {}
    for dim, letter in zip(DIMENSIONS, "rfm", strict=True):
        if chosen[dim] not in METHODS:
            raise ValueError(f"scoring method of {dim} must be one of {METHODS}")
        column = settings["columns"][dim]
        if column not in out.columns:
            raise KeyError(f"{dim} column {column!r} is missing from the customer frame")
        values = out[column].astype(float)
        higher = dim != "recency"
        cuts = (
            [c / step for c in settings["fixed"]["recency_days"]]
            if dim == "recency"
            else list(settings["fixed"][dim])
        )
        scores, method, reason = None, chosen[dim], f"{chosen[dim]} requested"
        if method in ("quantile", "auto"):
            scores = quantile_scores(values, higher)
            distinct = scores.nunique()
            if method == "auto" and distinct < 5:
                method = "fixed"
                reason = f"auto: ties leave quantiles only {distinct} of 5 scores"
            elif method == "auto":
                method, reason = "quantile", "auto: quantiles give all 5 scores"
        if method == "fixed":
            scores = fixed_scores(values, cuts, higher)
        out[f"{letter}_score"] = scores
        grouped = values.groupby(scores).agg(["min", "max", "size"]).reindex(range(1, 6))
        ranges = tuple(
            (float(lo), float(hi), int(0 if np.isnan(n) else n))
            for lo, hi, n in grouped.itertuples(index=False)
        )
        report[dim] = DimensionScore(
            dim,
            column,
            chosen[dim],
            method,
            reason,
            tuple(cuts) if method == "fixed" else None,
            ranges,
        )
    return out, RFMScoring(time_unit, report)
