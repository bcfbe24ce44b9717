"""HTTP figures: coopgraph (canned API and /sparql) vs the Oxigraph server vs rdflib-endpoint.

    python bench/http_bench.py --sizes 10000 100000 [--seconds 5] [--concurrency 1 8 32]

Per size, every server is started by this script on 127.0.0.1 over the same
data (the coopgraph store; the Oxigraph server on a plain store bulk-loaded
with its union; rdflib-endpoint on an rdflib graph of the same triples), checked
to give the same number of rows, and loaded with ``wrk`` for a fixed time per
(call, concurrency), contenders alternating, after a one-second warm-up each.
The peak RSS of ``coopgraph serve`` (with its query workers) is polled, idle
after start-up and under load. Every server is stopped before the script ends.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import pyoxigraph as ox

from bench.common import BENCH, VENV_BIN, PeakRss, free_port, mib, save, server, tree_rss
from bench.query_bench import built_store, union_triples
from bench.workload import BENCH_QUERIES, Call, calls
from coopgraph.backend import EmbeddedBackend

JSON = "application/sparql-results+json"
HTTP_CALLS = ("cooperations (CN, education)", "cooperations shaped (CN, education)", "partners-of hub")


@dataclass(frozen=True)
class Target:
    """One contender answering one call: the path to GET and the Accept header."""

    contender: str
    port: int
    path: str
    accept: str

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


def rows_of(target: Target) -> tuple[int, float]:
    """(rows, seconds) of one request: the check that every server answers the same, and its cost."""
    started = time.perf_counter()
    response = httpx.get(target.url(), headers={"Accept": target.accept}, timeout=600)
    response.raise_for_status()
    body = response.json()
    rows = len(body["results"]["bindings"] if "bindings" in body["results"] else body["results"])
    return rows, time.perf_counter() - started


def settle(target: Target, alone: float, limit: float = 300.0) -> None:
    """Wait until ``target`` answers one request at about its single-request speed again.

    A server keeps working through the requests wrk left queued when its window
    closed (rdflib-endpoint for minutes at 100 k triples); the next contender
    must not be measured while that backlog shares the cores.
    """
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        started = time.perf_counter()
        # A refusal (503 while a backlog drains) is not settled either.
        status = httpx.get(target.url(), headers={"Accept": target.accept}, timeout=600).status_code
        if status == 200 and time.perf_counter() - started <= 2 * alone + 0.05:
            return
        time.sleep(0.5)


def sequential(target: Target, count: int) -> dict[str, float]:
    """``count`` requests one after the other (for calls slower than a wrk window: no backlog is left)."""
    durations = [rows_of(target)[1] for _ in range(count)]
    return {"rps": count / sum(durations), "p50": sorted(durations)[count // 2], "p99": max(durations),
            "requests": count, "errors": 0}


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(target: Target, concurrency: int, seconds: float) -> dict[str, float]:
    """Requests/s, p50, p99 and errors of ``wrk`` hitting ``target`` with ``concurrency`` connections."""
    command = ["wrk", "-t", str(min(concurrency, 2)), "-c", str(concurrency), "-d", f"{max(1, round(seconds))}s",
               "--timeout", "120s", "--latency", "-H", f"Accept: {target.accept}", target.url()]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    errors += int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", output)) else 0
    total_rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    return {
        # Successful answers per second: refusals (503 from admission control) are counted as errors.
        "rps": total_rps * (requests - min(errors, requests)) / requests if requests else 0.0,
        "p50": _seconds(percentiles["50"]) if "50" in percentiles and requests else float("nan"),
        "p99": _seconds(percentiles["99"]) if "99" in percentiles and requests else float("nan"),
        "requests": requests,
        "errors": errors,
    }


def queries_folder(work: Path) -> Path:
    """The shipped canned queries plus the bench's shaped ones, for ``coopgraph serve``."""
    from coopgraph.resources import resource_dir

    folder = work / "queries"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in [*resource_dir("queries").glob("*.rq"), *BENCH_QUERIES.glob("*.rq")]:
        shutil.copy(path, folder / path.name)
    return folder


def plain_store(size: int, work: Path, triples: Path) -> Path:
    """A plain pyoxigraph store bulk-loaded with ``triples`` (for the Oxigraph server)."""
    location = work / f"plain-{size}"
    stamp = location / ".source"
    if not stamp.exists() or stamp.read_text() != triples.with_suffix(".generation").read_text():
        shutil.rmtree(location, ignore_errors=True)
        store = ox.Store(str(location))
        store.bulk_load(path=str(triples), format=ox.RdfFormat.N_TRIPLES)
        store.flush()
        del store
        stamp.write_text(triples.with_suffix(".generation").read_text())
    return location


