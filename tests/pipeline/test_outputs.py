"""Declared outputs: what a stage writes is what it declares, and a declared output is
found through its stage's name in a run, never through a file-name literal."""

from __future__ import annotations

import datetime as dt
import importlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from support import CliRun, on_run

from customer_analytics.clean.stage import IDENTITY_MAP, KEPT, QUARANTINE
from customer_analytics.personas.stage import AUDIENCES
from customer_analytics.pipeline.outputs import (
    INPUT_FILES,
    META_FILE,
    Output,
    Outputs,
    run_as_of,
    stage_findings,
)
from customer_analytics.pipeline.registry import entry
from customer_analytics.rfm.stage import CUSTOMERS_RFM


def declared(stage: str) -> list[Output]:
    """The outputs stage ``stage``'s module declares, in its order."""
    return list(importlib.import_module(entry(stage).module).OUTPUTS)


# --- the tiny shop's run ---------------------------------------------------------------------


@on_run("tiny")
def test_every_file_a_stage_wrote_is_one_it_declared(config_run: Callable[[str], CliRun]) -> None:
    run = config_run("tiny")
    assert run.ok, run.process.stderr
    assert list(run.stages) == list(run.manifest["config"]["run"]["stages"])
    for stage, folder in run.stages.items():
        outputs = declared(stage)
        written = [
            p.relative_to(folder).as_posix()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != META_FILE
        ]
        assert written, f"{stage} wrote nothing"
        undeclared = [f for f in written if not any(o.matches(f) for o in outputs)]
        assert not undeclared, f"{stage} wrote files it does not declare: {undeclared}"


@on_run("tiny")
def test_every_declared_output_of_one_file_exists_for_the_tiny_shop(
    config_run: Callable[[str], CliRun],
) -> None:
    stages = config_run("tiny").stages
    for stage in stages:
        for output in declared(stage):
            if "{table}" not in output.file:
                assert output.exists(stages), f"{stage} lacks {output.file} ({output.about})"
    assert KEPT.exists(stages, table="orders") and QUARANTINE.exists(stages, table="orders")
    assert not KEPT.exists(stages, table="no_such_table")


@on_run("tiny")
def test_each_stage_keeps_its_findings_beside_its_outputs_as_the_manifest_has_them(
    config_run: Callable[[str], CliRun],
) -> None:
    """The manifest's findings are the stage's, less the input files, which the runner
    moves into the manifest's inputs."""
    run = config_run("tiny")
    for stage, folder in run.stages.items():
        found = stage_findings(folder)
        assert run.manifest["inputs"] == found.pop(INPUT_FILES, run.manifest["inputs"])
        assert found == run.findings(stage), stage
    as_of = run_as_of(run.stages)
    assert as_of == dt.date.fromisoformat(run.findings("01_ingest")["as_of"])
    assert str(as_of) == run.findings("04_clv")["as_of"]


# --- Output and Outputs on their own ---------------------------------------------------------


def test_path_at_and_exists_find_the_file_in_the_writing_stages_folder(tmp_path: Path) -> None:
    folders = {"02_clean": tmp_path / "clean", "03_rfm": tmp_path / "rfm"}
    assert KEPT.stage == "02_clean" and CUSTOMERS_RFM.stage == "03_rfm"
    assert KEPT.path(folders, table="orders") == tmp_path / "clean" / "orders.parquet"
    assert QUARANTINE.at(tmp_path, table="orders") == tmp_path / "quarantine" / "orders.parquet"
    assert CUSTOMERS_RFM.path(folders) == CUSTOMERS_RFM.at(tmp_path / "rfm")
    assert CUSTOMERS_RFM.at(tmp_path / "rfm") == tmp_path / "rfm" / "customers_rfm.parquet"
    assert not CUSTOMERS_RFM.exists(folders)
    (tmp_path / "rfm").mkdir()
    CUSTOMERS_RFM.path(folders).write_bytes(b"")
    assert CUSTOMERS_RFM.exists(folders)
    with pytest.raises(KeyError, match="table"):
        KEPT.path(folders)  # one file per table: which one must be said


def test_an_output_of_a_stage_that_did_not_run_is_a_key_error_naming_the_stage(
    tmp_path: Path,
) -> None:
    inputs = {"01_ingest": tmp_path}
    with pytest.raises(KeyError, match="customers_rfm.parquet is an output of stage 03_rfm"):
        CUSTOMERS_RFM.path(inputs)
    with pytest.raises(KeyError, match="stage 02_clean, which did not run"):
        KEPT.path(inputs, table="orders")
    assert not CUSTOMERS_RFM.exists(inputs)  # absent, not an error


def test_matches_reads_table_as_any_table_and_a_folder_as_the_files_in_it() -> None:
    assert KEPT.matches("orders.parquet") and KEPT.matches("order_items.parquet")
    assert not KEPT.matches("orders.csv")
    assert QUARANTINE.matches("quarantine/orders.parquet")
    assert not QUARANTINE.matches("fixes/orders.parquet")
    assert not QUARANTINE.matches("quarantine/orders.csv")
    assert IDENTITY_MAP.matches("identity_map.parquet")
    assert not IDENTITY_MAP.matches("identity_map.parquet.tmp")
    assert AUDIENCES.matches("audiences") and AUDIENCES.matches("audiences/segment-loyal.csv")
    assert not AUDIENCES.matches("audiences.csv")
    assert not AUDIENCES.matches("old-audiences/segment-loyal.csv")


def test_table_stands_for_one_name_not_a_path() -> None:
    assert not KEPT.matches("quarantine/orders.parquet")
    assert not KEPT.matches("stray/folder/orders.parquet")


def test_a_stage_module_declares_its_outputs_in_order() -> None:
    outputs = Outputs("customer_analytics.rfm.stage")
    first = outputs.declare("a.parquet", "the first")
    second = outputs.declare("b/{table}.parquet", "the second")
    assert outputs.stage == "03_rfm" and list(outputs) == [first, second]
    assert first == Output("03_rfm", "a.parquet", "the first")
    assert outputs.ran({"03_rfm": Path("x")}) and not outputs.ran({"02_clean": Path("x")})
    with pytest.raises(KeyError, match="belongs to no registered stage"):
        Outputs("customer_analytics.pipeline.cache")


def test_findings_and_as_of_are_read_from_beside_a_stages_outputs(tmp_path: Path) -> None:
    meta = {"stage": "01_ingest", "key": "k", "findings": {"as_of": "2025-12-31", "rows": 3}}
    (tmp_path / META_FILE).write_text(json.dumps(meta))
    assert stage_findings(tmp_path) == {"as_of": "2025-12-31", "rows": 3}
    assert run_as_of({"01_ingest": tmp_path, "02_clean": tmp_path / "x"}) == dt.date(2025, 12, 31)
    assert Outputs("customer_analytics.ingest.stage").findings({"01_ingest": tmp_path})["rows"] == 3
