"""Real SPARQL clients, unchanged, against a real server: SPARQLWrapper, rdflib's SPARQLStore, curl."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import urllib.error

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF
from SPARQLWrapper import CSV, GET, JSON, JSONLD, POST, POSTDIRECTLY, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from tests.conftest import LiveServer

AUTHORITY = URIRef("https://w3id.org/coopgraph/ontology#Authority")
CLASSES = "SELECT ?class WHERE { ?class a <http://www.w3.org/2002/07/owl#Class> } ORDER BY ?class"
CONSTRUCT = (
    "CONSTRUCT { ?class a <http://www.w3.org/2002/07/owl#Class> } "
    "WHERE { ?class a <http://www.w3.org/2002/07/owl#Class> }"
)


def wrapper(server: LiveServer, query: str, return_format: str, method: str = GET) -> SPARQLWrapper:
    client = SPARQLWrapper(server.url + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(return_format)
    client.setMethod(method)
    return client


@pytest.mark.parametrize("method", [GET, POST])
def test_sparqlwrapper_select_as_json(live_server: LiveServer, method: str) -> None:
    result = wrapper(live_server, CLASSES, JSON, method).queryAndConvert()
    assert isinstance(result, dict)
    assert result["head"]["vars"] == ["class"]
    classes = {b["class"]["value"] for b in result["results"]["bindings"]}
    assert str(AUTHORITY) in classes


def test_sparqlwrapper_select_posted_directly(live_server: LiveServer) -> None:
    client = wrapper(live_server, CLASSES, JSON, POST)
    client.setRequestMethod(POSTDIRECTLY)
    result = client.queryAndConvert()
    assert isinstance(result, dict)
    assert str(AUTHORITY) in {b["class"]["value"] for b in result["results"]["bindings"]}


def test_sparqlwrapper_select_as_csv(live_server: LiveServer) -> None:
    result = wrapper(live_server, CLASSES, CSV).queryAndConvert()
    assert isinstance(result, bytes)
    rows = list(csv.reader(io.StringIO(result.decode())))
    assert rows[0] == ["class"]
    assert [str(AUTHORITY)] in rows


def test_sparqlwrapper_ask_as_xml(live_server: LiveServer) -> None:
    result = wrapper(live_server, f"ASK {{ <{AUTHORITY}> a ?type }}", XML).query()
    assert result.response.headers["Content-Type"].startswith("application/sparql-results+xml")
    document = result.convert()
    assert document.getElementsByTagName("boolean")[0].firstChild.data == "true"


@pytest.mark.parametrize("return_format", [XML, TURTLE, JSONLD])
def test_sparqlwrapper_construct_into_an_rdflib_graph(live_server: LiveServer, return_format: str) -> None:
    result = wrapper(live_server, CONSTRUCT, return_format).queryAndConvert()
    if isinstance(result, bytes):  # SPARQLWrapper leaves Turtle as bytes
        result = Graph().parse(data=result.decode(), format="turtle")
    assert isinstance(result, Graph)
    assert (AUTHORITY, RDF.type, OWL.Class) in result


def test_sparqlwrapper_sees_a_malformed_query(live_server: LiveServer) -> None:
    with pytest.raises(QueryBadFormed) as raised:
        wrapper(live_server, "SELECT ?x WHERE { ?x ?y }", JSON).query()
    assert "malformed" in str(raised.value)


def test_sparqlwrapper_update_is_refused(live_server: LiveServer) -> None:
    client = wrapper(live_server, "INSERT DATA { <http://example.org/a> <http://example.org/b> 1 }", JSON, POST)
    with pytest.raises(urllib.error.HTTPError) as raised:
        client.query()
    assert raised.value.code == 403


def sparql_store_graph(server: LiveServer) -> Graph:
    graph = Graph(store="SPARQLStore")
    graph.open(server.url + "/sparql")
    return graph


def test_rdflib_sparqlstore_select(live_server: LiveServer) -> None:
    graph = sparql_store_graph(live_server)
    rows = list(graph.query(CLASSES))
    assert (AUTHORITY,) in [tuple(row) for row in rows]


def test_rdflib_sparqlstore_ask_and_construct(live_server: LiveServer) -> None:
    graph = sparql_store_graph(live_server)
    assert graph.query(f"ASK {{ <{AUTHORITY}> a <{OWL.Class}> }}").askAnswer is True
    constructed = graph.query(CONSTRUCT).graph
    assert constructed is not None
    assert (AUTHORITY, RDF.type, OWL.Class) in constructed


def test_rdflib_sparqlstore_triples_and_bindings(live_server: LiveServer) -> None:
    graph = sparql_store_graph(live_server)
    assert (AUTHORITY, RDF.type, OWL.Class) in graph
    labels = {o for _, _, o in graph.triples((AUTHORITY, URIRef("http://www.w3.org/2000/01/rdf-schema#label"), None))}
    assert any(isinstance(label, Literal) and label.language == "en" for label in labels)
    bound = list(graph.query("SELECT ?type WHERE { ?class a ?type }", initBindings={"class": AUTHORITY}))
    assert (OWL.Class,) in [tuple(row) for row in bound]


CURL = shutil.which("curl")


def curl(*arguments: str) -> tuple[int, str, bytes]:
    """Run curl; return the status, the Content-Type and the body."""
    assert CURL is not None, "curl is a client these tests drive: apt-get install curl (.ci/run does)"
    completed = subprocess.run(
        [CURL, "--silent", "--show-error", "--output", "-", "--write-out", "\n%{http_code} %{content_type}", *arguments],
        capture_output=True, check=True, timeout=60,
    )
    body, _, trailer = completed.stdout.rpartition(b"\n")
    status, _, content_type = trailer.decode().partition(" ")
    return int(status), content_type, body


def test_curl_get_with_urlencoded_query(live_server: LiveServer) -> None:
    status, content_type, body = curl(
        "--get", "--data-urlencode", f"query={CLASSES}", "-H", "Accept: text/csv", live_server.url + "/sparql"
    )
    assert status == 200
    assert content_type.startswith("text/csv")
    assert str(AUTHORITY).encode() in body


def test_curl_post_sparql_query(live_server: LiveServer) -> None:
    status, content_type, body = curl(
        "-X", "POST", "-H", "Content-Type: application/sparql-query", "--data-binary", CLASSES,
        live_server.url + "/sparql",
    )
    assert status == 200
    assert content_type.startswith("application/sparql-results+json")
    assert json.loads(body)["head"]["vars"] == ["class"]


def test_curl_post_form_construct_as_ntriples(live_server: LiveServer) -> None:
    status, content_type, body = curl(
        "--data-urlencode", f"query={CONSTRUCT}", "-H", "Accept: application/n-triples", live_server.url + "/sparql"
    )
    assert status == 200
    assert content_type.startswith("application/n-triples")
    triples = list(ox.parse(body, ox.RdfFormat.N_TRIPLES))
    assert ox.Triple(ox.NamedNode(str(AUTHORITY)), ox.NamedNode(str(RDF.type)), ox.NamedNode(str(OWL.Class))) in [
        t.triple for t in triples
    ]


def test_curl_service_description(live_server: LiveServer) -> None:
    status, content_type, body = curl(live_server.url + "/sparql")
    assert status == 200
    assert content_type.startswith("text/turtle")
    assert b"sd:Service" in body
