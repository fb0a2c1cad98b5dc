"""The targeting stage's plan against the planted effects, over several draws of the shop.

    .venv/bin/python benchmarks/bench_targeting_seeds.py [--seeds 42 7 1 2 3]

One draw of the synthetic shop is one realisation of every experiment: the per-persona
A/B averages the usual practice plans on carry that draw's noise, and so do our models.
A single seed cannot say whether our plan beats the usual practice or got lucky. This
runs the default config through the command line once per seed (``source.synthetic.seed``)
and reads ``09_targeting``'s checks from each run's manifest: our plan's true profit
against the oracle's and the per-persona A/B plan's, and the coupon sent where our plan
prices it above zero. Each seed is then planned again without the push channel's
capacity (``targeting.channels.push.capacity=null``; only stage 09 reruns), where the
budget no longer decides who gets a push.

A quality measurement, not a speed one: nothing is timed, and each seed takes about
80 seconds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"capped": (), "uncapped": ("--set", "targeting.channels.push.capacity=null")}


def run(seed: int, folder: Path, extra: tuple[str, ...]) -> dict:
    """09_targeting's findings of the default config on ``seed``'s shop."""
    reports = folder / "reports"
    subprocess.run(
        [sys.executable, "-m", "customer_analytics", "run", "--config", "configs/default.yaml",
         "--set", f"source.synthetic.seed={seed}", "--set", f"data.dir={folder / 'data'}",
         "--set", f"reports.dir={reports}", *extra],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    latest = max(p for p in reports.iterdir() if (p / "manifest.json").exists())
    return json.loads((latest / "manifest.json").read_text())["findings"]["09_targeting"]


def row(seed: int, setting: str, found: dict) -> dict:
    """The figures the issue checks, for one seed and setting."""
    plans, coupon = found["truth"]["plans"], found["truth"]["coupon"]
    ours = plans["ours"]["true_profit"]
    return {
        "seed": seed,
        "setting": setting,
        "ours": ours,
        "of_oracle": plans["ours"]["share_of_oracle"],
        "per_persona": plans["per_persona_ab"]["true_profit"],
        "ours_over_per_persona": ours / plans["per_persona_ab"]["true_profit"] - 1,
        "everyone": plans["everyone"]["true_profit"],
        "coupon_ours": coupon["ours_true_profit"],
        "coupon_everyone": coupon["everyone_true_profit"],
        "coupon_precision": coupon["precision"],
        "coupon_recall": coupon["recall"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 7, 1, 2, 3])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for setting, extra in SETTINGS.items():
                found = run(seed, Path(tmp) / str(seed), extra)
                rows.append(row(seed, setting, found))
                print(pd.DataFrame(rows[-1:]).round(3).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    print(table.round(3).to_string(index=False))
    summary = table.groupby("setting").agg(
        above_per_persona=("ours_over_per_persona", lambda s: f"{(s > 0).sum()} of {len(s)}"),
        mean_gain=("ours_over_per_persona", "mean"),
        min_of_oracle=("of_oracle", "min"),
        coupon_profitable=("coupon_ours", lambda s: f"{(s > 0).sum()} of {len(s)}"),
    )
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
