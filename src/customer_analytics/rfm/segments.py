"""Named RFM segments: ordered rules kept as data, their table, prospects and movement.

The rules live in ``segments.yaml`` (the common eleven-segment scheme, e.g. Putler's
and Omniconvert's tables, with its overlaps resolved there). They are applied to the 125
possible (R, F, M) score combinations once, and customers take their combination's
segment by a join, so :func:`verify_segments` checks exactly what customers get.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import yaml

from customer_analytics import i18n
from customer_analytics.rfm.scoring import RFMScoring, score_rfm
from customer_analytics.rfm.summary import customer_rfm
from customer_analytics.utils.dates import TimeUnit, day_end

SEGMENTS_FILE = Path(__file__).with_name("segments.yaml")
NEW = i18n.N_("(new)")
BOUNDED = ("r", "f", "m", "fm")


class SegmentRulesError(ValueError):
    """The segment rules leave a score combination without a segment or a segment unused."""


@dataclass(frozen=True)
class SegmentRule:
    """One segment: inclusive score bounds on r, f, m and fm (missing: 1..5)."""

    name: str
    bounds: dict[str, tuple[int, int]]
    description: str = ""
    action: str = ""  # what marketing does for the segment; empty: not worth an audience
    #: The words of each other report language (``{"zh": {"name": ..., ...}}``).
    words: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, hash=False)

    def word(self, key: str) -> str:
        """The rule's ``name``, ``description`` or ``action`` in the current language."""
        entry = {"name": self.name, "description": self.description, "action": self.action}
        return i18n.word({**entry, **self.words}, key, what=f"segments: {self.name} {key}")

    def matches(self, scores: pd.DataFrame) -> pd.Series:
        """Which rows of a frame with ``r, f, m, fm`` columns the rule matches."""
        hit = pd.Series(True, index=scores.index)
        for key, (low, high) in self.bounds.items():
            hit &= scores[key].between(low, high)
        return hit


@dataclass(frozen=True)
class SegmentScheme:
    """The ordered rules (first match wins) and the name of registered non-buyers."""

    rules: tuple[SegmentRule, ...]
    prospects: str = "Prospects"
    #: The prospects' name in each other report language (``{"zh": {"prospects": ...}}``).
    words: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, hash=False)

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rules]

    def label(self, name: str) -> str:
        """A segment's name (as the data holds it) in the current language; names the
        scheme does not know, such as ``(new)``, pass through the catalogues."""
        for rule in self.rules:
            if rule.name == name:
                return rule.word("name")
        if name == self.prospects:
            return i18n.word({"prospects": name, **self.words}, "prospects", what="prospects")
        return i18n.gettext(name)


@dataclass(frozen=True)
class SegmentMovement:
    """Segments at two snapshots and the transition matrix between them.

    Attributes
    ----------
    earlier, current
        Segmented customer frames at the earlier date and at as_of.
    matrix
        Customers by earlier segment (rows, ``(new)`` for those who had not bought by
        then) and current segment (columns); every segment appears, zeros included.
    scoring_earlier, scoring_current
        How the scores were computed at each snapshot.
    """

    earlier: pd.DataFrame
    current: pd.DataFrame
    matrix: pd.DataFrame
    scoring_earlier: RFMScoring
    scoring_current: RFMScoring


def load_segments(path: str | Path | None = None) -> SegmentScheme:
    """The segment scheme from YAML (``segments.yaml`` unless ``path``)."""
    tree = yaml.safe_load(Path(path or SEGMENTS_FILE).read_text())
    rules = []
    for item in tree["segments"]:
        unknown = set(item) - {"name", "description", "action", *BOUNDED, *i18n.LANGUAGES}
        if unknown:
            raise SegmentRulesError(f"segment {item['name']!r}: unknown keys {sorted(unknown)}")
        bounds = {k: (int(item[k][0]), int(item[k][1])) for k in BOUNDED if k in item}
        for key, (low, high) in bounds.items():
            if not 1 <= low <= high <= 5:
                raise SegmentRulesError(f"segment {item['name']!r}: {key} bounds {[low, high]}")
        words = {lang: item[lang] for lang in i18n.LANGUAGES if lang in item}
        rules.append(
            SegmentRule(
                item["name"], bounds, item.get("description", ""), item.get("action", ""), words
            )
        )
    words = {lang: tree[lang] for lang in i18n.LANGUAGES if lang in tree}
    return SegmentScheme(tuple(rules), tree.get("prospects", "Prospects"), words)


