"""Per-request overhead of coopgraph's /sparql against the Oxigraph server, same query, same data.

Both servers read the same store generation (read-only) with the union default
graph. After a warm-up, contenders alternate in rounds (so drift on a shared
machine hits both alike); each round sends a batch of requests with N client
threads, each a sequential httpx client. Reports median and p99 latency and
requests per second for each concurrency.

    python bench/sparql_overhead.py                       # builds the shipped data in a temp dir
    python bench/sparql_overhead.py --store ~/.local/share/coopgraph/store --rounds 10

Needs the ``oxigraph`` server binary (``pip install oxigraph``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

QUERY = """PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?class ?label WHERE { ?class a owl:Class ; rdfs:label ?label } ORDER BY ?class ?label"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {url}")
        try:
            if httpx.get(url, params={"query": "ASK {}"}, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not start: {url}")


@contextmanager
def running(command: list[str], url: str, env: dict[str, str] | None = None) -> Iterator[str]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def batch(url: str, requests: int, concurrency: int) -> tuple[list[float], float]:
    """Send ``requests`` queries from ``concurrency`` threads; return latencies and wall time."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = [requests // concurrency + (1 if i < requests % concurrency else 0) for i in range(concurrency)]

    def client(count: int) -> None:
        mine = []
        with httpx.Client(timeout=60, headers={"Accept": "application/sparql-results+json"}) as http:
            for _ in range(count):
                started = time.perf_counter()
                response = http.get(url, params={"query": QUERY})
                mine.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in per_thread]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, help="A coopgraph store root (default: build the shipped data).")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=200, help="Requests per round and contender.")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--workers", type=int, default=2, help="coopgraph query worker processes.")
    arguments = parser.parse_args()

    oxigraph = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    coopgraph = shutil.which("coopgraph") or str(Path(sys.executable).with_name("coopgraph"))
    with tempfile.TemporaryDirectory() as scratch:
        store = arguments.store
        if store is None:
            store = Path(scratch) / "store"
            subprocess.run([coopgraph, "build", "--store", str(store)], check=True)
        generation = (store / "current").resolve()
        ox_port, cg_port = free_port(), free_port()
        env = {**os.environ, "COOPGRAPH_WORKERS": str(arguments.workers), "COOPGRAPH_QUEUE_SIZE": "64"}
        env.pop("COOPGRAPH_UPDATE_TOKEN", None)
        with (
            running(
                [oxigraph, "serve-read-only", "--location", str(generation),
                 "--bind", f"127.0.0.1:{ox_port}", "--union-default-graph"],
                f"http://127.0.0.1:{ox_port}/query",
            ) as ox_url,
            running(
                [coopgraph, "serve", "--store", str(store), "--port", str(cg_port)],
                f"http://127.0.0.1:{cg_port}/sparql",
                env,
            ) as cg_url,
        ):
            contenders = {"oxigraph serve-read-only": ox_url, f"coopgraph serve ({arguments.workers} workers)": cg_url}
            for url in contenders.values():
                batch(url, 100, 4)  # warm-up: connections, caches, worker stores
            print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
                  f"{platform.release()}, Python {platform.python_version()}")
            print(f"Query ({arguments.rounds} rounds x {arguments.requests} requests per contender):\n{QUERY}\n")
            print("| contender | concurrency | median ms | p99 ms | requests/s |")
            print("|---|---|---|---|---|")
            for concurrency in arguments.concurrency:
                latencies: dict[str, list[float]] = {name: [] for name in contenders}
                walls: dict[str, float] = {name: 0.0 for name in contenders}
                names = list(contenders)
                for round_number in range(arguments.rounds):
                    # Alternate who goes first, so neither always runs on a warmer or quieter machine.
                    for name in names if round_number % 2 == 0 else names[::-1]:
                        measured, wall = batch(contenders[name], arguments.requests, concurrency)
                        latencies[name] += measured
                        walls[name] += wall
                for name in names:
                    values = latencies[name]
                    print(f"| {name} | {concurrency} | {statistics.median(values) * 1000:.2f} | "
                          f"{percentile(values, 0.99) * 1000:.2f} | {len(values) / walls[name]:.0f} |")


if __name__ == "__main__":
    main()
