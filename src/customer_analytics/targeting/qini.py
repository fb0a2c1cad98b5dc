"""How well a ranking by predicted uplift finds the customers a treatment moves: Qini
and uplift curves, their areas, uplift at the top k% and by decile, for any outcome
(conversion, revenue, margin, profit), with bootstrap bands.

Customers are ranked by predicted uplift, best first. At each cut (after every distinct
score, so tied customers enter together) with ``n_t`` treated and ``n_c`` control
customers ranked so far, whose outcomes sum to ``y_t`` and ``y_c``:

- the Qini curve is ``y_t - y_c * n_t / n_c`` (Radcliffe 2007, "Using control groups to
  target on predicted lift"), the incremental outcome of treating the top ranks;
- the uplift curve is ``(y_t / n_t - y_c / n_c) * (n_t + n_c)`` (Rzepakowski & Jaroszewicz
  2012), the same with each group's mean.

The Qini coefficient is the area between the model's Qini curve and the straight line
of random targeting, over the same area for the perfect ranking (every treated
customer by their outcome, best first, then the controls, worst last), as scikit-uplift's
``qini_auc_score`` with ``negative_effect=True`` defines it; 0 is random, 1 perfect, and
a negative value ranks worse than random. The AUUC is the area between the uplift curve
and the random line, per customer and per unit of outcome (over ``N ** 2`` times the mean
absolute outcome), so revenue and conversion read alike; 0 is random.

Bands come from the Poisson bootstrap (each customer weighted by a Poisson(1) draw,
Hanley & MacGibbon 2006): the ranking is sorted once and every replicate is a weighted
cumulative sum, so a million customers take seconds per hundred replicates.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Ranked:
    """Customers sorted by a score, best first, cut after each distinct score."""

    order: np.ndarray
    cuts: np.ndarray  # the last position of each run of equal scores

    @classmethod
    def by(cls, score: np.ndarray) -> Ranked:
        order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
        ranked = np.asarray(score, dtype=float)[order]
        cuts = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
        return cls(order=order, cuts=cuts)


def _cumulative(
    ranked: Ranked, y: np.ndarray, treatment: np.ndarray, weights: np.ndarray | None
) -> tuple[np.ndarray, ...]:
    """Weighted counts and outcome sums of treated and control customers, at each cut;
    ``weights`` may hold one row per bootstrap replicate (then so does every sum)."""
    weights = np.ones(len(y)) if weights is None else weights
    t = treatment[ranked.order].astype(bool)
    w, yw = weights[..., ranked.order], (y * weights)[..., ranked.order]
    sums = [np.cumsum(np.where(t, v, 0.0), axis=-1)[..., ranked.cuts] for v in (w, yw)]
    sums += [np.cumsum(np.where(t, 0.0, v), axis=-1)[..., ranked.cuts] for v in (w, yw)]
    return tuple(sums)  # n_t, y_t, n_c, y_c


def _from_zero(a: np.ndarray) -> np.ndarray:
    return np.concatenate([np.zeros((*a.shape[:-1], 1)), a], axis=-1)


def curves(
    y: np.ndarray,
    uplift: np.ndarray,
    treatment: np.ndarray,
    weights: np.ndarray | None = None,
    ranked: Ranked | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers targeted at each cut, and there the Qini and the uplift curves, each
    starting from (0, 0) (module docstring); one row per row of ``weights`` if 2-D."""
    n_t, y_t, n_c, y_c = _cumulative(ranked or Ranked.by(uplift), y, treatment, weights)
    scale = np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c > 0)
    mean_t = np.divide(y_t, n_t, out=np.zeros_like(y_t), where=n_t > 0)
    mean_c = np.divide(y_c, n_c, out=np.zeros_like(y_c), where=n_c > 0)
    n = n_t + n_c
    return _from_zero(n), _from_zero(y_t - y_c * scale), _from_zero((mean_t - mean_c) * n)


