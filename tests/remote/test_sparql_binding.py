"""``VALUES`` binding means what pyoxigraph's substitution means, and no value can change a query."""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coopgraph.remote import RemoteBackend
from coopgraph.sparql_binding import bind_values, without_trailing_separator
from tests.remote.conftest import OxigraphServer

EX = "http://example.org/"
DATA = f"""
<{EX}lyon> <{EX}partner> <{EX}canton> , <{EX}beijing> .
<{EX}canton> <{EX}label> "Canton"@en , "Canton"@fr .
<{EX}beijing> <{EX}label> "Beijing"@en , "Pékin"@fr .
<{EX}lyon> <{EX}label> "Lyon"@en .
<{EX}lyon> <{EX}since> 1988 .
"""

# Query shapes the canned queries use (and a few more): each must give the same rows both ways.
SHAPES = [
    "SELECT ?p ?_a WHERE { ?_a <http://example.org/partner> ?p } ORDER BY ?p",
    # A nested OPTIONAL's filter: a VALUES block only in the outer group would not reach it.
    """SELECT ?p ?l ?_lang WHERE { ?a <http://example.org/partner> ?p .
         OPTIONAL { ?a <http://example.org/partner> ?p OPTIONAL { ?p <http://example.org/label> ?l FILTER(LANG(?l) = ?_lang) } } }
       ORDER BY ?p""",
    """SELECT ?x ?_a WHERE { { ?_a <http://example.org/partner> ?x } UNION { ?_a <http://example.org/label> ?x } } ORDER BY ?x""",
    """SELECT ?p ?name ?_lang WHERE { ?a <http://example.org/partner> ?p .
         OPTIONAL { ?p <http://example.org/label> ?l1 FILTER(LANG(?l1) = ?_lang) }
         BIND(COALESCE(?l1, "?") AS ?name) } ORDER BY ?p""",
    """SELECT ?p ?_a WHERE { ?a <http://example.org/partner> ?p FILTER EXISTS { ?_a <http://example.org/partner> ?p } } ORDER BY ?p""",
    """SELECT ?p ?_a WHERE { { SELECT ?p WHERE { ?_a <http://example.org/partner> ?p } } } ORDER BY ?p""",
    """SELECT ?p ?_a WHERE { GRAPH ?g { ?_a <http://example.org/partner> ?p } } ORDER BY ?p""",
    # A subquery projecting the parameter (canned cooperations): the constant reaches inside.
    """SELECT ?p ?_a WHERE { { SELECT DISTINCT ?p ?_a WHERE { ?_a <http://example.org/partner> ?p } } } ORDER BY ?p""",
    """SELECT ?_a (COUNT(?p) AS ?n) WHERE { ?_a <http://example.org/partner> ?p } GROUP BY ?_a""",
    # An optional parameter left out stays unbound, and COALESCE turns its test into true.
    """SELECT ?p ?_a ?_missing WHERE { ?_a <http://example.org/partner> ?p FILTER(COALESCE(?p = ?_missing, true)) } ORDER BY ?p""",
    """SELECT ?s ?_y WHERE { ?s <http://example.org/since> ?y FILTER(?y >= ?_y) }""",
    "ASK { ?_a <http://example.org/partner> ?p }",
    # Braces and keywords inside strings, IRIs and comments are not syntax.
    """SELECT ?p ?_a WHERE { # a comment with { and VALUES
         ?_a <http://example.org/partner> ?p FILTER(?p != <http://example.org/x#WHERE> && STR(?p) != "} VALUES {") }
       ORDER BY ?p""",
]
BINDINGS: dict[str, ox.NamedNode | ox.Literal] = {
    "_a": ox.NamedNode(EX + "lyon"),
    "_lang": ox.Literal("fr"),
    "_y": ox.Literal("1980", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
}


@pytest.fixture(scope="module")
def store() -> ox.Store:
    store = ox.Store()
    store.load(DATA.encode(), ox.RdfFormat.TURTLE)
    return store


Rows = list[list[str | None]]


def rows(result: object) -> Rows | bool:
    if isinstance(result, ox.QueryBoolean):
        return bool(result)
    assert isinstance(result, ox.QuerySolutions)
    return [[str(solution[v]) if solution[v] is not None else None for v in result.variables] for solution in result]


@pytest.mark.parametrize("query", SHAPES)
def test_values_binding_gives_what_substitution_gives(store: ox.Store, query: str) -> None:
    wanted = {name: term for name, term in BINDINGS.items() if f"?{name}" in query}
    substituted = store.query(query, substitutions={ox.Variable(k): v for k, v in wanted.items()})
    bound = store.query(bind_values(query, wanted))
    assert rows(bound) == rows(substituted)


def test_the_nested_optional_sees_the_constant(store: ox.Store) -> None:
    query = SHAPES[1]
    bound = bind_values(query, {"_lang": BINDINGS["_lang"]})
    assert bound.count("VALUES (?_lang)") == 1 and 'LANG(?l) = "fr"' in bound
    found = rows(store.query(bound))
    assert isinstance(found, list) and ["<http://example.org/beijing>", '"Pékin"@fr', '"fr"'] in found
    # With the block only in the outer group, the inner filter would not see ?_lang: no labels.
    outer_only = query.replace("WHERE {", "WHERE { VALUES ?_lang { \"fr\" }", 1)
    without = rows(store.query(outer_only))
    assert isinstance(without, list) and without and all(row[1] is None for row in without)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("DESCRIBE ?_a", "DESCRIBE ?_a\nVALUES (?_a) { (<http://example.org/lyon>) }\n"),
        (
            "CONSTRUCT WHERE { ?_a ?p ?o }",
            "CONSTRUCT WHERE { <http://example.org/lyon> ?p ?o }\nVALUES (?_a) { (<http://example.org/lyon>) }\n",
        ),
        (
            "CONSTRUCT { ?_a ?p ?o } WHERE { ?_a ?p ?o }",
            "CONSTRUCT { ?_a ?p ?o } WHERE { VALUES (?_a) { (<http://example.org/lyon>) }  <http://example.org/lyon> ?p ?o }",
        ),
        (
            "SELECT ?_a WHERE { VALUES ?x { 1 } }",
            "SELECT ?_a WHERE { VALUES (?_a) { (<http://example.org/lyon>) }  VALUES ?x { 1 } }",
        ),
    ],
)
def test_where_the_block_goes(store: ox.Store, query: str, expected: str) -> None:
    bound = bind_values(query, {"_a": BINDINGS["_a"]})
    assert bound == expected
    store.query(bound)  # and it parses


