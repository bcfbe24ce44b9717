"""Federated SERVICE calls and LOAD are refused before evaluation: the server fetches no URL."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest

from coopgraph.errors import QuerySyntaxError
from coopgraph.query_guard import check_query, check_update

REFUSED = [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "select * where { service silent <http://example.org/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p ?o . SERVICE ?endpoint { ?s ?p ?o } }",
    "SELECT * WHERE {\n  # a comment\n  SERVICE\n<http://example.org/> { ?s ?p ?o } }",
]
ALLOWED = [
    "SELECT ?service WHERE { ?service ?p ?o }",
    "PREFIX ex: <http://example.org/> SELECT * WHERE { ?s ex:SERVICE ?o }",
    'SELECT * WHERE { ?s ?p "SERVICE <http://example.org/>" }',
    "SELECT * WHERE { ?s ?p '''a long SERVICE string''' }",
    "SELECT * WHERE { ?s <http://example.org/SERVICE> ?o } # SERVICE in a comment",
    "SELECT * WHERE { ?s <http://example.org/service> ?o FILTER(CONTAINS(STR(?o), \"service\")) }",
]


@pytest.mark.parametrize("query", REFUSED)
def test_service_is_refused(query: str) -> None:
    with pytest.raises(QuerySyntaxError, match="SERVICE"):
        check_query(query)


@pytest.mark.parametrize("query", ALLOWED)
def test_the_word_elsewhere_is_not_the_keyword(query: str) -> None:
    check_query(query)


def test_load_is_refused_in_updates() -> None:
    with pytest.raises(QuerySyntaxError, match="LOAD"):
        check_update("LOAD <http://127.0.0.1:9/data.ttl> INTO GRAPH <http://example.org/g>")
    check_update('INSERT DATA { <http://example.org/a> <http://example.org/b> "LOAD" }')


def test_the_endpoint_answers_400_and_fetches_nothing(live_server: object) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(3)
    port = listener.getsockname()[1]
    contacted: list[bool] = []

    def accept() -> None:
        try:
            connection, _ = listener.accept()
            contacted.append(True)
            connection.close()
        except OSError:
            pass

    waiter = threading.Thread(target=accept)
    waiter.start()
    query = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"
    response = httpx.get(f"{live_server.url}/sparql", params={"query": query}, timeout=30)  # type: ignore[attr-defined]
    waiter.join()
    listener.close()
    assert response.status_code == 400
    assert "SERVICE" in response.json()["message"]
    assert contacted == []


def test_a_binding_the_query_text_cannot_take_is_a_clear_error_on_the_embedded_store() -> None:
    import pyoxigraph as ox

    from coopgraph.store import run_query

    store = ox.Store()
    # The query assigns ?x itself: a value for it cannot be bound.
    with pytest.raises(QuerySyntaxError, match="could not be evaluated"):
        run_query(store, "SELECT ?x WHERE { BIND(1 AS ?x) }", substitutions={"x": ox.NamedNode("urn:x-test:a")})
    with pytest.raises(QuerySyntaxError, match="blank node"):
        run_query(store, "SELECT ?x WHERE { ?x ?p ?o }", substitutions={"x": ox.BlankNode()})
