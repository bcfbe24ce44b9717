"""The SPARQL-compiled validator agrees with pySHACL, the reference, and refuses what it cannot compile."""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from pyshacl import validate as pyshacl_validate
from rdflib.namespace import SH

from coopgraph.build import data_sources, reference_quads, vocabulary_sources
from coopgraph.resources import resource_dir
from coopgraph.store import graph_iri
from coopgraph.validation import _to_rdflib, shapes_graph, validate_quads
from coopgraph.validation_sparql import ShapesUnsupported, validate_quads_sparql, validate_store

from .test_shapes import CASES, graph_with, turtle_prefixes

Result = tuple[str, str | None, str, str | None]

# Corners of the semantics the shape examples do not reach: ill-formed and
# mistyped literals, subclasses, language ranges, message templates, a node
# shape's own message next to a SPARQL constraint's, triples repeated across graphs.
EDGE_CASES = {
    "ill-formed integer": """authority:c a coop:Authority ; rdfs:label "C"@fr ; coop:authorityType atype:municipality ;
        coop:country country:fr ; coop:population "many"^^xsd:integer ; prov:wasDerivedFrom source:test .""",
    "negative population": """authority:c a coop:Authority ; rdfs:label "C"@fr ; coop:authorityType atype:municipality ;
        coop:country country:fr ; coop:population -5 ; prov:wasDerivedFrom source:test .""",
    "string population": """authority:c a coop:Authority ; rdfs:label "C"@fr ; coop:authorityType atype:municipality ;
        coop:country country:fr ; coop:population "5" ; prov:wasDerivedFrom source:test .""",
    "label without language": """authority:c a coop:Authority ; rdfs:label "C" ; coop:authorityType atype:municipality ;
        coop:country country:fr ; prov:wasDerivedFrom source:test .""",
    "no type, no country, two types": """authority:c a coop:Authority ; rdfs:label "C"@fr ;
        coop:authorityType atype:municipality , atype:region ; prov:wasDerivedFrom source:test .""",
    "country is a literal": """authority:c a coop:Authority ; rdfs:label "C"@fr ; coop:authorityType atype:municipality ;
        coop:country "fr" ; prov:wasDerivedFrom source:test .""",
    "partner of a subclass": """<https://example.org/Metropolis> rdfs:subClassOf coop:Authority .
        authority:m a <https://example.org/Metropolis> ; rdfs:label "M"@fr ; coop:authorityType atype:municipality ;
            coop:country country:fr ; prov:wasDerivedFrom source:test .
        partnership:a--m a coop:Partnership ; coop:partner authority:a , authority:m ; coop:partnershipKind kind:twinning ;
            prov:wasDerivedFrom source:test .""",
    "subclass instance missing a label": """<https://example.org/Metropolis> rdfs:subClassOf coop:Authority .
        authority:m a <https://example.org/Metropolis> ; coop:authorityType atype:municipality ;
            coop:country country:fr ; prov:wasDerivedFrom source:test .""",
    "project in the future without authority": """project:q a coop:Project ; dct:title "Q"@fr ; coop:year 2999 ;
        prov:wasDerivedFrom source:test .""",
    "project in the future": """project:q a coop:Project ; dct:title "Q"@fr ; coop:year 2999 ;
        coop:leadAuthority authority:a ; prov:wasDerivedFrom source:test .""",
    "several future years": """partnership:a--b a coop:Partnership ; coop:partner authority:a , authority:b ;
        coop:partnershipKind kind:twinning ; coop:startYear 2998 ; prov:wasDerivedFrom source:test .
        [] a coop:Action ; dct:description "x"@en ; coop:year 2997 .""",
    "regional language tag": """sector:test a skos:Concept ; skos:inScheme <https://w3id.org/coopgraph/id/scheme/sector> ;
        skos:prefLabel "Essai"@fr-CA , "Test"@en-GB .""",
    "e-mail in a label": """person:r a coop:Person ; rdfs:label "r.s@example.org" .""",
    "membership of a literal": """membership:n--z a coop:Membership ; org:member "Z" ; org:organization network:n ;
        org:role role:member , role:founder ; prov:wasDerivedFrom source:test .""",
    "figure as a decimal and twice": """[] a coop:Figure ; coop:about network:n , authority:a ; rdf:value 1.5 ;
        coop:measure "x"@en ; prov:wasDerivedFrom source:test .""",
    "year as a date": """[] a coop:Action ; dct:description "x"@en ; coop:year "1999-01-01"^^xsd:date .""",
    "country notation lower case": """country:zz a coop:Country ; skos:notation "zz" , "ZZ" ;
        skos:inScheme <https://w3id.org/coopgraph/id/scheme/country> ; skos:prefLabel "Zed"@en , "Zède"@fr .""",
}


