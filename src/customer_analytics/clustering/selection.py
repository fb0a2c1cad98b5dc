"""Choosing k: the criteria of every k tried (``criteria_``) and the voting rule.

For every k in ``k_range`` the model is fitted to all customers and scored by

* silhouette (Rousseeuw 1987), on a random sample of ``silhouette_sample`` customers
  because it needs all pairwise distances; higher is better;
* Calinski–Harabasz (Caliński & Harabasz 1974), higher is better;
* Davies–Bouldin (Davies & Bouldin 1979), lower is better;
* inertia (within-cluster sum of squares), shown for an elbow plot, not voted on, as it
  always falls with k;
* BIC (Schwarz 1978) for Gaussian mixtures, on all customers, lower is better; NaN for
  k-means, which has no likelihood;
* bootstrap stability (Lange et al. 2004; Hennig 2007): the model is refitted on
  ``n_bootstrap`` bootstrap samples of ``bootstrap_size`` customers; each refit assigns a
  fixed random evaluation sample of customers (``bootstrap_size`` of them) and its
  labels are compared with the full fit's labels there by the adjusted Rand index
  (Hubert & Arabie 1985), which needs no matching of label numbers. The evaluation sample
  estimates the ARI on all customers to within about 1/sqrt(size) at a fraction of the
  cost. The same bootstrap samples are used for every k, so k are compared on equal
  terms. ``criteria_`` holds the mean and the minimum over the refits;
* the share of customers in the smallest cluster (before merging), not voted on: it
  shows from which k on clusters become too small to act on.

The rule: the candidates are the *stable* k, whose mean bootstrap ARI is at least
``STABLE_ARI`` (0.8; Hennig 2007 reads mean bootstrap Jaccard similarities of 0.75 and
above as stable, 0.85 and above as highly stable): a k whose clusters change with the
sample cannot be acted on however well it scores. Too large a k splits a segment anew in
every sample, which is what drags its ARI down. Each criterion (silhouette,
Calinski–Harabasz, Davies–Bouldin and, for mixtures, BIC) votes for its best
candidate; the k with most votes wins, and a tie goes to the silhouette's choice among
the tied k, the one criterion that judges both cohesion and separation of each customer.
If no k is stable, every k is a candidate and the reason says so: then the data have no
clear segments.

The silhouette's choice follows the one-standard-error rule (Breiman, Friedman, Olshen &
Stone 1984, *Classification and Regression Trees*; Hastie, Tibshirani &
Friedman 2009, *The Elements of Statistical Learning*, §7.10; the gap statistic picks k
the same way, Tibshirani, Walther & Hastie 2001): the smallest k whose silhouette is
within one standard error of the best one, the error being that of the mean difference
of the two labelings' silhouettes over the customers of the sample they share. The
silhouettes of neighbouring k often differ by less than that: on the default shop as of
six weeks before its end, k=9 scored 0.1569 and k=6 0.1568, a difference of a quarter
of its standard error (0.0004), and the plain maximum took k=9.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances,
    silhouette_samples,
    silhouette_score,
)
from sklearn.utils import check_random_state

#: Mean bootstrap ARI from which a k counts as stable.
STABLE_ARI = 0.8
CRITERIA = (
    "silhouette",
    "calinski_harabasz",
    "davies_bouldin",
    "inertia",
    "bic",
    "ari_mean",
    "ari_min",
    "smallest_share",
)
#: Criteria that vote on k: name in the reason -> column, higher is better, format.
_VOTERS = {
    "silhouette": ("silhouette", True, ".2f"),
    "Calinski–Harabasz": ("calinski_harabasz", True, ",.0f"),
    "Davies–Bouldin": ("davies_bouldin", False, ".2f"),
    "BIC": ("bic", False, ",.0f"),
}


@dataclass(frozen=True)
class KChoice:
    """The k taken and why.

    Attributes
    ----------
    k
        The k taken.
    reason
        Every criterion's say, the stable and unstable k, ties (``k_reason_``).
    summary
        One short sentence: which criteria chose it among which k, and its stability.
    """

    k: int
    reason: str
    summary: str
    #: The same as data, for a report to say in any language: ``fixed``, ``scope``
    #: (``stable``, ``all``: stability not computed, ``none_stable``), ``stable`` k,
    #: ``votes`` (criterion -> k), ``tied`` k, ``within`` (the one-standard-error note:
    #: best, best_value, k, value, se), ``unstable`` (k -> mean ARI) and the chosen k's
    #: ``ari_mean``.
    facts: dict = field(default_factory=dict, compare=False)


def score(
    Z: np.ndarray, k: int, labels: np.ndarray, aris: np.ndarray, *, inertia: float, bic: float
) -> dict[str, float]:
    """One row of ``criteria_`` for a fit with ``k`` clusters and these ``labels``, all
    but the silhouette (:class:`SampleSilhouette`, computed for every k at once)."""
    sizes = np.bincount(labels, minlength=k)
    row = dict.fromkeys(CRITERIA, np.nan)
    row["smallest_share"] = sizes.min() / len(Z)
    row["inertia"], row["bic"] = inertia, bic
    if len(aris):
        row["ari_mean"], row["ari_min"] = aris.mean(), aris.min()
    if np.count_nonzero(sizes) < 2:
        return row  # a mixture can collapse to one component; nothing to compare
    row["calinski_harabasz"] = calinski_harabasz_score(Z, labels)
    row["davies_bouldin"] = davies_bouldin_score(Z, labels)
    return row


class SampleSilhouette:
    """The silhouette (Rousseeuw 1987) of labelings of ``Z``, on one random sample.

    It needs every pairwise distance, so it is computed on ``sample_size`` customers,
    drawn as scikit-learn's ``silhouette_score(Z, labels, sample_size=..., random_state=...)``
    draws them; every k's labeling uses the same sample, so its distances are computed
    once rather than once per k. Equal to that call.
    """

    def __init__(self, Z: np.ndarray, sample_size: int, random_state: int) -> None:
        self.rows = None
        if len(Z) > sample_size:
            self.rows = check_random_state(random_state).permutation(len(Z))[:sample_size]
        self.distances = pairwise_distances(Z if self.rows is None else Z[self.rows])

    def __call__(self, labels: np.ndarray) -> float:
        """The silhouette of ``labels`` (one per row of ``Z``); NaN with fewer than two
        clusters in the sample."""
        labels = labels if self.rows is None else labels[self.rows]
        if np.unique(labels).size < 2:
            return np.nan
        return float(silhouette_score(self.distances, labels, metric="precomputed"))

    def samples(self, labels: np.ndarray) -> np.ndarray | None:
        """Each sampled customer's silhouette under ``labels`` (their mean is
        :meth:`__call__`'s value); None with fewer than two clusters in the sample."""
        labels = labels if self.rows is None else labels[self.rows]
        if np.unique(labels).size < 2:
            return None
        return silhouette_samples(self.distances, labels, metric="precomputed")


