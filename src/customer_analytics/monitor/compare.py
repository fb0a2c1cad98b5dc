"""What changed between two runs of a config: pure functions over each run's outputs.

Each function takes what the earlier run (``before``) and this run (``after``) wrote and
returns a table; :mod:`.since` reads the two runs and calls them, :mod:`.alerts` judges
the tables against the alert rules. The definitions:

- KPIs, like with like: per KPI, the mean of each run's last ``weeks`` complete weeks
  outside festival seasons (:func:`window_means`): one week is noisy, and a run's last
  weeks may fall into a festival's lead-up while the other's do not. Its noise is the
  standard error of the difference of the two means (each from its weeks' spread; two
  runs a fortnight apart share some weeks, so it is, if anything, too large). Beside
  it, each run's latest complete month (:func:`month_changes`).
- RFM segment migration (:func:`migration_matrix`): the customers in both runs, counted
  from their segment in the earlier run to their segment in this one.
- Persona drift: each run's clusters are matched by their centres
  (:func:`cluster_centres`, :func:`match_clusters`: the Hungarian method on the
  distance between centres, the features on one common scale); a customer in both runs
  changed persona when their cluster now is not the one matched to their cluster then
  (:func:`changed_persona_share`); per matched persona, each run's share of customers
  and the tags gained or lost (:func:`persona_changes`).
- CLV parameters (:func:`parameter_drift`): each fitted parameter's relative change,
  when both runs chose the same model.
- Experiment verdicts (:func:`verdict_changes`): each experiment's verdict in both runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

#: The columns every compared series has (:mod:`.alerts` reads them); ``base`` (how much
#: data stands behind the figure) and ``noise`` (the change's standard error) are
#: optional.
SERIES_COLUMNS = ["subject", "before", "after"]


def window_means(weekly: pd.DataFrame, weeks: int = 4) -> pd.DataFrame:
    """Per KPI, the mean of its last ``weeks`` complete weeks outside festival seasons.

    Parameters
    ----------
    weekly : pandas.DataFrame
        Stage 10's weekly KPIs, long: ``kpi``, ``period``, ``value``, ``festival``.
    weeks : int
        How many weeks are averaged.

    Returns
    -------
    pandas.DataFrame
        Indexed by KPI: ``mean``, ``se`` (standard error of the mean: the weeks' standard
        deviation over the square root of their number), ``weeks`` (how many were
        averaged, fewer when the series is short), ``first`` and ``last`` (the first days
        of the first and last week averaged).

    Examples
    --------
    >>> weekly = pd.DataFrame({"kpi": "orders", "period": pd.date_range(
    ...     "2025-01-06", periods=5, freq="W-MON"), "value": [1.0, 2, 3, 4, 5],
    ...     "festival": [False, False, False, True, False]})
    >>> float(window_means(weekly, weeks=3).loc["orders", "mean"])
    3.3333333333333335
    """
    usual = weekly[~weekly["festival"].astype(bool) & np.isfinite(weekly["value"])]
    last = usual.sort_values("period").groupby("kpi").tail(weeks)
    grouped = last.groupby("kpi")
    found = pd.DataFrame(
        {
            "mean": grouped["value"].mean(),
            "weeks": grouped["value"].size(),
            "first": grouped["period"].min(),
            "last": grouped["period"].max(),
        }
    )
    found["se"] = grouped["value"].std(ddof=1) / np.sqrt(found["weeks"])
    return found


def kpi_changes(before: pd.DataFrame, after: pd.DataFrame, base: str = "orders") -> pd.DataFrame:
    """The KPIs both runs have, their window means side by side (:func:`window_means`).

    Parameters
    ----------
    before, after : pandas.DataFrame
        :func:`window_means` of the earlier run and of this one.
    base : str
        The KPI whose earlier window total is each row's ``base``: the orders behind the
        figures (a minimum base keeps relative changes of small numbers from alerting).

    Returns
    -------
    pandas.DataFrame
        ``subject`` (the KPI), ``before``, ``after``, ``change`` (relative; NaN from 0),
        ``noise`` (standard error of ``after - before``), ``base``, ``weeks`` and the
        windows' last weeks ``before_last`` and ``after_last``.
    """
    both = before.index.intersection(after.index, sort=False)
    table = pd.DataFrame(
        {
            "subject": both,
            "before": before.loc[both, "mean"].to_numpy(),
            "after": after.loc[both, "mean"].to_numpy(),
            "noise": np.hypot(before.loc[both, "se"], after.loc[both, "se"]).to_numpy(),
            "weeks": np.minimum(before.loc[both, "weeks"], after.loc[both, "weeks"]).to_numpy(),
            "before_last": before.loc[both, "last"].to_numpy(),
            "after_last": after.loc[both, "last"].to_numpy(),
        }
    )
    table["change"] = relative_change(table["before"], table["after"])
    total = before.loc[base, "mean"] * before.loc[base, "weeks"] if base in before.index else np.nan
    table["base"] = float(total)
    return table


def month_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Each KPI in each run's latest complete month (they may be the same month).

    Parameters
    ----------
    before, after : pandas.DataFrame
        Stage 10's monthly KPIs of each run, long: ``kpi``, ``period``, ``value``.

    Returns
    -------
    pandas.DataFrame
        ``subject``, ``before``, ``after``, ``change`` (relative), ``before_month`` and
        ``after_month``.
    """

    def latest(monthly: pd.DataFrame) -> pd.DataFrame:
        rows = monthly[np.isfinite(monthly["value"])].sort_values("period")
        return rows.groupby("kpi").tail(1).set_index("kpi")

    then, now = latest(before), latest(after)
    both = then.index.intersection(now.index, sort=False)
    table = pd.DataFrame(
        {
            "subject": both,
            "before": then.loc[both, "value"].to_numpy(),
            "after": now.loc[both, "value"].to_numpy(),
            "before_month": then.loc[both, "period"].to_numpy(),
            "after_month": now.loc[both, "period"].to_numpy(),
        }
    )
    table["change"] = relative_change(table["before"], table["after"])
    return table


