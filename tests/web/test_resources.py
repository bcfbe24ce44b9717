"""Dereferencing /id/… resources, /ontology, /.well-known/void and /context.jsonld by content negotiation."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from coopgraph.store import StoreRoot

LYON = "https://w3id.org/coopgraph/id/authority/lyon"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
TURTLE = "text/turtle"

# (Accept header or suffix, expected media type, format the body must parse as)
NEGOTIATION = [
    ("text/turtle", "text/turtle", ox.RdfFormat.TURTLE),
    ("application/ld+json", "application/ld+json", ox.RdfFormat.JSON_LD),
    ("application/n-triples", "application/n-triples", ox.RdfFormat.N_TRIPLES),
    ("application/rdf+xml", "application/rdf+xml", ox.RdfFormat.RDF_XML),
    ("application/n-quads", "application/n-quads", ox.RdfFormat.N_QUADS),
    ("application/trig", "application/trig", ox.RdfFormat.TRIG),
    ("*/*", "text/turtle", ox.RdfFormat.TURTLE),
    ("application/rdf+xml;q=0.5, text/turtle;q=0.9", "text/turtle", ox.RdfFormat.TURTLE),
    ("text/html;q=0.1, application/ld+json", "application/ld+json", ox.RdfFormat.JSON_LD),
]
SUFFIXES = [
    (".ttl", "text/turtle", ox.RdfFormat.TURTLE),
    (".jsonld", "application/ld+json", ox.RdfFormat.JSON_LD),
    (".nt", "application/n-triples", ox.RdfFormat.N_TRIPLES),
    (".rdf", "application/rdf+xml", ox.RdfFormat.RDF_XML),
    (".nq", "application/n-quads", ox.RdfFormat.N_QUADS),
    (".trig", "application/trig", ox.RdfFormat.TRIG),
]


def store_statements(store_root: StoreRoot, iri: str) -> set[tuple[str, str, str]]:
    """(graph, predicate, object) of every statement about ``iri`` in the store."""
    store = store_root.open_current()
    return {(str(q.graph_name), str(q.predicate), str(q.object)) for q in store.quads_for_pattern(ox.NamedNode(iri), None, None, None)}


@pytest.mark.parametrize(("accept", "media_type", "fmt"), NEGOTIATION)
def test_resource_negotiates_rdf_with_the_store_statements(
    client: TestClient, store_root: StoreRoot, accept: str, media_type: str, fmt: ox.RdfFormat
) -> None:
    response = client.get("/id/authority/lyon", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    parsed = list(ox.parse(response.content, fmt))
    expected = store_statements(store_root, LYON)
    if fmt.supports_datasets:
        about = {(str(q.graph_name), str(q.predicate), str(q.object)) for q in parsed if q.subject == ox.NamedNode(LYON)}
        assert about == expected
    else:
        about_triples = {(str(t.predicate), str(t.object)) for t in parsed if t.subject == ox.NamedNode(LYON)}
        assert about_triples == {(p, o) for _g, p, o in expected}
    assert "Accept" in response.headers["vary"]


@pytest.mark.parametrize(("suffix", "media_type", "fmt"), SUFFIXES)
def test_suffix_picks_the_format_whatever_accept_says(
    client: TestClient, suffix: str, media_type: str, fmt: ox.RdfFormat
) -> None:
    response = client.get(f"/id/authority/lyon{suffix}", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert any(t.subject == ox.NamedNode(LYON) for t in ox.parse(response.content, fmt))


def test_negotiated_answer_names_its_document_and_the_alternates(client: TestClient) -> None:
    response = client.get("/id/authority/lyon", headers={"Accept": TURTLE})
    assert response.headers["content-location"] == "/id/authority/lyon.ttl"
    links = response.headers["link"]
    for suffix, media_type, _fmt in SUFFIXES:
        assert f'</id/authority/lyon{suffix}>; rel="alternate"; type="{media_type}"' in links
    assert '</id/authority/lyon.html>; rel="alternate"; type="text/html"' in links


def test_description_has_provenance_parts_and_labels_of_linked_things(client: TestClient) -> None:
    quads = list(ox.parse(client.get("/id/partnership/lyon--guangzhou.nq").content, ox.RdfFormat.N_QUADS))
    partnership = ox.NamedNode("https://w3id.org/coopgraph/id/partnership/lyon--guangzhou")
    directory = ox.NamedNode("https://w3id.org/coopgraph/graph/cites-unies-france-franco-chinese-directory")
    assert ox.Quad(partnership, ox.NamedNode("https://w3id.org/coopgraph/ontology#partner"), ox.NamedNode(LYON), directory) in quads
    actions = [q.object for q in quads if q.subject == partnership and q.predicate.value.endswith("#action")]
    assert actions and all(isinstance(a, ox.BlankNode) for a in actions)
    # The blank-node parts come with their own statements.
    assert all(any(q.subject == action for q in quads) for action in actions)
    # Labels of what it links to: the partner Guangzhou and the partnership kind.
    labelled = {q.subject.value for q in quads if q.predicate.value == "http://www.w3.org/2000/01/rdf-schema#label"}
    assert "https://w3id.org/coopgraph/id/authority/guangzhou" in labelled


def test_browser_gets_the_html_page(client: TestClient) -> None:
    response = client.get("/id/authority/lyon", headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Lyon</h1>" in response.text
    assert response.headers["content-location"] == "/id/authority/lyon.html"
    assert f'<{LYON}>; rel="canonical"' in response.headers["link"]


def test_unacceptable_type_is_406(client: TestClient) -> None:
    response = client.get("/id/authority/lyon", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "text/turtle" in response.json()["message"]


@pytest.mark.parametrize("path", ["/id/authority/nowhere", "/id/authority/nowhere.ttl", "/id/", "/id/authority//lyon"])
def test_unknown_resource_is_404(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"Accept": TURTLE})
    assert response.status_code == 404
    assert response.json()["error"] == "UnknownResource"


def test_unknown_resource_is_an_html_page_for_browsers(client: TestClient) -> None:
    response = client.get("/id/authority/nowhere", headers={"Accept": BROWSER})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "No resource is named https://w3id.org/coopgraph/id/authority/nowhere" in response.text


@pytest.mark.parametrize(
    "raw_path",
    [
        "/id/../../etc/passwd",
        "/id/%2e%2e/%2e%2e/etc/passwd",
        "/id/authority/..%2f..%2f..%2fetc%2fpasswd",
        "/id/authority/%2e%2e%5c%2e%2e%5cpyproject.toml",
        "/id/authority/lyon%00.ttl",
        "/id/..;/..;/etc/passwd",
    ],
)
def test_path_traversal_reads_no_file(live_server: object, raw_path: str) -> None:
    """Sent as-is over a socket (clients would normalise the dots away)."""
    url = urlsplit(live_server.url)  # type: ignore[attr-defined]
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.putrequest("GET", raw_path, skip_accept_encoding=True)
    connection.putheader("Accept", TURTLE)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status in (400, 404)
    assert b"root:" not in body and b"[project]" not in body


def test_ontology_in_turtle_holds_the_ontology_and_thesauri_graphs(client: TestClient, store_root: StoreRoot) -> None:
    response = client.get("/ontology", headers={"Accept": TURTLE})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "text/turtle"
    triples = {q.triple for q in ox.parse(response.content, ox.RdfFormat.TURTLE)}
    store = store_root.open_current()
    expected = {
        q.triple
        for name in ("ontology", "thesauri")
        for q in store.quads_for_pattern(None, None, None, ox.NamedNode(f"https://w3id.org/coopgraph/graph/{name}"))
    }
    assert triples == expected


def test_ontology_page_documents_classes_properties_and_schemes(client: TestClient) -> None:
    response = client.get("/ontology", headers={"Accept": BROWSER})
    assert response.status_code == 200
    html = response.text
    assert 'id="Authority"' in html and 'id="partner"' in html
    assert "Collectivité territoriale" in html and "Local or regional authority" in html
    assert "Secteurs d&#39;intervention" in html or "Sectors of intervention" in html
    assert client.get("/ontology.jsonld").headers["content-type"] == "application/ld+json"


def test_links_to_ontology_terms_land_on_anchors(client: TestClient) -> None:
    html = client.get("/id/authority/lyon", headers={"Accept": BROWSER}).text
    assert 'href="/ontology#Authority"' in html
    assert 'href="/ontology#cooperatesWith"' in html


VOID = "http://rdfs.org/ns/void#"


def test_void_describes_statistics_endpoint_dumps_licence_and_sources(client: TestClient, store_root: StoreRoot) -> None:
    response = client.get("/.well-known/void", headers={"Accept": TURTLE})
    assert response.status_code == 200
    triples = list(ox.parse(response.content, ox.RdfFormat.TURTLE))
    dataset = ox.NamedNode("https://w3id.org/coopgraph/id/dataset/coopgraph")

    def objects(predicate: str) -> list[object]:
        return [t.object for t in triples if t.subject == dataset and t.predicate == ox.NamedNode(predicate)]

    store = store_root.open_current()
    # void:triples counts the distinct triples of the union of the data graphs.
    data_triples = {q.triple for q in store if q.graph_name != ox.NamedNode("https://w3id.org/coopgraph/graph/void")}
    (triple_count,) = objects(VOID + "triples")
    assert int(triple_count.value) == len(data_triples)  # type: ignore[attr-defined]
    assert objects(VOID + "sparqlEndpoint") == [ox.NamedNode("http://testserver/sparql")]
    dumps = {o.value for o in objects(VOID + "dataDump")}  # type: ignore[attr-defined]
    assert "http://testserver/dumps/coopgraph.nq" in dumps and len(dumps) == 6
    assert len(objects("http://www.w3.org/ns/dcat#distribution")) == 6
    assert objects("http://purl.org/dc/terms/license") == [ox.NamedNode("https://creativecommons.org/licenses/by/4.0/")]
    sources = {o.value for o in objects("http://purl.org/dc/terms/source")}  # type: ignore[attr-defined]
    assert "https://w3id.org/coopgraph/id/source/cites-unies-france-franco-chinese-directory" in sources
    assert ox.NamedNode("https://w3id.org/coopgraph/ontology#") in objects(VOID + "vocabulary")
    media = {t.object.value for t in triples if t.predicate == ox.NamedNode("http://www.w3.org/ns/dcat#mediaType")}  # type: ignore[attr-defined]
    assert "https://www.iana.org/assignments/media-types/application/n-quads" in media


@pytest.mark.parametrize(("accept", "fmt"), [("application/ld+json", ox.RdfFormat.JSON_LD), ("application/rdf+xml", ox.RdfFormat.RDF_XML)])
def test_void_in_other_formats(client: TestClient, accept: str, fmt: ox.RdfFormat) -> None:
    response = client.get("/.well-known/void", headers={"Accept": accept})
    assert response.headers["content-type"].split(";")[0] == accept
    assert len(list(ox.parse(response.content, fmt))) > 50


def test_void_page_for_browsers(client: TestClient) -> None:
    response = client.get("/.well-known/void", headers={"Accept": BROWSER})
    assert response.status_code == 200 and "/dumps/coopgraph.nq" in response.text


def test_jsonld_context_makes_short_terms_mean_coop_properties(client: TestClient) -> None:
    response = client.get("/context.jsonld")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ld+json"
    context = response.json()
    document = {
        **context,
        "@id": LYON,
        "partner": "https://w3id.org/coopgraph/id/authority/guangzhou",
        "startYear": "1988",
        "label": {"@value": "Lyon", "@language": "fr"},
    }
    triples = {q.triple for q in ox.parse(json.dumps(document).encode(), ox.RdfFormat.JSON_LD)}
    lyon = ox.NamedNode(LYON)
    assert ox.Triple(lyon, ox.NamedNode("https://w3id.org/coopgraph/ontology#partner"),
                     ox.NamedNode("https://w3id.org/coopgraph/id/authority/guangzhou")) in triples
    assert ox.Triple(lyon, ox.NamedNode("https://w3id.org/coopgraph/ontology#startYear"),
                     ox.Literal("1988", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))) in triples
    assert ox.Triple(lyon, ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"), ox.Literal("Lyon", language="fr")) in triples