def choose_k(
    c: pd.DataFrame,
    fixed: int | None = None,
    n_bootstrap: int = 10,
    silhouettes: Mapping[int, np.ndarray | None] | None = None,
) -> KChoice:
    """The k by the rule of the module docstring, from ``criteria_`` (indexed by k).

    Parameters
    ----------
    c
        The criteria, one row per k tried (columns of :data:`CRITERIA`).
    fixed
        A k fixed by parameter: taken as it is, with its criteria quoted.
    n_bootstrap
        Refits behind the stability columns; 0 means stability was not computed.
    silhouettes
        Each k's silhouette of every customer of the one sample
        (:meth:`SampleSilhouette.samples`), for the one-standard-error rule; None: the
        silhouette votes for its maximum.
    """
    if fixed is not None:
        stability = _stability(c, fixed)
        return KChoice(
            fixed,
            f"k={fixed}: fixed by parameter ({_summary(c, fixed)})",
            f"k={fixed}, fixed by parameter" + (f"; {stability}" if stability else ""),
            {"k": fixed, "fixed": True, "ari_mean": _float(c["ari_mean"][fixed])},
        )
    stable = c.index[c["ari_mean"] >= STABLE_ARI]
    if n_bootstrap == 0:
        candidates, scope = c.index, "among all k (stability not computed: n_bootstrap=0)"
        short_scope = "among all k (stability not computed)"
    elif len(stable):
        candidates = stable
        scope = f"among the stable k (bootstrap ARI ≥ {STABLE_ARI}: {_ks(stable)})"
        short_scope = f"among the stable k ({_ks(stable)})"
    else:
        best = c["ari_mean"].idxmax()
        candidates = c.index
        scope = (
            f"among all k, as none reached bootstrap ARI ≥ {STABLE_ARI} (best k={best}, "
            f"{c['ari_mean'][best]:.2f}): the data show no clearly separated segments"
        )
        short_scope = f"among all k, none of them stable (bootstrap ARI < {STABLE_ARI})"
    pool = c.loc[candidates]
    votes = {}
    for name, (column, higher, _) in _VOTERS.items():
        values = pool[column].dropna()
        if len(values):
            votes[name] = int(values.idxmax() if higher else values.idxmin())
    within, within_facts = "", None
    if "silhouette" in votes:
        votes["silhouette"], within, within_facts = _one_se(
            pool["silhouette"].dropna(), silhouettes
        )
    count = Counter(votes.values())
    tied = [k for k, n in count.items() if n == max(count.values())]
    shown = pool["silhouette"][tied].dropna()
    chosen = _one_se(shown, silhouettes)[0] if len(tied) > 1 and len(shown) else max(tied)
    won = [f"{name} ({_value(pool, name, chosen)})" for name, k in votes.items() if k == chosen]
    reason = f"k={chosen}: best {_and(won)} {scope}"
    if within:
        reason += f"; {within}"
    if n_bootstrap:
        ari = c.loc[chosen]
        reason += f"; its bootstrap ARI {ari['ari_mean']:.2f} (min {ari['ari_min']:.2f})"
    if len(tied) > 1:
        reason += f"; a tie between k={_ks(sorted(tied))} broken by silhouette"
    others = [f"{name} preferred k={k}" for name, k in votes.items() if k != chosen]
    if others:
        reason += "; " + ", ".join(others)
    unstable = [f"k={k} (ARI {c['ari_mean'][k]:.2f})" for k in c.index if k not in candidates]
    if unstable:
        reason += "; unstable: " + ", ".join(unstable)
    summary = f"k={chosen}, chosen by {_and([n for n, k in votes.items() if k == chosen])} "
    summary += short_scope
    if len(tied) > 1:
        summary += f", as the criteria split between k={_and([str(k) for k in sorted(tied)])}"
    stability = _stability(c, chosen)
    facts = {
        "k": int(chosen),
        "fixed": False,
        "scope": "all" if n_bootstrap == 0 else "stable" if len(stable) else "none_stable",
        "stable": [int(k) for k in stable],
        "votes": votes,
        "tied": sorted(int(k) for k in tied) if len(tied) > 1 else [],
        "within": within_facts,
        "unstable": {int(k): _float(c["ari_mean"][k]) for k in c.index if k not in candidates},
        "ari_mean": _float(c["ari_mean"][chosen]),
    }
    return KChoice(chosen, reason, summary + (f"; {stability}" if stability else ""), facts)


