"""What a long step is doing and how far it has got, in the run's log and on the terminal.

One logger, ``customer_analytics.progress``, for every stage and the synthetic shop's
generator. A stage's notebook runs in a kernel of its own; under the runner, the kernel
sends these lines to the run's ``run.log`` (named by ``$CUSTOMER_ANALYTICS_RUN_LOG``)
and to the terminal the run was started from (:func:`attach`). Anywhere else (a
notebook opened by hand, a test, a benchmark) they go wherever logging is configured.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

RUN_LOG_ENV = "CUSTOMER_ANALYTICS_RUN_LOG"
log = logging.getLogger("customer_analytics.progress")
T = TypeVar("T")


def step(what: str, done: int | None = None, total: int | None = None) -> None:
    """Say what is being done now, and how far the work is: ``what (3 of 9)``."""
    log.info(what if total is None else f"{what} ({done} of {total})")


def steps(items: Iterable[T], what: Callable[[T], str], total: int | None = None) -> Iterator[T]:
    """Yield ``items``, saying before each what is being done with it and how far the
    work is (``total``, else the length of ``items``)."""
    items = list(items) if total is None else items
    total = len(items) if total is None else total
    for done, item in enumerate(items, start=1):
        step(what(item), done, total)
        yield item


def attach(stage: str) -> None:
    """In a stage's kernel under the runner: send the progress lines, named by the
    stage, to the run's log and to the terminal the run was started from (the kernel's
    own standard output, not the notebook's). Nothing happens outside a run, or twice."""
    path = os.environ.get(RUN_LOG_ENV)
    if not path or log.handlers:
        return
    log.setLevel(logging.INFO)
    log.propagate = False
    to_file = logging.FileHandler(path)
    to_file.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)s %(name)s: {stage}: %(message)s")
    )
    to_terminal = logging.StreamHandler(sys.__stdout__)
    to_terminal.setFormatter(logging.Formatter(f"%(asctime)s     {stage}: %(message)s", "%H:%M:%S"))
    log.addHandler(to_file)
    log.addHandler(to_terminal)
