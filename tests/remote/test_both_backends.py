"""The same requests on the embedded store and on a real Oxigraph server give the same answers.

``embedded`` is the app as ``coopgraph serve`` runs it (worker pool over the
store built from the shipped data); ``remote`` is the app over an Oxigraph
server loaded with ``coopgraph build --sparql-endpoint`` from the same data.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
import pyoxigraph as ox
import pytest

from coopgraph.store import GRAPH_BASE
from tests.conftest import PREFIXES, LiveServer
from tests.remote.conftest import OxigraphServer, coopgraph_command
from tests.web.test_sparql_protocol import (
    ASK,
    CONSTRUCT,
    DESCRIBE,
    JSON,
    NTRIPLES,
    SELECT,
    TSV,
    TURTLE,
    XML,
    media_type,
)

BACKENDS = ("embedded", "remote")

GRAPH_SIZES = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
PARTNERS_OF_LYON = PREFIXES + """
SELECT ?partner ?label WHERE {
  authority:lyon coop:cooperatesWith ?partner . ?partner rdfs:label ?label FILTER(LANG(?label) = "fr")
} ORDER BY ?partner"""
CONSTRUCT_AUTHORITIES = PREFIXES + "CONSTRUCT { ?a a coop:Authority ; coop:country ?c } WHERE { ?a a coop:Authority ; coop:country ?c }"

# (what, method, path and query parameters or body, Accept): each compared byte for byte or as RDF graphs.
SPARQL_REQUESTS = [
    ("select-json", "GET", SELECT, JSON),
    ("select-xml", "POST", SELECT, XML),
    ("select-csv", "GET", SELECT, "text/csv"),
    ("select-tsv", "POST", SELECT, TSV),
    ("ask", "GET", ASK, JSON),
    ("graph-sizes", "GET", GRAPH_SIZES, JSON),
    ("inferred-cooperation", "POST", PARTNERS_OF_LYON, JSON),
    ("construct-turtle", "GET", CONSTRUCT_AUTHORITIES, TURTLE),
    ("construct-ntriples", "POST", CONSTRUCT_AUTHORITIES, NTRIPLES),
    ("describe", "GET", DESCRIBE, TURTLE),
    ("construct-limit", "GET", CONSTRUCT, NTRIPLES),
]


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest) -> LiveServer:
    """Each backend in turn."""
    name = "live_server" if request.param == "embedded" else "remote_live_server"
    found: LiveServer = request.getfixturevalue(name)
    return found


@pytest.fixture
def both(live_server: LiveServer, remote_live_server: LiveServer) -> tuple[LiveServer, LiveServer]:
    return live_server, remote_live_server


def sparql(server: LiveServer, method: str, query: str, accept: str, **params: str) -> httpx.Response:
    headers = {"Accept": accept}
    if method == "GET":
        return httpx.get(f"{server.url}/sparql", params={"query": query, **params}, headers=headers, timeout=30)
    return httpx.post(
        f"{server.url}/sparql",
        params=params,
        content=query.encode(),
        headers={**headers, "Content-Type": "application/sparql-query"},
        timeout=30,
    )


def graph(response: httpx.Response) -> set[ox.Triple]:
    fmt = ox.RdfFormat.from_media_type(media_type(response))
    assert fmt is not None
    return {quad.triple for quad in ox.parse(response.content, fmt)}


@pytest.mark.parametrize(("what", "method", "query", "accept"), SPARQL_REQUESTS, ids=[r[0] for r in SPARQL_REQUESTS])
def test_sparql_answers_are_identical(
    both: tuple[LiveServer, LiveServer], what: str, method: str, query: str, accept: str
) -> None:
    embedded, remote = (sparql(server, method, query, accept) for server in both)
    assert embedded.status_code == remote.status_code == 200, (embedded.text, remote.text)
    assert embedded.headers["content-type"] == remote.headers["content-type"]
    if what == "construct-limit":
        # Five triples, which five is up to each engine: same size, all from the data.
        assert len(graph(embedded)) == len(graph(remote)) == 5
    elif media_type(remote) in (TURTLE, NTRIPLES):
        assert graph(embedded) == graph(remote)
        assert graph(remote)
    else:
        assert embedded.content == remote.content
    if what == "graph-sizes":
        # Every named graph arrived whole, and no staging graph was left behind.
        sizes = ox.parse_query_results(remote.content, ox.QueryResultsFormat.JSON)
        names = [row["g"].value for row in sizes]  # type: ignore[union-attr]
        assert names and all(name.startswith(GRAPH_BASE) for name in names)
        assert {GRAPH_BASE + "inferred", GRAPH_BASE + "void", GRAPH_BASE + "reference"} <= set(names)


def test_dataset_parameters_are_honoured_alike(both: tuple[LiveServer, LiveServer]) -> None:
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    named = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"
    ontology, thesauri = GRAPH_BASE + "ontology", GRAPH_BASE + "thesauri"
    answers = []
    for server in both:
        only_ontology = sparql(server, "GET", count, JSON, **{"default-graph-uri": ontology})
        only_thesauri = sparql(server, "POST", named, JSON, **{"named-graph-uri": thesauri})
        everything = sparql(server, "GET", count, JSON)
        answers.append((only_ontology.content, only_thesauri.content, everything.content))
    assert answers[0] == answers[1]
    ontology_count, thesauri_graphs, total_count = answers[1]
    assert ontology_count != total_count
    assert thesauri.encode() in thesauri_graphs and ontology.encode() not in thesauri_graphs


# (path, parameters): every canned query's example, and variations of it.
def canned_requests(server: LiveServer) -> list[tuple[str, str]]:
    listed = httpx.get(f"{server.url}/api/queries", timeout=30).json()["queries"]
    requests = []
    for query in listed:
        example = urlsplit(query["exampleUrl"])
        requests.append((example.path, example.query))
        requests.append((example.path, "&".join(filter(None, (example.query, "lang=fr", "limit=3", "offset=1")))))
    return requests


def canonical(page: dict[str, object]) -> dict[str, object]:
    """A page with its links made relative (each server has its port) and unordered GROUP_CONCAT lists sorted."""
    links = page["page"]
    assert isinstance(links, dict)
    for key in ("next", "prev"):
        if links.get(key):
            links[key] = urlsplit(links[key])._replace(scheme="", netloc="").geturl()
    results = page["results"]
    assert isinstance(results, list)
    for row in results:
        for column, value in row.items():
            if isinstance(value, str) and "; " in value:
                row[column] = "; ".join(sorted(value.split("; ")))
            elif column == "sectors" and isinstance(value, str):
                row[column] = " ".join(sorted(value.split()))
    return page


def test_canned_queries_answer_identically(both: tuple[LiveServer, LiveServer]) -> None:
    embedded, remote = both
    requests = canned_requests(embedded)
    assert len(requests) >= 10
    for path, query in requests:
        answers = [httpx.get(f"{server.url}{path}?{query}", timeout=30) for server in both]
        assert answers[0].status_code == answers[1].status_code == 200, (path, query, answers[1].text)
        assert canonical(answers[0].json()) == canonical(answers[1].json()), (path, query)
        for accept in ("text/csv", "application/sparql-results+json"):
            by_format = [httpx.get(f"{s.url}{path}?{query}", headers={"Accept": accept}, timeout=30) for s in both]
            assert by_format[0].headers["content-type"] == by_format[1].headers["content-type"]
            if path.rsplit("/", 1)[-1] != "projects":
                assert by_format[0].content == by_format[1].content, (path, query, accept)


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/queries/partners-of", {"authority": "Atlantis"}, 404),
        ("/api/queries/partners-of", {}, 422),
        ("/api/queries/partners-of", {"authority": 'x" } ?s ?p ?o {'}, 404),
        ("/api/queries/cooperations", {"since": "1980'} UNION {?s ?p ?o"}, 422),
        ("/sparql", {"query": "SELECT WHERE {"}, 400),
        ("/sparql", {"query": "SELECT * WHERE { ?s ?p ?o }", "default-graph-uri": "not an iri"}, 422),
    ],
)
def test_bad_input_gets_the_same_status_and_error(
    both: tuple[LiveServer, LiveServer], path: str, params: dict[str, str], status: int
) -> None:
    answers = [httpx.get(f"{server.url}{path}", params=params, timeout=30) for server in both]
    assert [a.status_code for a in answers] == [status, status], [a.text for a in answers]
    bodies = [a.json() for a in answers]
    assert bodies[0]["error"] == bodies[1]["error"]
    assert bodies[1]["message"] and "Traceback" not in answers[1].text and "/tmp" not in answers[1].text


def test_not_acceptable_is_refused_before_the_store_is_asked(server: LiveServer) -> None:
    response = sparql(server, "GET", SELECT, TURTLE)
    assert response.status_code == 406


def test_reads_carry_an_etag_and_revalidate_with_304(server: LiveServer) -> None:
    url = f"{server.url}/api/queries/partners-of"
    first = httpx.get(url, params={"authority": "Lyon"}, timeout=30)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = httpx.get(url, params={"authority": "Lyon"}, timeout=30)
    assert again.headers["etag"] == etag
    fresh = httpx.get(url, params={"authority": "Lyon"}, headers={"If-None-Match": etag}, timeout=30)
    assert fresh.status_code == 304 and fresh.content == b""
    other = httpx.get(url, params={"authority": "Lyon", "lang": "fr"}, headers={"If-None-Match": etag}, timeout=30)
    assert other.status_code == 200 and other.headers["etag"] != etag
    query = sparql(server, "GET", SELECT, JSON)
    revalidated = httpx.get(
        f"{server.url}/sparql", params={"query": SELECT}, headers={"Accept": JSON, "If-None-Match": query.headers["etag"]}
    )
    assert revalidated.status_code == 304


def test_a_new_build_changes_every_etag_of_the_remote_store(
    remote_live_server: LiveServer, oxigraph_server: OxigraphServer
) -> None:
    url = f"{remote_live_server.url}/sparql"
    before = httpx.get(url, params={"query": ASK}, timeout=30)
    loaded = coopgraph_command("build", "--sparql-endpoint", oxigraph_server.query_endpoint)
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded" in loaded.stdout
    deadline = time.monotonic() + 5
    while True:  # the data version is re-read at most every second
        after = httpx.get(url, params={"query": ASK}, headers={"If-None-Match": before.headers["etag"]}, timeout=30)
        if after.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert after.content == before.content


def test_store_down_gives_clear_502_and_service_resumes(
    remote_live_server: LiveServer, oxigraph_server: OxigraphServer
) -> None:
    canned_url = f"{remote_live_server.url}/api/queries/partners-of"
    lyon = {"authority": "Lyon"}
    assert httpx.get(canned_url, params=lyon, timeout=30).status_code == 200
    oxigraph_server.stop()
    try:
        for url, params in ((f"{remote_live_server.url}/sparql", {"query": SELECT}), (canned_url, lyon)):
            started = time.monotonic()
            down = httpx.get(url, params=params, timeout=30)
            assert time.monotonic() - started < 10
            assert down.status_code in (502, 503), down.text
            assert down.json()["error"] in ("UpstreamError", "StoreUnavailable")
            assert "cannot be reached" in down.json()["message"]
            assert "etag" not in down.headers
            assert "127.0.0.1" not in down.text
    finally:
        oxigraph_server.start()
    deadline = time.monotonic() + 10
    while (back := httpx.get(canned_url, params=lyon, timeout=30)).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert back.status_code == 200
    assert any(row["partnerLabel"] for row in back.json()["results"])
