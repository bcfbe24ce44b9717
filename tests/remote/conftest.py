"""A real Oxigraph server, loaded with ``coopgraph build --sparql-endpoint``, and coopgraph served over it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from coopgraph.config import Settings
from coopgraph.remote import RemoteBackend
from tests.conftest import LiveServer, free_port

SERVER_TIMEOUT_S = 5


def executable(name: str) -> Path:
    """A command installed next to this Python (the venv's ``bin``), or on the ``PATH``."""
    beside = Path(sys.executable).parent / name
    found = beside if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(
            f"The `{name}` command is missing; the remote-backend tests need it "
            "(pip install oxigraph, part of the test extra).",
            pytrace=False,
        )
    return Path(found)


class OxigraphServer:
    """``oxigraph serve --union-default-graph`` on 127.0.0.1, a free port and its own folder; restartable."""

    def __init__(self, location: Path) -> None:
        self.binary = executable("oxigraph")
        self.location = location
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.query_endpoint = f"{self.url}/query"
        self.update_endpoint = f"{self.url}/update"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            [
                str(self.binary), "serve",
                "--location", str(self.location),
                "--bind", f"127.0.0.1:{self.port}",
                "--union-default-graph",
                "--timeout-s", str(SERVER_TIMEOUT_S),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"oxigraph serve exited with {self.process.returncode}: {stderr}")
            try:
                if httpx.get(self.query_endpoint, params={"query": "ASK {}"}, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("oxigraph serve did not answer within 30 s")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def coopgraph_command(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the ``coopgraph`` command as a user would, with a clean environment of its own."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COOPGRAPH_")}
    return subprocess.run(  # noqa: S603 - a fixed command line
        [str(executable("coopgraph")), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        check=False,
    )


@contextmanager
def loaded_oxigraph_server(location: Path) -> Iterator[OxigraphServer]:
    """A running Oxigraph server holding the shipped data, loaded through the CLI as a user would."""
    server = OxigraphServer(location)
    server.start()
    try:
        loaded = coopgraph_command("build", "--sparql-endpoint", server.query_endpoint)
        assert loaded.returncode == 0, loaded.stderr
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    with loaded_oxigraph_server(tmp_path_factory.mktemp("oxigraph")) as server:
        yield server


@pytest.fixture(scope="session")
def remote_settings(settings: Settings, oxigraph_server: OxigraphServer) -> Settings:
    """The embedded settings' limits, with the Oxigraph server as the store."""
    return settings.model_copy(update={"sparql_endpoint": oxigraph_server.query_endpoint, "workers": 4})


@pytest.fixture(scope="session")
def remote_live_server(remote_settings: Settings) -> Iterator[LiveServer]:
    """coopgraph served by a real uvicorn over the Oxigraph server."""
    with LiveServer(remote_settings, RemoteBackend.from_settings(remote_settings)) as server:
        yield server
