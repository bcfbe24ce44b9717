"""A bounded load test on loopback: concurrent clients mixing every surface for a fixed time.

    python bench/load.py --url http://127.0.0.1:8000 --clients 32 --seconds 60 [--explosive]

Each client loops over a mix of canned queries, SPARQL SELECT and CONSTRUCT,
resource pages and a dump until the time is up; the run reports requests/s,
p50/p99 latency, 5xx answers (503 from admission control counted apart) and
connection errors. ``--explosive`` adds one client that keeps sending a
cartesian product, to show the others keep their latency. Loopback only,
bounded in time; it stops by itself.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

import httpx

SELECT = "SELECT ?a ?b WHERE { ?a <https://w3id.org/coopgraph/ontology#cooperatesWith> ?b } LIMIT 50"
CONSTRUCT = (
    "CONSTRUCT { ?p ?q ?o } WHERE { ?p a <https://w3id.org/coopgraph/ontology#Partnership> ; ?q ?o } LIMIT 200"
)
EXPLOSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
MIX: list[tuple[str, dict[str, str], dict[str, str]]] = [
    ("/api/queries/partners-of", {"authority": "Rhône-Alpes"}, {}),
    ("/api/queries/cooperations", {"country": "FR", "partnerCountry": "CN"}, {}),
    ("/api/queries/network-members", {"network": "Four Motors for Europe"}, {}),
    ("/sparql", {"query": SELECT}, {"Accept": "application/sparql-results+json"}),
    ("/sparql", {"query": CONSTRUCT}, {"Accept": "text/turtle"}),
    ("/id/authority/lyon", {}, {"Accept": "text/html"}),
    ("/id/partnership/rhone-alpes--shanghai", {}, {"Accept": "text/turtle"}),
    ("/dumps/coopgraph.nq", {}, {}),
]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    connection_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, seconds: float, status: int | None) -> None:
        with self.lock:
            if status is None:
                self.connection_errors += 1
                return
            self.latencies.append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1


def client(base: str, deadline: float, tally: Tally, offset: int) -> None:
    with httpx.Client(base_url=base, timeout=60) as http:
        index = offset
        while time.monotonic() < deadline:
            path, params, headers = MIX[index % len(MIX)]
            index += 1
            started = time.perf_counter()
            try:
                status = http.get(path, params=params, headers=headers).status_code
            except httpx.HTTPError:
                status = None
            tally.record(time.perf_counter() - started, status)


def explosive(base: str, deadline: float, tally: Tally) -> None:
    with httpx.Client(base_url=base, timeout=120) as http:
        while time.monotonic() < deadline:
            try:
                status = http.get("/sparql", params={"query": EXPLOSIVE}).status_code
            except httpx.HTTPError:
                status = None
            tally.record(0.0, status)


def run(base: str, clients: int, seconds: float, with_explosive: bool = False) -> dict[str, object]:
    """Run the load and return its figures (the explosive client's answers are reported apart)."""
    host = urlparse(base).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the load test only targets this machine (127.0.0.1)")
    tally, slow = Tally(), Tally()
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(base, deadline, tally, n)) for n in range(clients)]
    if with_explosive:
        threads.append(threading.Thread(target=explosive, args=(base, deadline, slow)))
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(tally.latencies)
    server_errors = sum(n for status, n in tally.statuses.items() if status >= 500 and status != 503)
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 1) if latencies else None,
        "statuses": dict(sorted(tally.statuses.items())),
        "server_errors": server_errors,
        "overloaded_503": tally.statuses.get(503, 0),
        "connection_errors": tally.connection_errors,
        "explosive_statuses": dict(sorted(slow.statuses.items())) if with_explosive else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--explosive", action="store_true")
    arguments = parser.parse_args()
    print(json.dumps(run(arguments.url, arguments.clients, arguments.seconds, arguments.explosive), indent=2))


if __name__ == "__main__":
    main()
