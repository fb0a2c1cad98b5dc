"""How long a cold `make report` takes, where the time goes, and against an earlier commit.

Runs a config cold through the command line (fresh data folder: the synthetic shop
generated, every stage computed), then a warm rerun (every stage reused). With
``--against REF`` the code of that git commit runs the same cold run in the same
benchmark, from a temporary worktree on the same environment, and the two alternate
``--rounds`` times, so the machine's speed of the day cancels out of the ratio. Prints
each stage's kernel start-up, cells and HTML export.

    .venv/bin/python benchmarks/bench_report.py [--config configs/default.yaml]
        [--against REF] [--rounds 2]

Target (issue 18): the cold default run at most 0.6x the code before that issue.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.6
PARTS = ("seconds_kernel", "seconds_cells", "seconds_export")


def run(code: Path, config: str, folder: Path) -> tuple[float, dict]:
    """One command-line run of ``config`` with the package at ``code``: (wall seconds,
    manifest)."""
    env = {**os.environ, "PYTHONPATH": str(code / "src"), "CUSTOMER_ANALYTICS_HOME": str(code)}
    args = ["--set", f"reports.dir={folder}/reports", "--set", f"data.dir={folder}/data"]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "customer_analytics", "run", "--config", config, *args],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{code}: the run failed:\n{done.stderr[-3000:]}")
    report = Path(done.stdout.strip().splitlines()[-1].removeprefix("report: ")).parent
    return seconds, json.loads((report / "manifest.json").read_text())


def split(manifest: dict) -> dict[str, dict[str, float]]:
    """Per stage: wall seconds and kernel start-up, cells and export."""
    return {
        s["name"]: {"seconds": s["seconds"], **{p: s.get(p, 0.0) for p in PARTS}}
        for s in manifest["stages"]
    }


def show(label: str, seconds: list[float], stages: dict[str, dict[str, float]]) -> None:
    print(f"{label}: cold run {statistics.median(seconds):.1f} s (runs: "
          f"{', '.join(f'{s:.1f}' for s in seconds)})")  # fmt: skip
    for name, t in stages.items():
        print(
            f"    {name:<14} {t['seconds']:5.1f} s = kernel {t['seconds_kernel']:4.1f}"
            f" + cells {t['seconds_cells']:5.1f} + export {t['seconds_export']:4.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--against", help="a git commit to run the same cold run with")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        codes = {"ours": ROOT}
        if args.against:
            theirs = Path(tmp) / "against"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(theirs), args.against],
                cwd=ROOT, check=True, capture_output=True,
            )  # fmt: skip
            codes["theirs"] = theirs
        try:
            seconds: dict[str, list[float]] = {label: [] for label in codes}
            stages: dict[str, dict] = {}
            for n in range(args.rounds):
                order = list(codes) if n % 2 == 0 else list(reversed(codes))
                for label in order:
                    folder = Path(tmp) / f"{label}-{n}"
                    wall, manifest = run(codes[label], args.config, folder)
                    seconds[label].append(wall)
                    stages[label] = split(manifest)
            warm, _ = run(ROOT, args.config, Path(tmp) / "ours-0")
        finally:
            if args.against:
                subprocess.run(["git", "worktree", "remove", "--force", str(codes["theirs"])],
                               cwd=ROOT, capture_output=True)  # fmt: skip
    print(f"config {args.config}, {args.rounds} round(s), machine of {time.strftime('%Y-%m-%d')}")
    for label in codes:
        show(f"{label} ({args.against if label == 'theirs' else 'working tree'})",
             seconds[label], stages[label])  # fmt: skip
    ours = statistics.median(seconds["ours"])
    print(f"warm rerun (every stage reused): {warm:.1f} s")
    if args.against:
        ratio = ours / statistics.median(seconds["theirs"])
        verdict = "met" if ratio <= TARGET_RATIO else "missed"
        print(f"ratio ours / {args.against}: {ratio:.2f} (target <= {TARGET_RATIO}: {verdict})")


if __name__ == "__main__":
    main()
