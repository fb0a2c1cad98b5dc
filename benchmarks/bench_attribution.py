"""Channel attribution on ten million touches in two million journeys: building the
journeys on DuckDB, the Markov and Shapley point estimates, the bootstrap, and
ChannelAttribution's Markov model on the same paths.

    .venv/bin/python benchmarks/bench_attribution.py [--journeys 2000000] [--bootstrap 200]

Journeys of seven channels (a first-order chain of channels, about five touches each, a
day and a half apart); whether one converts depends on the set of channels in it (about
one in twelve does). One customer in twenty has two journeys, the first converting.
A tenth as many orders again come from customers without a touch. Non-converting
journeys end in the last 150 days like the converting ones; those ending in the last 30
(about a fifth) are censored, left out by ``journeys``. Written as Parquet (not timed), then timed apart:
``journeys`` on DuckDB through Ibis; ``credit`` with the Markov model (its order chosen
on held-out journeys among 1 to 3) and Shapley; all seven models; ``bootstrap``; and
ChannelAttribution's simulated ``markov_model`` (when installed, a reference only) at
order 1 and at our chosen order, on two threads, against ours at the same order. Issue
target: Markov and Shapley point estimates under 2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHANNELS = ["search", "social", "email", "display", "affiliate", "direct", "video"]
#: Where journeys start, and the chain of channels after that.
START = [0.30, 0.20, 0.12, 0.15, 0.08, 0.10, 0.05]
STAY = 0.35  # another touch of the same channel
#: Log-odds each channel in a journey adds to converting.
LIFT = [0.6, 0.2, 0.9, 0.1, 0.5, 1.1, 0.3]
END = np.datetime64("2024-12-31T00:00:00", "us")
DAY = np.timedelta64(86_400_000_000, "us")


def generate(journeys: int, folder: Path, seed: int = 0) -> dict[str, int]:
    """Touches and conversions as Parquet in ``folder``; what was generated."""
    rng = np.random.default_rng(seed)
    n_channels = len(CHANNELS)
    moves = np.full((n_channels, n_channels), (1 - STAY) / (n_channels - 1))
    np.fill_diagonal(moves, STAY)
    lengths = 1 + rng.binomial(14, 0.29, journeys)
    codes = np.full((journeys, lengths.max()), -1)
    codes[:, 0] = rng.choice(n_channels, journeys, p=START)
    for step in range(1, codes.shape[1]):
        cumulative = moves[codes[:, step - 1]].cumsum(axis=1)
        nxt = (rng.random(journeys)[:, None] > cumulative).sum(axis=1)
        codes[:, step] = np.where(step < lengths, nxt, -1)
    present = np.zeros((journeys, n_channels), bool)
    for step in range(codes.shape[1]):
        present[np.flatnonzero(codes[:, step] >= 0), codes[codes[:, step] >= 0, step]] = True
    odds = -4.6 + present @ np.array(LIFT)
    converted = rng.random(journeys) < 1 / (1 + np.exp(-odds))
    # pairs (2k, 2k + 1) of the first tenth of the journeys share a customer: the first
    # converts early in the year, the second comes months later
    paired = journeys // 20
    customer = np.arange(journeys)
    customer[1 : 2 * paired : 2] = customer[0 : 2 * paired : 2]
    converted[0 : 2 * paired : 2] = True
    ends = END - rng.uniform(1, 150, journeys) * DAY
    ends[0 : 2 * paired : 2] = END - rng.uniform(200, 330, paired) * DAY
    ends[~converted] = END - rng.uniform(0, 150, (~converted).sum()) * DAY
    # touch times back from the journey's end, gaps of 1.5 days on average
    gaps = rng.exponential(1.5, codes.shape) * DAY
    gaps[:, 0] = rng.uniform(0, 0.1, journeys) * DAY  # the last touch to the conversion
    back = np.cumsum(gaps, axis=1)
    journey, step = np.nonzero(codes >= 0)
    ts = ends[journey] - back[journey, lengths[journey] - 1 - step]
    touches = pa.table({
        "customer_id": pa.array(customer[journey]).cast(pa.string()),
        "ts": pa.array(ts),
        "channel": pa.DictionaryArray.from_arrays(codes[journey, step], CHANNELS).cast(pa.string()),
    })  # fmt: skip
    # and a tenth as many orders again from customers without a touch
    done = np.flatnonzero(converted)
    buyer = np.concatenate([customer[done], journeys + np.arange(len(done) // 10)])
    at = np.concatenate([ends[done], END - rng.uniform(1, 330, len(done) // 10) * DAY])
    conversions = pa.table({
        "customer_id": pa.array(buyer).cast(pa.string()),
        "ts": pa.array(at),
        "value": rng.gamma(2.0, 40.0, len(buyer)),
    })  # fmt: skip
    pq.write_table(touches, folder / "touches.parquet")
    pq.write_table(conversions, folder / "conversions.parquet")
    return {"journeys": journeys, "touches": len(journey), "conversions": len(buyer),
            "customers": len(np.unique(customer)) + len(done) // 10}  # fmt: skip


def timed(what, *args, **kwargs):  # noqa: ANN001, ANN201 (any call)
    t = time.perf_counter()
    found = what(*args, **kwargs)
    return found, time.perf_counter() - t


def reference_markov(paths, order: int):  # noqa: ANN001, ANN201 (ChannelAttribution is optional)
    """ChannelAttribution's order-``order`` Markov shares on ``paths``, or None when it
    is not installed; its banner and progress lines are kept off the output."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import ChannelAttribution
    except ImportError:
        return None
    data = paths.assign(path=paths["path"].str.join(" > "))
    found = ChannelAttribution.markov_model(
        data, "path", "conversions", var_null="nulls", order=order, ncore=2, seed=0,
        verbose=False, flg_pro=False,
    )  # fmt: skip
    shares = found.set_index("channel_name")["total_conversions"]
    return (shares / shares.sum()).to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=2_000_000)
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args()

    import ibis

    from customer_analytics.monitor import attribution

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        made, seconds = timed(generate, args.journeys, folder)
        print(f"generated in {seconds:.0f} s: " + ", ".join(f"{v:,} {k}" for k, v in made.items()))
        con = ibis.duckdb.connect()
        touches = con.read_parquet(folder / "touches.parquet")
        conversions = con.read_parquet(folder / "conversions.parquet")
        j, build_s = timed(attribution.journeys, touches, conversions, str(END))
        con.disconnect()
    print(f"journeys: {j.journeys:,} ({j.converted:,} converting, {j.touchless:,} touchless "
          f"conversions, {j.cut:,} cut), {len(j.paths):,} distinct paths, "
          f"{len(j.converting):,} converting rows")  # fmt: skip
    found, point_s = timed(attribution.credit, j, models=("markov", "shapley"))
    _, all_s = timed(attribution.credit, j)
    _, boot_s = timed(attribution.bootstrap, j, n=args.bootstrap, markov_order=found.markov_order)
    order = found.markov_order
    print(f"Markov order chosen: {order}; held-out log-likelihood per journey "
          + ", ".join(f"{k}: {v:.4f}" for k, v in found.markov_scores.items()))  # fmt: skip
    print(f"{'build journeys (DuckDB, Ibis)':40s} {build_s:7.1f} s")
    print(f"{'Markov (order chosen) + Shapley':40s} {point_s:7.1f} s  (target 120 s)")
    print(f"{'all seven models':40s} {all_s:7.1f} s")
    print(f"{f'bootstrap, {args.bootstrap} replicates':40s} {boot_s:7.1f} s")
    for k in sorted({1, order}):
        ours, ours_s = timed(attribution.credit, j, models=("markov",), markov_orders=(k,))
        theirs, theirs_s = timed(reference_markov, j.paths, k)
        if theirs is None:
            print("ChannelAttribution is not installed: no reference")
            break
        gap = max(abs(ours.shares["markov"][c] - theirs.get(c, 0.0)) for c in j.channels)
        print(f"Markov order {k}: ours {ours_s:.2f} s, ChannelAttribution {theirs_s:.2f} s "
              f"(ratio {theirs_s / ours_s:.1f}x); largest share difference {gap:.4f}")  # fmt: skip
    print("shares:")
    print(f"  {'':12s}" + "".join(f"{c:>10s}" for c in j.channels))
    shares = attribution.credit(j).shares
    for model, by_channel in shares.items():
        print(f"  {model:12s}" + "".join(f"{by_channel[c]:10.3f}" for c in j.channels))


if __name__ == "__main__":
    main()