def relative_change(before: pd.Series, after: pd.Series) -> pd.Series:
    """``(after - before) / |before|``; NaN where ``before`` is 0 or missing."""
    before = pd.to_numeric(before, errors="coerce").astype(float)
    after = pd.to_numeric(after, errors="coerce").astype(float)
    return (after - before) / before.abs().where(before != 0)


def migration_matrix(
    before: pd.Series, after: pd.Series, order: Iterable[str] | None = None
) -> pd.DataFrame:
    """Customers in both runs, from their segment then (rows) to now (columns).

    Parameters
    ----------
    before, after : pandas.Series
        Each customer's segment in the earlier run and in this one, indexed by customer.
    order : iterable of str, optional
        The segments' order; segments not in it follow, sorted.

    Returns
    -------
    pandas.DataFrame
        Counts; every segment of either run is a row and a column. Customers in only
        one run are not counted.

    Examples
    --------
    >>> before = pd.Series({"a": "New", "b": "Loyal", "c": "Loyal"})
    >>> after = pd.Series({"a": "Loyal", "b": "Loyal", "d": "New"})
    >>> migration_matrix(before, after, ["Loyal", "New"]).to_numpy().tolist()
    [[1, 0], [1, 0]]
    """
    both = before.index.intersection(after.index)
    then = before.loc[both].astype(object).rename("before")
    now = after.loc[both].astype(object).rename("after")
    seen = set(before.dropna().astype(object)) | set(after.dropna().astype(object))
    listed = [s for s in (order or []) if s in seen]
    segments = listed + sorted(str(s) for s in seen - set(listed))
    table = pd.crosstab(then, now).reindex(index=segments, columns=segments, fill_value=0)
    table.index.name, table.columns.name = "before", "after"
    return table.astype(int)


def share_changes(before: pd.Series, after: pd.Series) -> pd.DataFrame:
    """Each group's share of its run's customers, then and now, with the share's noise.

    Parameters
    ----------
    before, after : pandas.Series
        Each customer's group in the earlier run and in this one.

    Returns
    -------
    pandas.DataFrame
        ``subject``, ``before`` and ``after`` shares (0 for a group absent from a run),
        ``noise`` (binomial standard error of the difference) and ``base`` (the fewer
        customers of the two runs).
    """
    then = before.dropna().astype(object).value_counts(normalize=True)
    now = after.dropna().astype(object).value_counts(normalize=True)
    groups = list(dict.fromkeys([*now.index, *then.index]))
    table = pd.DataFrame(
        {"subject": groups, "before": then.reindex(groups, fill_value=0.0).to_numpy(),
         "after": now.reindex(groups, fill_value=0.0).to_numpy()}
    )  # fmt: skip
    n_then, n_now = before.notna().sum(), after.notna().sum()
    table["noise"] = binomial_noise(table["before"], n_then, table["after"], n_now)
    table["base"] = int(min(n_then, n_now))
    return table


