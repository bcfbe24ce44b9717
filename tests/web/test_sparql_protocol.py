"""The SPARQL 1.1 Protocol at /sparql, against a real uvicorn server with the worker pool."""

from __future__ import annotations

import csv
import http.client
import io
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import httpx
import pyoxigraph as ox
import pytest

from coopgraph.build import build
from coopgraph.config import Settings
from coopgraph.executor import PooledBackend
from coopgraph.store import GRAPH_BASE, StoreRoot
from tests.conftest import PREFIXES, LiveServer

SELECT = "SELECT ?class WHERE { ?class a <http://www.w3.org/2002/07/owl#Class> } ORDER BY ?class LIMIT 5"
ASK = "ASK { ?s a <http://www.w3.org/2002/07/owl#Class> }"
CONSTRUCT = "CONSTRUCT { ?s a ?c } WHERE { ?s a ?c } LIMIT 5"
DESCRIBE = "DESCRIBE <https://w3id.org/coopgraph/ontology#Authority>"
EXPLOSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"

JSON = "application/sparql-results+json"
XML = "application/sparql-results+xml"
TSV = "text/tab-separated-values"
TURTLE = "text/turtle"
NTRIPLES = "application/n-triples"

ONTOLOGY_GRAPH = GRAPH_BASE + "ontology"
THESAURI_GRAPH = GRAPH_BASE + "thesauri"


def sparql_url(server: LiveServer) -> str:
    return server.url + "/sparql"


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


def check_body(response: httpx.Response, form: str) -> None:
    """The body parses in the format the Content-Type names, and holds an answer."""
    produced = media_type(response)
    assert "charset=utf-8" in response.headers["content-type"]
    if produced == "text/csv":
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows and (rows == [["true"]] if form == "ask" else rows[0] == ["class"] and len(rows) > 1)
        return
    results_format = ox.QueryResultsFormat.from_media_type(produced)
    if results_format is not None:
        parsed = ox.parse_query_results(response.content, results_format)
        if form == "ask":
            assert isinstance(parsed, ox.QueryBoolean) and bool(parsed)
        else:
            assert isinstance(parsed, ox.QuerySolutions)
            assert [v.value for v in parsed.variables] == ["class"]
            assert len(list(parsed)) == 5
        return
    rdf_format = ox.RdfFormat.from_media_type(produced)
    assert rdf_format is not None, produced
    triples = list(ox.parse(response.content, rdf_format))
    assert triples


