"""Overload: 64 clients on one query, coopgraph's admission control vs the Oxigraph server's none.

    python bench/overload.py --size 100000 --clients 64 --seconds 30

Builds (once) the synthetic graph of ``--size`` triples with the real build,
starts ``coopgraph serve`` on it and ``oxigraph serve-read-only`` on a plain
store bulk-loaded with the same triples, and sends both the same SPARQL text:
the straightforward who-cooperates-with-whom query (partner country CN, sector
education, labels, ORDER BY, LIMIT 100), written with its values.

For each server, alternately: one client alone for ``--alone`` seconds (its
p50 is the single-client latency), then ``--clients`` clients, each sending
the next request as soon as the previous one is answered, for ``--seconds``.
Reported per run: answers by status, p50/p99 of the 200s and of the 503s,
connection errors, 200s whose body is not a complete SPARQL JSON result, and
the p99 of the 200s divided by the single-client p50. Between runs the script
waits until the server answers one request at its single-client speed again
(the Oxigraph server keeps working through what it accepted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH, VENV_BIN, free_port, machine, save, server  # noqa: E402
from bench.http_bench import plain_store  # noqa: E402
from bench.query_bench import built_store, union_triples  # noqa: E402
from bench.workload import calls  # noqa: E402
from coopgraph.backend import EmbeddedBackend  # noqa: E402

JSON = "application/sparql-results+json"
CALL = "cooperations (CN, education)"


@dataclass
class Run:
    ok: list[float] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)
    other: dict[int, int] = field(default_factory=dict)
    connection_errors: int = 0
    incomplete: int = 0

    def figures(self, seconds: float, alone_p50: float) -> dict[str, object]:
        ok_p99 = percentile(self.ok, 99)
        return {
            "requests_per_s": (len(self.ok) + len(self.refused) + sum(self.other.values())) / seconds,
            "answered_200": len(self.ok),
            "answered_200_per_s": len(self.ok) / seconds,
            "p50_200_ms": percentile(self.ok, 50) * 1000,
            "p99_200_ms": ok_p99 * 1000,
            "p99_200_over_alone_p50": ok_p99 / alone_p50 if alone_p50 else None,
            "refused_503": len(self.refused),
            "p50_503_ms": percentile(self.refused, 50) * 1000,
            "p99_503_ms": percentile(self.refused, 99) * 1000,
            "other_statuses": self.other,
            "connection_errors": self.connection_errors,
            "incomplete_200_bodies": self.incomplete,
        }


def percentile(values: list[float], pct: int) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def complete(body: bytes) -> bool:
    try:
        return "bindings" in json.loads(body)["results"]
    except (ValueError, KeyError, TypeError):
        return False


async def drive(url: str, clients: int, seconds: float) -> Run:
    run = Run()
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(http: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                response = await http.get(url, headers={"Accept": JSON})
            except httpx.HTTPError:
                run.connection_errors += 1
                await asyncio.sleep(0.05)
                continue
            took = time.perf_counter() - started
            if response.status_code == 200:
                run.ok.append(took)
                run.incomplete += not complete(response.content)
            elif response.status_code == 503:
                run.refused.append(took)
                retry = response.headers.get("Retry-After", "1")
                # A well-behaved client honours Retry-After; cap it so the run stays busy.
                await asyncio.sleep(min(float(retry) if retry.isdigit() else 1.0, 0.5))
            else:
                run.other[response.status_code] = run.other.get(response.status_code, 0) + 1

    async with httpx.AsyncClient(timeout=600, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return run


def alone(url: str, seconds: float) -> float:
    """Median latency of one client alone."""
    timings: list[float] = []
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=600) as http:
        while time.monotonic() < deadline or len(timings) < 3:
            started = time.perf_counter()
            response = http.get(url, headers={"Accept": JSON})
            response.raise_for_status()
            timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def drain(url: str, alone_p50: float, limit: float = 300) -> float:
    """Wait until one request is answered at about its single-client speed; the seconds waited."""
    started = time.monotonic()
    with httpx.Client(timeout=600) as http:
        while time.monotonic() - started < limit:
            before = time.perf_counter()
            response = http.get(url, headers={"Accept": JSON})
            if response.status_code == 200 and time.perf_counter() - before < 2 * alone_p50 + 0.05:
                break
            time.sleep(0.5)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--alone", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--work", type=Path, default=BENCH / ".work")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "overload.json")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    root = built_store(args.size, args.work)
    backend = EmbeddedBackend(root)
    call = next(c for c in calls(backend.store(), backend) if c.label == CALL)
    backend.close()
    triples = union_triples(root, args.work / f"dataset-{args.size}.nt")
    query = quote(call.inlined())
    ports = {"coopgraph": free_port(), "oxigraph": free_port()}
    commands = {
        "oxigraph serve-read-only": (
            [str(VENV_BIN / "oxigraph"), "serve-read-only", "--location", str(plain_store(args.size, args.work, triples)),
             "--bind", f"127.0.0.1:{ports['oxigraph']}"],
            ports["oxigraph"], "/query?query=ASK%7B%7D", f"/query?query={query}"),
        "coopgraph serve": (
            [str(VENV_BIN / "coopgraph"), "serve", "--store", str(root.root), "--port", str(ports["coopgraph"])],
            ports["coopgraph"], "/sparql?query=ASK%7B%7D", f"/sparql?query={query}"),
    }
    results: dict[str, object] = {"machine": machine(), "size": args.size, "clients": args.clients,
                                  "seconds": args.seconds, "call": CALL, "runs": []}
    with ExitStack() as stack:
        for command, port, ready, _path in commands.values():
            stack.enter_context(server(command, port, ready))
        for round_number in range(args.rounds):
            for name, (_command, port, _ready, path) in commands.items():
                url = f"http://127.0.0.1:{port}{path}"
                alone(url, 2)  # warm-up
                alone_p50 = alone(url, args.alone)
                run = asyncio.run(drive(url, args.clients, args.seconds))
                figures = {"server": name, "round": round_number + 1, "alone_p50_ms": alone_p50 * 1000,
                           **run.figures(args.seconds, alone_p50), "drain_s": drain(url, alone_p50)}
                results["runs"].append(figures)  # type: ignore[attr-defined]
                print(json.dumps(figures), file=sys.stderr)
    save(results, args.out)
    print(table(results))


def table(results: dict[str, object]) -> str:
    lines = [
        f"{results['clients']} clients for {results['seconds']:.0f} s, {results['size']:,} triples, `{results['call']}`:",
        "",
        "| server | alone p50 (ms) | 200/s | p50 of 200s (ms) | p99 of 200s (ms) | p99 ÷ alone p50 "
        "| 503s | p50 / p99 of 503s (ms) | other | connection errors | incomplete 200s | drain after (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for run in results["runs"]:  # type: ignore[attr-defined]
        lines.append(
            f"| {run['server']} | {run['alone_p50_ms']:.0f} | {run['answered_200_per_s']:.1f} | {run['p50_200_ms']:.0f} "
            f"| {run['p99_200_ms']:.0f} | {run['p99_200_over_alone_p50']:.1f}× | {run['refused_503']} "
            f"| {run['p50_503_ms']:.0f} / {run['p99_503_ms']:.0f} | {run['other_statuses'] or '–'} | {run['connection_errors']} "
            f"| {run['incomplete_200_bodies']} | {run['drain_s']:.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
