"""What the build derives from the data, into the ``inferred`` graph.

- ``coop:cooperatesWith`` between the partners of a partnership (both directions);
- ``coop:sharesNetworkWith`` between the authorities of a network;
- one ``skos:prefLabel`` per resource and language (the smallest ``rdfs:label`` in
  that language) for resources that state none: queries read one label without
  the duplicates the union default graph returns for a label stated by several
  sources (each copy would multiply the rows of an ``OPTIONAL``).

The same derivation exists in two forms. ``inferred_quads`` reads the store's
quads by pattern and computes the pairs in Python: the embedded build and
updates use it (7.7 s at 1 M triples, where the SPARQL update took 25.6 s).
``INFERRED_UPDATE`` is one SPARQL update, for a remote SPARQL server that must
re-derive after an update without sending its data anywhere.
``tests/test_inference.py`` checks that both give the same quads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

import pyoxigraph as ox

from coopgraph.store import ONTOLOGY_NS, graph_iri

COOP = ONTOLOGY_NS
ORG = "http://www.w3.org/ns/org#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
COOPERATES_WITH = ox.NamedNode(COOP + "cooperatesWith")
SHARES_NETWORK_WITH = ox.NamedNode(COOP + "sharesNetworkWith")
PREF_LABEL = ox.NamedNode(SKOS + "prefLabel")

Subject = ox.NamedNode | ox.BlankNode
Node = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


def materialise_inferred(store: ox.Store) -> None:
    """(Re)write the ``inferred`` graph of ``store``."""
    inferred = graph_iri("inferred")
    store.clear_graph(inferred)
    store.bulk_extend(list(inferred_quads(store)))


def inferred_quads(store: ox.Store) -> Iterator[ox.Quad]:
    """The quads of the ``inferred`` graph, from every other graph of ``store``."""
    inferred = graph_iri("inferred")
    partners = _values(store, COOP + "partner", _instances(store, "Partnership"))
    for a, b in _pairs(partners.values()):
        yield ox.Quad(a, COOPERATES_WITH, b, inferred)
    memberships = _instances(store, "Membership")
    authorities = _instances(store, "Authority")
    members = _values(store, ORG + "member", memberships)
    networks: defaultdict[Node, set[Node]] = defaultdict(set)
    for membership, organisations in _values(store, ORG + "organization", memberships).items():
        for network in organisations:
            networks[network] |= {m for m in members.get(membership, ()) if m in authorities}
    for a, b in _pairs(networks.values()):
        yield ox.Quad(a, SHARES_NETWORK_WITH, b, inferred)
    yield from _preferred_labels(store, inferred)


def _instances(store: ox.Store, class_name: str) -> set[Node]:
    return {q.subject for q in store.quads_for_pattern(None, RDF_TYPE, ox.NamedNode(COOP + class_name), None)}


def _values(store: ox.Store, predicate: str, subjects: set[Node]) -> dict[Node, set[Node]]:
    """The objects of ``predicate`` for each of ``subjects``, over every graph."""
    found: defaultdict[Node, set[Node]] = defaultdict(set)
    for quad in store.quads_for_pattern(None, ox.NamedNode(predicate), None, None):
        if quad.subject in subjects:
            found[quad.subject].add(quad.object)
    return found


def _pairs(groups: Iterable[set[Node]]) -> set[tuple[Subject, Node]]:
    """Every ordered pair of distinct members of a group, once (a literal is never a subject)."""
    return {
        (a, b) for members in groups for a in members for b in members if a != b and isinstance(a, Subject)
    }


def _preferred_labels(store: ox.Store, graph: ox.NamedNode) -> Iterator[ox.Quad]:
    given = {q.subject for q in store.quads_for_pattern(None, PREF_LABEL, None, None)}
    smallest: dict[tuple[ox.NamedNode, str], ox.Literal] = {}
    for quad in store.quads_for_pattern(None, RDFS_LABEL, None, None):
        subject, label = quad.subject, quad.object
        if not isinstance(subject, ox.NamedNode) or not isinstance(label, ox.Literal) or not label.language:
            continue
        if subject in given:
            continue
        key = (subject, label.language)
        if key not in smallest or label.value < smallest[key].value:
            smallest[key] = label
    for (subject, _language), label in smallest.items():
        yield ox.Quad(subject, PREF_LABEL, label, graph)


def _inferred_update() -> str:
    # Every pattern names its graph (GRAPH ?g): the update then reads all the data
    # whatever a server takes as the default graph of an update (embedded or remote).
    # One skos:prefLabel per resource and language, in one graph, gives queries a label
    # to read without the duplicates the union default graph returns for a label
    # stated by several sources (each copy would multiply the rows of an OPTIONAL).
    graph = graph_iri("inferred").value
    rdf_type = f"<{RDF_TYPE.value}>"
    org = ORG
    return f"""DROP SILENT GRAPH <{graph}> ;
INSERT {{ GRAPH <{graph}> {{ ?a <{COOP}cooperatesWith> ?b }} }} WHERE {{
  SELECT DISTINCT ?a ?b WHERE {{
    GRAPH ?g1 {{ ?p {rdf_type} <{COOP}Partnership> }}
    GRAPH ?g2 {{ ?p <{COOP}partner> ?a }}
    GRAPH ?g3 {{ ?p <{COOP}partner> ?b }}
    FILTER (?a != ?b)
  }}
}} ;
INSERT {{ GRAPH <{graph}> {{ ?a <{COOP}sharesNetworkWith> ?b }} }} WHERE {{
  SELECT DISTINCT ?a ?b WHERE {{
    GRAPH ?g1 {{ ?m1 {rdf_type} <{COOP}Membership> }} GRAPH ?g2 {{ ?m1 <{org}member> ?a }}
    GRAPH ?g3 {{ ?m1 <{org}organization> ?n }}
    GRAPH ?g4 {{ ?m2 {rdf_type} <{COOP}Membership> }} GRAPH ?g5 {{ ?m2 <{org}member> ?b }}
    GRAPH ?g6 {{ ?m2 <{org}organization> ?n }}
    GRAPH ?g7 {{ ?a {rdf_type} <{COOP}Authority> }} GRAPH ?g8 {{ ?b {rdf_type} <{COOP}Authority> }}
    FILTER (?a != ?b)
  }}
}} ;
INSERT {{ GRAPH <{graph}> {{ ?x <{SKOS}prefLabel> ?label }} }} WHERE {{
  SELECT ?x (MIN(?name) AS ?label) WHERE {{
    GRAPH ?g {{ ?x <http://www.w3.org/2000/01/rdf-schema#label> ?name }}
    FILTER (isIRI(?x) && LANG(?name) != "")
    FILTER NOT EXISTS {{ GRAPH ?h {{ ?x <{SKOS}prefLabel> ?given }} }}
  }} GROUP BY ?x (LANG(?name))
}}"""


INFERRED_UPDATE = _inferred_update()