def reference_results(quads: list[ox.Quad]) -> tuple[bool, set[Result]]:
    """pySHACL's top-level results (``sh:result`` of the report, not the nested ``sh:detail`` ones)."""
    conforms, results, _ = pyshacl_validate(
        _to_rdflib(quads), shacl_graph=shapes_graph(), inference="none", advanced=True, allow_warnings=True
    )

    def show(term: object) -> str | None:
        if term is None:
            return None
        return "a blank node" if isinstance(term, rdflib.BNode) else str(term)

    found: set[Result] = set()
    for result in results.objects(None, SH.result):
        message = results.value(result, SH.resultMessage)
        found.add((
            str(show(results.value(result, SH.focusNode))),
            show(results.value(result, SH.resultPath)),
            str(message),
            show(results.value(result, SH.value)),
        ))
    return bool(conforms), found


def assert_agree(quads: list[ox.Quad]) -> set[Result]:
    conforms, expected = reference_results(quads)
    report = validate_quads_sparql(quads)
    got = {(v.focus, v.path, v.message, v.value) for v in report.violations}
    assert report.conforms == conforms
    # Equal on (focus, path, message); values too, except where pySHACL leaves them out.
    assert {r[:3] for r in got} == {r[:3] for r in expected}
    assert {r for r in got if r[3] is not None} >= {r for r in expected if r[3] is not None}
    return got


EXAMPLES = [("base", "")] + [
    (f"{case['shape']} / {kind}", case[kind]) for case in CASES["case"] for kind in ("conforms", "violates")
] + list(EDGE_CASES.items())


@pytest.mark.parametrize(("name", "snippet"), EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_agrees_with_pyshacl(name: str, snippet: str) -> None:
    found = assert_agree(graph_with(snippet))
    if name.endswith("/ violates") or name in EDGE_CASES and name not in ("partner of a subclass", "regional language tag"):
        assert found, "the example should violate a shape"


def test_the_wrapper_and_the_compiled_validator_agree_on_conformance() -> None:
    for case in CASES["case"]:
        quads = graph_with(case["violates"])
        assert validate_quads(quads).conforms is validate_quads_sparql(quads).conforms is False
        assert any(case["expect"] in v.message for v in validate_quads_sparql(quads).violations)


def test_message_template_is_filled_with_the_value() -> None:
    report = validate_quads_sparql(graph_with(EDGE_CASES["several future years"]))
    messages = sorted(v.message for v in report.violations)
    assert messages == [
        "The year 2997 lies in the future; give a year up to the current one.",
        "The year 2998 lies in the future; give a year up to the current one.",
    ]


def test_triples_repeated_in_several_graphs_count_once() -> None:
    quads = graph_with("")
    again = [ox.Quad(q.subject, q.predicate, q.object, graph_iri("second")) for q in quads]
    report = validate_quads_sparql(quads + again)
    assert report.conforms, [str(v) for v in report.violations]


@lru_cache(maxsize=1)
def shipped_quads() -> tuple[ox.Quad, ...]:
    store = ox.Store()
    for source in vocabulary_sources() + data_sources(resource_dir("data")):
        for path in source.files:
            store.load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=graph_iri(source.name))
    store.extend(list(reference_quads(store)))
    return tuple(store)


def test_agrees_with_pyshacl_on_the_shipped_data() -> None:
    assert_agree(list(shipped_quads()))


