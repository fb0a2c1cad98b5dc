"""What stages leave for each other: declared output files, findings and the run's as_of.

A stage declares every file it writes in its ``stage`` module::

    OUTPUTS = Outputs(__name__)
    CUSTOMERS_RFM = OUTPUTS.declare("customers_rfm.parquet", "one row per buyer: ...")

and a later stage reads it through that name, never through a file-name literal::

    from customer_analytics.rfm.stage import CUSTOMERS_RFM
    rfm = pd.read_parquet(CUSTOMERS_RFM.path(inputs))

``inputs`` maps each earlier stage's name to its output folder in the run. A file name
may hold ``{table}`` for one file per canonical table (``KEPT.path(inputs,
table="orders")``). A stage's headline figures, its *findings*, are what its ``run``
function returns; they are kept beside its outputs (:data:`META_FILE`) and in the run's
manifest.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from customer_analytics.pipeline.registry import STAGE_NAMES, stage_of_module

#: Beside a stage's outputs: its name, cache key and findings.
META_FILE = "_stage.json"
#: A findings key the runner moves into the manifest's ``inputs``: the files a stage
#: read from outside the run, each with its table, path, sha256 and rows.
INPUT_FILES = "input_files"


@dataclass(frozen=True)
class Output:
    """One file (or folder) a stage writes, as later stages and notebooks find it.

    Attributes
    ----------
    stage
        The stage that writes it.
    file
        Its path inside the stage's output folder; ``{table}`` stands for a canonical
        table's name.
    about
        What it holds, for the readers of the code that declares it.
    """

    stage: str
    file: str
    about: str

    def at(self, folder: Path, **fields: str) -> Path:
        """The file inside ``folder``, the writing stage's own output folder."""
        return folder / self.file.format(**fields)

    def path(self, inputs: Mapping[str, Path], **fields: str) -> Path:
        """The file in a run: ``inputs`` maps stage names to their output folders."""
        if self.stage not in inputs:
            raise KeyError(f"{self.file} is an output of stage {self.stage}, which did not run")
        return self.at(inputs[self.stage], **fields)

    def exists(self, inputs: Mapping[str, Path], **fields: str) -> bool:
        """Whether the stage ran and wrote the file (optional outputs may be absent)."""
        return self.stage in inputs and self.path(inputs, **fields).exists()

    def matches(self, relative: str) -> bool:
        """Whether a path inside the stage's folder (``/``-separated) is this output or
        inside it; ``{table}`` stands for one name, never a path."""
        pattern = re.escape(self.file).replace(re.escape("{table}"), "[^/]+")
        return re.fullmatch(f"{pattern}(/.+)?", relative) is not None


class Outputs:
    """The outputs a stage module declares, in the order it lists them."""

    def __init__(self, module: str) -> None:
        self.stage = stage_of_module(module)
        self._declared: list[Output] = []

    def declare(self, file: str, about: str) -> Output:
        output = Output(self.stage, file, about)
        self._declared.append(output)
        return output

    def __iter__(self) -> Iterator[Output]:
        return iter(self._declared)

    def ran(self, inputs: Mapping[str, Path]) -> bool:
        """Whether the stage ran before the reader (a config may leave it out)."""
        return self.stage in inputs

    def findings(self, inputs: Mapping[str, Path]) -> dict[str, Any]:
        """The findings the stage recorded in this run."""
        return stage_findings(inputs[self.stage])


#: The statuses of a stage whose outputs are in its run's data folder.
DONE = ("ok", "reused")


@dataclass(frozen=True)
class EarlierRun:
    """The earlier run a stage compares this one with (a stage whose registry entry
    names ``compares``), read from its manifest and data folder.

    Attributes
    ----------
    run_id
        Its id; None when there is none to compare with.
    problem
        Why it cannot be compared with (none found, another config's, missing, its
        data gone), naming the run; None when it can.
    findings
        Its findings per stage, as its manifest records them.
    inputs
        The output folder of each of its stages that finished, by stage name: read its
        declared outputs with ``OUTPUT.path(earlier.inputs)`` as for this run's.
    as_of
        Its ``as_of`` (its first stage's), as ISO text, when known.
    findings_sha256
        The hash of its findings this run's cache key covers.
    """

    run_id: str | None
    problem: str | None = None
    findings: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Path] = field(default_factory=dict)
    as_of: str | None = None
    findings_sha256: str | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | None) -> EarlierRun:
        """The run a manifest's ``compared_with`` record names (see
        :func:`customer_analytics.pipeline.runs.earlier_run`); a record that cannot be
        read gives a run with a ``problem``, never an exception."""
        if not record:
            return cls(None, "this run recorded no earlier run to compare with")
        run_id, problem = record.get("run_id"), record.get("problem")
        if problem or not run_id:
            return cls(run_id, problem or "no earlier run to compare with")
        try:
            manifest = json.loads((Path(record["report"]) / "manifest.json").read_text())
        except (OSError, ValueError, KeyError, TypeError):
            return cls(run_id, f"the manifest of run {run_id} cannot be read any more")
        findings = manifest.get("findings") or {}
        data = Path(record["data"])
        done = {s.get("name") for s in manifest.get("stages", []) if s.get("status") in DONE}
        inputs = {s: data / s for s in STAGE_NAMES if s in done and (data / s).is_dir()}
        first = findings.get(STAGE_NAMES[0]) or {}
        return cls(
            run_id,
            None,
            findings,
            inputs,
            first.get("as_of"),
            record.get("findings_sha256"),
        )

    def lacks(self, stage: str) -> str | None:
        """Why the run has nothing of ``stage`` to compare with, or None when it has."""
        if stage in self.inputs:
            return None
        if stage in self.findings:
            return f"run {self.run_id}'s outputs of {stage} are missing"
        return f"run {self.run_id} did not run {stage}"


def stage_findings(folder: Path) -> dict[str, Any]:
    """The findings a finished stage recorded beside its outputs."""
    return json.loads((folder / META_FILE).read_text())["findings"]


def run_as_of(inputs: Mapping[str, Path]) -> dt.date:
    """The run's ``as_of`` as the first stage settled it (the config's, else the data's
    last day); later stages read it rather than deciding again."""
    return dt.date.fromisoformat(stage_findings(inputs[STAGE_NAMES[0]])["as_of"])
