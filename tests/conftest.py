"""Shared fixtures: a store built once from the shipped data, an app over it, a real server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from coopgraph.backend import Backend
from coopgraph.build import build
from coopgraph.config import Settings
from coopgraph.executor import PooledBackend
from coopgraph.store import StoreRoot
from coopgraph.web.app import create_app
from coopgraph.web.server import uvicorn_config

PREFIXES = """
PREFIX coop: <https://w3id.org/coopgraph/ontology#>
PREFIX id: <https://w3id.org/coopgraph/id/>
PREFIX authority: <https://w3id.org/coopgraph/id/authority/>
PREFIX partnership: <https://w3id.org/coopgraph/id/partnership/>
PREFIX network: <https://w3id.org/coopgraph/id/network/>
PREFIX membership: <https://w3id.org/coopgraph/id/membership/>
PREFIX actor: <https://w3id.org/coopgraph/id/actor/>
PREFIX project: <https://w3id.org/coopgraph/id/project/>
PREFIX person: <https://w3id.org/coopgraph/id/person/>
PREFIX office: <https://w3id.org/coopgraph/id/office/>
PREFIX sector: <https://w3id.org/coopgraph/id/sector/>
PREFIX kind: <https://w3id.org/coopgraph/id/partnership-kind/>
PREFIX atype: <https://w3id.org/coopgraph/id/authority-type/>
PREFIX actype: <https://w3id.org/coopgraph/id/actor-type/>
PREFIX role: <https://w3id.org/coopgraph/id/role/>
PREFIX status: <https://w3id.org/coopgraph/id/status/>
PREFIX country: <https://w3id.org/coopgraph/id/country/>
PREFIX source: <https://w3id.org/coopgraph/id/source/>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX dcat: <http://www.w3.org/ns/dcat#>
"""


@pytest.fixture(scope="session")
def store_root(tmp_path_factory: pytest.TempPathFactory) -> StoreRoot:
    """The shipped data, built once for the whole session (tests must not write to it)."""
    root = StoreRoot(tmp_path_factory.mktemp("store"))
    build(root)
    return root


@pytest.fixture(scope="session")
def settings(store_root: StoreRoot) -> Settings:
    return Settings(store=store_root.root, timeout=5.0)


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A real uvicorn server on 127.0.0.1 in a background thread (closes ``backend`` when done)."""

    def __init__(self, settings: Settings, backend: Backend | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.backend = backend
        settings = settings.model_copy(update={"host": "127.0.0.1"})
        config = uvicorn_config(create_app(settings, backend), settings, port=self.port)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        if self.backend is not None:
            self.backend.close()


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The app as served: queries run in a pool of worker processes."""
    with LiveServer(settings, PooledBackend.from_settings(settings)) as server:
        yield server


@pytest.fixture
def fresh_root(tmp_path: Path) -> StoreRoot:
    """An empty store root of its own, for tests that build, import or update."""
    return StoreRoot(tmp_path / "store")
