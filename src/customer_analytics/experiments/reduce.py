"""Reduce a unit-level table to sufficient statistics per arm and segment, in the database.

The input has one row per unit (customer) exposed to the experiment: an arm column,
optional segment columns, metric columns, and optionally a pre-period covariate (for
CUPED) and a denominator (for ratio metrics). One Ibis aggregation grouped by arm and all
segment columns returns, per group, ``n`` and for every metric its sum and sum of
squares, plus the cross-products the covariate and the denominator need. That frame is
small (arms times segments rows) whatever the number of units, and coarser groupings
(per arm, per arm and one segment) are sums of its rows (:func:`collapse`), because the
statistics add up over strata. The expressions are Ibis, so the same code runs on DuckDB
here and on a warehouse unchanged.

Missing metric values count as zero: units are exposures, and an exposed customer with no
outcome row (a left join of exposures to outcomes) bought nothing. The same holds for
the covariate (no pre-period history) and the denominator. Filter out units that should
not count before calling.

Optional winsorisation caps a metric at an upper quantile of its values over all units
of all arms (one cap for every arm, so the cap does not depend on the treatment's own
effect on one arm alone), computed in the same statement.

References
----------
GrowthBook, "Metrics" and "Percentile capping" (https://docs.growthbook.io/app/metrics):
sums and sums of squares per variation computed in SQL, missing values as zero, and
capping at a percentile computed over the experiment's units.
Deng, A., Knoblich, U. & Lu, J. (2018). Applying the delta method in metric analytics.
KDD '18 (the cross-products a ratio metric needs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
import pandas as pd

from customer_analytics.experiments.stats.sufficient import CovariateStats, RatioStats, SampleStats

SEP = "__"


def _sum(column: str) -> str:
    return f"{column}{SEP}sum"


def _sum_sq(column: str) -> str:
    return f"{column}{SEP}sum_sq"


def _cross(a: str, b: str) -> str:
    return f"{a}{SEP}x{SEP}{b}"


def _cap(column: str) -> str:
    return f"{column}{SEP}cap"


def _capped_max(column: str) -> str:
    return f"{column}{SEP}capped_max"


def sufficient_stats_expr(
    table: ibis.Table,
    arm: str,
    metrics: Sequence[str],
    *,
    segments: Sequence[str] = (),
    covariate: str | None = None,
    denominator: str | None = None,
    winsorize: Mapping[str, float] | None = None,
    exact_caps: bool = True,
) -> ibis.Table:
    """The Ibis expression of :func:`sufficient_stats` (not executed).

    Parameters are those of :func:`sufficient_stats`. For a winsorised column the
    expression has ``column__capped_max``, the largest capped value in each group; the
    cap is its maximum over all groups (:func:`sufficient_stats` returns it as
    ``column__cap``).
    """
    winsorize = dict(winsorize or {})
    metrics = list(dict.fromkeys(metrics))
    extras = [c for c in (covariate, denominator) if c is not None and c not in metrics]
    values = metrics + extras
    missing = [c for c in [arm, *segments, *values] if c not in table.columns]
    if missing:
        raise KeyError(f"table has no column {missing}; it has {list(table.columns)}")
    unknown = sorted(set(winsorize) - set(values))
    if unknown:
        raise KeyError(f"winsorize names columns that are not reduced: {unknown}")
    for column, q in winsorize.items():
        if not 0 < q < 1:
            raise ValueError(f"winsorize quantile of {column} must be in (0, 1), not {q}")

    # float64 before squaring: integer columns would overflow. NULL is zero (see the
    # module docstring).
    units = table.select(
        arm,
        *segments,
        **{c: table[c].cast("float64").fill_null(0.0) for c in values},
    )
    if winsorize:
        quantile = "quantile" if exact_caps else "approx_quantile"
        # An uncorrelated scalar subquery: the database computes each cap once and the
        # aggregation still streams. A cross join with a one-row table of caps took 5.6 s
        # of CPU against 3.3 s on DuckDB at 50 million rows.
        caps = {c: getattr(units[c], quantile)(q).as_scalar() for c, q in winsorize.items()}
        units = units.mutate(**{c: ibis.least(units[c], cap) for c, cap in caps.items()})
    aggregates: dict[str, ibis.Value] = {"n": units.count()}
    for c in values:
        aggregates[_sum(c)] = units[c].sum()
        aggregates[_sum_sq(c)] = (units[c] * units[c]).sum()
    for other in (covariate, denominator):
        if other is None:
            continue
        for m in metrics:
            if m != other:
                aggregates[_cross(m, other)] = (units[m] * units[other]).sum()
    for c in winsorize:
        # The cap itself is the largest capped value over all groups (some value is at or
        # above a q < 1 quantile); selecting the subquery again would compute it twice.
        aggregates[_capped_max(c)] = units[c].max()
    keys = [arm, *segments]
    return units.group_by(keys).aggregate(**aggregates).order_by(keys)


def sufficient_stats(
    table: ibis.Table,
    arm: str,
    metrics: Sequence[str],
    *,
    segments: Sequence[str] = (),
    covariate: str | None = None,
    denominator: str | None = None,
    winsorize: Mapping[str, float] | None = None,
    exact_caps: bool = True,
) -> pd.DataFrame:
    """Sufficient statistics per arm and segment in one aggregation query.

    Parameters
    ----------
    table : ibis.Table
        One row per unit.
    arm : str
        Column naming the unit's arm.
    metrics : sequence of str
        Metric columns (0/1 conversion, revenue, ...).
    segments : sequence of str, optional
        Segment columns; the result has one row per arm and combination of segments.
    covariate : str, optional
        Pre-period covariate for CUPED: adds its sums and ``metric__x__covariate``
        cross-products for every metric.
    denominator : str, optional
        Per-unit denominator of ratio metrics (e.g. orders): adds its sums and
        ``metric__x__denominator`` cross-products.
    winsorize : mapping of str to float, optional
        Column to upper quantile (e.g. ``{"revenue": 0.99}``): values above that quantile
        over all units are set to it before the sums; the cap is returned as
        ``column__cap``.
    exact_caps : bool, default True
        Exact quantiles (``quantile_cont``, linear interpolation as pandas' default);
        False uses the database's approximate quantile, which warehouses compute far
        more cheaply than an exact one (on DuckDB the exact one is the faster).

    Returns
    -------
    pandas.DataFrame
        Columns ``arm``, the segments, ``n``, ``column__sum`` and ``column__sum_sq`` for
        every metric, covariate and denominator, ``metric__x__other`` cross-products and
        ``column__cap`` for winsorised columns.
    """
    expr = sufficient_stats_expr(
        table,
        arm,
        metrics,
        segments=segments,
        covariate=covariate,
        denominator=denominator,
        winsorize=winsorize,
        exact_caps=exact_caps,
    )
    frame = expr.to_pandas()
    frame["n"] = frame["n"].astype("int64")
    for column in winsorize or {}:
        frame[_cap(column)] = frame.pop(_capped_max(column)).max()
    return frame


def collapse(frame: pd.DataFrame, keep: Sequence[str]) -> pd.DataFrame:
    """Sum a statistics frame over the grouping columns not in ``keep``.

    ``collapse(stats, ["arm"])`` gives per-arm statistics from a per-arm-and-segment
    frame; caps (constant) are carried over, not summed.

    Parameters
    ----------
    frame : pandas.DataFrame
        From :func:`sufficient_stats`.
    keep : sequence of str
        Grouping columns to keep.
    """
    keep = list(keep)
    stats = [c for c in frame.columns if c == "n" or (SEP in c and not c.endswith(SEP + "cap"))]
    caps = [c for c in frame.columns if c.endswith(SEP + "cap")]
    how = {**dict.fromkeys(stats, "sum"), **dict.fromkeys(caps, "max")}
    return frame.groupby(keep, sort=True, dropna=False).agg(how).reset_index()


def _total(rows: pd.Series | pd.DataFrame, column: str) -> float:
    value = rows[column]
    return float(value.sum()) if isinstance(rows, pd.DataFrame) else float(value)


def sample_stats(rows: pd.Series | pd.DataFrame, metric: str) -> SampleStats:
    """:class:`SampleStats` of a metric from one row, or the sum of several rows (strata)."""
    return SampleStats(
        n=int(_total(rows, "n")),
        sum=_total(rows, _sum(metric)),
        sum_sq=_total(rows, _sum_sq(metric)),
    )


def ratio_stats(rows: pd.Series | pd.DataFrame, metric: str, denominator: str) -> RatioStats:
    """:class:`RatioStats` of ``metric / denominator`` from one row or the sum of rows."""
    return RatioStats(
        n=int(_total(rows, "n")),
        num_sum=_total(rows, _sum(metric)),
        num_sum_sq=_total(rows, _sum_sq(metric)),
        den_sum=_total(rows, _sum(denominator)),
        den_sum_sq=_total(rows, _sum_sq(denominator)),
        cross_sum=_total(rows, _cross(metric, denominator)),
    )


def covariate_stats(rows: pd.Series | pd.DataFrame, metric: str, covariate: str) -> CovariateStats:
    """:class:`CovariateStats` of a metric and its covariate from one row or several."""
    return CovariateStats(
        n=int(_total(rows, "n")),
        y_sum=_total(rows, _sum(metric)),
        y_sum_sq=_total(rows, _sum_sq(metric)),
        x_sum=_total(rows, _sum(covariate)),
        x_sum_sq=_total(rows, _sum_sq(covariate)),
        xy_sum=_total(rows, _cross(metric, covariate)),
    )


def per_arm(
    frame: pd.DataFrame,
    arm: str,
    metric: str,
    *,
    covariate: str | None = None,
    denominator: str | None = None,
) -> dict[str, SampleStats | RatioStats | CovariateStats]:
    """Statistics of one metric per arm, summed over all segments of ``frame``.

    Returns :class:`CovariateStats` if ``covariate`` is given, :class:`RatioStats` if
    ``denominator`` is given, else :class:`SampleStats`. Filter ``frame`` to a segment
    first for per-segment statistics.
    """
    if covariate is not None and denominator is not None:
        raise ValueError("give covariate or denominator, not both")
    out: dict[str, SampleStats | RatioStats | CovariateStats] = {}
    for name, rows in frame.groupby(arm, sort=True):
        if covariate is not None:
            out[name] = covariate_stats(rows, metric, covariate)
        elif denominator is not None:
            out[name] = ratio_stats(rows, metric, denominator)
        else:
            out[name] = sample_stats(rows, metric)
    return out
