"""The runner's housekeeping: old runs are pruned, the newest successful one kept."""

from __future__ import annotations

import json
from pathlib import Path

from customer_analytics.pipeline.runner import prune


def test_prune_keeps_newest_and_newest_successful(tmp_path: Path) -> None:
    reports, data = tmp_path / "reports", tmp_path / "data"
    statuses = {
        "20250101-000000-x": "ok",
        "20250102-000000-x": "failed",
        "20250103-000000-x": "failed",
    }
    for run_id, status in statuses.items():
        (reports / run_id).mkdir(parents=True)
        (reports / run_id / "manifest.json").write_text(json.dumps({"status": status}))
        (data / run_id).mkdir(parents=True)
    removed = prune(reports, data, keep=1)
    assert removed == ["20250102-000000-x"]
    assert sorted(p.name for p in reports.iterdir()) == ["20250101-000000-x", "20250103-000000-x"]
    assert not (data / "20250102-000000-x").exists()
