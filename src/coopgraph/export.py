"""Serialising the whole graph: triple formats give the union, quad formats keep the named graphs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import pyoxigraph as ox

from coopgraph.errors import InvalidParameter

EXPORT_FORMATS: dict[str, ox.RdfFormat] = {
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "nq": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdf": ox.RdfFormat.RDF_XML,
}

PREFIXES = {
    "coop": "https://w3id.org/coopgraph/ontology#",
    "authority": "https://w3id.org/coopgraph/id/authority/",
    "partnership": "https://w3id.org/coopgraph/id/partnership/",
    "network": "https://w3id.org/coopgraph/id/network/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "org": "http://www.w3.org/ns/org#",
    "prov": "http://www.w3.org/ns/prov#",
    "dct": "http://purl.org/dc/terms/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


def export_format(name: str) -> ox.RdfFormat:
    """The RDF format for an export name (ttl, nt, nq, trig, jsonld, rdf)."""
    try:
        return EXPORT_FORMATS[name]
    except KeyError:
        raise InvalidParameter(
            f"Unknown export format {name!r}; use one of {', '.join(EXPORT_FORMATS)}."
        ) from None


def write_graph(store: ox.Store, output: IO[bytes], fmt: ox.RdfFormat) -> None:
    """Write every quad (dataset formats) or the union of the graphs (triple formats), streaming."""
    if fmt.supports_datasets:
        store.dump(output, fmt, prefixes=PREFIXES if fmt is ox.RdfFormat.TRIG else None)
        return
    prefixes = PREFIXES if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML) else None
    ox.serialize(union_triples(store), output, fmt, prefixes=prefixes)


def union_triples(store: ox.Store) -> Iterator[ox.Triple]:
    """Each triple of the union of all graphs once, in constant memory.

    A triple stated in several graphs is written where it is met in the first of
    them (the store's own order), so no set of seen triples is kept.
    """
    for quad in store.quads_for_pattern(None, None, None, None):
        first = next(store.quads_for_pattern(quad.subject, quad.predicate, quad.object, None))
        if first.graph_name == quad.graph_name:
            yield ox.Triple(quad.subject, quad.predicate, quad.object)