def _above_random(x: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """The area between a curve and the straight line to its end point."""
    return np.trapezoid(curve, x, axis=-1) - curve[..., -1] * x[..., -1] / 2


def perfect_score(y: np.ndarray, treatment: np.ndarray) -> np.ndarray:
    """The ranking that knows the outcomes: treated customers by outcome, best first,
    then control customers, worst last."""
    return np.where(np.asarray(treatment).astype(bool), y, -np.asarray(y, dtype=float))


def qini_coefficient(
    y: np.ndarray,
    uplift: np.ndarray,
    treatment: np.ndarray,
    weights: np.ndarray | None = None,
    ranked: tuple[Ranked, Ranked] | None = None,
) -> float | np.ndarray:
    """The Qini curve's area above random over the perfect ranking's (module docstring);
    one per row of ``weights`` if 2-D."""
    model, perfect = ranked or (Ranked.by(uplift), Ranked.by(perfect_score(y, treatment)))
    best = _above_random(*curves(y, uplift, treatment, weights, perfect)[:2])
    found = _above_random(*curves(y, uplift, treatment, weights, model)[:2])
    value = np.divide(found, best, out=np.zeros_like(found), where=best > 0)
    return float(value) if value.ndim == 0 else value


def auuc(
    y: np.ndarray,
    uplift: np.ndarray,
    treatment: np.ndarray,
    weights: np.ndarray | None = None,
    ranked: Ranked | None = None,
) -> float | np.ndarray:
    """The uplift curve's area above random, over ``N ** 2`` times the mean absolute
    outcome (module docstring); one per row of ``weights`` if 2-D."""
    weights = np.ones(len(y)) if weights is None else weights
    x, _, curve = curves(y, uplift, treatment, weights, ranked)
    mean_abs = (weights * np.abs(y)).sum(axis=-1) / weights.sum(axis=-1)
    value = _above_random(x, curve) / (x[..., -1] ** 2 * np.maximum(mean_abs, 1e-12))
    return float(value) if np.ndim(value) == 0 else value


#: Replicate weights held at once (replicates x customers): the bootstrap runs in
#: chunks of this many cells, about 160 MB per array.
CHUNK_CELLS = 20_000_000


def _replicates(n: int, n_bootstrap: int, seed: int) -> Iterator[np.ndarray]:
    """Poisson(1) weights, one row per bootstrap replicate, a chunk of rows at a time."""
    rng = np.random.default_rng(seed)
    rows = max(1, CHUNK_CELLS // max(n, 1))
    for start in range(0, n_bootstrap, rows):
        yield rng.poisson(1.0, (min(rows, n_bootstrap - start), n)).astype(float)


def _band(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def scores_with_bands(
    y: np.ndarray,
    uplift: np.ndarray,
    treatment: np.ndarray,
    n_bootstrap: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, float]:
    """``qini`` and ``auuc`` with their Poisson-bootstrap percentile bands
    (``*_low``, ``*_high``)."""
    return models_with_bands(y, {"model": uplift}, treatment, n_bootstrap, seed, level)["model"]


def models_with_bands(
    y: np.ndarray,
    uplifts: Mapping[str, np.ndarray],
    treatment: np.ndarray,
    n_bootstrap: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, dict[str, float]]:
    """:func:`scores_with_bands` of several rankings of the same customers, on the same
    bootstrap replicates: the perfect ranking's area is found once per replicate, and
    each ranking's one pass gives both its Qini and its uplift curve."""
    y, treatment = np.asarray(y, dtype=float), np.asarray(treatment)
    perfect = Ranked.by(perfect_score(y, treatment))
    ranked = {name: Ranked.by(u) for name, u in uplifts.items()}

    def scores(w: np.ndarray | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        best = _above_random(*curves(y, None, treatment, w, perfect)[:2])
        mean_abs = np.abs(y).mean() if w is None else (w * np.abs(y)).sum(axis=-1) / w.sum(axis=-1)
        out = {}
        for name, r in ranked.items():
            x, qini_curve, uplift_curve = curves(y, None, treatment, w, r)
            found = _above_random(x, qini_curve)
            qini = np.divide(found, best, out=np.zeros_like(found), where=best > 0)
            auuc_ = _above_random(x, uplift_curve) / (x[..., -1] ** 2 * np.maximum(mean_abs, 1e-12))
            out[name] = (qini, auuc_)
        return out

    point = scores(None)
    draws = [scores(w) for w in _replicates(len(y), n_bootstrap, seed)]
    result = {}
    for name in ranked:
        result[name] = {}
        for k, metric in enumerate(("qini", "auuc")):
            low, high = _band(np.concatenate([d[name][k] for d in draws]), level)
            result[name] |= {
                metric: float(point[name][k]),
                f"{metric}_low": low,
                f"{metric}_high": high,
            }
    return result


def paired_difference(
    y: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    treatment: np.ndarray,
    n_bootstrap: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, float]:
    """The Qini coefficient of ranking ``first`` minus that of ``second`` on the same
    customers, with the percentile band of the same Poisson-bootstrap replicates for
    both (``qini_diff``, ``qini_diff_low``, ``qini_diff_high``)."""
    y, treatment = np.asarray(y, dtype=float), np.asarray(treatment)
    perfect = Ranked.by(perfect_score(y, treatment))
    a, b = Ranked.by(first), Ranked.by(second)

    def diff(w: np.ndarray | None) -> float | np.ndarray:
        return qini_coefficient(y, first, treatment, w, (a, perfect)) - qini_coefficient(
            y, second, treatment, w, (b, perfect)
        )

    draws = np.concatenate([diff(w) for w in _replicates(len(y), n_bootstrap, seed)])
    low, high = _band(draws, level)
    return {"qini_diff": float(diff(None)), "qini_diff_low": low, "qini_diff_high": high}


def uplift_at(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray, share: float) -> float:
    """The observed uplift (treated mean minus control mean) among the top ``share`` of
    customers by predicted uplift (scikit-uplift's ``uplift_at_k``, ``strategy="overall"``)."""
    top = Ranked.by(uplift).order[: max(int(share * len(y)), 1)]
    t = np.asarray(treatment)[top].astype(bool)
    outcome = np.asarray(y, dtype=float)[top]
    if t.all() or not t.any():
        return float("nan")
    return float(outcome[t].mean() - outcome[~t].mean())


def by_decile(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray) -> pd.DataFrame:
    """Predicted against observed uplift per decile of predicted uplift (1 = highest),
    the calibration chart's table."""
    frame = pd.DataFrame(
        {"y": np.asarray(y, dtype=float), "predicted": uplift, "t": np.asarray(treatment) > 0}
    )
    ranks = frame["predicted"].rank(method="first", ascending=False)
    frame["decile"] = np.ceil(ranks * 10 / len(frame)).astype(int)
    rows = []
    for decile, part in frame.groupby("decile", sort=True):
        treated, control = part[part["t"]], part[~part["t"]]
        observed = (
            treated["y"].mean() - control["y"].mean()
            if len(treated) and len(control)
            else float("nan")
        )
        rows.append(
            {
                "decile": decile,
                "customers": len(part),
                "treated": len(treated),
                "predicted": part["predicted"].mean(),
                "observed": observed,
            }
        )
    return pd.DataFrame(rows)
