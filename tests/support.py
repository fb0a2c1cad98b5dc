"""Helpers the tests share: real data sets, runs of the documented command line and a
small campaign file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"


def shared_file(name: str) -> Path:
    """A real data set from ../shared/data; skip without it, except in CI where it must exist."""
    path = SHARED_DATA / name
    if not path.is_file():
        message = f"{path} is missing (real data sets live in ../shared/data, see its README)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def lifetimes_file(name: str) -> Path:
    """A data set shipped inside the lifetimes package: ``CDNOW_sample.txt`` (the papers'
    2,357 customers) or ``CDNOW_master.txt``."""
    import lifetimes

    return Path(lifetimes.__file__).parent / "datasets" / name


def cdnow_sample() -> pd.DataFrame:
    """The CDNOW sample's 6,919 transactions: ``master_id``, ``customer_id`` (the sample
    id), ``date``, ``cds`` and ``dollars`` (the papers' columns)."""
    frame = pd.read_csv(
        lifetimes_file("CDNOW_sample.txt"),
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "dollars"],
        dtype={"date": str},
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m customer_analytics run ARGS`` from the project root, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "customer_analytics", "run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=1800,
    )


def isolated_sets(base: Path, **extra: str) -> list[str]:
    """``--set`` arguments sending a run's reports and data under ``base``."""
    pairs = {"reports.dir": str(base / "reports"), "data.dir": str(base / "data"), **extra}
    return [arg for key, value in pairs.items() for arg in ("--set", f"{key}={value}")]


@dataclass(frozen=True)
class CliRun:
    """One finished run of the command line: its process, report folder and manifest."""

    process: subprocess.CompletedProcess
    report: Path | None
    manifest: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.process.returncode == 0

    @property
    def stages(self) -> dict[str, Path]:
        """Each stage's output folder in the run's data folder."""
        assert self.manifest is not None, self.process.stderr
        data = Path(self.manifest["paths"]["data"])
        return {s["name"]: data / s["name"] for s in self.manifest["stages"]}

    def findings(self, stage: str) -> dict[str, Any]:
        assert self.manifest is not None, self.process.stderr
        return self.manifest["findings"][stage]


#: What the tests set on a config's command line: configs/spark_local.yaml runs the
#: default shop on Spark; the tests run it at the tiny size.
TEST_SETS: dict[str, tuple[str, ...]] = {"spark_local": ("--set", "source.synthetic.size=tiny")}


def run_config(
    config: str | Path, base: Path, *args: str, env: dict[str, str] | None = None
) -> CliRun:
    """Run ``configs/<config>.yaml`` (or a config file of a test's own) through the command
    line with its output under ``base`` (and the config's :data:`TEST_SETS`)."""
    path = str(config) if isinstance(config, Path) else f"configs/{config}.yaml"
    sets = (*isolated_sets(base), *TEST_SETS.get(str(config), ()))
    process = cli("--config", path, *sets, *args, env=env)
    last = process.stdout.strip().splitlines()[-1:] or [""]
    if not last[0].startswith("report: "):
        return CliRun(process, None, None)
    report = Path(last[0].removeprefix("report: ")).parent
    return CliRun(process, report, json.loads((report / "manifest.json").read_text()))


def on_run(config: str) -> pytest.MarkDecorator:
    """Marks tests that read the session's run of ``configs/<config>.yaml`` (the
    ``config_run`` fixture): one xdist group, so one worker makes the run once."""
    return pytest.mark.xdist_group(f"run-{config}")


# --- a small campaign file (one row per customer), read by the source, the clean rules
# and the A/B stage tests ---------------------------------------------------------------

# Customer c2 is in two arms; row 4 has a blank arm; row 5 an unreadable time; row 7
# repeats row 6 exactly. c1 is exposed twice to one arm at different times (kept).
CAMPAIGN = """\
cid,arm,when,spend,visit,history,channel
c1,A,2024-05-01 09:00:00,10.5,1,100,Web
c2,A,2024-05-01 09:00:00,0,0,50,Phone
c2,B,2024-05-02 09:00:00,0,0,50,Phone
c3, ,2024-05-01 09:00:00,3,1,20,Web
c4,B,yesterday,0,0,70,Web
c5,B,2024-05-01T01:00:00Z,7,1,80,Phone
c5,B,2024-05-01T01:00:00Z,7,1,80,Phone
c1,A,2024-05-03 09:00:00,10.5,1,100,Web
"""