def bench_size(size: int, work: Path, seconds: float, levels: list[int], rdflib_max: int,
               contenders_wanted: set[str]) -> dict[str, object]:
    root = built_store(size, work)
    backend = EmbeddedBackend(root)
    workload = [c for c in calls(backend.store(), backend) if c.label in HTTP_CALLS]
    triples = union_triples(root, work / f"dataset-{size}.nt")
    backend.close()
    ports = {name: free_port() for name in ("coopgraph", "oxigraph", "rdflib-endpoint")}
    commands = {
        "coopgraph": [str(VENV_BIN / "coopgraph"), "serve", "--store", str(root.root), "--port", str(ports["coopgraph"])],
        "oxigraph": [str(VENV_BIN / "oxigraph"), "serve-read-only", "--location", str(plain_store(size, work, triples)),
                     "--bind", f"127.0.0.1:{ports['oxigraph']}"],
        "rdflib-endpoint": [sys.executable, str(BENCH / "rdflib_server.py"), str(triples), str(ports["rdflib-endpoint"])],
    }
    ready = {"coopgraph": "/api/queries", "oxigraph": "/query?query=ASK%7B%7D", "rdflib-endpoint": "/?query=ASK%7B%7D"}
    env = {"coopgraph": {"COOPGRAPH_QUERIES_DIR": str(queries_folder(work))}}
    wanted = [n for n in commands if n in contenders_wanted and (n != "rdflib-endpoint" or size <= rdflib_max)]
    result: dict[str, object] = {"size": size, "cells": [], "memory": {}}
    from contextlib import ExitStack

    with ExitStack() as stack:
        processes = {}
        for name in wanted:
            started = time.perf_counter()
            processes[name] = stack.enter_context(server(commands[name], ports[name], ready[name], env=env.get(name)))
            time.sleep(1.0)
            result["memory"][name] = {"startup_s": time.perf_counter() - started,  # type: ignore[index]
                                      "idle_rss": tree_rss(processes[name].pid)}
        peaks = {name: stack.enter_context(PeakRss(process.pid, 0.1)) for name, process in processes.items()}
        for call in workload:
            targets = targets_for(call, ports, wanted)
            checked = {t.contender: rows_of(t) for t in targets}
            rows = {name: min(n, 100) for name, (n, _) in checked.items()}
            if len(set(rows.values())) != 1:
                raise AssertionError(f"{call.label}: the servers disagree on the number of rows: {rows}")
            # A contender slower than half a window would leave queued work that slows the next one
            # down: it is measured alone, with sequential requests, at concurrency 1 only.
            slow = {name for name, (_, took) in checked.items() if took > seconds / 2}
            for target in targets:
                if target.contender not in slow:
                    wrk(target, 1, 1)  # warm-up
            for level in levels:
                for target in targets:
                    if target.contender in slow and level != 1:
                        continue
                    figures = sequential(target, 3) if target.contender in slow else wrk(target, level, seconds)
                    settle(target, checked[target.contender][1])
                    result["cells"].append({"call": call.label, "contender": target.contender,  # type: ignore[attr-defined]
                                            "concurrency": level, "rows": rows[target.contender], **figures})
                    print(f"{size:>9} c={level:<3} {call.label:38s} {target.contender:22s} "
                          f"{figures['rps']:8.1f} req/s p50 {figures['p50'] * 1000:8.1f} ms "
                          f"p99 {figures['p99'] * 1000:8.1f} ms errors {figures['errors']}", file=sys.stderr)
        for name, peak in peaks.items():
            result["memory"][name]["peak_rss_under_load"] = max(peak.peak, result["memory"][name]["idle_rss"])  # type: ignore[index]
    return result


def targets_for(call: Call, ports: dict[str, int], wanted: list[str]) -> list[Target]:
    query = quote(call.inlined())
    out = []
    if "coopgraph" in wanted:
        out.append(Target("coopgraph canned", ports["coopgraph"], call.url(), "application/json"))
        out.append(Target("coopgraph /sparql", ports["coopgraph"], f"/sparql?query={query}", JSON))
    if "oxigraph" in wanted:
        out.append(Target("oxigraph server", ports["oxigraph"], f"/query?query={query}", JSON))
    if "rdflib-endpoint" in wanted:
        out.append(Target("rdflib-endpoint", ports["rdflib-endpoint"], f"/?query={query}", JSON))
    return out


def summary(results: list[dict[str, object]]) -> str:
    lines = ["| triples | call | concurrency | contender | req/s | p50 (ms) | p99 (ms) | errors | p50 ÷ oxigraph | req/s ÷ oxigraph |",
             "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for result in results:
        cells = result["cells"]
        for cell in cells:  # type: ignore[attr-defined]
            reference = next((c for c in cells if c["call"] == cell["call"] and c["concurrency"] == cell["concurrency"]  # type: ignore[attr-defined]
                              and c["contender"] == "oxigraph server"), None)
            ratio_p50 = f"{cell['p50'] / reference['p50']:.2f}×" if reference else "–"
            ratio_rps = f"{cell['rps'] / reference['rps']:.2f}×" if reference else "–"
            lines.append(f"| {result['size']:,} | {cell['call']} | {cell['concurrency']} | {cell['contender']} "
                         f"| {cell['rps']:.1f} | {cell['p50'] * 1000:.1f} | {cell['p99'] * 1000:.1f} | {cell['errors']} "
                         f"| {ratio_p50} | {ratio_rps} |")
    lines += ["", "| triples | server | start-up (s) | idle RSS (MiB) | peak RSS under load (MiB) |", "|---:|---|---:|---:|---:|"]
    for result in results:
        for name, memory in result["memory"].items():  # type: ignore[attr-defined]
            lines.append(f"| {result['size']:,} | {name} | {memory['startup_s']:.1f} | {mib(memory['idle_rss'])} "
                         f"| {mib(memory.get('peak_rss_under_load', 0))} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seconds", type=float, default=5.0, help="Duration of each wrk run.")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rdflib-max", type=int, default=100_000)
    parser.add_argument("--contenders", nargs="+", default=["coopgraph", "oxigraph", "rdflib-endpoint"])
    parser.add_argument("--work", type=Path, default=BENCH / ".work")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "http.json")
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    arguments.work.mkdir(parents=True, exist_ok=True)
    results = [bench_size(size, arguments.work, arguments.seconds, arguments.concurrency, arguments.rdflib_max,
                          set(arguments.contenders)) for size in arguments.sizes]
    save({"http": results}, arguments.out)
    print(summary(results))


if __name__ == "__main__":
    main()
