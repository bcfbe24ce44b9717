"""The SPARQL 1.1 Service Description of the endpoint, as RDF triples.

What a client may rely on: the endpoint IRI, the languages (query, and update
when an update token is configured), every result format, the union default
graph, no entailment, and the dataset with each named graph (its size taken
from the VoID statistics computed at build time, when there are some).
"""

from __future__ import annotations

import pyoxigraph as ox

from coopgraph.backend import Backend, solutions
from coopgraph.negotiation import RDF_FORMATS, RESULT_FORMATS, Format
from coopgraph.store import graph_iri

SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS = "http://www.w3.org/ns/formats/"
VOID = "http://rdfs.org/ns/void#"
DCT = "http://purl.org/dc/terms/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS = "http://www.w3.org/2000/01/rdf-schema#"

PREFIXES = {"sd": SD, "formats": FORMATS, "void": VOID, "dct": DCT, "rdfs": RDFS}

# The W3C's IRIs for the formats we produce (https://www.w3.org/ns/formats/).
FORMAT_IRIS = {
    "application/sparql-results+json": "SPARQL_Results_JSON",
    "application/sparql-results+xml": "SPARQL_Results_XML",
    "text/csv": "SPARQL_Results_CSV",
    "text/tab-separated-values": "SPARQL_Results_TSV",
    "text/turtle": "Turtle",
    "application/n-triples": "N-Triples",
    "application/rdf+xml": "RDF_XML",
    "application/ld+json": "JSON-LD",
    "application/n-quads": "N-Quads",
    "application/trig": "TriG",
}

_NAMED_GRAPHS = f"""
PREFIX sd: <{SD}>
PREFIX void: <{VOID}>
SELECT ?graph ?triples WHERE {{
  GRAPH ?graph {{ }}
  OPTIONAL {{ GRAPH <{graph_iri("void").value}> {{ ?subset sd:name ?graph ; void:triples ?triples }} }}
}} ORDER BY ?graph
"""


def named_graphs(backend: Backend) -> list[tuple[ox.NamedNode, ox.Literal | None]]:
    """Each named graph of the store with its triple count from VoID (``None`` when unknown)."""
    graphs = []
    for row in solutions(backend.query(_NAMED_GRAPHS)):
        graph, triples = row["graph"], row["triples"]
        if isinstance(graph, ox.NamedNode):
            graphs.append((graph, triples if isinstance(triples, ox.Literal) else None))
    return graphs


def _format_iri(fmt: Format) -> ox.NamedNode:
    return ox.NamedNode(FORMATS + FORMAT_IRIS[fmt.media_type])


def describe_service(
    endpoint: str,
    graphs: list[tuple[ox.NamedNode, ox.Literal | None]],
    *,
    update_enabled: bool,
    void_url: str | None = None,
) -> list[ox.Triple]:
    """The service description of the endpoint at ``endpoint`` serving ``graphs``."""
    service = ox.NamedNode(endpoint)
    dataset = ox.NamedNode(endpoint + "#dataset")
    default_graph = ox.NamedNode(endpoint + "#default-graph")

    def sd(name: str) -> ox.NamedNode:
        return ox.NamedNode(SD + name)

    triples = [
        ox.Triple(service, RDF_TYPE, sd("Service")),
        ox.Triple(service, sd("endpoint"), service),
        ox.Triple(service, ox.NamedNode(DCT + "title"), ox.Literal("coopgraph SPARQL endpoint", language="en")),
        ox.Triple(
            service,
            ox.NamedNode(DCT + "description"),
            ox.Literal(
                "Decentralised international cooperation as linked data. The default graph "
                "is the union of the named graphs, one per source document.",
                language="en",
            ),
        ),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(service, sd("feature"), sd("UnionDefaultGraph")),
        ox.Triple(service, sd("defaultEntailmentRegime"), ox.NamedNode("http://www.w3.org/ns/entailment/Simple")),
        ox.Triple(service, sd("defaultDataset"), dataset),
    ]
    if update_enabled:
        triples.append(ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Update")))
    triples += [ox.Triple(service, sd("resultFormat"), _format_iri(f)) for f in (*RESULT_FORMATS, *RDF_FORMATS)]
    triples += [
        ox.Triple(dataset, RDF_TYPE, sd("Dataset")),
        ox.Triple(dataset, sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, RDF_TYPE, sd("Graph")),
        ox.Triple(
            default_graph,
            ox.NamedNode(RDFS + "comment"),
            ox.Literal("The union of all the named graphs.", language="en"),
        ),
    ]
    if void_url:
        triples.append(ox.Triple(dataset, ox.NamedNode(RDFS + "seeAlso"), ox.NamedNode(void_url)))
    for graph, size in graphs:
        named, described = ox.BlankNode(), ox.BlankNode()
        triples += [
            ox.Triple(dataset, sd("namedGraph"), named),
            ox.Triple(named, RDF_TYPE, sd("NamedGraph")),
            ox.Triple(named, sd("name"), graph),
            ox.Triple(named, sd("graph"), described),
            ox.Triple(described, RDF_TYPE, sd("Graph")),
        ]
        if size is not None:
            triples.append(ox.Triple(described, ox.NamedNode(VOID + "triples"), size))
    return triples


def service_description(
    backend: Backend, *, endpoint: str, void_url: str | None, update_enabled: bool, rdf_format: ox.RdfFormat
) -> bytes:
    """The service description of ``endpoint`` over ``backend``'s dataset, serialised in ``rdf_format``."""
    triples = describe_service(endpoint, named_graphs(backend), update_enabled=update_enabled, void_url=void_url)
    prefixes = PREFIXES if rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
    return ox.serialize(triples, format=rdf_format, prefixes=prefixes) or b""
