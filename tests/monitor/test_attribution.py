"""Channel attribution (monitor/attribution.py): journeys built on DuckDB from tiny
tables, the heuristics and order-1 Markov removal effects against numbers worked out by
hand, Shapley's axioms against the definition, the Markov order chosen on journeys
simulated from chains of order 1 and 2, bootstrap intervals, and the order-1 Markov
shares against ChannelAttribution's (the GPL reference, in tests only)."""

from __future__ import annotations

import math
from itertools import combinations

import ibis
import numpy as np
import pandas as pd
import pytest

from customer_analytics.monitor import attribution
from customer_analytics.monitor.attribution import Journeys

END = pd.Timestamp("2024-03-15")
DAY = pd.Timedelta(days=1)


def _journeys(
    touches: list[tuple], conversions: list[tuple], con: ibis.BaseBackend | None = None, **options
) -> Journeys:
    """Journeys of touches ``(customer, ts, channel)`` and conversions ``(customer, ts,
    value)``: in-memory tables (DuckDB), or tables of ``con`` (Spark)."""
    frames = {
        "touches": pd.DataFrame(touches, columns=["customer_id", "ts", "channel"]),
        "conversions": pd.DataFrame(conversions, columns=["customer_id", "ts", "value"]),
    }
    if con is None:
        tables = {name: ibis.memtable(frame) for name, frame in frames.items()}
    else:
        for name, frame in frames.items():
            con._session.createDataFrame(frame).createOrReplaceTempView(name)
        tables = {name: con.table(name) for name in frames}
    return attribution.journeys(tables["touches"], tables["conversions"], END, **options)


def _simulated(codes: np.ndarray, converted: np.ndarray, value: np.ndarray) -> Journeys:
    """Journeys from coded paths (rows: one customer each, channel codes from 1, 0 after
    the end): touches a day apart ending 40 days before ``END`` (so the nulls are past
    the 30-day censoring), conversions an hour after the last touch."""
    journey, position = np.nonzero(codes)
    lengths = (codes > 0).sum(axis=1)
    first = END - pd.Timedelta(days=40) - pd.to_timedelta(lengths - 1, "D")
    touches = pd.DataFrame(
        {
            "customer_id": journey.astype(str),
            "ts": first[journey] + pd.to_timedelta(position, "D"),
            "channel": np.array(list("ABCDEFG"))[codes[journey, position] - 1],
        }
    )
    done = np.flatnonzero(converted)
    conversions = pd.DataFrame(
        {"customer_id": done.astype(str), "ts": END - pd.Timedelta(days=40, hours=-1),
         "value": value[done]}
    )  # fmt: skip
    return attribution.journeys(
        ibis.memtable(touches), ibis.memtable(conversions), END, max_touches=codes.shape[1]
    )