def binomial_noise(p_before: Any, n_before: int, p_after: Any, n_after: int) -> Any:
    """Standard error of the difference of two shares of ``n_before`` and ``n_after``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(
            np.asarray(p_before) * (1 - np.asarray(p_before)) / max(n_before, 1)
            + np.asarray(p_after) * (1 - np.asarray(p_after)) / max(n_after, 1)
        )


def transform(features: pd.DataFrame, columns: list[str], skewed: Iterable[str]) -> pd.DataFrame:
    """The features as the clustering sees them before scaling: ``log1p`` of the skewed
    ones (clipped at 0), the others as they are."""
    table = features[columns].astype(float)
    for column in set(skewed) & set(columns):
        table[column] = np.log1p(table[column].clip(lower=0))
    return table


def cluster_centres(features: pd.DataFrame, clusters: pd.Series) -> pd.DataFrame:
    """Each cluster's centre: its customers' mean of every feature (rows: clusters)."""
    labels = clusters.reindex(features.index)
    known = labels.notna()
    return features[known].groupby(labels[known].astype(int)).mean()


def match_clusters(
    before: pd.DataFrame, after: pd.DataFrame, scale: pd.Series | None = None
) -> pd.DataFrame:
    """Pair each cluster now with one then, minimising the total distance of centres.

    The Hungarian method (:func:`scipy.optimize.linear_sum_assignment`) on the Euclidean
    distances between centres, each feature divided by ``scale`` (a feature missing in
    a centre counts as no difference). With more clusters in one run, the extra ones
    are left unmatched.

    Parameters
    ----------
    before, after : pandas.DataFrame
        :func:`cluster_centres` of each run, on the same columns.
    scale : pandas.Series, optional
        Each feature's unit (e.g. its standard deviation over both runs); 1 when None.

    Returns
    -------
    pandas.DataFrame
        ``before`` and ``after`` (cluster ids, ``<NA>`` when unmatched) and ``distance``,
        matched pairs first by distance.

    Examples
    --------
    >>> then = pd.DataFrame({"x": [0.0, 10.0]}, index=[0, 1])
    >>> now = pd.DataFrame({"x": [9.0, 1.0, 30.0]}, index=[0, 1, 2])
    >>> match_clusters(then, now)[["before", "after"]].astype(str).to_numpy().tolist()
    [['0', '1'], ['1', '0'], ['<NA>', '2']]
    """
    columns = before.columns.intersection(after.columns)
    unit = pd.Series(1.0, index=columns) if scale is None else scale.reindex(columns)
    unit = unit.where(unit > 0, 1.0).fillna(1.0)
    a = (before[columns] / unit).to_numpy(dtype=float)
    b = (after[columns] / unit).to_numpy(dtype=float)
    gaps = np.nan_to_num(a[:, None, :] - b[None, :, :], nan=0.0)
    distance = np.sqrt((gaps**2).sum(axis=2))
    rows, cols = linear_sum_assignment(distance)
    pairs = pd.DataFrame(
        {"before": before.index[rows], "after": after.index[cols], "distance": distance[rows, cols]}
    ).sort_values("distance")
    lone_before = [c for c in before.index if c not in set(pairs["before"])]
    lone_after = [c for c in after.index if c not in set(pairs["after"])]
    lone = pd.DataFrame(
        {"before": lone_before + [pd.NA] * len(lone_after),
         "after": [pd.NA] * len(lone_before) + lone_after, "distance": np.nan}
    )  # fmt: skip
    table = pd.concat([pairs, lone], ignore_index=True) if len(lone) else pairs
    table = table.reset_index(drop=True)
    table["before"] = table["before"].astype("Int64")
    table["after"] = table["after"].astype("Int64")
    return table


def changed_persona_share(
    before: pd.Series, after: pd.Series, matching: pd.DataFrame
) -> tuple[float, int]:
    """The share of customers in both runs whose cluster now is not the one matched to
    their cluster then (an unmatched cluster counts as a change), and how many."""
    both = before.dropna().index.intersection(after.dropna().index)
    pairs = matching.dropna(subset=["before", "after"])
    counterpart = dict(zip(pairs["before"].astype(int), pairs["after"].astype(int), strict=True))
    expected = before.loc[both].astype(int).map(counterpart)
    moved = expected.isna() | (expected != after.loc[both].astype(int))
    return (float(moved.mean()) if len(both) else float("nan")), int(len(both))


def persona_changes(
    matching: pd.DataFrame,
    before: pd.Series,
    after: pd.Series,
    cards_before: Mapping[int, Mapping[str, Any]],
    cards_after: Mapping[int, Mapping[str, Any]],
) -> pd.DataFrame:
    """Per matched pair of clusters: names, shares of customers then and now, and the
    persona's tags gained and lost.

    Parameters
    ----------
    matching : pandas.DataFrame
        :func:`match_clusters`.
    before, after : pandas.Series
        Each customer's cluster in the earlier run and in this one.
    cards_before, cards_after : mapping of int to mapping
        Each shown persona's card (stage 06's ``personas.json``) by cluster: ``name``
        and ``tags`` (each with ``label`` and ``value``; a tag whose value is ``False``
        is not held). A cluster without a card (too small to show) has no name, share
        or tags here.

    Returns
    -------
    pandas.DataFrame
        ``subject`` (the persona's name now, else then), ``before_cluster``,
        ``after_cluster``, ``before_name``, ``after_name``, ``distance``, ``before`` and
        ``after`` (shares of each run's clustered customers; 0 for a persona absent from
        a run), ``noise``, ``base``, ``gained_tags`` and ``lost_tags``.
    """
    n_then, n_now = int(before.notna().sum()), int(after.notna().sum())
    share_then = before.dropna().astype(int).value_counts() / max(n_then, 1)
    share_now = after.dropna().astype(int).value_counts() / max(n_now, 1)
    rows = []
    for pair in matching.itertuples(index=False):
        then = cards_before.get(int(pair.before)) if pd.notna(pair.before) else None
        now = cards_after.get(int(pair.after)) if pd.notna(pair.after) else None
        if then is None and now is None:
            continue  # neither side is shown
        both = then is not None and now is not None
        rows.append(
            {
                "subject": (now or then)["name"],
                "before_cluster": pair.before,
                "after_cluster": pair.after,
                "before_name": then["name"] if then else None,
                "after_name": now["name"] if now else None,
                "distance": pair.distance,
                "before": _share(share_then, pair.before, then),
                "after": _share(share_now, pair.after, now),
                "gained_tags": sorted(_held(now) - _held(then)) if both else [],
                "lost_tags": sorted(_held(then) - _held(now)) if both else [],
            }
        )
    columns = ["subject", "before_cluster", "after_cluster", "before_name", "after_name",
               "distance", "before", "after", "gained_tags", "lost_tags"]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    table["noise"] = binomial_noise(table["before"], n_then, table["after"], n_now)
    table["base"] = min(n_then, n_now)
    return table


def _share(shares: pd.Series, cluster: Any, card: Mapping[str, Any] | None) -> float:
    """A persona's share of its run: 0 when the run has no such cluster, unknown (NaN)
    for a cluster too small to show."""
    if pd.isna(cluster):
        return 0.0
    return float(shares.get(int(cluster), 0.0)) if card else float("nan")


def _held(card: Mapping[str, Any] | None) -> set[str]:
    if not card:
        return set()
    return {t["label"] for t in card.get("tags", []) if t.get("value") is not False}


def parameter_drift(before: Mapping[str, Any], after: Mapping[str, Any]) -> pd.DataFrame:
    """Each fitted CLV parameter in both runs and its relative change.

    Parameters
    ----------
    before, after : mapping
        Stage 04_clv's findings of each run: ``chosen_model``, ``params`` (the chosen
        model's) and ``gamma_gamma``.

    Returns
    -------
    pandas.DataFrame
        ``subject`` (``"<model> <parameter>"``), ``before``, ``after`` and ``change``;
        the purchase model's parameters only when both runs chose the same model.
    """
    rows = []
    model = after.get("chosen_model")
    if model and model == before.get("chosen_model"):
        for name, value in (after.get("params") or {}).items():
            rows.append((f"{model} {name}", (before.get("params") or {}).get(name), value))
    for name, value in (after.get("gamma_gamma") or {}).items():
        rows.append((f"Gamma-Gamma {name}", (before.get("gamma_gamma") or {}).get(name), value))
    table = pd.DataFrame(rows, columns=SERIES_COLUMNS)
    table = table[table["before"].notna() & table["after"].notna()].reset_index(drop=True)
    table["change"] = relative_change(table["before"], table["after"])
    return table


def verdict_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> pd.DataFrame:
    """Each experiment's verdict in both runs, and each arm's decision.

    Parameters
    ----------
    before, after : mapping
        Stage 07_ab_test's ``experiments`` findings of each run: per experiment its
        ``verdict`` and ``verdicts`` (per arm, its ``decision``).

    Returns
    -------
    pandas.DataFrame
        ``subject`` (the experiment), ``before`` and ``after`` (its verdict; None when
        a run did not analyse it), ``changed`` (the verdict) and ``arms``
        (``"arm: before -> after"`` for each arm whose decision changed).
    """
    rows = []
    for name in dict.fromkeys([*after, *before]):
        then, now = before.get(name) or {}, after.get(name) or {}
        arms = []
        for arm in dict.fromkeys([*(now.get("verdicts") or {}), *(then.get("verdicts") or {})]):
            a = ((then.get("verdicts") or {}).get(arm) or {}).get("decision")
            b = ((now.get("verdicts") or {}).get(arm) or {}).get("decision")
            if a != b:
                arms.append(f"{arm}: {a or 'not analysed'} -> {b or 'not analysed'}")
        verdicts = (then.get("verdict"), now.get("verdict"))
        rows.append((name, *verdicts, verdicts[0] != verdicts[1], arms))
    return pd.DataFrame(rows, columns=[*SERIES_COLUMNS, "changed", "arms"])