def fm_score(f: Any, m: Any) -> Any:
    """The combined FM score: the mean of F and M rounded half up."""
    return (f + m + 1) // 2


def segment_grid(scheme: SegmentScheme | None = None) -> pd.DataFrame:
    """All 125 (r, f, m) score combinations with fm, their segment and how many rules match.

    Returns
    -------
    pandas.DataFrame
        ``r, f, m, fm, segment`` (the first matching rule; None if none) and ``matching``.
    """
    scheme = scheme or load_segments()
    grid = pd.DataFrame(list(product(range(1, 6), repeat=3)), columns=["r", "f", "m"])
    grid["fm"] = fm_score(grid.f, grid.m)
    grid["segment"] = None
    grid["matching"] = 0
    for rule in scheme.rules:
        hit = rule.matches(grid)
        grid.loc[hit & grid.segment.isna(), "segment"] = rule.name
        grid["matching"] += hit.astype(int)
    return grid


def verify_segments(scheme: SegmentScheme | None = None) -> pd.DataFrame:
    """Check that every score combination lands in one segment and every segment is reached.

    With first-match rules a combination lands in exactly one segment once it matches at
    least one rule; a rule that only ever matches after an earlier one is unreachable.

    Returns
    -------
    pandas.DataFrame
        The grid of :func:`segment_grid`.

    Raises
    ------
    SegmentRulesError
        Naming the combinations without a segment or the segments never reached.
    """
    scheme = scheme or load_segments()
    grid = segment_grid(scheme)
    orphans = grid[grid.segment.isna()]
    if len(orphans):
        combos = [tuple(x) for x in orphans[["r", "f", "m"]].itertuples(index=False)]
        raise SegmentRulesError(f"no segment for (r, f, m) = {combos}")
    unreachable = sorted(set(scheme.names) - set(grid.segment))
    if unreachable:
        raise SegmentRulesError(f"segments never reached (earlier rules take all): {unreachable}")
    return grid


def assign_segments(scored: pd.DataFrame, scheme: SegmentScheme | None = None) -> pd.DataFrame:
    """Add ``fm_score`` and ``segment`` (ordered categorical) to a frame with r/f/m scores."""
    scheme = scheme or load_segments()
    grid = verify_segments(scheme).rename(columns={"r": "r_score", "f": "f_score", "m": "m_score"})
    out = scored.merge(
        grid[["r_score", "f_score", "m_score", "segment"]],
        on=["r_score", "f_score", "m_score"],
        how="left",
        validate="many_to_one",
    )
    out.insert(out.columns.get_loc("m_score") + 1, "fm_score", fm_score(out.f_score, out.m_score))
    out["segment"] = pd.Categorical(out.segment, categories=scheme.names, ordered=True)
    return out


def rfm_segments(
    orders: ibis.Table,
    as_of: Any,
    time_unit: TimeUnit = "days",
    *,
    scoring: dict[str, Any] | str | Path | None = None,
    methods: dict[str, str] | None = None,
    scheme: SegmentScheme | None = None,
    **columns: str,
) -> tuple[pd.DataFrame, RFMScoring]:
    """RFM features, scores and segment of every buyer as of a date.

    Parameters
    ----------
    orders, as_of, time_unit, columns
        As for :func:`customer_analytics.rfm.summary.customer_rfm` (``columns``: its
        ``customer_col``, ``ts_col``, ``value_col``).
    scoring, methods
        As for :func:`customer_analytics.rfm.summary.score_rfm`.
    scheme
        Segment rules; default ``segments.yaml``.

    Returns
    -------
    tuple of pandas.DataFrame and RFMScoring
        One row per customer (features, ``r_score, f_score, m_score, fm_score, segment``)
        and how the scores were computed.
    """
    rfm = customer_rfm(orders, as_of, time_unit, **columns).execute()
    scored, report = score_rfm(rfm, time_unit, scoring, methods)
    return assign_segments(scored, scheme), report


