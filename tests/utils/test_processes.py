"""A worker pool started with end_with_parent dies with the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from customer_analytics.utils.processes import process_alive

#: A parent that starts two loky workers on long tasks, prints their ids, then waits.
PARENT = """
import os, sys, time
from joblib import Parallel, delayed
from customer_analytics.utils.processes import end_with_parent

def work(i):
    print(os.getpid(), flush=True)
    time.sleep(120)

Parallel(n_jobs=2, backend="loky", initializer=end_with_parent, initargs=(os.getpid(),))(
    delayed(work)(i) for i in range(2)
)
"""


def test_workers_end_when_their_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    workers = {int(parent.stdout.readline()) for _ in range(2)}
    assert all(process_alive(pid) for pid in workers)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 30
    while any(process_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(process_alive(pid) for pid in workers), "workers outlived their parent"


def test_a_finished_process_is_not_alive() -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert not process_alive(int(done.stdout)) and process_alive(os.getpid())
