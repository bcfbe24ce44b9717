"""The two forms of the build's derivation (Python for the embedded store, SPARQL for a remote server) agree."""

from __future__ import annotations

import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from coopgraph.build import build
from coopgraph.inference import INFERRED_UPDATE, inferred_quads, materialise_inferred
from coopgraph.store import StoreRoot, graph_iri

INFERRED = graph_iri("inferred")
EDGE_CASES = """
@prefix coop: <https://w3id.org/coopgraph/ontology#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix ex: <https://example.org/> .

ex:p3 a coop:Partnership ; coop:partner ex:a , ex:b , ex:c .
ex:not-a-partnership coop:partner ex:a , ex:d .
ex:a a coop:Authority ; rdfs:label "Zeta"@en , "Alpha"@en , "Alpha"@fr , "no language" .
ex:b a coop:Authority ; rdfs:label "B"@en ; skos:prefLabel "Given"@en .
ex:c a coop:Authority .
ex:n a coop:Network .
ex:m1 a coop:Membership ; org:member ex:a ; org:organization ex:n .
ex:m2 a coop:Membership ; org:member ex:c ; org:organization ex:n .
ex:m3 a coop:Membership ; org:member ex:not-an-authority ; org:organization ex:n .
ex:m4 org:member ex:b ; org:organization ex:n .
_:blank rdfs:label "Blank"@en .
"""


def by_sparql(store: ox.Store) -> set[ox.Quad]:
    scratch = ox.Store()
    scratch.extend(q for q in store.quads_for_pattern(None, None, None, None) if q.graph_name != INFERRED)
    scratch.update(INFERRED_UPDATE)
    return set(scratch.quads_for_pattern(None, None, None, INFERRED))


def by_python(store: ox.Store) -> set[ox.Quad]:
    scratch = ox.Store()
    scratch.extend(q for q in store.quads_for_pattern(None, None, None, None) if q.graph_name != INFERRED)
    return set(inferred_quads(scratch))


def test_both_forms_agree_on_the_shipped_data(store_root: StoreRoot) -> None:
    store = store_root.open_current(read_only=True)
    python = by_python(store)
    assert len(python) > 1000
    assert python == by_sparql(store)
    # And the build wrote exactly that.
    assert set(store.quads_for_pattern(None, None, None, INFERRED)) == python


def test_both_forms_agree_on_a_generated_graph(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.generate import write

    write(5000, tmp_path / "generated")
    root = StoreRoot(tmp_path / "store")
    build(root, data_dir=tmp_path / "generated" / "data")
    store = root.open_current(read_only=True)
    python = by_python(store)
    assert python == by_sparql(store)
    predicates = {q.predicate.value.rsplit("#", 1)[-1] for q in python}
    assert predicates == {"cooperatesWith", "sharesNetworkWith", "prefLabel"}


def test_edge_cases_agree_and_mean_what_the_ontology_says() -> None:
    store = ox.Store()
    store.load(EDGE_CASES.encode(), ox.RdfFormat.TURTLE, to_graph=graph_iri("edge"))
    python = by_python(store)
    assert python == by_sparql(store)
    ex = "https://example.org/"

    def has(s: str, p: str, o: ox.NamedNode | ox.Literal) -> bool:
        return any(q.subject == ox.NamedNode(ex + s) and q.predicate.value.endswith(p) and q.object == o for q in python)

    # Three partners: six ordered pairs; a subject that is not a partnership derives nothing.
    cooperation = {(q.subject.value, q.object.value) for q in python if q.predicate.value.endswith("cooperatesWith")}
    assert len(cooperation) == 6 and (ex + "a", ex + "d") not in cooperation
    # Network: only members that are authorities, through typed memberships.
    assert has("a", "sharesNetworkWith", ox.NamedNode(ex + "c"))
    assert not any(q.predicate.value.endswith("sharesNetworkWith") and ex + "not-an-authority" in (q.subject.value, q.object.value) for q in python)
    assert not any(q.predicate.value.endswith("sharesNetworkWith") and q.subject == ox.NamedNode(ex + "b") for q in python)
    # Labels: the smallest per language, none without a language, none where one is given, none for blank nodes.
    assert has("a", "prefLabel", ox.Literal("Alpha", language="en"))
    assert has("a", "prefLabel", ox.Literal("Alpha", language="fr"))
    assert not has("a", "prefLabel", ox.Literal("Zeta", language="en"))
    assert not any(q.predicate.value.endswith("prefLabel") and q.subject == ox.NamedNode(ex + "b") for q in python)
    assert not any(isinstance(q.subject, ox.BlankNode) for q in python)


@pytest.mark.parametrize("times", [1, 2])
def test_materialising_again_gives_the_same_graph(tmp_path: Path, times: int) -> None:
    store = ox.Store(str(tmp_path / "store"))
    store.load(EDGE_CASES.encode(), ox.RdfFormat.TURTLE, to_graph=graph_iri("edge"))
    for _ in range(times):
        materialise_inferred(store)
    assert set(store.quads_for_pattern(None, None, None, INFERRED)) == by_sparql(store)
