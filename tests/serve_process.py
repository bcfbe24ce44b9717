"""`coopgraph serve` as a real process of its own, for tests that stop, kill or watch it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

COOPGRAPH = ["coopgraph"] if shutil.which("coopgraph") else [sys.executable, "-m", "coopgraph.cli"]


def start_server(
    root: Path, port: int, env: dict[str, str] | None = None, output: IO[bytes] | int = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    """Start ``coopgraph serve`` over ``root`` in a session of its own; return once it answers."""
    process = subprocess.Popen(  # noqa: S603 - our own command
        [*COOPGRAPH, "serve", "--store", str(root), "--port", str(port)],
        stdout=output, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/queries", timeout=5).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    stop(process, signal.SIGKILL)
    raise RuntimeError("coopgraph serve did not start")


def stop(process: subprocess.Popen[bytes], how: signal.Signals = signal.SIGTERM) -> None:
    """Send ``how`` to the server and its query workers (what a service manager does), and wait."""
    os.killpg(process.pid, how)
    process.wait(timeout=30)
