"""Channel attribution: how many of the conversions (orders), and how much of their
revenue, each marketing channel earns from the journeys of touches before them.

Journeys (:func:`journeys`, on the engine)
    From a customer's touches (``customer_id``, ``ts``, ``channel``) and conversions
    (``customer_id``, ``ts``, ``value``) up to ``end``, every touch is in at most one
    journey, and every touch whose outcome is known is in one:

    * a conversion's journey is the customer's touches from ``lookback_days`` before it
      up to it (both ends in) and after their previous conversion (strictly): the touches
      whose next conversion comes within ``lookback_days``;
    * the customer's other touches make non-converting journeys (nulls) over the whole
      period: each is a maximal run of them with no gap between consecutive touches over
      ``lookback_days`` (a conversion between two of them is more than ``lookback_days``
      after the first, so the gap splits there too). Markov removal effects need these
      nulls of the whole period (Anderl et al. 2016), not only the recent ones: without
      them nearly every path converts;
    * a run whose last touch is less than ``lookback_days`` before ``end`` is censored and
      left out: a conversion up to ``lookback_days`` after ``end`` would take its last
      touches into a converting journey, so it is not yet known to be a null. Keeping it
      would count as nulls journeys of which some are going to convert, pulling the
      conversion probability down and towards the channels of the last weeks; the
      converting journeys are already only those whose conversion came by ``end``. A
      touch at exactly ``lookback_days`` before ``end`` is resolved (its whole window is
      in the data);
    * a conversion with no touch in its window is in no journey: paths have at least one
      touch, as in ChannelAttribution and Anderl et al. (2016). No channel can earn it;
      ``Journeys.touchless`` counts them;
    * a journey of more than ``max_touches`` touches keeps its last ``max_touches``
      (``Journeys.cut`` counts them).

Models (:func:`credit`)
    Last touch, first touch, linear, time decay and position based (U-shaped) split each
    conversion and its value over its journey's touches. The Markov model takes channels'
    removal effects on an absorbing chain of the paths (Anderl, Becker, von Wangenheim &
    Schumann 2016, "Mapping the customer journey: lessons learned from graph-based online
    attribution modeling", IJRM 33(3)), its order chosen on held-out journeys
    (:func:`choose_markov_order`). Shapley values of the game of conversions over channel
    sets (Zhao, Mahboobi & Bagheri 2018, "Shapley value methods for attribution modeling
    in online advertising", arXiv:1804.05327). A model's shares are of the conversions;
    its credited value is the revenue it gives each channel (``Attribution.value``).

Uncertainty (:func:`bootstrap`)
    Percentile intervals of the shares, the journeys resampled by Poisson weights.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as idt
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import splu

MODELS = ("last_touch", "first_touch", "linear", "time_decay", "position", "markov", "shapley")
#: The models whose split of a conversion depends on the path alone.
POSITIONAL = ("last_touch", "first_touch", "linear", "position")
#: Share of the journeys the Markov orders are fitted on when the order is chosen; the
#: rest score them.
TRAIN_SHARE = 0.7


@dataclass(frozen=True)
class Journeys:
    """Journeys with at least one touch, by distinct path (:func:`journeys`).

    Attributes
    ----------
    channels : tuple of str
        The channels, sorted: code ``c`` (from 1) is ``channels[c - 1]``.
    paths : pandas.DataFrame
        One row per distinct path: ``path`` (tuple of channel names in time order),
        ``conversions`` and ``nulls`` (its converting and non-converting journeys),
        ``value`` (its conversions' revenue).
    codes : numpy.ndarray
        ``(len(paths), max_touches)`` int: each path's channel codes in time order, 0
        after its end.
    converting : pandas.DataFrame
        The converting journeys, identical ones (path, touch times, value) merged:
        ``path`` (row of ``paths``), ``count``, ``value`` (each one's). They are the
        bootstrap's units, and with ``days`` what time decay needs.
    days : numpy.ndarray
        ``(len(converting), max_touches)``: days from each touch to its conversion, in
        path order, NaN after the path's end.
    journeys, converted, touchless, cut : int
        Journeys; those ending in a conversion; conversions with no touch in their
        window (in no journey); journeys cut to their last ``max_touches`` touches.
    """

    channels: tuple[str, ...]
    paths: pd.DataFrame
    codes: np.ndarray
    converting: pd.DataFrame
    days: np.ndarray
    journeys: int
    converted: int
    touchless: int
    cut: int


@dataclass(frozen=True)
class Attribution:
    """Every model's credit per channel (:func:`credit`).

    Attributes
    ----------
    shares : dict
        Model -> channel -> share of the attributed conversions (summing to 1).
    conversions : dict
        Model -> channel -> credited conversions (summing to ``Journeys.converted``).
    value : dict
        Model -> channel -> credited revenue (summing to the converting journeys' value).
    markov_order : int or None
        The Markov chain's order (None: the Markov model was not asked for).
    markov_scores : dict of int to float
        Held-out log-likelihood per journey (nats) of each order tried; empty when a
        single order was given or no journey was held out.
    """

    shares: dict[str, dict[str, float]]
    conversions: dict[str, dict[str, float]]
    value: dict[str, dict[str, float]]
    markov_order: int | None
    markov_scores: dict[int, float]


def journeys(
    touches: ibis.Table,
    conversions: ibis.Table,
    end: dt.datetime | pd.Timestamp | str,
    lookback_days: int = 30,
    max_touches: int = 10,
) -> Journeys:
    """The journeys (module notes) of ``touches`` and ``conversions`` up to ``end``.

    On the engine, with window functions: touches and conversions in one stream per
    customer in time order, where a running count of conversions, the next conversion's
    time and ``lag`` (one sort) give each touch its conversion (its journey when within
    ``lookback_days``) or mark it the start of a run; a running sum of the starts numbers
    the runs; censored runs are dropped after the journeys are aggregated. What comes
    back is one row per distinct converting journey and per non-converting path.

    Parameters
    ----------
    touches : ibis.Table
        ``customer_id``, ``ts`` (timestamp), ``channel`` (str).
    conversions : ibis.Table
        ``customer_id``, ``ts`` (timestamp), ``value`` (float: revenue).
    end : datetime-like
        The data's end: later rows are left out, and so are non-converting journeys
        whose last touch is less than ``lookback_days`` before it (still censored).
    lookback_days : int
        How far before a conversion its touches are looked for.
    max_touches : int
        Longer journeys keep their last ``max_touches`` touches.

    Returns
    -------
    Journeys
    """
    end = pd.Timestamp(end)
    lookback = ibis.interval(days=lookback_days)
    touches = touches.filter(touches.ts <= end)
    conversions = conversions.filter(conversions.ts <= end)
    # one stream of a customer's touches and conversions in time order, a touch before a
    # conversion at the same time (it is in that conversion's window); value breaks ties of
    # simultaneous conversions, so both engines agree which of them gets the touches (the
    # other is touchless)
    events = touches.select(
        "customer_id",
        "ts",
        "channel",
        conversion=ibis.literal(0, type=idt.int64),
        value=ibis.null(idt.float64),
    ).union(
        conversions.select(
            customer_id=conversions.customer_id.cast(touches.customer_id.type()),
            ts=conversions.ts.cast(touches.ts.type()),
            channel=ibis.null(touches.channel.type()),
            conversion=ibis.literal(1, type=idt.int64),
            value=conversions.value.cast(idt.float64),
        )
    )
    order = {"group_by": "customer_id", "order_by": ["ts", "conversion", "value"]}
    # one sort for all three: number, which of the customer's conversions (from 1) is the
    # next at or after the event (for touches after the last one, one not yet happened);
    # that conversion's time; the event before
    events = events.mutate(
        number=events.conversion.sum().over(ibis.cumulative_window(**order))
        + 1
        - events.conversion,
        conversion_ts=ibis.ifelse(events.conversion == 1, events.ts, ibis.null(events.ts.type()))
        .min()
        .over(ibis.window(**order, rows=(0, None))),
        previous_ts=events.ts.lag().over(ibis.window(**order)),
        previous_conversion=events.conversion.lag().over(ibis.window(**order)),
    )
    touched = events.filter(events.conversion == 0)
    converts = touched.conversion_ts.notnull() & (touched.ts >= touched.conversion_ts - lookback)
    converting = touched.filter(converts).select(
        "customer_id", "ts", "channel", "number", "conversion_ts"
    )
    # The other touches, in runs: a run starts at a customer's first event, after a
    # conversion, or over the lookback after the event before. A converting touch is
    # never right before one of them (its conversion comes between), so the event before
    # is a touch of the same run or the run's start.
    other = touched.filter(~converts)
    other = other.mutate(
        starts=ibis.ifelse(
            other.previous_ts.isnull()
            | (other.previous_conversion == 1)
            | (other.ts > other.previous_ts + lookback),
            1,
            0,
        )
    )
    run = other.starts.sum().over(ibis.cumulative_window(group_by="customer_id", order_by="ts"))
    unconverted = other.select(
        "customer_id",
        "ts",
        "channel",
        number=-run,
        conversion_ts=ibis.null(converting.conversion_ts.type()),
    )
    touched = converting.union(unconverted)
    journey = ["customer_id", "number"]
    ranked = touched.mutate(
        back=ibis.row_number().over(
            group_by=journey, order_by=[ibis.desc("ts"), ibis.desc("channel")]
        ),
        length=touched.ts.count().over(group_by=journey),
    )
    kept = ranked.filter(ranked.back < max_touches)
    kept = kept.mutate(
        position=ibis.least(kept.length, max_touches) - 1 - kept.back,
        days=(kept.conversion_ts.epoch_seconds() - kept.ts.epoch_seconds()) / 86400,
    )
    at = range(max_touches)
    per_journey = kept.group_by(journey).aggregate(
        **{f"c{i}": kept.channel.max(where=kept.position == i) for i in at},
        **{f"d{i}": kept.days.max(where=kept.position == i) for i in at},
        cut=(kept.length.max() > max_touches).cast("int64"),
        last_ts=kept.ts.max(),
    )
    # a run whose last touch is less than the lookback before the end may still convert
    per_journey = per_journey.filter(
        (per_journey.number > 0) | (per_journey.last_ts <= ibis.literal(end) - lookback)
    )
    # each converting journey's value, by its conversion's number
    numbered = conversions.select(
        customer_id=conversions.customer_id.cast(touches.customer_id.type()),
        number=ibis.row_number().over(group_by="customer_id", order_by=["ts", "value"]) + 1,
        value=conversions.value.cast(idt.float64),
    )
    per_journey = per_journey.left_join(numbered, ["customer_id", "number"]).drop(
        "customer_id_right", "number_right"
    )
    # non-converting journeys have no times nor value: they merge by path here
    found = (
        per_journey.group_by(
            [f"c{i}" for i in at] + [f"d{i}" for i in at] + ["value"],
            converted=per_journey.number >= 0,
        )
        .aggregate(count=per_journey.count(), cut=per_journey.cut.sum())
        .execute()
    )
    return _by_path(found, max_touches, int(conversions.count().execute()))


def _by_path(found: pd.DataFrame, max_touches: int, conversions: int) -> Journeys:
    """:class:`Journeys` from the engine's rows of merged journeys."""
    names = [f"c{i}" for i in range(max_touches)]
    channels = tuple(sorted(found[names].stack().unique()))
    codes = np.column_stack(
        [pd.Categorical(found[c], categories=channels).codes.astype(np.int64) + 1 for c in names]
    )
    unique, path = np.unique(codes, axis=0, return_inverse=True)
    converted = found["converted"].to_numpy(bool)
    count = found["count"].to_numpy(np.int64)
    value = found["value"].fillna(0.0).to_numpy(float)
    n = len(unique)
    lengths = (unique > 0).sum(axis=1)
    labels = np.array(("", *channels), dtype=object)[unique]
    paths = pd.DataFrame(
        {
            "path": [tuple(row[:k]) for row, k in zip(labels, lengths, strict=True)],
            "conversions": np.bincount(path[converted], count[converted], n).astype(np.int64),
            "nulls": np.bincount(path[~converted], count[~converted], n).astype(np.int64),
            "value": np.bincount(path[converted], (count * value)[converted], n),
        }
    )
    converting = pd.DataFrame(
        {"path": path[converted], "count": count[converted], "value": value[converted]}
    )
    days = found[[f"d{i}" for i in range(max_touches)]].to_numpy(float)[converted]
    n_converted = int(count[converted].sum())
    return Journeys(
        channels=channels,
        paths=paths,
        codes=unique,
        converting=converting,
        days=days,
        journeys=int(count.sum()),
        converted=n_converted,
        touchless=conversions - n_converted,
        cut=int(found["cut"].sum()),
    )


def credit(
    j: Journeys,
    models: tuple[str, ...] = MODELS,
    half_life_days: float = 7.0,
    position_weights: tuple[float, float, float] = (0.4, 0.2, 0.4),
    markov_orders: tuple[int, ...] = (1, 2, 3),
    seed: int = 0,
) -> Attribution:
    """The conversions and revenue each model credits each channel with.

    Per converting journey of touches ``1..n`` (value ``v``), touch ``i`` gets weight
    ``w_i`` (summing to 1) of the conversion and ``v w_i`` of its value:

    * ``last_touch``: ``w_n = 1``; ``first_touch``: ``w_1 = 1``; ``linear``: ``1 / n``;
    * ``time_decay``: ``w_i`` proportional to ``2^(-d_i / half_life_days)``, ``d_i`` the
      days from touch ``i`` to the conversion (exponential decay with a half-life, as in
      Google Analytics' time-decay model);
    * ``position`` (U-shaped): ``(first, middle, last) = position_weights`` to the first
      touch, shared by the middle ones, to the last; two touches split
      ``first : last``; one takes all.

    ``markov``: removal effects (Anderl et al. 2016) on the absorbing chain of
    the paths of order ``k`` (chosen by :func:`choose_markov_order`), its transition
    probabilities the maximum-likelihood ones (counts over all journeys). States are the
    last ``k`` channels (fewer at a journey's start) plus start, conversion and null. With
    ``P`` the probability of reaching conversion from start, and ``P_-c`` that with every
    state containing channel ``c`` turned into null, the removal effect is
    ``RE_c = 1 - P_-c / P`` and ``c``'s share ``RE_c / sum RE``. The value's shares are
    the same with the expected conversion value, each state's conversions worth their
    mean value, in place of ``P``. Absorption probabilities solve the sparse linear
    system ``(I - Q) h = r`` (``Q`` among transient states, ``r`` to conversion; Kemeny &
    Snell 1960, *Finite Markov Chains*, chapter III) rather than simulating paths.

    ``shapley``: Zhao et al.'s (2018) game over channel sets, ``v(S) = sum over T within
    S of R(T)``, ``R(T)`` the conversions of the journeys whose set of channels is exactly
    ``T``; its Shapley value is their simplified formula ``phi_c = sum over T containing c
    of R(T) / |T|`` (each ``R(T)`` a unanimity game on ``T``). Worth counts conversions
    (the shares are of conversions), so non-converting journeys do not enter; the value
    credit plays the same game with revenue. The sums run over the observed channel sets
    only (a bit per channel: up to 62 channels).

    Parameters
    ----------
    j : Journeys
    models : tuple of str
        Of :data:`MODELS`.
    half_life_days : float
        Time decay's half-life.
    position_weights : tuple of float
        First, middle and last touches' weights of the position model (normalised).
    markov_orders : tuple of int
        The Markov orders to choose from.
    seed : int
        Seeds the split of the journeys the Markov order is chosen on.

    Returns
    -------
    Attribution

    Raises
    ------
    ValueError
        No converting journey has a touch.
    """
    if j.converted == 0:
        raise ValueError("no conversion has a touch in its window: nothing to attribute")
    order, scores = (
        choose_markov_order(j, markov_orders, seed) if "markov" in models else (None, {})
    )
    fitted = _Models(j, models, half_life_days, position_weights, order)
    found = fitted.credit(j.converting["count"].to_numpy(float), j.paths["nulls"].to_numpy(float))
    by_channel = {
        part: {
            model: dict(zip(j.channels, map(float, credits[i]), strict=True))
            for model, credits in found.items()
        }
        for i, part in enumerate(("conversions", "value"))
    }
    shares = {
        model: dict(zip(j.channels, map(float, _normalised(conv)), strict=True))
        for model, (conv, _) in found.items()
    }
    return Attribution(shares, by_channel["conversions"], by_channel["value"], order, scores)


def choose_markov_order(
    j: Journeys, orders: tuple[int, ...] = (1, 2, 3), seed: int = 0
) -> tuple[int, dict[int, float]]:
    """The Markov order that best predicts held-out journeys, and each order's score.

    The journeys are split at random (``seed``), :data:`TRAIN_SHARE` of them to fit each
    order's transition probabilities, the rest to score them: the log-likelihood of each
    held-out journey's transitions from start to its conversion or null, per held-out
    journey. Transitions are smoothed by interpolated Witten-Bell (Witten & Bell 1991,
    "The zero-frequency problem", IEEE Trans. Inf. Theory 37(4); Chen & Goodman 1999,
    "An empirical study of smoothing techniques for language modeling", Comput. Speech
    Lang. 13(4)): ``p_k(x | h) = (N(h, x) + T(h) p_(k-1)(x | h')) / (N(h) + T(h))``, ``N`` the
    training counts, ``T(h)`` the number of distinct successors seen after ``h``, ``h'``
    the state without its oldest channel; a state never seen backs off to order ``k - 1``
    entirely; order 0 is the successors' frequencies plus one (Laplace). So an order that
    only memorises scores worse, and one unseen transition does not rule an order out.

    Parameters
    ----------
    j : Journeys
    orders : tuple of int
        The orders to choose from (from 1).
    seed : int

    Returns
    -------
    tuple of (int, dict of int to float)
        The chosen order; each order's held-out log-likelihood per journey (empty, and
        the lowest order chosen, when there is one order or nothing held out).
    """
    rng = np.random.default_rng(seed)
    conversions = j.paths["conversions"].to_numpy()
    nulls = j.paths["nulls"].to_numpy()
    train = rng.binomial(conversions, TRAIN_SHARE), rng.binomial(nulls, TRAIN_SHARE)
    test = conversions - train[0], nulls - train[1]
    held_out = test[0].sum() + test[1].sum()
    if len(orders) == 1 or held_out == 0:
        return min(orders), {}
    lengths = (j.codes > 0).sum(axis=1)
    base = len(j.channels) + 1
    scores = {}
    lower = None
    for k in range(1, max(orders) + 1):
        chain = _Transitions(j.codes, lengths, k, len(j.channels))
        fitted = chain.counts(*train)
        if lower is None:
            successors = fitted.sum(axis=0)
            lower = ((successors + 1) / (successors.sum() + len(successors)))[None, :]
        smoothed = _witten_bell(fitted, lower[np.arange(chain.states) % base ** (k - 1)])
        if k in orders:
            scores[k] = float((chain.counts(*test) * np.log(smoothed)).sum() / held_out)
        lower = smoothed
    return max(scores, key=scores.get), scores


def bootstrap(
    j: Journeys,
    n: int = 200,
    seed: int = 0,
    level: float = 0.9,
    models: tuple[str, ...] = MODELS,
    half_life_days: float = 7.0,
    position_weights: tuple[float, float, float] = (0.4, 0.2, 0.4),
    markov_orders: tuple[int, ...] = (1, 2, 3),
    markov_order: int | None = None,
) -> dict[str, dict[str, tuple[float, float]]]:
    """Percentile intervals (Efron & Tibshirani 1993, *An Introduction to the Bootstrap*,
    chapter 13) of each model's shares, the journeys resampled with replacement.

    Each replicate weighs every journey by an independent Poisson(1) count, the Poisson
    bootstrap (Hanley & MacGibbon 2006, "Creating non-parametric bootstrap samples using
    Poisson frequencies", Comput. Methods Programs Biomed. 83(1)): the merged converting
    journeys by Poisson(``count``), each path's non-converting journeys by
    Poisson(``nulls``) (a sum of independent Poisson(1) counts), so no journey is
    rebuilt. A customer's several journeys are resampled independently. The Markov order
    stays the one chosen on all journeys: the intervals are given that order.

    Parameters
    ----------
    j : Journeys
    n : int
        Replicates.
    seed : int
        Seeds the replicates and, when ``markov_order`` is None, the order's choice
        (the same as :func:`credit` with this seed).
    level : float
        The intervals' coverage.
    models, half_life_days, position_weights, markov_orders
        As for :func:`credit`.
    markov_order : int, optional
        The Markov order (e.g. ``credit(...).markov_order``); None: chosen as
        :func:`credit` does.

    Returns
    -------
    dict
        Model -> channel -> (lower, upper).
    """
    if "markov" in models and markov_order is None:
        markov_order = choose_markov_order(j, markov_orders, seed)[0]
    fitted = _Models(j, models, half_life_days, position_weights, markov_order)
    rng = np.random.default_rng(seed)
    count = j.converting["count"].to_numpy()
    nulls = j.paths["nulls"].to_numpy()
    draws = {model: np.empty((n, len(j.channels))) for model in models}
    for replicate in range(n):
        found = fitted.credit(rng.poisson(count).astype(float), rng.poisson(nulls).astype(float))
        for model, (conversions, _) in found.items():
            draws[model][replicate] = _normalised(conversions)
    tails = [(1 - level) / 2, (1 + level) / 2]
    return {
        model: {
            channel: tuple(float(q) for q in np.nanquantile(shares[:, c], tails))
            for c, channel in enumerate(j.channels)
        }
        for model, shares in draws.items()
    }


def distance(shares: dict[str, float], truth: dict[str, float]) -> float:
    """Total variation distance, ``1/2 sum |shares_c - truth_c|`` over the channels of
    either (missing ones 0), between a model's shares and the planted ones: the share of
    credit that would have to move to reach the truth."""
    channels = set(shares) | set(truth)
    return 0.5 * sum(abs(shares.get(c, 0.0) - truth.get(c, 0.0)) for c in channels)


class _Models:
    """The models' parts that do not depend on how many journeys take each path, built
    once so that :meth:`credit` (once per bootstrap replicate) only weighs them."""

    def __init__(
        self,
        j: Journeys,
        models: tuple[str, ...],
        half_life_days: float,
        position_weights: tuple[float, float, float],
        order: int | None,
    ) -> None:
        unknown = set(models) - set(MODELS)
        if unknown:
            raise ValueError(f"unknown models {sorted(unknown)}: choose from {MODELS}")
        self.models = models
        self.units = j.converting["path"].to_numpy()
        self.unit_value = j.converting["value"].to_numpy(float)
        self.n_paths = len(j.paths)
        channels = len(j.channels)
        lengths = (j.codes > 0).sum(axis=1)
        weights = np.asarray(position_weights, float) / sum(position_weights)
        # each path's (or converting journey's) split of one conversion over the channels
        self.split = {
            m: _spread(j.codes, _positional(m, lengths, j.codes.shape[1], weights), channels)
            for m in models
            if m in POSITIONAL
        }
        if "time_decay" in models:
            self.decay = _spread(j.codes[self.units], _decay(j.days, half_life_days), channels)
        if "shapley" in models:
            present = np.where(j.codes > 0, np.left_shift(1, np.maximum(j.codes - 1, 0)), 0)
            sets, self.path_set = np.unique(
                np.bitwise_or.reduce(present, axis=1), return_inverse=True
            )
            self.members = (sets[:, None] >> np.arange(channels)) & 1
        if "markov" in models:
            self.chain = _Transitions(j.codes, lengths, order, channels)

    def credit(self, count: np.ndarray, nulls: np.ndarray) -> dict[str, np.ndarray]:
        """Each model's credited conversions and value per channel, ``(2, channels)``,
        the converting journeys (``Journeys.converting``) weighed by ``count`` and each
        path's non-converting journeys by ``nulls``."""
        unit_value = count * self.unit_value
        conversions = np.bincount(self.units, count, self.n_paths)
        value = np.bincount(self.units, unit_value, self.n_paths)
        found = {}
        for model in self.models:
            if model in POSITIONAL:
                found[model] = np.stack([conversions, value]) @ self.split[model]
            elif model == "time_decay":
                found[model] = np.stack([count, unit_value]) @ self.decay
            elif model == "shapley":
                worth = np.stack(
                    [np.bincount(self.path_set, w, len(self.members)) for w in (conversions, value)]
                )
                found[model] = (worth / self.members.sum(axis=1)) @ self.members
            else:
                counts = self.chain.counts(conversions, nulls)
                effects = _removal_effects(counts, self.chain.value_at_end(value), self.chain.order)
                totals = np.array([conversions.sum(), value.sum()])
                found[model] = np.stack([_normalised(e) for e in effects]) * totals[:, None]
        return found


class _Transitions:
    """Every path's steps in the order-``k`` chain, from the state before each touch to
    the touch's channel, and from the last state to the end (conversion or null).

    A state is the last ``k`` channel codes as a number in base ``channels + 1``, the
    latest the lowest digit and 0 for "before the first touch" (so the start state is 0,
    and a state's last ``k - 1`` channels are it modulo ``base^(k - 1)``). Successors are
    numbered ``code - 1`` for a channel, ``channels`` for conversion, ``channels + 1`` for
    null. Counts are dense, ``base^k`` by ``channels + 2``: small for the few channels and
    orders attribution uses.
    """

    def __init__(self, codes: np.ndarray, lengths: np.ndarray, order: int, channels: int) -> None:
        n, width = codes.shape
        self.order, self.channels, self.base = order, channels, channels + 1
        self.states, self.successors = self.base**order, channels + 2
        padded = np.hstack([np.zeros((n, order), np.int64), codes])
        state = sum(
            padded[:, order - back : order - back + width + 1] * self.base ** (back - 1)
            for back in range(1, order + 1)
        )
        touch = np.arange(width)[None, :] < lengths[:, None]
        self.path = np.broadcast_to(np.arange(n)[:, None], codes.shape)[touch]
        self.move = state[:, :width][touch] * self.successors + codes[touch] - 1
        self.end = state[np.arange(n), lengths]

    def counts(self, conversions: np.ndarray, nulls: np.ndarray) -> np.ndarray:
        """Transition counts, ``(states, successors)``, with ``conversions`` and ``nulls``
        journeys on each path."""
        size = self.states * self.successors
        ends = self.end * self.successors + self.channels
        counts = (
            np.bincount(self.move, (conversions + nulls)[self.path], size)
            + np.bincount(ends, conversions, size)
            + np.bincount(ends + 1, nulls, size)
        )
        return counts.reshape(self.states, self.successors)

    def value_at_end(self, value: np.ndarray) -> np.ndarray:
        """The conversions' value per state they convert from."""
        return np.bincount(self.end, value, self.states)


def _removal_effects(counts: np.ndarray, value_at_end: np.ndarray, order: int) -> np.ndarray:
    """Removal effects of each channel, ``(2, channels)``: on the conversion probability
    and on the expected conversion value (:func:`credit`)."""
    channels = counts.shape[1] - 2
    base = channels + 1
    out = counts.sum(axis=1)
    seen = np.flatnonzero(out)  # sorted: the start state, 0, is first
    index = np.full(len(out), -1)
    index[seen] = np.arange(len(seen))
    state, symbol = np.nonzero(counts[seen, :channels])
    target = index[(seen[state] * base) % base**order + symbol + 1]
    moves = sp.coo_matrix(
        (counts[seen[state], symbol] / out[seen[state]], (state, target)),
        shape=(len(seen), len(seen)),
    )
    system = (sp.identity(len(seen)) - moves).tocsc()
    ends = np.column_stack([counts[seen, channels], value_at_end[seen]]) / out[seen, None]
    reached = splu(system).solve(ends)[0]
    digits = (seen[:, None] // base ** np.arange(order)) % base
    without = np.empty((channels, 2))
    for code in range(1, base):
        keep = ~(digits == code).any(axis=1)
        without[code - 1] = splu(system[keep][:, keep]).solve(ends[keep])[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (1 - without / reached).T


def _positional(model: str, lengths: np.ndarray, width: int, weights: np.ndarray) -> np.ndarray:
    """Each path's weight per touch position, ``(paths, width)``, under ``model``."""
    at = np.arange(width)[None, :]
    n = lengths[:, None]
    if model == "last_touch":
        return (at == n - 1).astype(float)
    if model == "first_touch":
        return (at == 0).astype(float)
    if model == "linear":
        return (at < n) / n
    first, middle, last = weights
    two = np.where(at == 0, first, last) / (first + last) * (at < 2)
    many = np.where(at == 0, first, np.where(at == n - 1, last, middle / np.maximum(n - 2, 1)))
    return np.where(n == 1, at == 0, np.where(n == 2, two, many * (at < n)))


def _decay(days: np.ndarray, half_life_days: float) -> np.ndarray:
    """Time decay's weight per touch, normalised per journey; days counted from the
    journey's latest touch, which weighs 1, so that no journey's weights all underflow."""
    recency = days - np.nanmin(days, axis=1, keepdims=True)
    weight = np.nan_to_num(np.exp2(-recency / half_life_days))
    return weight / weight.sum(axis=1, keepdims=True)


def _spread(codes: np.ndarray, weights: np.ndarray, channels: int) -> np.ndarray:
    """Per row, the ``weights`` of its touch positions summed by channel,
    ``(rows, channels)``."""
    spread = np.zeros((len(codes), channels + 1))
    rows = np.arange(len(codes))
    for position in range(codes.shape[1]):
        spread[rows, codes[:, position]] += weights[:, position]
    return spread[:, 1:]


def _witten_bell(counts: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Transition probabilities interpolated with the lower order's (Witten-Bell,
    :func:`choose_markov_order`)."""
    seen = counts.sum(axis=1, keepdims=True)
    kinds = (counts > 0).sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(seen > 0, (counts + kinds * lower) / (seen + kinds), lower)


def _normalised(credit: np.ndarray) -> np.ndarray:
    """``credit`` as shares (NaN when there is none: a replicate without conversions)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return credit / credit.sum()
