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
from dataclasses import dataclass
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


def stage_findings(folder: Path) -> dict[str, Any]:
    """The findings a finished stage recorded beside its outputs."""
    return json.loads((folder / META_FILE).read_text())["findings"]


def run_as_of(inputs: Mapping[str, Path]) -> dt.date:
    """The run's ``as_of`` as the first stage settled it (the config's, else the data's
    last day); later stages read it rather than deciding again."""
    return dt.date.fromisoformat(stage_findings(inputs[STAGE_NAMES[0]])["as_of"])
