"""The canned-query registry: loading and checking .rq files, binding parameters safely, running, formats."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coopgraph import canned
from coopgraph.backend import EmbeddedBackend
from coopgraph.errors import CoopgraphError, InputUnusable, InvalidParameter, UnknownQuery
from tests.canned_support import ID, build_fixture_root, copy_shipped_queries

REQUIRED = {
    "cooperations": {"authority", "authorityLabel", "authorityCountry", "partner", "partnerLabel",
                     "partnerCountry", "partnership", "startYear"},
    "partners-of": {"partner", "partnerLabel", "partnerCountry", "relation", "via", "viaLabel"},
    "network-members": {"member", "memberLabel", "memberCountry", "role"},
    "authorities": {"authority", "label", "country", "type"},
    "connection": {"step", "stepFrom", "relation", "via", "stepTo"},
    "sectors": {"sector", "label"},
    "partnerships-by-sector": {"partnership", "sector"},
    "actors": {"actor", "actorLabel"},
    "projects": {"project", "year"},
    "stats": {"dimension", "value", "count"},
}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedBackend:
    return EmbeddedBackend(build_fixture_root(tmp_path_factory))


@pytest.fixture(scope="module")
def registry() -> canned.Registry:
    return canned.load_registry()


def rows(backend: EmbeddedBackend, registry: canned.Registry, name: str, **arguments: str) -> list[dict[str, str | None]]:
    page = canned.run(backend, registry.get(name), arguments, limit=canned.MAX_LIMIT)
    return canned.page_json(page)["results"]


def test_shipped_queries_have_the_required_columns(registry: canned.Registry) -> None:
    for name, columns in REQUIRED.items():
        assert columns <= set(registry.get(name).columns), name
    assert all(query.summary for query in registry)


def test_unknown_query_suggests_close_names(registry: canned.Registry) -> None:
    with pytest.raises(UnknownQuery, match="partners-of"):
        registry.get("partner-of")


BROKEN = {
    "no-header.rq": ("SELECT * WHERE { ?s ?p ?o }", "summary"),
    "bad-yaml.rq": ("#+ summary: [unclosed\nSELECT * WHERE { ?s ?p ?o }", "YAML"),
    "bad-sparql.rq": ("#+ summary: x\nSELECT * WHERE { ?s ?p }", "does not parse"),
    "own-limit.rq": ("#+ summary: x\nSELECT * WHERE { ?s ?p ?o } LIMIT 5", "LIMIT"),
    "construct.rq": ("#+ summary: x\nCONSTRUCT WHERE { ?s ?p ?o }", "SELECT"),
    "unprojected.rq": (
        "#+ summary: x\n#+ parameters:\n#+   country:\n#+     type: country\nSELECT ?s WHERE { ?s ?p ?_country }",
        "?_country",
    ),
    "uses-bound.rq": (
        "#+ summary: x\n#+ parameters:\n#+   q:\n#+     type: string\n"
        "SELECT ?s ?_q WHERE { ?s ?p ?o FILTER(!BOUND(?_q) || ?o = ?_q) }",
        "BOUND",
    ),
    "bad-type.rq": ("#+ summary: x\n#+ parameters:\n#+   q:\n#+     type: text\nSELECT ?s ?_q WHERE { ?s ?p ?o }", "type"),
    "typo-key.rq": ("#+ summary: x\n#+ sumary: y\nSELECT * WHERE { ?s ?p ?o }", "sumary"),
    "undeclared.rq": ("#+ summary: x\nSELECT ?s ?_q WHERE { ?s ?p ?o }", "not declared"),
    "Bad_Name.rq": ("#+ summary: x\nSELECT * WHERE { ?s ?p ?o }", "file name"),
    "bad-default.rq": (
        "#+ summary: x\n#+ parameters:\n#+   y:\n#+     type: year\n#+     default: soon\nSELECT ?s ?_y WHERE { ?s ?p ?o }",
        "whole number",
    ),
}


@pytest.mark.parametrize("file_name", sorted(BROKEN))
def test_a_broken_query_file_fails_loading_with_its_name(tmp_path: Path, file_name: str) -> None:
    folder = copy_shipped_queries(tmp_path / "queries")
    text, reason = BROKEN[file_name]
    (folder / file_name).write_text(text, encoding="utf-8")
    with pytest.raises(InputUnusable) as caught:
        canned.load_registry(folder)
    assert file_name in caught.value.message
    assert reason in caught.value.message


def test_unbound_optional_parameter_means_no_filter(backend: EmbeddedBackend, registry: canned.Registry) -> None:
    everything = rows(backend, registry, "cooperations")
    french = rows(backend, registry, "cooperations", country="FR")
    assert len(everything) == 8  # four partnerships, both directions
    assert {r["authorityCountry"] for r in french} == {"FR"}
    assert len(french) == 5  # Brest, La Rochelle, Paris (twice: Beijing, formula-town) and formula-town


def test_bound_is_false_for_substituted_variables_in_pyoxigraph() -> None:
    # Why the registry refuses BOUND(?_x): if this ever changes, the rule can go.
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://e/a"), ox.NamedNode("http://e/p"), ox.Literal("x")))
    sparql = "SELECT ?s ?_q WHERE { ?s ?p ?o FILTER(BOUND(?_q)) }"
    assert list(store.query(sparql, substitutions={ox.Variable("_q"): ox.Literal("y")})) == []


def test_filters_of_cooperations(backend: EmbeddedBackend, registry: canned.Registry) -> None:
    def partners(**arguments: str) -> set[tuple[str | None, str | None]]:
        return {(r["authorityLabel"], r["partnerLabel"]) for r in rows(backend, registry, "cooperations", **arguments)}

    assert partners(country="fr", partnerCountry="CN") == {("Brest", "Qingdao"), ("La Rochelle", "Qingdao"), ("Paris", "Beijing")}
    assert partners(country="FR", kind="jumelage", partnerCountry="cn") == {("Brest", "Qingdao")}
    # higher-education is narrower than education: the broader sector finds it.
    assert partners(country="FR", sector="education") == {("Brest", "Qingdao")}
    assert partners(country="FR", since="1995") == {("La Rochelle", "Qingdao"), ("Paris", "Beijing")}
    assert partners(country="FR", since="1994", until="2000") == {("Paris", "Beijing")}
    assert partners(country="FR", partnerCountry="CN", lang="fr") >= {("Paris", "Pékin")}


def test_partners_of_through_partnerships_and_networks(backend: EmbeddedBackend, registry: canned.Registry) -> None:
    found = {(r["partnerLabel"], r["relation"], r["viaLabel"]) for r in rows(backend, registry, "partners-of", authority="La Rochelle")}
    assert found == {("Qingdao", "partnership", "La Rochelle – Qingdao"),
                     ("Vienne", "network", "Test Network"), ("Isère", "network", "Test Network")}
    network_only = rows(backend, registry, "partners-of", authority="La Rochelle", relation="network")
    assert {r["relation"] for r in network_only} == {"network"}


def test_connection_goes_through_qingdao(backend: EmbeddedBackend, registry: canned.Registry) -> None:
    steps = rows(backend, registry, "connection", **{"from": "Brest", "to": "La Rochelle"})
    assert [(s["step"], s["stepFrom"], s["stepTo"], s["relation"]) for s in steps] == [
        ("1", ID + "authority/brest", ID + "authority/qingdao", "partnership"),
        ("2", ID + "authority/qingdao", ID + "authority/la-rochelle", "partnership"),
    ]
    assert {s["length"] for s in steps} == {"2"}
    # Vienne – La Rochelle – Qingdao – Brest: three steps, the first through the network.
    longer = rows(backend, registry, "connection", **{"from": ID + "authority/vienne", "to": "Brest"})
    assert [s["relation"] for s in longer] == ["network", "partnership", "partnership"]
    assert rows(backend, registry, "connection", **{"from": "Brest", "to": "Pékin"}) == []


def test_network_members_and_authorities(backend: EmbeddedBackend, registry: canned.Registry) -> None:
    members = rows(backend, registry, "network-members", network="Test Network")
    assert {(m["memberLabel"], m["role"]) for m in members} == {
        ("Vienne", "founder"), ("Isère", "member"), ("La Rochelle", "associate")}
    found = rows(backend, registry, "authorities", q="rochelle")
    assert [(a["label"], a["country"], a["type"]) for a in found] == [("La Rochelle", "FR", "municipality")]
    assert [a["label"] for a in rows(backend, registry, "authorities", q="PEKIN", lang="fr")] == ["Pékin"]
    assert {a["country"] for a in rows(backend, registry, "authorities", country="CN")} == {"CN"}


def test_pagination_reads_one_row_more(backend: EmbeddedBackend, registry: canned.Registry) -> None:
    query = registry.get("cooperations")
    first = canned.run(backend, query, {}, limit=3)
    last = canned.run(backend, query, {}, limit=3, offset=6)
    assert (len(first.rows), first.has_more) == (3, True)
    assert (len(last.rows), last.has_more) == (2, False)
    everything = canned.run(backend, query, {}, limit=100).rows
    assert first.rows + canned.run(backend, query, {}, limit=3, offset=3).rows + last.rows == everything
    for limit, offset in (("0", None), ("10001", None), ("ten", None), (None, "-1"), ("1; DROP ALL", None)):
        with pytest.raises(InvalidParameter):
            canned.check_page(limit, offset)


def test_csv_neutralises_spreadsheet_formulas(backend: EmbeddedBackend, registry: canned.Registry) -> None:
    page = canned.run(backend, registry.get("partners-of"), {"authority": "Paris"})
    table = list(csv.reader(io.StringIO(canned.page_csv(page))))
    assert table[0] == list(page.columns)
    labels = [row[table[0].index("partnerLabel")] for row in table[1:]]
    assert "'=HYPERLINK(\"http://evil.example\")" in labels
    assert "Beijing" in labels


def test_sparql_json_keeps_types(backend: EmbeddedBackend, registry: canned.Registry) -> None:
    page = canned.run(backend, registry.get("cooperations"), {"country": "FR", "kind": "twinning", "partnerCountry": "CN"})
    document = canned.page_sparql_json(page)
    binding = document["results"]["bindings"][0]
    assert binding["startYear"] == {"type": "literal", "value": "1993", "datatype": "http://www.w3.org/2001/XMLSchema#integer"}
    assert binding["authorityLabel"] == {"type": "literal", "value": "Brest", "xml:lang": "en"}
    assert binding["authority"]["type"] == "uri"
    assert "_country" in document["head"]["vars"]


def test_missing_unknown_and_ill_typed_parameters(backend: EmbeddedBackend, registry: canned.Registry) -> None:
    cases = [
        ("partners-of", {}, "needs the parameter 'authority'"),
        ("partners-of", {"authority": "Brest", "authorty": "x"}, "no parameter 'authorty'"),
        ("cooperations", {"country": "FRA"}, "ISO 3166-1"),
        ("cooperations", {"country": "ZZ"}, "ISO 3166-1"),
        ("cooperations", {"since": "199O"}, "not a whole number"),
        ("cooperations", {"since": "99999"}, "out of range"),
        ("cooperations", {"lang": "de"}, "not one of en, fr"),
        ("partners-of", {"authority": "Brest", "relation": "friends"}, "not one of"),
    ]
    for name, arguments, reason in cases:
        with pytest.raises(InvalidParameter, match=reason):
            canned.run(backend, registry.get(name), arguments)


HOSTILE = [
    '" } ; DROP ALL ; #',
    "Brest\" } UNION { ?s ?p ?o } #",
    "Brest>",
    "<http://evil/>",
    "}",
    "#",
    "Brest\nLIMIT 1",
    "'; DELETE WHERE { ?s ?p ?o } ; '",
    "\\u0022",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_refused_or_plain_values(backend: EmbeddedBackend, registry: canned.Registry, value: str) -> None:
    before = rows(backend, registry, "cooperations")
    for name, parameter in (("partners-of", "authority"), ("authorities", "q"), ("cooperations", "country"),
                            ("cooperations", "sector"), ("cooperations", "since")):
        try:
            result = rows(backend, registry, name, **{parameter: value})
        except CoopgraphError as error:
            assert error.status in (404, 409, 422), (name, parameter, error)
            continue
        # Taken as a plain value ("Brest>" is the name Brest once punctuation is ignored): it
        # narrows the query like any value, never widens or rewrites it.
        if name == "partners-of":
            resolved = canned.run(backend, registry.get(name), {parameter: value}).parameters[parameter]
            assert result == rows(backend, registry, name, authority=resolved), value
        else:
            assert all(row in rows(backend, registry, name) for row in result), (name, parameter, value)
    assert rows(backend, registry, "cooperations") == before


def test_sparql_fragments_in_values_are_plain_text(backend: EmbeddedBackend, registry: canned.Registry) -> None:
    for value in ('" } ; DROP ALL ; #', "x\" } UNION { ?s ?p ?o } #"):
        assert rows(backend, registry, "authorities", q=value) == []
        with pytest.raises(CoopgraphError) as caught:
            rows(backend, registry, "partners-of", authority=value)
        assert caught.value.status == 404


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80))
def test_arbitrary_text_never_changes_the_query(backend: EmbeddedBackend, registry: canned.Registry, value: str) -> None:
    everything = {r["authority"] for r in rows(backend, registry, "authorities")}
    try:
        found = rows(backend, registry, "authorities", q=value)
    except CoopgraphError as error:
        assert error.status == 422
        return
    # A search can only narrow the list; a value that rewrote the query could widen or break it.
    assert {r["authority"] for r in found} <= everything
    assert all(set(r) == set(registry.get("authorities").columns) for r in found)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=60))
def test_arbitrary_names_get_a_typed_error_or_an_authority(backend: EmbeddedBackend, registry: canned.Registry, value: str) -> None:
    try:
        found = rows(backend, registry, "partners-of", authority=value)
    except CoopgraphError as error:
        assert error.status in (404, 409, 422)
    else:
        assert all(r["partner"] and r["partner"].startswith(ID + "authority/") for r in found)