# Arms are spelled "control" and "treatment" in the config; row 5 says "Control". Row 3
# spends "n/a"; row 4 converted on 30 April, before its assignment on 1 May; c7 and c8
# have no conversion time (they did not convert): blank times are kept.
STAMPED = """\
cid,arm,when,converted_at,spend,visit
c1,control,2024-05-01 09:00:00,2024-05-03 10:00:00,10.5,1
c2,treatment,2024-05-01 09:00:00,2024-05-02 12:00:00,20,1
c3,treatment,2024-05-01 09:00:00,2024-05-02 12:00:00,n/a,1
c4,control,2024-05-01 09:00:00,2024-04-30 18:00:00,8,1
c5,Control,2024-05-01 09:00:00,2024-05-02 08:00:00,3,1
c6,treatment,2024-05-01 09:00:00,2024-05-09 08:00:00,4,1
c7,control,2024-05-01 09:00:00,,0,0
c8,treatment,2024-05-01 09:00:00,,0,0
"""


# An exposure log that records the arm (group) and what the customer was shown
# (landing_page), stamped to the microsecond, with one conversion flag per row: u6 and u7
# were shown the other arm's page; u3's second row too (u3 stays in treatment by its
# first); u8 is in both arms (rows 8 and 9).
PAGES = """\
user_id,timestamp,group,landing_page,converted
u1,2017-01-21 22:11:48.556739,control,old_page,0
u2,2017-01-12 08:01:45.159739,control,old_page,0
u3,2017-01-11 16:55:06.154213,treatment,new_page,0
u4,2017-01-08 18:28:03.143765,treatment,new_page,0
u5,2017-01-21 01:52:26.210827,control,old_page,1
u6,2017-01-10 15:20:49.083499,treatment,old_page,0
u7,2017-01-19 03:26:46.940749,control,new_page,1
u8,2017-01-13 10:00:00.5,treatment,new_page,1
u8,2017-01-14 10:00:00.25,control,old_page,0
u3,2017-01-12 16:55:06.154213,treatment,old_page,0
u9,2017-01-15 12:00:00.000001,control,old_page,1
u10,2017-01-16 12:00:00.999999,treatment,new_page,1
"""


def pages_config(folder: Path) -> dict:
    """:data:`PAGES` as ``folder/campaign.csv``, through ingest, clean and the A/B stage,
    with what each arm shows."""
    tree = campaign(
        write_campaign(folder, PAGES),
        experiment_id="landing",
        arm="group",
        customer_id="user_id",
        assigned="timestamp",
        outcomes=["converted"],
        covariates=[],
        segments=[],
        shown={"column": "landing_page", "arms": {"control": "old_page", "treatment": "new_page"}},
    )
    tree["run"]["stages"] = ["01_ingest", "02_clean", "07_ab_test"]
    tree["clean"] = {}  # the default share: five of twelve exposures go
    tree["ab"] = {
        "segments": [],
        "experiments": {
            "landing": {
                "arms": ["control", "treatment"],
                "planned_split": [1, 1],
                "metrics": [{"name": "converted", "type": "proportion"}],
            }
        },
    }
    tree["data"] = {"dir": str(folder / "data")}
    return tree


def campaign(path: Path, **overrides: object) -> dict:
    """A config tree reading the campaign file at ``path`` through ingest and clean."""
    spec = {
        "experiment_id": "spring",
        "arm": "arm",
        "customer_id": "cid",
        "assigned": "when",
        "outcomes": ["spend", "visit"],
        "covariates": ["history"],
        "segments": ["channel"],
        **overrides,
    }
    return {
        "run": {"name": "camp", "stages": ["01_ingest", "02_clean"]},
        "source": {"kind": "campaign", "path": str(path), "campaign": spec},
        "shop": {"timezone": "Europe/Berlin"},
        # A file of defects: five of its eight exposures are meant to be set aside.
        "clean": {"max_quarantined_share": 0.9},
    }


def write_campaign(folder: Path, text: str = CAMPAIGN) -> Path:
    """``text`` as ``folder/campaign.csv``."""
    path = folder / "campaign.csv"
    path.write_text(text)
    return path


def stamped_config(folder: Path) -> Any:
    """:data:`STAMPED` with its configured experiment, through 07_ab_test, data in ``folder``."""
    from customer_analytics.config import config_from_dict

    path = write_campaign(folder, STAMPED)
    tree = campaign(path, outcome_ts="converted_at", covariates=[], segments=[])
    tree["run"]["stages"] = ["01_ingest", "02_clean", "07_ab_test"]
    tree["ab"] = {
        "segments": [],
        "experiments": {
            "spring": {
                "arms": ["control", "treatment"],
                "planned_split": [1, 1],
                "metrics": [
                    {"name": "visit", "type": "proportion"},
                    {"name": "spend", "type": "mean"},
                ],
            }
        },
    }
    tree["data"] = {"dir": str(folder / "data")}
    return config_from_dict(tree)