def _simulate_chain(
    transitions: np.ndarray, n: int, seed: int, steps: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` journeys of a second-order chain over channels 1..C: ``transitions[a, b]``
    is the distribution of what follows channels ``a`` then ``b`` (0: before the first
    touch) over channels 1..C, conversion (C + 1) and null (C + 2). Journeys still going
    after ``steps`` touches end as nulls."""
    rng = np.random.default_rng(seed)
    channels = transitions.shape[2] - 2
    codes = np.zeros((n, steps), np.int64)
    going = np.ones(n, bool)
    converted = np.zeros(n, bool)
    before, last = np.zeros(n, np.int64), np.zeros(n, np.int64)
    for step in range(steps + 1):
        cumulative = transitions[before, last].cumsum(axis=1)
        nxt = (rng.random(n)[:, None] > cumulative).sum(axis=1) + 1
        converted |= going & (nxt == channels + 1)
        going &= nxt <= channels
        if step == steps:
            break
        codes[going, step] = nxt[going]
        before, last = np.where(going, last, before), np.where(going, nxt, last)
    return codes, converted


def _chain(channels: int, order: int, seed: int) -> np.ndarray:
    """Random transition distributions, depending on the last ``order`` channels only;
    every step ends the journey with probability at least a quarter."""
    rng = np.random.default_rng(seed)
    moves = rng.dirichlet(np.full(channels, 0.4), size=(channels + 1, channels + 1))
    ends = rng.uniform(0.25, 0.5, size=(channels + 1, channels + 1, 1))
    convert = rng.uniform(0.05, 0.95, size=(channels + 1, channels + 1, 1))
    if order == 1:  # what follows a pair depends only on its second channel
        moves, ends, convert = (x[[0]].repeat(channels + 1, axis=0) for x in (moves, ends, convert))
    return np.concatenate([moves * (1 - ends), ends * convert, ends * (1 - convert)], axis=2)


T1 = pd.Timestamp("2024-01-31")
#: Each journey rule at work (comments), cut to 3 touches.
RULES = {
    "touches": [
        ("a", T1 - 30 * DAY - pd.Timedelta(seconds=1), "search"),  # out of the lookback: a null
        ("a", T1 - 30 * DAY, "email"),  # the lookback's first moment
        ("a", T1 - DAY, "social"),
        ("a", T1, "display"),  # at the conversion: in it
        ("a", T1 + DAY, "email"),
        ("b", T1 - 4 * DAY, "affiliate"),  # the first of four: cut
        ("b", T1 - 3 * DAY, "display"),
        ("b", T1 - 2 * DAY, "search"),
        ("b", T1 - 1 * DAY, "social"),
        ("c", END - 40 * DAY, "video"),  # a run of gaps under 30 days whose last touch
        ("c", END - 20 * DAY, "social"),  # is within 30 days of the end: censored
        ("c", END - 10 * DAY, "search"),
        ("d", T1 + 3 * DAY, "video"),
        ("d", END - 5 * DAY, "email"),  # after d's conversion, in the last 30 days: censored
        ("e", END + DAY, "email"),  # after the data's end
        ("f", END - 100 * DAY, "affiliate"),  # f never converts: 5 days apart, one null;
        ("f", END - 95 * DAY, "display"),
        ("f", END - 35 * DAY, "affiliate"),  # 60 days later, another
    ],
    "conversions": [
        ("a", T1, 10.0),
        ("a", T1 + 2 * DAY, 20.0),  # only the email after the first conversion
        ("a", T1 + 3 * DAY, 5.0),  # the earlier touches are taken: touchless
        ("b", T1, 30.0),
        ("d", T1 + 5 * DAY, 7.0),
    ],
}


def test_journeys_keep_the_lookback_count_each_touch_once_and_cut_long_ones():
    j = _journeys(**RULES, max_touches=3)
    rows = {r.path: (r.conversions, r.nulls, r.value) for r in j.paths.itertuples()}
    # Before nulls covered the whole period, a's search (with no conversion within 30
    # days after it) and f's touches were in no journey, and c's social > search and d's
    # email were nulls (touches in the last 30 days); those two runs are now censored.
    assert rows == {
        ("email", "social", "display"): (1, 0, 10.0),
        ("email",): (1, 0, 20.0),  # a's second conversion
        ("display", "search", "social"): (1, 0, 30.0),
        ("video",): (1, 0, 7.0),
        ("search",): (0, 1, 0.0),  # a's first touch
        ("affiliate", "display"): (0, 1, 0.0),
        ("affiliate",): (0, 1, 0.0),
    }
    assert (j.journeys, j.converted, j.touchless, j.cut) == (7, 4, 1, 1)
    # b's affiliate was cut; c's, d's last and e's touches are in no journey
    assert j.channels == ("affiliate", "display", "email", "search", "social", "video")
    first = j.paths.index[j.paths["path"] == ("email", "social", "display")][0]
    days = j.days[(j.converting["path"] == first).to_numpy()]
    np.testing.assert_allclose(days[:, :3], [[30.0, 1.0, 0.0]])
    assert np.isnan(days[:, 3:]).all()


def test_null_journeys_are_runs_of_unconverted_touches_over_the_whole_period():
    start = END - 150 * DAY
    touches = [
        ("x", start, "A"), ("x", start + 5 * DAY, "B"), ("x", start + 60 * DAY, "A"),
        ("y", start, "A"),  # 35 days before y's conversion: a null of its own
        ("y", start + 10 * DAY, "B"), ("y", start + 30 * DAY, "C"),  # in the conversion's
        ("z", END - 50 * DAY, "A"), ("z", END - 25 * DAY, "B"),  # one run ending 25 days
        ("w", END - 70 * DAY, "C"), ("w", END - 20 * DAY, "C"),  # before the end: censored
        ("v", END - 30 * DAY, "D"),  # exactly the lookback before the end: resolved
    ]  # fmt: skip
    j = _journeys(touches, [("y", start + 35 * DAY, 9.0)])
    rows = {r.path: (r.conversions, r.nulls, r.value) for r in j.paths.itertuples()}
    assert rows == {
        ("A", "B"): (0, 1, 0.0),  # x's day 0 and 5
        ("A",): (0, 2, 0.0),  # x's day 60 and y's first
        ("B", "C"): (1, 0, 9.0),
        ("C",): (0, 1, 0.0),  # w's first, 50 days before its second
        ("D",): (0, 1, 0.0),
    }
    assert (j.journeys, j.converted, j.touchless, j.cut) == (6, 1, 0, 0)
    # with a 60-day lookback x's three touches are one null, y's all convert
    longer = _journeys(touches, [("y", start + 35 * DAY, 9.0)], lookback_days=60)
    rows = {r.path: (r.conversions, r.nulls) for r in longer.paths.itertuples()}
    assert rows == {("A", "B", "A"): (0, 1), ("A", "B", "C"): (1, 0)}  # w and v censored


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_journeys_are_the_same_on_spark():
    from customer_analytics.config import EngineSettings
    from customer_analytics.pipeline import engine

    spark = engine.connect(EngineSettings(kind="spark"))
    on_spark, on_duckdb = (
        _journeys(**RULES, con=spark, max_touches=3),
        _journeys(**RULES, max_touches=3),
    )
    order = ["path", "conversions"]
    pd.testing.assert_frame_equal(
        on_spark.paths.sort_values(order, ignore_index=True),
        on_duckdb.paths.sort_values(order, ignore_index=True),
    )
    for field in ("channels", "journeys", "converted", "touchless", "cut"):
        assert getattr(on_spark, field) == getattr(on_duckdb, field), field
    np.testing.assert_allclose(np.sort(on_spark.days, axis=0), np.sort(on_duckdb.days, axis=0))


@pytest.fixture(scope="module")
def four_journeys() -> Journeys:
    """A>B>C converts 100 (touches 10, 3 and 0 days before), B converts 50, A>C converts
    10 (14 and 0 days before), C>A does not convert."""
    at = pd.Timestamp("2024-02-20")
    touches = [("1", at - 10 * DAY, "A"), ("1", at - 3 * DAY, "B"), ("1", at, "C"),
               ("2", at, "B"), ("3", at - 14 * DAY, "A"), ("3", at, "C"),
               ("4", END - 33 * DAY, "C"), ("4", END - 32 * DAY, "A")]  # fmt: skip
    return _journeys(touches, [("1", at, 100.0), ("2", at, 50.0), ("3", at, 10.0)])


def test_heuristics_by_hand(four_journeys):
    found = attribution.credit(four_journeys, models=attribution.POSITIONAL + ("time_decay",))
    # time decay, half-life 7 days: A>B>C weighs 2^(-10/7), 2^(-3/7), 1 = 0.3716, 0.7430,
    # 1, normalised 0.1757, 0.3514, 0.4729; A>C weighs 2^-2, 1 = 0.2, 0.8
    decay = np.exp2(-np.array([10, 3, 0]) / 7)
    decay /= decay.sum()
    expected = {
        "last_touch": ({"A": 0, "B": 1, "C": 2}, {"A": 0, "B": 50, "C": 110}),
        "first_touch": ({"A": 2, "B": 1, "C": 0}, {"A": 110, "B": 50, "C": 0}),
        # A>B>C a third each, B all, A>C halves
        "linear": (
            {"A": 5 / 6, "B": 4 / 3, "C": 5 / 6},
            {"A": 115 / 3, "B": 250 / 3, "C": 115 / 3},
        ),
        # A>B>C 0.4, 0.2, 0.4; B all; A>C halves
        "position": ({"A": 0.9, "B": 1.2, "C": 0.9}, {"A": 45, "B": 70, "C": 45}),
        "time_decay": (
            {"A": decay[0] + 0.2, "B": decay[1] + 1, "C": decay[2] + 0.8},
            {"A": 100 * decay[0] + 2, "B": 100 * decay[1] + 50, "C": 100 * decay[2] + 8},
        ),
    }
    for model, (conversions, value) in expected.items():
        assert found.conversions[model] == pytest.approx(conversions), model
        assert found.value[model] == pytest.approx(value), model
        assert found.shares[model] == pytest.approx({c: v / 3 for c, v in conversions.items()})


def test_position_weights_one_and_two_touches():
    at = pd.Timestamp("2024-02-20")
    j = _journeys([("1", at, "A"), ("2", at - DAY, "A"), ("2", at, "B")],
                  [("1", at, 1.0), ("2", at, 1.0)])  # fmt: skip
    shares = attribution.credit(j, models=("position",)).shares["position"]
    assert shares == pytest.approx({"A": (1 + 0.5) / 2, "B": 0.5 / 2})


def test_markov_removal_effects_of_the_textbook_example():
    # C1>C2>C3 converts, C1 and C2>C3 do not. Order-1 transitions: start -> C1 2/3,
    # start -> C2 1/3; C1 -> C2 1/2, C1 -> null 1/2; C2 -> C3 1; C3 -> conversion 1/2,
    # C3 -> null 1/2. P(conversion) = 2/3 * 1/2 * 1 * 1/2 + 1/3 * 1 * 1/2 = 1/3.
    # Without C1: 1/3 * 1/2 = 1/6, removal effect 1 - (1/6) / (1/3) = 1/2; without C2 or
    # C3 nothing converts: removal effect 1. Shares 0.5 / 2.5, 1 / 2.5, 1 / 2.5.
    at = END - 40 * DAY  # the nulls resolved: over 30 days before the end
    touches = [("1", at - 2 * DAY, "C1"), ("1", at - DAY, "C2"), ("1", at, "C3"),
               ("2", at, "C1"), ("3", at - DAY, "C2"), ("3", at, "C3")]  # fmt: skip
    j = _journeys(touches, [("1", at, 40.0)])
    found = attribution.credit(j, models=("markov",), markov_orders=(1,))
    assert found.shares["markov"] == pytest.approx({"C1": 0.2, "C2": 0.4, "C3": 0.4})
    assert found.conversions["markov"] == pytest.approx({"C1": 0.2, "C2": 0.4, "C3": 0.4})
    assert found.value["markov"] == pytest.approx({"C1": 8.0, "C2": 16.0, "C3": 16.0})
    assert (found.markov_order, found.markov_scores) == (1, {})


def _shapley_by_definition(j: Journeys, worth: str) -> dict[str, float]:
    """Shapley values of v(S) = worth of the journeys whose channel set is within S, by
    the coalition formula."""
    sets = [frozenset(p) for p in j.paths["path"]]
    amounts = j.paths[worth].to_numpy()
    players = j.channels
    n = len(players)

    def v(coalition: frozenset) -> float:
        return sum(a for s, a in zip(sets, amounts, strict=True) if s <= coalition)

    values = {}
    for player in players:
        others = [p for p in players if p != player]
        values[player] = sum(
            math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            * (v(frozenset(s) | {player}) - v(frozenset(s)))
            for size in range(n) for s in combinations(others, size)
        )  # fmt: skip
    return values


def test_shapley_is_the_games_shapley_value_efficient_symmetric_and_null_free():
    at = pd.Timestamp("2024-02-20")
    paths = {"1": "AB", "2": "AC", "3": "BC", "4": "A", "5": "ABC", "6": "AD", "7": "D"}
    converted = {"1": 2.0, "2": 2.0, "3": 3.0, "4": 5.0, "5": 7.0}  # D's journeys do not
    touches = [(c, at - k * DAY, ch) for c, p in paths.items() for k, ch in enumerate(p[::-1])]
    touches = [(c, END - 31 * DAY if c in "67" else ts, ch) for c, ts, ch in touches]
    j = _journeys(touches, [(c, at, v) for c, v in converted.items()])
    found = attribution.credit(j, models=("shapley",))
    for part, worth in (("conversions", "conversions"), ("value", "value")):
        credited = getattr(found, part)["shapley"]
        assert credited == pytest.approx(_shapley_by_definition(j, worth))
        assert sum(credited.values()) == pytest.approx(j.paths[worth].sum())  # v(all)
    conversions = found.conversions["shapley"]
    assert conversions["B"] == pytest.approx(conversions["C"])  # symmetric in B and C
    assert conversions["D"] == 0  # in no converting journey: a null player
    # each conversion split over its distinct channels: A 1/2 + 1/2 + 1 + 1/3
    assert conversions["A"] == pytest.approx(1 / 2 + 1 / 2 + 1 + 1 / 3)
    assert sum(found.shares["shapley"].values()) == pytest.approx(1.0)


@pytest.mark.parametrize("order", [1, 2])
def test_markov_order_is_chosen_on_held_out_journeys(order):
    codes, converted = _simulate_chain(_chain(3, order, seed=order), 30_000, seed=7)
    j = _simulated(codes, converted, np.ones(len(codes)))
    chosen, scores = attribution.choose_markov_order(j, (1, 2, 3), seed=0)
    assert chosen == order, scores
    assert set(scores) == {1, 2, 3}
    assert attribution.credit(j, models=("markov",)).markov_order == order


def test_bootstrap_intervals_hold_the_estimate_and_narrow_with_more_journeys():
    chain = _chain(4, 1, seed=3)
    widths = []
    for n in (2_000, 20_000):
        codes, converted = _simulate_chain(chain, n, seed=n)
        j = _simulated(codes, converted, np.random.default_rng(n).gamma(2.0, 30.0, n))
        point = attribution.credit(j, markov_orders=(1,)).shares
        intervals = attribution.bootstrap(j, n=100, markov_orders=(1,))
        assert set(intervals) == set(attribution.MODELS)
        for model, by_channel in intervals.items():
            for channel, (lower, upper) in by_channel.items():
                assert lower <= point[model][channel] <= upper, (model, channel)
        widths.append(np.mean([u - lo for m in intervals.values() for lo, u in m.values()]))
    assert widths[1] < 0.5 * widths[0]  # about 1 / sqrt(10) = 0.32 expected


def test_distance_is_total_variation_over_the_union_of_channels():
    assert attribution.distance({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 0.0
    assert attribution.distance({"a": 0.7, "b": 0.3}, {"a": 0.4, "c": 0.6}) == pytest.approx(
        0.5 * (0.3 + 0.3 + 0.6)
    )
    assert attribution.distance({"a": 1.0}, {"b": 1.0}) == 1.0


def test_order_one_markov_agrees_with_channelattribution():
    """ChannelAttribution estimates removal effects by simulating paths of the fitted
    chain (removal effect of c: the share of simulated converting paths that visit c) and
    ends a simulated path as a null after ``max_step`` steps; ours solves the chain
    exactly. With many simulations and a long ``max_step`` the two agree to simulation
    error. It also merges repeated touches of one channel (A>A>B as A>B): for order 1 that
    changes no conversion probability (a self-loop only delays the next move)."""
    import ChannelAttribution as reference  # make install builds it (pyproject's [reference])

    codes, converted = _simulate_chain(_chain(5, 1, seed=11), 20_000, seed=5)
    j = _simulated(codes, converted, np.ones(len(codes)))
    ours = attribution.credit(j, models=("markov",), markov_orders=(1,)).shares["markov"]
    data = j.paths.assign(path=j.paths["path"].str.join(" > "))
    theirs = reference.markov_model(
        data, "path", "conversions", var_null="nulls", order=1, nsim_start=1_000_000,
        max_step=200, seed=0, ncore=1, conv_par=0.01, verbose=False, flg_pro=False,
    )  # fmt: skip
    shares = theirs.set_index("channel_name")["total_conversions"]
    shares /= shares.sum()
    assert ours == pytest.approx(shares.to_dict(), abs=0.003)  # 0.0005 seen
