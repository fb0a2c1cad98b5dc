"""How long a cold `make report` takes, where the time goes, and against an earlier commit.

Runs a config cold through the command line (fresh data folder: the synthetic shop
generated, every stage computed), then a warm rerun (every stage reused). With
``--against REF`` the code of that git commit runs the same cold run in the same
benchmark, from a temporary worktree on the same environment, and the two alternate
``--rounds`` times, so the machine's speed of the day cancels out of the ratio. Prints
each stage's kernel start-up and cells, and its HTML export (written in a thread while
the next stage runs, so it adds to the run's time only after the last stage).

    .venv/bin/python benchmarks/bench_report.py [--config configs/default.yaml]
        [--against REF | --languages] [--rounds 2]

With ``--languages`` the same code runs cold twice per round instead, its pages in
English alone (``reports.languages=[en]``) and in Chinese and English (``[zh,en]``).

Targets: the cold default run at most 0.6x the code before issue 18; the second
language adds at most 15% to the cold default run (issue 23).
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
TARGET_LANGUAGES = 1.15
LANGUAGES = {"English alone": "[en]", "Chinese and English": "[zh,en]"}
PARTS = ("seconds_kernel", "seconds_cells", "seconds_export")


def run(code: Path, config: str, folder: Path, *sets: str) -> tuple[float, dict]:
    """One command-line run of ``config`` with the package at ``code`` and ``--set``
    arguments ``sets``: (wall seconds, manifest)."""
    env = {**os.environ, "PYTHONPATH": str(code / "src"), "CUSTOMER_ANALYTICS_HOME": str(code)}
    args = ["--set", f"reports.dir={folder}/reports", "--set", f"data.dir={folder}/data", *sets]
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
            f" + cells {t['seconds_cells']:5.1f}; then export {t['seconds_export'] or 0:4.1f}"
            " beside the next stage"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--against", help="a git commit to run the same cold run with")
    parser.add_argument(
        "--languages",
        action="store_true",
        help="compare the cold run in English alone with Chinese and English",
    )
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if args.languages:
        return languages(args.config, args.rounds)
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


def languages(config: str, rounds: int) -> None:
    """Cold runs in English alone and in Chinese and English, alternating."""
    seconds: dict[str, list[float]] = {label: [] for label in LANGUAGES}
    stages: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(rounds):
            order = list(LANGUAGES) if n % 2 == 0 else list(reversed(LANGUAGES))
            for label in order:
                folder = Path(tmp) / f"{n}-{len(LANGUAGES[label])}"
                wall, manifest = run(
                    ROOT, config, folder, "--set", f"reports.languages={LANGUAGES[label]}"
                )
                seconds[label].append(wall)
                stages[label] = split(manifest)
    print(f"config {config}, {rounds} round(s), machine of {time.strftime('%Y-%m-%d')}")
    for label in LANGUAGES:
        show(label, seconds[label], stages[label])
    one, two = (statistics.median(seconds[label]) for label in LANGUAGES)
    verdict = "met" if two / one <= TARGET_LANGUAGES else "missed"
    print(f"second language: +{two - one:.1f} s, ratio {two / one:.3f} "
          f"(target <= {TARGET_LANGUAGES}: {verdict})")  # fmt: skip


if __name__ == "__main__":
    main()
