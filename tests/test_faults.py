"""Faults: a killed import leaves the previous data served; error bodies never leak internals."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from coopgraph.build import build
from coopgraph.cli import app
from coopgraph.store import StoreRoot

runner = CliRunner()
HEADER = (
    "authority,authority_type,authority_country,partner,partner_type,partner_country,kind,"
    "start_year,sectors,source,source_publisher,source_date,source_language"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> StoreRoot:
    root = StoreRoot(tmp_path_factory.mktemp("faults") / "store")
    build(root)
    return root


def export(root: StoreRoot) -> bytes:
    return runner.invoke(app, ["export", "--store", str(root.root), "--format", "nq"]).stdout_bytes


def test_an_import_killed_half_way_leaves_the_previous_data(built: StoreRoot, tmp_path: Path) -> None:
    root = StoreRoot(tmp_path / "store")
    shutil.copytree(built.root, root.root, symlinks=True)
    before, version = export(root), root.version()
    rows = [f"Town {n},municipality,FR,Ville {n},municipality,DE,twinning,1990,,A report,Someone,2020,fr" for n in range(3000)]
    csv_file = tmp_path / "many.csv"
    csv_file.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "coopgraph.cli", "import", "--store", str(root.root), str(csv_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list(root.root.glob("staging-*")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    assert process.poll() is None, "the import finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert root.version() == version
    assert export(root) == before
    assert not (root.root / "imports" / "many.ttl").exists()
    # The next import cleans up what the killed one left and succeeds.
    result = runner.invoke(app, ["import", "--store", str(root.root), str(csv_file)])
    assert result.exit_code == 0, result.output
    assert not list(root.root.glob("staging-*"))
    assert root.version() != version


BAD_REQUESTS = [
    ("GET", "/sparql", {"query": "SELECT WHERE {"}, None),
    ("GET", "/sparql", {"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"}, None),
    ("POST", "/sparql", None, ("text/plain", b"SELECT * WHERE { ?s ?p ?o }")),
    ("POST", "/sparql", None, ("application/sparql-update", b"DROP ALL")),
    ("GET", "/api/queries/no-such-query", None, None),
    ("GET", "/api/queries/partners-of", {"authority": "Nowhere-sur-Mer"}, None),
    ("GET", "/api/queries/partners-of", {"authority": "Vienne"}, None),
    ("GET", "/api/queries/projects", {"year": "nineteen"}, None),
    ("GET", "/api/queries/cooperations", {"country": "ZZZ"}, None),
    ("GET", "/id/authority/nowhere", None, None),
    ("GET", "/id/../../etc/passwd", None, None),
    ("GET", "/dumps/coopgraph.xlsx", None, None),
]


@pytest.mark.parametrize(("method", "path", "params", "body"), BAD_REQUESTS)
def test_error_bodies_say_what_went_wrong_without_internals(
    live_server: object, method: str, path: str, params: dict[str, str] | None, body: tuple[str, bytes] | None
) -> None:
    headers = {"Content-Type": body[0]} if body else {}
    response = httpx.request(
        method, f"{live_server.url}{path}", params=params, content=body[1] if body else None,  # type: ignore[attr-defined]
        headers={**headers, "Accept": "application/json"}, timeout=30,
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    text = response.text
    for leak in ("Traceback", "/work/", "/tmp/", '.py"', "site-packages", "File \""):
        assert leak not in text, f"{leak!r} in the error body: {text[:300]}"
    if response.headers.get("content-type", "").startswith("application/json"):
        message = response.json().get("message") or response.json().get("detail")
        assert message, text
