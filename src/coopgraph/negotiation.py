"""One content negotiation: an Accept header (or a ``format=`` name) and a result kind → a format, or 406.

Honours q-values and wildcards; never falls back silently to a format the
client did not accept.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from coopgraph.errors import NotAcceptable


@dataclass(frozen=True)
class Format:
    """A format coopgraph can produce: its media type, short name, and pyoxigraph format."""

    media_type: str
    name: str
    results: ox.QueryResultsFormat | None = None
    rdf: ox.RdfFormat | None = None
    aliases: tuple[str, ...] = ()


RESULT_FORMATS: tuple[Format, ...] = (
    Format("application/sparql-results+json", "json", results=ox.QueryResultsFormat.JSON, aliases=("application/json",)),
    Format("application/sparql-results+xml", "xml", results=ox.QueryResultsFormat.XML, aliases=("application/xml", "text/xml")),
    Format("text/csv", "csv", results=ox.QueryResultsFormat.CSV),
    Format("text/tab-separated-values", "tsv", results=ox.QueryResultsFormat.TSV),
)

RDF_FORMATS: tuple[Format, ...] = (
    Format("text/turtle", "ttl", rdf=ox.RdfFormat.TURTLE, aliases=("application/x-turtle",)),
    Format("application/n-triples", "nt", rdf=ox.RdfFormat.N_TRIPLES, aliases=("text/plain",)),
    Format("application/rdf+xml", "rdf", rdf=ox.RdfFormat.RDF_XML, aliases=("application/xml", "text/xml")),
    Format("application/ld+json", "jsonld", rdf=ox.RdfFormat.JSON_LD, aliases=("application/json",)),
    Format("application/n-quads", "nq", rdf=ox.RdfFormat.N_QUADS),
    Format("application/trig", "trig", rdf=ox.RdfFormat.TRIG),
)

HTML = Format("text/html", "html", aliases=("application/xhtml+xml",))

NAMES = {
    "turtle": "ttl", "ntriples": "nt", "n-triples": "nt", "rdfxml": "rdf", "xml-rdf": "rdf",
    "json-ld": "jsonld", "nquads": "nq", "n-quads": "nq", "srj": "json", "srx": "xml",
    "text": "tsv", "rdf+xml": "rdf", "n3": "ttl",
}

# Names that mean one thing for results and another for graphs: clients such as
# SPARQLWrapper send ``format=xml`` or ``format=json`` whatever the query form.
GRAPH_NAMES = {"xml": "rdf", "json": "jsonld"}


def _parse_accept(header: str) -> list[tuple[str, float, int]]:
    """(media range, q, position) for each entry of an Accept header."""
    ranges = []
    for position, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if not media:
            continue
        quality = 1.0
        for parameter in pieces[1:]:
            key, _, value = parameter.partition("=")
            if key.strip() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value)))
                except ValueError:
                    quality = 0.0
        ranges.append((media, quality, position))
    return ranges


def _matches(media_range: str, fmt: Format) -> int:
    """Specificity of the match of ``media_range`` with ``fmt`` (0 = no match)."""
    types = (fmt.media_type, *fmt.aliases)
    if media_range in types:
        return 3 if media_range == fmt.media_type else 2
    major = media_range.split("/")[0]
    # A wildcard matches the type we would send, not an alias (text/* is not SPARQL XML).
    if media_range.endswith("/*") and fmt.media_type.startswith(major + "/"):
        return 1
    return 1 if media_range == "*/*" else 0


def negotiate(accept: str | None, offers: tuple[Format, ...], format_name: str | None = None) -> Format:
    """Pick the format for a response.

    ``format_name`` (a ``format=`` parameter: a short name such as ``csv`` or a
    media type) overrides the header. With no header the first offer is the
    default. Raises ``NotAcceptable`` naming what can be produced.
    """
    if format_name:
        # A "+" left unencoded in a URL (application/sparql-results+json) arrives as a space.
        given = format_name.strip().lower().replace(" ", "+")
        wanted = NAMES.get(given, given)
        for candidate in (wanted, GRAPH_NAMES.get(wanted)):
            for fmt in offers:
                if candidate in (fmt.name, fmt.media_type, *fmt.aliases):
                    return fmt
        raise NotAcceptable(
            f"Format {format_name!r} is not available here; use one of "
            f"{', '.join(f.name for f in offers)}."
        )
    if not accept or not accept.strip():
        return offers[0]
    best: tuple[float, int, int, int] | None = None
    chosen: Format | None = None
    ranges = _parse_accept(accept)
    for offer_index, fmt in enumerate(offers):
        # The most specific range that matches decides this offer's quality (RFC 9110 §12.5.1).
        matches = [(_matches(media, fmt), q, pos) for media, q, pos in ranges]
        matches = [m for m in matches if m[0] > 0]
        if not matches:
            continue
        specificity, quality, position = max(matches, key=lambda m: (m[0], -m[2]))
        if quality <= 0:
            continue
        key = (quality, specificity, -position, -offer_index)
        if best is None or key > best:
            best, chosen = key, fmt
    if chosen is None:
        raise NotAcceptable(
            f"None of the accepted types ({accept}) can be produced here; use one of "
            f"{', '.join(f.media_type for f in offers)}."
        )
    return chosen