def _float(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 4)


def _one_se(
    values: pd.Series, silhouettes: Mapping[int, np.ndarray | None] | None
) -> tuple[int, str, dict | None]:
    """The smallest k among ``values`` (silhouettes by k) within one standard error of
    the best, and a note (in words and as data) when it is not the best; the best when
    the customers' silhouettes are not known. A k without them is judged by its mean
    alone."""
    best = int(values.idxmax())
    if silhouettes is None or silhouettes.get(best) is None:
        return best, "", None
    within = []
    for k in sorted(values.index):
        own = silhouettes.get(k)
        diff = None if own is None else own - silhouettes[best]
        se = 0.0 if diff is None else float(np.std(diff, ddof=1) / np.sqrt(len(diff)))
        if values[k] >= values[best] - se:
            within.append((int(k), se))
    k, se = within[0]
    if k == best:
        return best, "", None
    facts = {"best": best, "best_value": round(float(values[best]), 4), "k": k,
             "value": round(float(values[k]), 4), "se": round(se, 4)}  # fmt: skip
    return (
        k,
        (
            f"the silhouette's choice is the smallest k within one standard error of the best "
            f"(k={best}, {values[best]:.4f}; k={k}, {values[k]:.4f}, standard error of the "
            f"difference {se:.4f})"
        ),
        facts,
    )


def _stability(c: pd.DataFrame, k: int) -> str:
    if np.isnan(c["ari_mean"][k]):
        return ""
    return f"bootstrap stability (ARI) {c['ari_mean'][k]:.2f}"


def _ks(ks: object) -> str:
    ks = [int(k) for k in ks]
    if ks == list(range(ks[0], ks[-1] + 1)) and len(ks) > 2:
        return f"{ks[0]}–{ks[-1]}"
    return ", ".join(map(str, ks))


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _value(c: pd.DataFrame, name: str, k: int) -> str:
    column, _, fmt = _VOTERS[name]
    return format(c[column][k], fmt)


def _summary(c: pd.DataFrame, k: int) -> str:
    """The criteria of one k, for a fixed k's reason."""
    parts = [
        f"{name} {_value(c, name, k)}"
        for name, (column, _, _) in _VOTERS.items()
        if not np.isnan(c[column][k])
    ]
    if not np.isnan(c["ari_mean"][k]):
        parts.append(f"bootstrap ARI mean {c['ari_mean'][k]:.2f}, min {c['ari_min'][k]:.2f}")
    return ", ".join(parts)
