"""Shared helpers of the benchmark scripts: timing statistics, peak memory, servers, the machine.

Nothing here is specific to one contender; every measurement alternates the
contenders in the same process run after a warm-up (see the scripts using it).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

BENCH = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent


@dataclass
class Timings:
    """Durations of one contender (seconds)."""

    samples: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.samples.append(seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def p99(self) -> float:
        if not self.samples:
            return float("nan")
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def alternate(contenders: dict[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict[str, Timings]:
    """Run each contender ``warmup`` times, then ``rounds`` times in turn (A B C A B C…)."""
    for _ in range(warmup):
        for run in contenders.values():
            run()
    timings = {name: Timings() for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            timings[name].add(time.perf_counter() - start)
    return timings


class PeakRss:
    """Polls the resident memory of a process and its children; ``peak`` in bytes."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval, self.peak, self.last = pid, interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.last = tree_rss(self.pid)
            self.peak = max(self.peak, self.last)
            time.sleep(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def tree_rss(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (bytes); 0 once it has exited."""
    try:
        process = psutil.Process(pid)
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def run_measured(command: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Run ``command`` to completion: (wall seconds, peak RSS of its process tree, stderr+stdout)."""
    start = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own commands
        list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    with PeakRss(process.pid, 0.02) as peak:
        output, _ = process.communicate()
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{output.decode()[-2000:]}")
    return elapsed, peak.peak, output.decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(
    command: Sequence[str], port: int, ready_path: str, timeout: float = 600.0, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server, wait until ``ready_path`` answers, yield it, and always stop it (its whole group)."""
    (BENCH / ".work").mkdir(exist_ok=True)
    log = open(BENCH / ".work" / f"server-{port}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # noqa: S603 - our own commands
        list(command), stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **(env or {})}
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited early; see {log.name}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=30).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not answer within {timeout:.0f} s")
            time.sleep(0.2)
        yield process
    finally:
        try:
            os.killpg(process.pid, 15)
            process.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, 9)
            process.wait()
        log.close()


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )
    versions = {}
    for package in ("pyoxigraph", "oxigraph", "rdflib", "pyshacl", "rdflib-endpoint", "fastapi", "uvicorn", "coopgraph"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:  # noqa: BLE001 - a missing package is reported as such
            versions[package] = "not installed"
    wrk = shutil.which("wrk")
    return {
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "python": platform.python_version(),
        "system": platform.platform(),
        "wrk": subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout.split("\n")[0] if wrk else "absent",  # noqa: S603
        **versions,
    }


def save(results: dict[str, object], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}" if seconds == seconds else "–"


def mib(size: int) -> str:
    return f"{size / 2**20:.0f}"
