"""Throughput of one vs two ``coopgraph serve --sparql-endpoint`` replicas over one Oxigraph server.

Starts ``oxigraph serve --union-default-graph`` in a temporary folder, loads it
with ``coopgraph build --sparql-endpoint`` (the shipped data), then for each
replica count starts that many ``coopgraph serve`` processes over it and drives
them for a fixed time with an asyncio client keeping ``--concurrency`` requests
in flight, spread round-robin over the replicas (what nginx's default
``upstream`` does). Everything binds 127.0.0.1.

Request mix, cycled: a canned query by name (``partners-of?authority=…``), a
name search (``authorities?q=lyon``), and a SPARQL SELECT on ``/sparql``. The ``revalidate`` scenario sends the same requests with the
``If-None-Match`` of a first answer: what clients behind an HTTP cache cost.

    python bench/replicas.py --duration 15 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

VENV_BIN = Path(sys.executable).parent
SELECT = (
    "SELECT ?c ?label WHERE { ?c a <http://www.w3.org/2002/07/owl#Class> ; "
    "<http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?c ?label"
)
REQUESTS = [
    ("/api/queries/partners-of", {"authority": "Rhône-Alpes"}),
    ("/api/queries/authorities", {"q": "lyon"}),
    ("/sparql", {"query": SELECT}),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command(name: str) -> str:
    found = VENV_BIN / name if (VENV_BIN / name).exists() else shutil.which(name)
    if found is None:
        sys.exit(f"`{name}` is missing (pip install oxigraph, and coopgraph itself).")
    return str(found)


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{url}: the process exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit(f"{url} did not answer within {seconds:g} s")


@contextmanager
def running(arguments: list[str], ready_url: str, env: dict[str, str] | None = None) -> Iterator[None]:
    process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)  # noqa: S603
    try:
        wait_for(ready_url, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Figures:
    scenario: str
    replicas: int
    concurrency: int
    seconds: float
    requests: int
    errors: int
    requests_per_second: float
    median_ms: float
    p99_ms: float


async def drive(urls: list[str], concurrency: int, duration: float, revalidate: bool) -> tuple[int, int, list[float]]:
    """Keep ``concurrency`` requests in flight for ``duration`` s, round-robin over ``urls``."""
    latencies: list[float] = []
    errors = 0
    counter = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        etags: dict[tuple[str, int], str] = {}
        if revalidate:
            for url in urls:
                for index, (path, params) in enumerate(REQUESTS):
                    etags[(url, index)] = (await client.get(url + path, params=params)).headers["etag"]
        deadline = time.monotonic() + duration

        async def worker() -> None:
            nonlocal errors, counter
            while time.monotonic() < deadline:
                counter += 1
                url = urls[counter % len(urls)]
                index = (counter // len(urls)) % len(REQUESTS)
                path, params = REQUESTS[index]
                headers = {"If-None-Match": etags[(url, index)]} if revalidate else {}
                started = time.perf_counter()
                try:
                    response = await client.get(url + path, params=params, headers=headers)
                    ok = response.status_code == (304 if revalidate else 200)
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), errors, latencies


def measure(
    query_endpoint: str, replicas: int, concurrency: int, duration: float, workers: int, revalidate: bool
) -> Figures:
    ports = [free_port() for _ in range(replicas)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COOPGRAPH_")}
    with ExitStack() as stack:
        for port in ports:
            stack.enter_context(
                running(
                    [
                        command("coopgraph"), "serve",
                        "--sparql-endpoint", query_endpoint,
                        "--port", str(port),
                        "--workers", str(workers),
                    ],
                    f"http://127.0.0.1:{port}/api/queries",
                    env=environment,
                )
            )
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        asyncio.run(drive(urls, concurrency, 2.0, revalidate))  # warm-up: connections, name index
        started = time.monotonic()
        count, errors, latencies = asyncio.run(drive(urls, concurrency, duration, revalidate))
        elapsed = time.monotonic() - started
    ordered = sorted(latencies)
    return Figures(
        scenario="revalidate (304)" if revalidate else "full answers (200)",
        replicas=replicas,
        concurrency=concurrency,
        seconds=round(elapsed, 1),
        requests=count,
        errors=errors,
        requests_per_second=round(count / elapsed, 1),
        median_ms=round(statistics.median(ordered) * 1000, 1),
        p99_ms=round(ordered[min(len(ordered) - 1, int(0.99 * (len(ordered) - 1)))] * 1000, 1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load per measurement")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workers", type=int, default=8, help="queries each replica sends to the store at once")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="coopgraph-replicas-") as folder:
        port = free_port()
        query_endpoint = f"http://127.0.0.1:{port}/query"
        oxigraph = [
            command("oxigraph"), "serve", "--location", folder, "--bind", f"127.0.0.1:{port}",
            "--union-default-graph", "--timeout-s", "30",
        ]
        with running(oxigraph, f"{query_endpoint}?query=ASK%7B%7D"):
            loaded = subprocess.run(  # noqa: S603
                [command("coopgraph"), "build", "--sparql-endpoint", query_endpoint],
                capture_output=True, text=True, check=False,
            )
            if loaded.returncode != 0:
                sys.exit(loaded.stderr)
            print(loaded.stdout.strip(), file=sys.stderr)
            results = [
                measure(query_endpoint, replicas, args.concurrency, args.duration, args.workers, revalidate)
                for revalidate in (False, True)
                for replicas in args.replicas
            ]
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print("| scenario | replicas | concurrency | requests/s | median ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|")
    for figures in results:
        print(
            f"| {figures.scenario} | {figures.replicas} | {figures.concurrency} | {figures.requests_per_second:g} "
            f"| {figures.median_ms:g} | {figures.p99_ms:g} | {figures.errors} |"
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(f) for f in results], indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
