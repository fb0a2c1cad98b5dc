"""A run's findings against a recorded baseline: what a restructuring must not change.

The comparable part of a manifest is each stage's status, findings and summary
sentences, and each input's table, checksum and rows. Run ids, paths, package versions,
cache keys and timings are left out; keys the baseline lacks are allowed (a new
finding), keys it has must be there with the same value.

Record the baselines from finished runs (one per config) after a change that is meant
to move the findings, and say in the commit which and why::

    .venv/bin/python tests/end_to_end/findings.py record reports/<run-id> [...]
    .venv/bin/python tests/end_to_end/findings.py compare reports/<run-id> [...]
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

BASELINES = Path(__file__).resolve().parent / "baselines"
#: Keys whose values name where or when a run happened (its date), not what it found.
IGNORED = frozenset({"path", "paths", "run_id", "seconds", "cache_key", "run_date"})
_REUSED_IS_OK = {"reused": "ok"}


def comparable(manifest: dict[str, Any]) -> dict[str, Any]:
    """The part of a manifest that the same config and data must reproduce."""
    return {
        # A stage reused from the cache found what it found when it was computed.
        "stages": {
            s["name"]: _REUSED_IS_OK.get(s["status"], s["status"]) for s in manifest["stages"]
        },
        "summaries": {s["name"]: s.get("summary", []) for s in manifest["stages"]},
        "findings": manifest["findings"],
        "inputs": [
            {k: v for k, v in item.items() if k not in IGNORED} for item in manifest["inputs"]
        ],
    }


def differences(baseline: Any, current: Any, where: str = "") -> list[str]:
    """Where ``current`` departs from ``baseline``: a missing key or another value.

    Keys only ``current`` has are allowed; lists must match item by item.
    """
    if isinstance(baseline, dict) and isinstance(current, dict):
        found = []
        for key, value in baseline.items():
            if key in IGNORED:
                continue
            if key not in current:
                found.append(f"{where}/{key}: missing (baseline {_short(value)})")
            else:
                found += differences(value, current[key], f"{where}/{key}")
        return found
    if isinstance(baseline, list) and isinstance(current, list):
        if len(baseline) != len(current):
            return [f"{where}: {len(current)} items, baseline {len(baseline)}"]
        pairs = enumerate(zip(baseline, current, strict=True))
        return [d for i, (b, c) in pairs for d in differences(b, c, f"{where}[{i}]")]
    if baseline != current and not (_is_nan(baseline) and _is_nan(current)):
        return [f"{where}: {_short(current)}, baseline {_short(baseline)}"]
    return []


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def baseline_file(manifest: dict[str, Any]) -> Path:
    """Where the baseline of the manifest's config (``run.name``) is kept."""
    return BASELINES / f"{manifest['config']['run']['name']}.json"


def compare(manifest: dict[str, Any]) -> list[str]:
    """Differences of a finished run from its config's baseline (an error when none is kept)."""
    path = baseline_file(manifest)
    if not path.is_file():
        return [f"no baseline {path.name}: record one with `{Path(__file__).name} record <run>`"]
    # Through JSON, as the baseline was: tuples become lists, keys strings.
    current = json.loads(json.dumps(comparable(manifest), default=str))
    return differences(json.loads(path.read_text()), current)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in {"record", "compare"}:
        print(__doc__)
        return 2
    status = 0
    for run in argv[1:]:
        manifest = json.loads((Path(run) / "manifest.json").read_text())
        if argv[0] == "record":
            path = baseline_file(manifest)
            path.write_text(json.dumps(comparable(manifest), indent=1, default=str) + "\n")
            print(f"recorded {path}")
            continue
        found = compare(manifest)
        print(f"{run}: {'same findings' if not found else f'{len(found)} difference(s)'}")
        for line in found:
            print(f"  {line}")
        status = status or bool(found)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
