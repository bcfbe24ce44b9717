"""Pages as HTML: escaping of data, security headers, languages, the query page without JavaScript."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from coopgraph.build import GraphSource, build
from coopgraph.config import Settings
from coopgraph.store import StoreRoot
from coopgraph.web.app import create_app
from tests.browser.conftest import HOSTILE_DATA

BROWSER = "text/html,application/xhtml+xml,*/*;q=0.8"
PAGES = ["/", "/search?q=lyon", "/id/authority/lyon", "/query", "/graph?authority=Lyon", "/ontology", "/dumps/", "/.well-known/void"]


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = StoreRoot(tmp_path_factory.mktemp("hostile"))
    build(root, extra=[GraphSource("test-xss", (HOSTILE_DATA,))])
    with TestClient(create_app(Settings(store=root.root))) as client:
        yield client


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"Accept": BROWSER})
    assert response.status_code == 200, response.text[:300]
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in response.text  # scripts only as files: <script src=…>


@pytest.mark.parametrize(
    "path",
    ["/id/authority/xss-town", "/id/authority/lyon", "/id/partnership/xss-town--lyon", "/search?q=script",
     "/graph?authority=" + quote("https://w3id.org/coopgraph/id/authority/xss-town"), "/id/source/test-xss"],
)
def test_markup_in_labels_is_escaped(hostile_client: TestClient, path: str) -> None:
    html = hostile_client.get(path, headers={"Accept": BROWSER}).text
    assert "<script>alert" not in html and "<img src=x" not in html and "<b onmouseover" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&lt;b onmouseover" in html or "&lt;img src=x" in html


def test_graph_json_keeps_markup_as_plain_strings(hostile_client: TestClient) -> None:
    data = hostile_client.get("/graph.json", params={"authority": "https://w3id.org/coopgraph/id/authority/xss-town"}).json()
    assert "<script>alert(1)</script>" in {n["label"] for n in data["nodes"]}


def test_language_from_parameter_and_accept_language(client: TestClient) -> None:
    french = client.get("/id/authority/lyon", headers={"Accept": BROWSER, "Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in french.text and "Partenaires" in french.text and "Canton" in french.text
    assert french.headers["content-language"] == "fr"
    english = client.get("/id/authority/lyon?lang=en", headers={"Accept": BROWSER, "Accept-Language": "fr"})
    assert '<html lang="en">' in english.text and "Partners" in english.text and "Guangzhou" in english.text
    assert "Accept-Language" in english.headers["vary"]


def test_resource_page_shows_partner_source_position_incoming_and_links(client: TestClient) -> None:
    html = client.get("/id/authority/lyon", headers={"Accept": BROWSER}).text
    assert 'href="/id/partnership/lyon--guangzhou"' in html
    assert "Annuaire des partenariats de coopération décentralisée franco-chinois" in html
    assert "https://www.openstreetmap.org/?mlat=45.74906&amp;mlon=4.84789" in html
    assert 'id="incoming"' in html and "coop:partner" in html
    assert 'href="/graph?authority=https%3A%2F%2Fw3id.org%2Fcoopgraph%2Fid%2Fauthority%2Flyon' in html
    for suffix in (".ttl", ".jsonld", ".nt", ".rdf"):
        assert f'href="/id/authority/lyon{suffix}"' in html


def test_query_page_runs_without_javascript(client: TestClient) -> None:
    query = "SELECT ?partner WHERE { <https://w3id.org/coopgraph/id/authority/lyon> <https://w3id.org/coopgraph/ontology#cooperatesWith> ?partner }"
    html = client.get("/query", params={"query": query}, headers={"Accept": BROWSER}).text
    assert 'href="/id/authority/guangzhou"' in html
    assert 'id="download-csv" href="/sparql?query=' in html and "format=csv" in html


def test_query_page_reports_a_syntax_error(client: TestClient) -> None:
    response = client.get("/query", params={"query": "SELECT WHERE {"}, headers={"Accept": BROWSER})
    assert response.status_code == 400
    assert 'id="query-error"' in response.text


def test_graph_json_for_a_network_lists_its_members(client: TestClient) -> None:
    data = client.get("/graph.json", params={"network": "Four Motors for Europe"}).json()
    labels = {n["label"] for n in data["nodes"]}
    assert {"Rhône-Alpes", "Catalonia"} <= labels
    assert all(link["relation"] in ("network", "partnership") for link in data["links"])


def test_graph_needs_one_centre(client: TestClient) -> None:
    assert client.get("/graph.json").status_code == 422
    assert client.get("/graph.json", params={"authority": "Nowhere-on-earth"}).status_code == 404


def test_static_files_only_by_name(client: TestClient) -> None:
    assert client.get("/static/graph.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/..%2fpages.py").status_code == 404
    assert client.get("/static/nothing.css").status_code == 404


def test_every_resource_of_the_shipped_data_has_a_page_and_a_turtle_description(client: TestClient) -> None:
    # Every IRI under /id/ that the data names, as a browser and as a linked-data client ask for it.
    query = """SELECT DISTINCT ?r WHERE { { ?r ?p ?o } UNION { ?s ?p ?r } FILTER(isIRI(?r)
               && STRSTARTS(STR(?r), "https://w3id.org/coopgraph/id/")) }"""
    listed = client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    iris = [row["r"]["value"] for row in listed.json()["results"]["bindings"]]
    assert len(iris) > 500
    failures = []
    for iri in iris:
        path = iri.removeprefix("https://w3id.org/coopgraph")
        for accept in (BROWSER, "text/turtle"):
            response = client.get(path, headers={"Accept": accept})
            if response.status_code != 200:
                failures.append((path, accept, response.status_code))
    assert failures == [], failures[:20]
