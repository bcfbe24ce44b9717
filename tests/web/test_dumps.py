"""Dumps of the whole graph: every format, counts that match the store, streaming, gzip."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import httpx
import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from coopgraph.backend import EmbeddedBackend
from coopgraph.config import Settings
from coopgraph.store import StoreRoot
from tests.conftest import LiveServer

FORMATS = [
    ("coopgraph.nq", "application/n-quads", ox.RdfFormat.N_QUADS),
    ("coopgraph.trig", "application/trig", ox.RdfFormat.TRIG),
    ("coopgraph.ttl", "text/turtle", ox.RdfFormat.TURTLE),
    ("coopgraph.nt", "application/n-triples", ox.RdfFormat.N_TRIPLES),
    ("coopgraph.jsonld", "application/ld+json", ox.RdfFormat.JSON_LD),
    ("coopgraph.rdf", "application/rdf+xml", ox.RdfFormat.RDF_XML),
]


def canonical(quads: object) -> set[tuple[str, str, str, str]]:
    """Quads without blank-node labels (labels differ between serialisations, the rest must not)."""
    def term(t: object) -> str:
        return "_:b" if isinstance(t, ox.BlankNode) else str(t)
    return {(term(q.subject), str(q.predicate), term(q.object), str(q.graph_name)) for q in quads}  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def expected(store_root: StoreRoot) -> dict[str, object]:
    store = store_root.open_current()
    quads = list(store)
    triples = {q.triple for q in quads}
    return {"quads": len(quads), "triples": len(triples), "quad_set": canonical(quads)}


@pytest.mark.parametrize(("filename", "media_type", "fmt"), FORMATS)
def test_dump_parses_with_the_store_counts(
    client: TestClient, expected: dict[str, object], filename: str, media_type: str, fmt: ox.RdfFormat
) -> None:
    response = client.get(f"/dumps/{filename}", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert "content-encoding" not in response.headers
    parsed = list(ox.parse(response.content, fmt))
    if fmt.supports_datasets:
        assert len(parsed) == expected["quads"]
        assert canonical(parsed) == expected["quad_set"]
    else:
        assert len({q.triple for q in parsed}) == expected["triples"]
        assert all(q.graph_name == ox.DefaultGraph() for q in parsed)


def test_accept_encoding_gzip_compresses_the_stream(client: TestClient, expected: dict[str, object]) -> None:
    with client.stream("GET", "/dumps/coopgraph.nq", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.headers["content-encoding"] == "gzip"
        assert "Accept-Encoding" in response.headers["vary"]
        compressed = b"".join(response.iter_raw())
    assert compressed[:2] == b"\x1f\x8b"
    assert len(list(ox.parse(gzip.decompress(compressed), ox.RdfFormat.N_QUADS))) == expected["quads"]


def test_gz_name_is_a_gzip_file(client: TestClient, expected: dict[str, object]) -> None:
    response = client.get("/dumps/coopgraph.ttl.gz", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/gzip"
    assert "content-encoding" not in response.headers
    assert response.headers["content-disposition"] == 'attachment; filename="coopgraph.ttl.gz"'
    triples = {q.triple for q in ox.parse(gzip.decompress(response.content), ox.RdfFormat.TURTLE)}
    assert len(triples) == expected["triples"]


def test_gzip_refused_with_q_zero_is_not_used(client: TestClient) -> None:
    response = client.get("/dumps/coopgraph.nt", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in response.headers


@pytest.mark.parametrize("name", ["coopgraph.csv", "store", "coopgraph.nq.zip", "pyproject.toml"])
def test_unknown_dump_is_404_naming_the_dumps(client: TestClient, name: str) -> None:
    response = client.get(f"/dumps/{name}")
    assert response.status_code == 404
    assert "coopgraph.nq" in response.json()["message"]


def test_dump_names_cannot_reach_files(client: TestClient) -> None:
    response = client.get("/dumps/..%2f..%2fpyproject.toml")
    assert response.status_code == 404
    assert b"[project]" not in response.content


def test_head_gives_the_headers_without_a_body(client: TestClient) -> None:
    response = client.head("/dumps/coopgraph.trig")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/trig")
    assert response.content == b""


def test_index_page_lists_every_dump(client: TestClient) -> None:
    response = client.get("/dumps/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    for filename, _media_type, _fmt in FORMATS:
        assert f'href="/dumps/{filename}"' in response.text
        assert f'href="/dumps/{filename}.gz"' in response.text


@pytest.fixture(scope="module")
def embedded_server(settings: Settings, store_root: StoreRoot) -> Iterator[LiveServer]:
    """A real server over the embedded backend, whose dump capability streams from the store."""
    with LiveServer(settings, EmbeddedBackend(store_root)) as server:
        yield server


def _chunks(url: str, headers: dict[str, str]) -> tuple[httpx.Headers, list[bytes]]:
    with httpx.stream("GET", url, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        return response.headers, list(response.iter_raw())


@pytest.mark.parametrize("server_name", ["embedded_server", "live_server"])
def test_dump_arrives_chunked_in_several_chunks(
    request: pytest.FixtureRequest, server_name: str, expected: dict[str, object]
) -> None:
    """Over a socket the body is sent with chunked transfer, in many pieces, never as one buffer."""
    server = request.getfixturevalue(server_name)
    headers, chunks = _chunks(f"{server.url}/dumps/coopgraph.nq", {"Accept-Encoding": "identity"})
    assert headers["transfer-encoding"] == "chunked"
    assert "content-length" not in headers
    assert len(chunks) > 3
    body = b"".join(chunks)
    assert len(list(ox.parse(body, ox.RdfFormat.N_QUADS))) == expected["quads"]


def test_compressed_dump_streams_too(embedded_server: LiveServer, expected: dict[str, object]) -> None:
    headers, chunks = _chunks(f"{embedded_server.url}/dumps/coopgraph.nq", {"Accept-Encoding": "gzip"})
    assert headers["content-encoding"] == "gzip" and headers["transfer-encoding"] == "chunked"
    assert len(list(ox.parse(gzip.decompress(b"".join(chunks)), ox.RdfFormat.N_QUADS))) == expected["quads"]


def test_client_leaving_half_way_does_not_stop_the_server(embedded_server: LiveServer) -> None:
    with httpx.stream("GET", f"{embedded_server.url}/dumps/coopgraph.nt", timeout=30) as response:
        next(response.iter_raw())
    again = httpx.get(f"{embedded_server.url}/dumps/coopgraph.nt", timeout=30)
    assert again.status_code == 200 and again.content.endswith(b".\n")
