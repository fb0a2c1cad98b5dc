"""Kernels for stage notebooks: on local sockets, and started a stage ahead.

Every stage runs in a kernel of its own, which costs the kernel's start and the imports
of pandas, matplotlib, Ibis and the stage's package: two to three seconds a stage. The
runner starts the next stage's kernel while the current stage computes (:func:`start`),
with those imports done as the kernel starts (IPython's ``exec_lines``), so that kernel
is ready when its stage's turn comes.

A kernel reached over TCP without encryption warns about it at every start (ipykernel's
IPKernelApp); a kernel on this machine needs no network, so ours talk over IPC sockets
in Jupyter's private runtime folder, where that warning does not arise.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import nbformat
import papermill
from jupyter_client.manager import AsyncKernelManager, KernelManager
from jupyter_core.paths import jupyter_runtime_dir
from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger as papermill_log

KERNEL_NAME = "python3"
#: The papermill engine stage notebooks run on (:class:`_StageEngine`).
ENGINE = "customer_analytics"
#: Imported by every stage notebook: done while the kernel starts.
COMMON_IMPORTS = (
    "customer_analytics.pipeline.context",
    "customer_analytics.report.plots",
    "ibis.backends.duckdb",
    "IPython.display",
)
#: The cell the runner adds at the end of every stage notebook (:func:`execute`).
SETTLE = "from customer_analytics.pipeline.context import settle_figures\n\nsettle_figures()"


class _LocalSockets:
    """IPC sockets named after the kernel, in the runtime folder (absolute: the kernel
    and its client need not share a working folder)."""

    def __init__(self, **kwargs: Any) -> None:
        folder = Path(jupyter_runtime_dir())
        folder.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", str(folder / f"kernel-{uuid.uuid4().hex[:12]}-ipc"))
        super().__init__(**kwargs)


class LocalKernelManager(_LocalSockets, AsyncKernelManager):
    """The kernel manager of stage notebooks (papermill and nbclient are asynchronous)."""


class LocalSyncKernelManager(_LocalSockets, KernelManager):
    """The same for tools that drive kernels synchronously (nbval)."""


def start(package: str, cwd: Path, warm_up: str | None = None) -> LocalKernelManager:
    """A kernel for a stage of ``package``, started now in ``cwd``; the libraries every
    notebook uses and the stage's own package are imported as it starts, and the line
    ``warm_up`` run (the engine's session, :func:`~customer_analytics.pipeline.engine.warm_up`)."""
    km = LocalKernelManager(kernel_name=KERNEL_NAME)
    lines = [f"import {m}" for m in (*COMMON_IMPORTS, f"{package}.stage", f"{package}.report")]
    lines += [warm_up] if warm_up else []
    # No input history: a stage's cells are in its notebook, and the history database
    # grows with every run (under a file size limit its write failed the kernel's start).
    arguments = ["--HistoryManager.enabled=False"]
    arguments += [f"--IPKernelApp.exec_lines={line}" for line in lines]
    run_sync(km.start_kernel)(cwd=str(cwd), extra_arguments=arguments)
    return km


def stop(km: LocalKernelManager) -> None:
    """Shut a kernel down (its sockets and connection file go with it)."""
    if run_sync(km.is_alive)():
        run_sync(km.shutdown_kernel)(now=True)
    run_sync(km.cleanup_resources)()


class _StageEngine(NBClientEngine):
    """papermill's nbclient engine, except that the kernel client goes with the kernel
    when the notebook ends, also for a kernel started ahead: nbclient keeps the client
    of a kernel it did not start, whose sockets then warn as they are collected."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        **kwargs: Any,
    ) -> Any:
        kwargs.pop("input_path", None)
        client = PapermillNotebookClient(
            nb_man,
            kernel_name=kernel_name,
            shutdown_kernel="immediate",  # the notebook is done: no graceful wait
            startup_timeout=start_timeout,
            timeout=execution_timeout,
            log=papermill_log,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            **kwargs,
        )
        return client.execute(cleanup_kc=True)


papermill_engines.register(ENGINE, _StageEngine)


def execute(
    source: Path,
    executed: Path,
    parameters: dict[str, Any] | None = None,
    km: LocalKernelManager | None = None,
) -> None:
    """Execute a notebook with papermill into ``executed``, in its own folder, on ``km``
    (a kernel :func:`start` made ahead, shut down at the end) or a new local kernel.

    The notebook runs with one more cell at its end, seen on no page (tagged
    ``remove``): it settles the charts of the report's other languages that were drawn
    beside the kernel (:func:`customer_analytics.pipeline.context.settle_figures`).
    """
    notebook = nbformat.read(source, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(SETTLE, metadata={"tags": ["remove"]}))
    papermill.execute_notebook(
        notebook,
        str(executed),
        parameters=parameters or {},
        cwd=str(source.parent),
        engine_name=ENGINE,
        kernel_name=KERNEL_NAME,
        kernel_manager_class=LocalKernelManager,
        km=km,
        progress_bar=False,
        log_output=False,
    )