# (query form, Accept, format=, expected status, expected media type)
NEGOTIATION = [
    ("select", None, None, 200, JSON),
    ("select", JSON, None, 200, JSON),
    ("select", "application/json", None, 200, JSON),
    ("select", XML, None, 200, XML),
    ("select", "application/xml", None, 200, XML),
    ("select", "text/csv", None, 200, "text/csv"),
    ("select", TSV, None, 200, TSV),
    ("select", "*/*", None, 200, JSON),
    ("select", "text/*", None, 200, "text/csv"),
    ("select", f"{JSON};q=0.2, {TSV};q=0.9", None, 200, TSV),
    ("select", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", None, 200, XML),
    ("select", "text/html", None, 406, None),
    ("select", "text/csv;q=0", None, 406, None),
    ("select", TURTLE, None, 406, None),
    ("select", JSON, "csv", 200, "text/csv"),
    ("select", None, "xml", 200, XML),
    ("select", None, "turtle", 406, None),
    ("select", None, "nonsense", 406, None),
    ("ask", None, None, 200, JSON),
    ("ask", XML, None, 200, XML),
    ("ask", "text/csv", None, 200, "text/csv"),
    ("ask", TSV, None, 200, TSV),
    ("ask", TURTLE, None, 406, None),
    ("construct", None, None, 200, TURTLE),
    ("construct", "*/*", None, 200, TURTLE),
    ("construct", NTRIPLES, None, 200, NTRIPLES),
    ("construct", "text/plain", None, 200, NTRIPLES),
    ("construct", "application/rdf+xml", None, 200, "application/rdf+xml"),
    ("construct", "application/ld+json", None, 200, "application/ld+json"),
    ("construct", "application/json", None, 200, "application/ld+json"),
    ("construct", "application/n-quads", None, 200, "application/n-quads"),
    ("construct", "application/trig", None, 200, "application/trig"),
    ("construct", f"{NTRIPLES};q=0.5, {TURTLE};q=0.4", None, 200, NTRIPLES),
    ("construct", JSON, None, 406, None),
    ("construct", "text/csv", None, 406, None),
    ("construct", None, "nt", 200, NTRIPLES),
    ("construct", None, "xml", 200, "application/rdf+xml"),
    ("construct", None, "json", 200, "application/ld+json"),
    ("construct", None, "csv", 406, None),
    ("describe", None, None, 200, TURTLE),
    ("describe", "application/ld+json", None, 200, "application/ld+json"),
    ("describe", "application/rdf+xml", None, 200, "application/rdf+xml"),
    ("describe", TSV, None, 406, None),
]

QUERIES = {"select": SELECT, "ask": ASK, "construct": CONSTRUCT, "describe": DESCRIBE}


@pytest.mark.parametrize(("form", "accept", "format_name", "status", "expected"), NEGOTIATION)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_negotiation_table(
    live_server: LiveServer,
    method: str,
    form: str,
    accept: str | None,
    format_name: str | None,
    status: int,
    expected: str | None,
) -> None:
    headers = {"Accept": accept} if accept else {}
    params = {"format": format_name} if format_name else {}
    if method == "GET":
        response = httpx.get(sparql_url(live_server), params={"query": QUERIES[form], **params}, headers=headers)
    else:
        response = httpx.post(
            sparql_url(live_server),
            params=params,
            content=QUERIES[form].encode(),
            headers={"Content-Type": "application/sparql-query", **headers},
        )
    assert response.status_code == status, response.text
    if status == 200:
        assert media_type(response) == expected
        check_body(response, form)
    else:
        assert response.json()["error"] == "NotAcceptable"
        assert "use one of" in response.json()["message"]


def test_post_form_query_is_answered(live_server: LiveServer) -> None:
    response = httpx.post(sparql_url(live_server), data={"query": SELECT}, headers={"Accept": XML})
    assert response.status_code == 200
    assert media_type(response) == XML
    check_body(response, "select")


def test_post_form_accepts_dataset_parameters(live_server: LiveServer) -> None:
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <http://www.w3.org/2002/07/owl#Class> }"
    counts = []
    for graph in (ONTOLOGY_GRAPH, THESAURI_GRAPH):
        response = httpx.post(sparql_url(live_server), data={"query": query, "default-graph-uri": graph})
        assert response.status_code == 200
        counts.append(int(response.json()["results"]["bindings"][0]["n"]["value"]))
    assert counts[0] > 0
    assert counts[1] == 0


def count_classes(server: LiveServer, **params: str | list[str]) -> int:
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <http://www.w3.org/2002/07/owl#Class> }"
    response = httpx.get(sparql_url(server), params={"query": query, **params})
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def test_default_graph_uri_restricts_the_default_graph(live_server: LiveServer) -> None:
    union = count_classes(live_server)
    ontology_only = count_classes(live_server, **{"default-graph-uri": ONTOLOGY_GRAPH})
    thesauri_only = count_classes(live_server, **{"default-graph-uri": THESAURI_GRAPH})
    both = count_classes(live_server, **{"default-graph-uri": [ONTOLOGY_GRAPH, THESAURI_GRAPH]})
    assert ontology_only > 0
    assert thesauri_only == 0
    assert both == ontology_only
    assert union >= ontology_only


def test_named_graph_uri_restricts_the_named_graphs(live_server: LiveServer) -> None:
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    response = httpx.get(sparql_url(live_server), params={"query": query, "named-graph-uri": THESAURI_GRAPH})
    assert response.status_code == 200
    graphs = {b["g"]["value"] for b in response.json()["results"]["bindings"]}
    assert graphs == {THESAURI_GRAPH}
    everything = httpx.get(sparql_url(live_server), params={"query": query}).json()
    assert {ONTOLOGY_GRAPH, THESAURI_GRAPH} <= {b["g"]["value"] for b in everything["results"]["bindings"]}


def test_dataset_iri_that_is_not_an_iri_is_refused(live_server: LiveServer) -> None:
    response = httpx.get(sparql_url(live_server), params={"query": SELECT, "default-graph-uri": "not an iri"})
    assert response.status_code == 422
    assert "default-graph-uri" in response.json()["message"]


def test_malformed_query_gives_400_with_the_parser_message(live_server: LiveServer) -> None:
    response = httpx.get(sparql_url(live_server), params={"query": "SELECT ?x WHERE { ?x ?y }"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "QuerySyntaxError"
    assert "malformed" in body["message"] and "1:" in body["message"]
    assert "Traceback" not in response.text and "/work" not in response.text


def test_unknown_prefix_gives_400(live_server: LiveServer) -> None:
    response = httpx.post(
        sparql_url(live_server), content=b"SELECT * WHERE { ?s nope:p ?o }",
        headers={"Content-Type": "application/sparql-query"},
    )
    assert response.status_code == 400
    assert "Prefix not found" in response.json()["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", None])
def test_unsupported_body_type_gives_415(live_server: LiveServer, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = httpx.post(sparql_url(live_server), content=SELECT.encode(), headers=headers)
    assert response.status_code == 415
    assert "application/sparql-query" in response.json()["message"]


def test_body_in_another_charset_gives_415(live_server: LiveServer) -> None:
    response = httpx.post(
        sparql_url(live_server), content=SELECT.encode("utf-16"),
        headers={"Content-Type": "application/sparql-query; charset=utf-16"},
    )
    assert response.status_code == 415


def test_query_that_is_not_utf8_gives_400(live_server: LiveServer) -> None:
    response = httpx.post(
        sparql_url(live_server), content='SELECT * WHERE { ?s ?p "\xe9" }'.encode("latin-1"),
        headers={"Content-Type": "application/sparql-query"},
    )
    assert response.status_code == 400
    assert "UTF-8" in response.json()["message"]


def test_two_queries_are_refused(live_server: LiveServer) -> None:
    response = httpx.get(sparql_url(live_server), params={"query": [SELECT, ASK]})
    assert response.status_code == 422


def big_query(size: int = 200_000) -> str:
    padding = "# " + "x" * 78 + "\n"
    return padding * (size // len(padding)) + SELECT


@pytest.mark.parametrize("content_type", ["application/sparql-query", "application/x-www-form-urlencoded"])
def test_huge_post_query_gives_413(live_server: LiveServer, content_type: str) -> None:
    query = big_query()
    body = query.encode() if content_type == "application/sparql-query" else ("query=" + quote(query)).encode()
    response = httpx.post(sparql_url(live_server), content=body, headers={"Content-Type": content_type})
    assert response.status_code == 413
    assert "bytes" in response.json()["message"]


def test_huge_chunked_post_without_length_gives_413(live_server: LiveServer) -> None:
    query = big_query().encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(query), 8192):
            yield query[start : start + 8192]

    response = httpx.post(
        sparql_url(live_server), content=chunks(), headers={"Content-Type": "application/sparql-query"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        (big_query(), b"bytes"),  # 200 KB that stays 200 KB in the URL: the query is too long
        ("{" * 110_000, b"POST"),  # percent-encoded to 330 KB: the URL itself is too long
    ],
)
def test_huge_query_in_the_url_gives_413_or_414(live_server: LiveServer, query: str, hint: bytes) -> None:
    # httpx refuses URLs this long, so speak HTTP/1.1 with the standard library.
    address = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
    connection.request("GET", "/sparql?query=" + quote(query))
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status in (413, 414)
    assert hint in body


def test_query_just_under_the_limit_is_answered(live_server: LiveServer) -> None:
    response = httpx.post(
        sparql_url(live_server), content=big_query(90_000).encode(),
        headers={"Content-Type": "application/sparql-query"},
    )
    assert response.status_code == 200


# --- Service description -------------------------------------------------------------

SD = "http://www.w3.org/ns/sparql-service-description#"


def test_service_description_is_turtle_by_default(live_server: LiveServer) -> None:
    response = httpx.get(sparql_url(live_server))
    assert response.status_code == 200
    assert media_type(response) == TURTLE
    store = ox.Store()
    store.load(response.content, format=ox.RdfFormat.TURTLE)
    endpoint = ox.NamedNode(sparql_url(live_server))

    def ask(pattern: str) -> bool:
        result = store.query(f"PREFIX sd: <{SD}> ASK {{ {pattern} }}")
        return bool(result)

    assert ask(f"{endpoint} a sd:Service ; sd:endpoint {endpoint} ; sd:supportedLanguage sd:SPARQL11Query")
    assert ask(f"{endpoint} sd:feature sd:UnionDefaultGraph")
    assert ask(f"{endpoint} sd:defaultEntailmentRegime <http://www.w3.org/ns/entailment/Simple>")
    assert not ask(f"{endpoint} sd:supportedLanguage sd:SPARQL11Update")
    formats = store.query(f"PREFIX sd: <{SD}> SELECT ?f WHERE {{ {endpoint} sd:resultFormat ?f }}")
    assert {s["f"].value.rsplit("/", 1)[1] for s in formats} == {
        "SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
        "Turtle", "N-Triples", "RDF_XML", "JSON-LD", "N-Quads", "TriG",
    }
    for graph in (ONTOLOGY_GRAPH, THESAURI_GRAPH):
        assert ask(
            f"{endpoint} sd:defaultDataset ?d . ?d sd:defaultGraph ?default ; sd:namedGraph ?ng . "
            f"?ng a sd:NamedGraph ; sd:name <{graph}> ; sd:graph ?g"
        )


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/ld+json", "application/ld+json"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("application/n-triples", NTRIPLES),
        ("*/*", TURTLE),
        ("application/sparql-results+json, text/turtle;q=0.5", TURTLE),
    ],
)
def test_service_description_in_any_rdf_format(live_server: LiveServer, accept: str, expected: str) -> None:
    response = httpx.get(sparql_url(live_server), headers={"Accept": accept})
    assert response.status_code == 200
    assert media_type(response) == expected
    rdf_format = ox.RdfFormat.from_media_type(expected)
    assert rdf_format is not None
    assert any(t.object == ox.NamedNode(SD + "Service") for t in ox.parse(response.content, rdf_format))


def test_service_description_refuses_result_formats(live_server: LiveServer) -> None:
    response = httpx.get(sparql_url(live_server), headers={"Accept": "text/csv"})
    assert response.status_code == 406


def test_browser_is_sent_to_the_query_page(live_server: LiveServer) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = httpx.get(sparql_url(live_server), headers={"Accept": accept})
    assert response.status_code == 303
    assert response.headers["location"] == "/query"


# --- Updates are refused without the token (the token case is below, on a store of its own) ---


@pytest.mark.parametrize("authorization", [None, "Bearer guess"])
def test_update_without_configured_token_is_forbidden(live_server: LiveServer, authorization: str | None) -> None:
    update = "INSERT DATA { <http://example.org/a> <http://example.org/b> <http://example.org/c> }"
    headers = {"Authorization": authorization} if authorization else {}
    for response in (
        httpx.post(sparql_url(live_server), data={"update": update}, headers=headers),
        httpx.post(
            sparql_url(live_server), content=update.encode(),
            headers={"Content-Type": "application/sparql-update", **headers},
        ),
    ):
        assert response.status_code == 403
        assert "COOPGRAPH_UPDATE_TOKEN" in response.json()["message"]
    ask = httpx.get(sparql_url(live_server), params={"query": "ASK { <http://example.org/a> ?p ?o }"})
    assert ask.json()["boolean"] is False


def test_update_by_get_is_refused(live_server: LiveServer) -> None:
    response = httpx.get(sparql_url(live_server), params={"update": "CLEAR ALL"})
    assert response.status_code == 422
    assert "POST" in response.json()["message"]


def test_update_with_token_is_applied_and_visible(fresh_root: StoreRoot) -> None:
    build(fresh_root)
    settings = Settings(store=fresh_root.root, timeout=5, update_token="s3cret-token")
    subject = f"{PREFIXES} ASK {{ <http://example.org/new> rdfs:label ?label }}"
    update = f"{PREFIXES} INSERT DATA {{ GRAPH <{GRAPH_BASE}test> {{ <http://example.org/new> rdfs:label \"new\" }} }}"
    with LiveServer(settings, PooledBackend.from_settings(settings)) as server:
        url = sparql_url(server)
        before = httpx.get(url, params={"query": subject})
        assert before.json()["boolean"] is False
        etag = before.headers["etag"]
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"}):
            refused = httpx.post(url, data={"update": update}, headers=headers)
            assert refused.status_code == 403
            assert "Authorization: Bearer" in refused.json()["message"]
            assert "s3cret" not in refused.text
        sd = ox.parse(httpx.get(url).content, ox.RdfFormat.TURTLE)
        assert any(t.object == ox.NamedNode(SD + "SPARQL11Update") for t in sd)

        malformed = httpx.post(url, data={"update": "INSERT NOTHING"}, headers={"Authorization": "Bearer s3cret-token"})
        assert malformed.status_code == 400
        assert httpx.get(url, params={"query": subject}).headers["etag"] == etag

        applied = httpx.post(
            url, content=update.encode(),
            headers={"Content-Type": "application/sparql-update", "Authorization": "Bearer s3cret-token"},
        )
        assert applied.status_code == 204
        after = httpx.get(url, params={"query": subject}, headers={"If-None-Match": etag})
        assert after.status_code == 200
        assert after.json()["boolean"] is True
        assert after.headers["etag"] != etag


# --- Caching and CORS ----------------------------------------------------------------


def test_etag_is_stable_and_revalidates_with_304(live_server: LiveServer) -> None:
    url = sparql_url(live_server)
    first = httpx.get(url, params={"query": SELECT})
    second = httpx.get(url, params={"query": SELECT})
    etag = first.headers["etag"]
    assert etag == second.headers["etag"]
    assert "max-age=" in first.headers["cache-control"] and "public" in first.headers["cache-control"]
    assert "accept" in first.headers["vary"].lower()
    revalidated = httpx.get(url, params={"query": SELECT}, headers={"If-None-Match": etag})
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["etag"] == etag
    listed = httpx.get(url, params={"query": SELECT}, headers={"If-None-Match": f'"other", {etag}'})
    assert listed.status_code == 304


def test_etag_depends_on_the_query_and_the_accept_header(live_server: LiveServer) -> None:
    url = sparql_url(live_server)
    base = httpx.get(url, params={"query": SELECT}).headers["etag"]
    assert httpx.get(url, params={"query": ASK}).headers["etag"] != base
    as_csv = httpx.get(url, params={"query": SELECT}, headers={"Accept": "text/csv", "If-None-Match": base})
    assert as_csv.status_code == 200
    assert as_csv.headers["etag"] != base


def test_errors_carry_no_etag(live_server: LiveServer) -> None:
    response = httpx.get(sparql_url(live_server), params={"query": "SELEC"})
    assert response.status_code == 400
    assert "etag" not in response.headers


def test_cors_preflight_allows_queries_from_any_origin(live_server: LiveServer) -> None:
    response = httpx.options(
        sparql_url(live_server),
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, accept",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in response.headers


def test_cors_preflight_refuses_credentials_header(live_server: LiveServer) -> None:
    response = httpx.options(
        sparql_url(live_server),
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 400


def test_cors_headers_on_reads_and_errors(live_server: LiveServer) -> None:
    headers = {"Origin": "https://example.org"}
    ok = httpx.get(sparql_url(live_server), params={"query": SELECT}, headers=headers)
    assert ok.headers["access-control-allow-origin"] == "*"
    assert "etag" in ok.headers["access-control-expose-headers"].lower()
    bad = httpx.get(sparql_url(live_server), params={"query": "SELEC"}, headers=headers)
    assert bad.headers["access-control-allow-origin"] == "*"


# --- Truncation, time limit and overload (servers of their own) ------------------------


@pytest.fixture(scope="module")
def small_results_server(settings: Settings) -> Iterator[LiveServer]:
    small = settings.model_copy(update={"max_results": 3, "workers": 1})
    with LiveServer(small, PooledBackend.from_settings(small)) as server:
        yield server


@pytest.mark.parametrize(("query", "accept"), [(SELECT, JSON), (SELECT, "text/csv"), (CONSTRUCT, NTRIPLES)])
def test_large_result_is_truncated_visibly(small_results_server: LiveServer, query: str, accept: str) -> None:
    response = httpx.get(sparql_url(small_results_server), params={"query": query}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["x-coopgraph-truncated"] == "true"
    assert "3 rows" in response.headers["warning"]
    if accept == JSON:
        assert len(response.json()["results"]["bindings"]) == 3
    elif accept == "text/csv":
        assert len(list(csv.reader(io.StringIO(response.text)))) == 1 + 3
    else:
        assert len(list(ox.parse(response.content, ox.RdfFormat.N_TRIPLES))) == 3


def test_small_result_is_not_flagged(small_results_server: LiveServer) -> None:
    query = "SELECT ?x WHERE { VALUES ?x { 1 2 3 } }"
    response = httpx.get(sparql_url(small_results_server), params={"query": query})
    assert response.status_code == 200
    assert "x-coopgraph-truncated" not in response.headers
    assert len(response.json()["results"]["bindings"]) == 3


def test_slow_query_is_stopped_while_others_are_served(settings: Settings) -> None:
    quick = settings.model_copy(update={"timeout": 2.0, "workers": 2})
    with LiveServer(quick, PooledBackend.from_settings(quick)) as server:
        url = sparql_url(server)
        finished: dict[str, tuple[float, httpx.Response]] = {}

        def run(name: str, query: str) -> None:
            response = httpx.get(url, params={"query": query}, timeout=60)
            finished[name] = (time.monotonic(), response)

        slow = threading.Thread(target=run, args=("slow", EXPLOSIVE))
        slow.start()
        time.sleep(0.5)
        run("simple", ASK)
        slow.join(timeout=60)
        slow_done, slow_response = finished["slow"]
        simple_done, simple_response = finished["simple"]
        assert simple_response.status_code == 200
        assert simple_response.json()["boolean"] is True
        assert slow_response.status_code == 503
        assert slow_response.json()["error"] == "QueryTimeout"
        assert "stopped" in slow_response.json()["message"]
        assert "retry-after" in slow_response.headers
        assert simple_done < slow_done
        # The killed worker is replaced: the server keeps answering.
        after = [httpx.get(url, params={"query": ASK}, timeout=30) for _ in range(4)]
        assert [r.status_code for r in after] == [200] * 4


def test_burst_beyond_capacity_is_refused_at_once(settings: Settings) -> None:
    tiny = settings.model_copy(update={"timeout": 2.0, "workers": 1, "queue_size": 1})
    with LiveServer(tiny, PooledBackend.from_settings(tiny)) as server:
        url = sparql_url(server)
        finished: list[tuple[float, httpx.Response]] = []
        lock = threading.Lock()

        def run() -> None:
            response = httpx.get(url, params={"query": EXPLOSIVE}, timeout=60)
            with lock:
                finished.append((time.monotonic(), response))

        threads = [threading.Thread(target=run) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(finished) == 5
        assert all(r.status_code == 503 and "retry-after" in r.headers for _, r in finished)
        errors = [(t, r.json()["error"]) for t, r in finished]
        refused = [t for t, e in errors if e == "Overloaded"]
        stopped = [t for t, e in errors if e == "QueryTimeout"]
        assert len(refused) >= 3
        assert stopped
        # Those beyond capacity are answered before the running query is stopped.
        assert sorted(refused)[2] < min(stopped)
        assert httpx.get(url, params={"query": ASK}, timeout=30).status_code == 200