@pytest.mark.parametrize(
    "query",
    [
        "SELECT ?x WHERE { BIND(1 AS ?_a) }",
        "SELECT ?x WHERE { VALUES ?_a { 1 } }",
        "SELECT ?x WHERE { { SELECT ?p WHERE { ?_a ?p ?o } GROUP BY ?_a } }",
    ],
)
def test_a_variable_the_query_assigns_is_refused(query: str) -> None:
    with pytest.raises(ValueError, match="cannot be bound"):
        bind_values(query, {"_a": BINDINGS["_a"]})


def test_blank_nodes_and_odd_names_are_refused() -> None:
    with pytest.raises(TypeError, match="blank node"):
        bind_values("SELECT ?_a {}", {"_a": ox.BlankNode()})
    with pytest.raises(ValueError, match="variable name"):
        bind_values("SELECT ?_a {}", {"_a) { (1) } ?s ?p ?o . VALUES (?b": ox.Literal("x")})
    with pytest.raises(ValueError, match="brace"):
        bind_values("SELECT ?_a { ?s ?p ?o", {"_a": ox.Literal("x")})


def test_a_trailing_semicolon_of_an_update_is_dropped() -> None:
    assert without_trailing_separator("INSERT DATA { <a:b> <a:c> 'x;' } ;  # done\n").strip() == (
        "INSERT DATA { <a:b> <a:c> 'x;' }   # done"
    )
    assert without_trailing_separator("CLEAR ALL") == "CLEAR ALL"


HOSTILE_TEXTS = [
    'x" } ?s ?p ?o {',
    "x' } UNION { ?s ?p ?o }",
    '"""',
    "'''",
    ">",
    "}",
    "{",
    "\n} ; DROP ALL ; SELECT * {\n",
    "\\",
    '\\" } ?s ?p ?o { "',
    "\\u0022 } ?s ?p ?o { \\u0022",
    "# } ",
    "\r\n\t\x00",
    "?s ?p ?o",
    "Pékin 北京 🙂",
]


@pytest.fixture(scope="module")
def remote(oxigraph_server: OxigraphServer) -> Iterator[RemoteBackend]:
    backend = RemoteBackend(oxigraph_server.query_endpoint, timeout=10)
    yield backend
    backend.close()


def solutions(body: bytes) -> list[ox.QuerySolution]:
    parsed = ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
    assert isinstance(parsed, ox.QuerySolutions)
    return list(parsed)


def value_of(backend: RemoteBackend, term: ox.NamedNode | ox.Literal) -> object:
    raw = backend.query("SELECT ?_v WHERE { }", substitutions={"_v": term})
    solutions_ = solutions(raw.body)
    assert len(solutions_) == 1
    return solutions_[0]["_v"]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_hostile_literals_reach_the_server_unchanged_and_change_nothing(remote: RemoteBackend, text: str) -> None:
    for term in (ox.Literal(text), ox.Literal(text, language="fr")):
        assert value_of(remote, term) == term
    # Used as a pattern's object, a hostile value matches nothing instead of opening the pattern up.
    raw = remote.query("SELECT ?s ?_v WHERE { ?s ?p ?_v }", substitutions={"_v": ox.Literal(text)})
    assert solutions(raw.body) == []


@pytest.mark.parametrize(
    "iri", ["http://example.org/a#b'c", "http://example.org/(x)?q=%7D&r=;", "urn:x:%22%3E", "http://example.org/é"]
)
def test_unusual_iris_reach_the_server_unchanged(remote: RemoteBackend, iri: str) -> None:
    assert value_of(remote, ox.NamedNode(iri)) == ox.NamedNode(iri)


@pytest.mark.parametrize("iri", ["http://example.org/a>b", "http://example.org/a b", 'http://x/"', "http://x/{}"])
def test_iris_that_could_close_the_term_cannot_be_made(iri: str) -> None:
    with pytest.raises(ValueError):
        ox.NamedNode(iri)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40))
def test_any_text_round_trips(remote: RemoteBackend, text: str) -> None:
    assert value_of(remote, ox.Literal(text)) == ox.Literal(text)