def segment_table(
    segmented: pd.DataFrame,
    clv_col: str | None = None,
    value_col: str = "monetary",
    scheme: SegmentScheme | None = None,
) -> pd.DataFrame:
    """Size, share of customers and share of revenue per segment (and mean CLV).

    Parameters
    ----------
    segmented
        A frame from :func:`rfm_segments` (``segment`` and ``value_col``).
    clv_col
        A CLV column to average per segment, if any.
    value_col
        The revenue per customer (net by default).
    scheme
        For the order of the rows; every segment is listed, empty ones with 0.

    Returns
    -------
    pandas.DataFrame
        Indexed by segment: ``customers, share_customers, revenue, share_revenue``
        [, ``mean_clv``].
    """
    scheme = scheme or load_segments()
    by = segmented.groupby("segment", observed=False)
    table = pd.DataFrame({"customers": by.size(), "revenue": by[value_col].sum()})
    if clv_col is not None:
        table["mean_clv"] = by[clv_col].mean()
    table = table.reindex(scheme.names).fillna({"customers": 0, "revenue": 0.0})
    table["customers"] = table.customers.astype("int64")
    table.insert(1, "share_customers", table.customers / max(int(table.customers.sum()), 1))
    total = table.revenue.sum()
    table.insert(3, "share_revenue", table.revenue / total if total else float("nan"))
    table.index.name = "segment"
    return table


def add_prospects(
    table: pd.DataFrame,
    customers: ibis.Table | pd.DataFrame,
    segmented: pd.DataFrame,
    as_of: Any = None,
    customer_col: str = "customer_id",
    scheme: SegmentScheme | None = None,
) -> pd.DataFrame:
    """Add registered accounts without a purchase as a ``Prospects`` row.

    Parameters
    ----------
    table
        A :func:`segment_table`.
    customers
        Registered accounts after identity resolution (one row per person).
    segmented
        The buyers (their ``customer_col`` values are not prospects).
    as_of
        If given and ``customers`` has ``signup_ts_utc`` or ``signup_date``, only accounts
        signed up by then count.

    Returns
    -------
    pandas.DataFrame
        The table with a prospects row (no revenue); ``share_customers`` is recomputed
        over buyers and prospects together.
    """
    scheme = scheme or load_segments()
    frame = customers.execute() if isinstance(customers, ibis.Table) else customers
    if as_of is not None:
        signup = next((c for c in ("signup_ts_utc", "signup_date") if c in frame.columns), None)
        if signup is not None:
            end = day_end(pd.Timestamp(as_of).date())
            frame = frame[pd.to_datetime(frame[signup]) < end]
    ids = pd.Index(frame[customer_col].dropna().unique())
    n = int((~ids.isin(segmented[customer_col])).sum())
    out = table.copy()
    out.loc[scheme.prospects] = {c: 0 for c in out.columns} | {"customers": n}
    if "mean_clv" in out.columns:
        out.loc[scheme.prospects, "mean_clv"] = float("nan")
    out["customers"] = out.customers.astype("int64")
    out["share_customers"] = out.customers / max(int(out.customers.sum()), 1)
    return out


def segment_movement(
    orders: ibis.Table,
    as_of: Any,
    earlier: Any,
    time_unit: TimeUnit = "days",
    *,
    scoring: dict[str, Any] | str | Path | None = None,
    methods: dict[str, str] | None = None,
    scheme: SegmentScheme | None = None,
    customer_col: str = "customer_id",
    **columns: str,
) -> SegmentMovement:
    """How customers moved between segments from an earlier snapshot to as_of.

    Scores are recomputed at each date by the same settings (quantiles of that date's
    customers, or the same fixed cut points), as a rerun on that date would.

    Parameters
    ----------
    orders, time_unit, scoring, methods, scheme, customer_col, columns
        As for :func:`rfm_segments`.
    as_of, earlier
        The two snapshot dates, ``earlier`` before ``as_of``.

    Returns
    -------
    SegmentMovement
        Both segmentations and the transition matrix (a ``pandas.crosstab``).
    """
    if pd.Timestamp(earlier) >= pd.Timestamp(as_of):
        raise ValueError(f"earlier ({earlier}) must be before as_of ({as_of})")
    scheme = scheme or load_segments()
    args = {"scoring": scoring, "methods": methods, "scheme": scheme, "customer_col": customer_col}
    before, scoring_before = rfm_segments(orders, earlier, time_unit, **args, **columns)
    after, scoring_after = rfm_segments(orders, as_of, time_unit, **args, **columns)
    moved = after[[customer_col, "segment"]].merge(
        before[[customer_col, "segment"]], on=customer_col, how="left", suffixes=("", "_before")
    )
    was = moved.segment_before.astype(object).where(moved.segment_before.notna(), NEW)
    matrix = pd.crosstab(
        pd.Categorical(was, categories=[NEW, *scheme.names]),
        moved.segment,
        rownames=["earlier"],
        colnames=["current"],
        dropna=False,
    ).reindex(index=[NEW, *scheme.names], columns=scheme.names, fill_value=0)
    return SegmentMovement(before, after, matrix, scoring_before, scoring_after)
