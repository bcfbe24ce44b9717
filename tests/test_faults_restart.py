"""A `coopgraph serve` restarted under load, and a build published under load: nothing half-written is ever seen."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from coopgraph.build import build
from coopgraph.store import StoreRoot
from tests.conftest import free_port
from tests.serve_process import COOPGRAPH, start_server, stop

SELECT = "SELECT ?a ?b WHERE { ?a <https://w3id.org/coopgraph/ontology#cooperatesWith> ?b } ORDER BY ?a ?b LIMIT 50"
REQUESTS = [
    ("/api/queries/partners-of", {"authority": "Lyon"}, "application/json"),
    ("/sparql", {"query": SELECT}, "application/sparql-results+json"),
    ("/id/authority/lyon", {}, "text/turtle"),
]


def complete(content_type: str, body: bytes) -> bool:
    """Whether ``body`` is a whole answer of its kind (a cut answer would not parse)."""
    try:
        if content_type.startswith("text/turtle"):
            return len(list(ox.parse(body, ox.RdfFormat.TURTLE))) > 0
        parsed = json.loads(body)
        return bool(parsed.get("results") is not None)
    except (ValueError, SyntaxError):
        return False


@dataclass
class Clients:
    """Threads sending the request mix in a loop, recording what they get."""

    port: int
    statuses: Counter[int] = field(default_factory=Counter)
    incomplete: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    connection_errors: int = 0
    versions: set[str] = field(default_factory=set)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, offset: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30) as http:
            index = offset
            while not self.stopping.is_set():
                path, params, accept = REQUESTS[index % len(REQUESTS)]
                index += 1
                try:
                    response = http.get(path, params=params, headers={"Accept": accept})
                except httpx.HTTPError:
                    with self.lock:
                        self.connection_errors += 1
                    time.sleep(0.05)
                    continue
                with self.lock:
                    self.statuses[response.status_code] += 1
                    if response.status_code != 200:
                        self.refusals.append(f"{response.status_code} {path}: {response.text[:200]}")
                    if response.status_code == 200:
                        if not complete(response.headers.get("content-type", ""), response.content):
                            self.incomplete.append(path)
                        if "etag" in response.headers and path == "/sparql":
                            self.versions.add(response.headers["etag"])


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[tuple[Path, Clients, list[threading.Thread]]]:
    root = tmp_path / "store"
    build(StoreRoot(root))
    clients = Clients(free_port())
    threads = [threading.Thread(target=clients.run, args=(i,), daemon=True) for i in range(4)]
    yield root, clients, threads
    clients.stopping.set()
    for thread in threads:
        thread.join(timeout=60)


def canned_rows(port: int) -> list[dict[str, str]]:
    response = httpx.get(f"http://127.0.0.1:{port}/api/queries/partners-of", params={"authority": "Lyon"}, timeout=30)
    response.raise_for_status()
    return list(response.json()["results"])


@pytest.mark.timeout(240)
def test_a_server_stopped_and_killed_under_load_comes_back_with_the_same_data(
    loaded: tuple[Path, Clients, list[threading.Thread]],
) -> None:
    root, clients, threads = loaded
    server = start_server(root, clients.port)
    before = canned_rows(clients.port)
    for thread in threads:
        thread.start()
    try:
        for how in (signal.SIGTERM, signal.SIGKILL):
            time.sleep(2)
            served_before = clients.statuses[200]
            stop(server, how)
            time.sleep(0.5)
            server = start_server(root, clients.port)
            time.sleep(2)
            assert clients.statuses[200] > served_before, f"no answer after the restart ({how.name})"
    finally:
        clients.stopping.set()
        for thread in threads:
            thread.join(timeout=60)
        after = canned_rows(clients.port)
        stop(server, signal.SIGTERM)

    assert after == before
    assert clients.connection_errors > 0  # the server really was down for a while
    assert set(clients.statuses) == {200}, clients.refusals  # never a 5xx, before, between or after
    assert clients.incomplete == []


@pytest.mark.timeout(240)
def test_a_build_published_under_load_is_seen_whole_or_not_at_all(
    loaded: tuple[Path, Clients, list[threading.Thread]],
) -> None:
    root, clients, threads = loaded
    server = start_server(root, clients.port)
    version_before = httpx.get(f"http://127.0.0.1:{clients.port}/sparql", params={"query": SELECT},
                               headers={"Accept": "application/sparql-results+json"}).headers["etag"]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        rebuilt = subprocess.run([*COOPGRAPH, "build", "--store", str(root)], capture_output=True, text=True, timeout=180)  # noqa: S603
        assert rebuilt.returncode == 0, rebuilt.stderr
        served_at_publish = clients.statuses[200]
        time.sleep(2)
        assert clients.statuses[200] > served_at_publish
    finally:
        clients.stopping.set()
        for thread in threads:
            thread.join(timeout=60)
        stop(server, signal.SIGTERM)

    assert clients.connection_errors == 0
    assert set(clients.statuses) == {200}, clients.refusals
    assert clients.incomplete == []
    # The readers moved to the new generation (its ETag) without a restart.
    assert version_before in clients.versions and len(clients.versions) == 2, clients.versions
