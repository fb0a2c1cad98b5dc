"""Processes of this machine: is one alive, and worker pools that end with their parent."""

from __future__ import annotations

import os
import threading
import time

#: Seconds between a worker's looks at its parent.
WATCH_SECONDS = 0.5


def process_alive(pid: int) -> bool:
    """Whether a process of this machine with id ``pid`` is running."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process (or no such id)
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def end_with_parent(parent: int) -> None:
    """Make this (worker) process exit once ``parent`` has gone.

    A pool's initializer: a killed run's kernel takes its worker processes with it,
    instead of leaving them computing (and holding memory) with no one to report to.
    A daemon thread looks at the parent's id twice a second; when the process is
    re-parented, the parent died.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()
