"""The update token never appears in what `coopgraph serve` writes out, nor in any answer."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from coopgraph.build import build
from coopgraph.store import StoreRoot
from tests.conftest import free_port
from tests.serve_process import start_server, stop

INSERT = 'INSERT DATA { GRAPH <urn:x-test:g> { <urn:x-test:s> <urn:x-test:p> "token test" } }'


def test_the_update_token_is_never_written_out_nor_echoed(tmp_path: Path) -> None:
    root = tmp_path / "store"
    build(StoreRoot(root))
    token, wrong = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = start_server(root, port, env={"COOPGRAPH_UPDATE_TOKEN": token}, output=output)
        try:
            url = f"http://127.0.0.1:{port}/sparql"
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
            stop(server)

    statuses = [a.status_code for a in answers]
    assert statuses[0] == 204 and statuses[1] == statuses[2] == statuses[4] == 403 and statuses[3] == 400, statuses
    assert all(s >= 400 for s in statuses[5:]), statuses
    for answer in answers:
        assert token not in answer.text and wrong not in answer.text
        assert all(token not in value and wrong not in value for value in answer.headers.values())
    written = log.read_bytes()
    assert token.encode() not in written and wrong.encode() not in written
