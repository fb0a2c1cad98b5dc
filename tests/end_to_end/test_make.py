"""The Makefile's targets, run for real: `make lab` starts JupyterLab and serves it."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, token: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def _stop(process: subprocess.Popen) -> None:
    """Stop make and the JupyterLab it started (one process group)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_make_lab_serves_jupyterlab(tmp_path):
    """`make lab` starts a JupyterLab that answers HTTP, as root too (as here and in CI).

    The server is headless through LAB_ARGS; PYTHON is this interpreter (the venv's), so
    make uses the installed .venv and never makes another.
    """
    port = _free_port()
    token = secrets.token_hex(16)
    log = tmp_path / "make-lab.log"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    lab_args = (
        f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 "
        f"--IdentityProvider.token={token}"
    )
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                "lab",
                f"PYTHON={sys.executable}",
                f"LAB_ARGS={lab_args}",
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            status = None
            deadline = time.monotonic() + 180  # generous: only there so a hang cannot last
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    status = _get(f"http://127.0.0.1:{port}/api/status", token)
                    break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    time.sleep(0.5)
            exited = process.poll()
            assert status is not None, (
                f"make lab never answered on port {port} (make exited with {exited}):\n"
                + log.read_text()[-3000:]
            )
            code, body = status
            assert code == 200 and "started" in json.loads(body)
            code, page = _get(f"http://127.0.0.1:{port}/lab", token)
            assert code == 200 and "JupyterLab" in page
        finally:
            _stop(process)
