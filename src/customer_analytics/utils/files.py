"""Files a run writes: copies that never alias their source, and temporaries that a
killed process left behind.

A temporary folder or file is named ``<prefix><pid>-<random>`` by the process writing
it, so a later run can tell one still being written (its process is alive) from one
abandoned by a process that was killed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from customer_analytics.utils.processes import process_alive


def temporary_name(prefix: str) -> str:
    """The start of a temporary's name for this process: ``<prefix><pid>-``."""
    return f"{prefix}{os.getpid()}-"


def remove_abandoned(folder: Path, prefix: str) -> list[Path]:
    """Remove the temporaries named ``<prefix>...`` in ``folder`` whose process is gone.

    Names without a process id (written before temporaries carried one) count as
    abandoned. Returns what was removed.
    """
    removed = []
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        if not path.name.startswith(prefix):
            continue
        pid = path.name.removeprefix(prefix).partition("-")[0]
        if pid.isdigit() and process_alive(int(pid)):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def copy_tree(src: Path, dst: Path) -> None:
    """Copy a folder's files into ``dst`` (made if missing), replacing files of the same
    name. Copies, never links: editing the copy cannot change the source."""
    for item in sorted(src.rglob("*")):
        target = dst / item.relative_to(src)
        if item.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        shutil.copy2(item, target)
