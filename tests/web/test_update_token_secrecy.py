"""The update token never appears in what `coopgraph serve` writes out, nor in any answer."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from coopgraph.build import build
from coopgraph.store import StoreRoot

COOPGRAPH = ["coopgraph"] if shutil.which("coopgraph") else [sys.executable, "-m", "coopgraph.cli"]
INSERT = 'INSERT DATA { GRAPH <urn:x-test:g> { <urn:x-test:s> <urn:x-test:p> "token test" } }'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_update_token_is_never_written_out_nor_echoed(tmp_path: Path) -> None:
    root = tmp_path / "store"
    build(StoreRoot(root))
    token, wrong = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603 - our own command
            [*COOPGRAPH, "serve", "--store", str(root), "--port", str(port)],
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "COOPGRAPH_UPDATE_TOKEN": token},
        )
        try:
            url = f"http://127.0.0.1:{port}/sparql"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(url, params={"query": "ASK {}"}, timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            answers = [
                httpx.post(url, data={"update": INSERT}, headers={"Authorization": f"Bearer {token}"}),
                httpx.post(url, data={"update": INSERT}, headers={"Authorization": f"Bearer {wrong}"}),
                httpx.post(url, data={"update": INSERT}, headers={"Authorization": f"Basic {token}"}),
                httpx.post(url, data={"update": "INSERT NOTHING"}, headers={"Authorization": f"Bearer {token}"}),
                httpx.post(url, content=INSERT, headers={"Content-Type": "application/sparql-update",
                                                         "Authorization": f"Bearer {wrong}"}),
                # A token put in the URL by mistake is refused like any other unknown thing.
                httpx.post(f"{url}?access_token={token}", data={"update": INSERT}),
                httpx.get(url, params={"update": INSERT, "access_token": token}),
            ]
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)

    statuses = [a.status_code for a in answers]
    assert statuses[0] == 204 and statuses[1] == statuses[2] == statuses[4] == 403 and statuses[3] == 400, statuses
    assert all(s >= 400 for s in statuses[5:]), statuses
    for answer in answers:
        assert token not in answer.text and wrong not in answer.text
        assert all(token not in value and wrong not in value for value in answer.headers.values())
    written = log.read_bytes()
    assert token.encode() not in written and wrong.encode() not in written
