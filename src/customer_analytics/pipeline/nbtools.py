"""Keep committed notebooks clean: no outputs except the cells nbval checks.

``python -m customer_analytics.pipeline.nbtools refresh RUN_DIR`` executes every stage notebook
against a finished run (as nbval does, through ``$CUSTOMER_ANALYTICS_RUN_DIR``) and
stores back only the outputs of cells marked ``# NBVAL_CHECK_OUTPUT``;
``python -m customer_analytics.pipeline.nbtools strip`` removes all other outputs.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat

from customer_analytics.config import RUN_DIR_ENV, project_root

CHECK = "# NBVAL_CHECK_OUTPUT"


def is_checked(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith(CHECK)


def strip(
    nb: nbformat.NotebookNode, checked_from: nbformat.NotebookNode | None = None
) -> nbformat.NotebookNode:
    """Remove outputs and execution counts, keeping (or taking from ``checked_from``) checked cells' outputs."""
    source = checked_from.cells if checked_from is not None else nb.cells
    for cell, executed in zip(nb.cells, source, strict=True):
        if cell.cell_type != "code":
            continue
        keep = is_checked(cell)
        cell.outputs = [o for o in executed.outputs if _checkable(o)] if keep else []
        for out in cell.outputs:
            out.pop("execution_count", None)
        # nbval compares only cells that look executed: give checked cells a count.
        cell.execution_count = 1 if keep else None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
    nb.metadata.pop("papermill", None)
    return nb


def _checkable(output: nbformat.NotebookNode) -> bool:
    """Text a checked cell prints or shows (``st.show`` displays markdown); not images,
    whose bytes change with any library's drawing."""
    if output.output_type != "display_data":
        return True
    return not any(kind.startswith("image/") for kind in output.get("data", {}))


def notebooks() -> list[Path]:
    return sorted((project_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def refresh(run_dir: str) -> None:
    """Re-execute each notebook against ``run_dir`` and store its checked outputs."""
    from customer_analytics.pipeline.kernels import execute

    os.environ[RUN_DIR_ENV] = str(Path(run_dir).resolve())
    for path in notebooks():
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / path.name
            execute(path, out)
            executed = nbformat.read(out, as_version=4)
        nb = nbformat.read(path, as_version=4)
        executed.cells = executed.cells[: len(nb.cells)]  # without the runner's settling cell
        nbformat.write(strip(nb, checked_from=executed), path)
        print(f"refreshed {path.name}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["refresh"] and len(argv) == 2:
        refresh(argv[1])
    elif argv[:1] == ["strip"]:
        for path in notebooks():
            nbformat.write(strip(nbformat.read(path, as_version=4)), path)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
