"""Serialising the whole graph: triple formats give the union, quad formats keep the named graphs."""

from __future__ import annotations

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
    """Write every quad (dataset formats) or the union of the graphs (triple formats)."""
    if fmt.supports_datasets:
        store.dump(output, fmt, prefixes=PREFIXES if fmt is ox.RdfFormat.TRIG else None)
        return
    union = store.query("CONSTRUCT { ?s ?p ?o } WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }", use_default_graph_as_union=True)
    assert isinstance(union, ox.QueryTriples)
    prefixes = PREFIXES if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML) else None
    ox.serialize(union, output, fmt, prefixes=prefixes)