def test_agrees_with_pyshacl_on_the_shipped_data_with_faults() -> None:
    faulty = turtle_prefixes() + """
        authority:rhone-alpes coop:country country:de ; coop:population "lots" .
        partnership:rhone-alpes--shanghai coop:startYear 3000 ; coop:sector kind:twinning .
        network:four-motors-for-europe coop:sector <https://w3id.org/coopgraph/id/sector/nowhere> ."""
    quads = list(shipped_quads()) + list(ox.parse(faulty.encode(), format=ox.RdfFormat.TURTLE))
    assert len(assert_agree(quads)) >= 4


def test_validates_a_store_in_place(tmp_path: Path) -> None:
    store = ox.Store(str(tmp_path / "store"))
    store.extend(graph_with(CASES["case"][0]["violates"]))
    report = validate_store(store)
    assert not report.conforms
    assert report.triples > 0


SHAPES_HEAD = """@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
UNSUPPORTED = {
    "a constraint component not compiled": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; "
    "sh:property [ sh:path ex:p ; sh:maxLength 3 ; sh:message \"m\" ] .",
    "a target other than a class": "ex:S a sh:NodeShape ; sh:targetNode ex:x ; "
    "sh:property [ sh:path ex:p ; sh:minCount 1 ; sh:message \"m\" ] .",
    "a path expression": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; "
    "sh:property [ sh:path [ sh:inversePath ex:p ] ; sh:minCount 1 ; sh:message \"m\" ] .",
    "a sequence path": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; "
    "sh:property [ sh:path ( ex:p ex:q ) ; sh:minCount 1 ; sh:message \"m\" ] .",
    "a property shape without a message": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; "
    "sh:property [ sh:path ex:p ; sh:minCount 1 ] .",
    "a datatype without a lexical check": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; "
    "sh:property [ sh:path ex:p ; sh:datatype xsd:gYear ; sh:message \"m\" ] .",
    "a nested count other than 1": "ex:T a sh:NodeShape ; sh:property [ sh:path ex:q ; sh:minCount 2 ] . "
    "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:node ex:T ; sh:message \"m\" ] .",
    "a SPARQL constraint with VALUES": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [ sh:message \"m\" ; "
    "sh:select \"SELECT $this WHERE { VALUES ?x { 1 } $this ex:p ?x }\" ] .",
    "a SPARQL constraint with a sub-select": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [ sh:message \"m\" ; "
    "sh:select \"SELECT $this WHERE { { SELECT $this WHERE { $this ex:p ?x } } }\" ] .",
    "a SPARQL constraint not projecting $this": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [ sh:message \"m\" ; "
    "sh:select \"SELECT ?value WHERE { $this ex:p ?value }\" ] .",
    "a severity": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:severity sh:Warning ; "
    "sh:property [ sh:path ex:p ; sh:minCount 1 ; sh:message \"m\" ] .",
    "a deactivated shape": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:deactivated true ; "
    "sh:property [ sh:path ex:p ; sh:minCount 1 ; sh:message \"m\" ] .",
    "an implicit class target": "ex:S a sh:NodeShape , <http://www.w3.org/2000/01/rdf-schema#Class> ; "
    "sh:property [ sh:path ex:p ; sh:minCount 1 ; sh:message \"m\" ] .",
}


@pytest.mark.parametrize("shapes", UNSUPPORTED.values(), ids=list(UNSUPPORTED))
def test_unsupported_shapes_fail_loudly_before_validating(tmp_path: Path, shapes: str) -> None:
    (tmp_path / "shapes.ttl").write_text(SHAPES_HEAD + shapes, encoding="utf-8")
    with pytest.raises(ShapesUnsupported):
        validate_quads_sparql([], shapes_dir=tmp_path)


def test_the_shipped_shapes_compile(tmp_path: Path) -> None:
    shutil.copy(resource_dir("shapes") / "coopgraph-shapes.ttl", tmp_path / "shapes.ttl")
    assert validate_quads_sparql(graph_with(""), shapes_dir=tmp_path).conforms
