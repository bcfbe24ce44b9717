"""Linked data: resource descriptions, dumps, the VoID/DCAT description and the JSON-LD context.

Everything here reads through a ``Backend`` (``coopgraph.backend``), so it works
the same over the embedded store, the worker pool and a remote SPARQL endpoint.
The fixed SPARQL it runs lives in ``queries/internal/*.rq``; the resource is
always bound as ``?resource`` by substitution, never pasted into the text.

- ``describe`` gives a resource's statements as quads (the named graph of each
  statement is its provenance), with its blank-node parts, the statements that
  point at it, and the labels of what it links to.
- ``stream_dump`` writes the whole dataset in chunks from a thread, so memory
  stays flat whatever the size of the dump.
- ``void_description`` adds to the build's ``graph/void`` statistics what only
  the running server knows: its endpoint, dump URLs and distributions.
"""

from __future__ import annotations

import functools
import gzip
import io
import queue
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import pyoxigraph as ox

from coopgraph.backend import Backend, DumpingBackend, solutions
from coopgraph.errors import UnknownResource, UpstreamError
from coopgraph.export import PREFIXES as EXPORT_PREFIXES
from coopgraph.resources import resource_dir
from coopgraph.store import GRAPH_BASE, ID_BASE, ONTOLOGY_NS, Term

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
GEO = "http://www.w3.org/2003/01/geo/wgs84_pos#"

DATASET_IRI = ID_BASE + "dataset/coopgraph"
VOID_GRAPH = GRAPH_BASE + "void"
LICENCE = "https://creativecommons.org/licenses/by/4.0/"

PREFIXES: dict[str, str] = {
    **EXPORT_PREFIXES,
    "id": ID_BASE,
    "membership": ID_BASE + "membership/",
    "actor": ID_BASE + "actor/",
    "project": ID_BASE + "project/",
    "person": ID_BASE + "person/",
    "office": ID_BASE + "office/",
    "sector": ID_BASE + "sector/",
    "kind": ID_BASE + "partnership-kind/",
    "atype": ID_BASE + "authority-type/",
    "actype": ID_BASE + "actor-type/",
    "role": ID_BASE + "role/",
    "status": ID_BASE + "status/",
    "country": ID_BASE + "country/",
    "source": ID_BASE + "source/",
    "graph": GRAPH_BASE,
    "owl": OWL,
    "void": VOID,
    "dcat": DCAT,
    "geo": GEO,
    "gn": "http://www.geonames.org/ontology#",
    "cv": "http://data.europa.eu/m8g/",
    "time": "http://www.w3.org/2006/time#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "sd": "http://www.w3.org/ns/sparql-service-description#",
}

# The vocabularies the data uses, announced as void:vocabulary.
VOCABULARIES = (
    ONTOLOGY_NS, "http://www.w3.org/ns/org#", "http://data.europa.eu/m8g/",
    "http://www.w3.org/2004/02/skos/core#", DCT, "http://www.w3.org/ns/prov#",
    "http://www.w3.org/2006/time#", GEO, "http://www.geonames.org/ontology#", VOID, DCAT,
)

# Path segments of a resource under /id/: slugs are lowercase ASCII with "-"; dataset
# partitions and external data may add digits, "_" and "."; never "." or ".." alone.
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.~-]*")

# Suffixes that pick a format without negotiation (``/id/authority/lyon.ttl``).
SUFFIXES = {"ttl": "ttl", "jsonld": "jsonld", "nt": "nt", "rdf": "rdf", "nq": "nq", "trig": "trig", "html": "html"}

DESCRIBE_LIMIT = 20000


@functools.cache
def internal_query(name: str) -> str:
    """The text of ``queries/internal/{name}.rq`` (read once)."""
    return (resource_dir("queries") / "internal" / f"{name}.rq").read_text(encoding="utf-8")


def select(backend: Backend, name: str, substitutions: Mapping[str, Term] | None = None) -> list[dict[str, Any]]:
    """Run the internal SELECT ``name`` and return its rows as {variable: term}."""
    raw = backend.query(internal_query(name), substitutions=substitutions)
    parsed = solutions(raw)
    variables = [v.value for v in parsed.variables]
    return [{name: row[name] for name in variables if row[name] is not None} for row in parsed]


def resource_path(path: str) -> tuple[ox.NamedNode, str | None]:
    """The IRI named by ``path`` (the part after ``/id/``) and the format its suffix asks for.

    Raises ``UnknownResource`` for anything that cannot be a coopgraph IRI
    (empty segments, ``..``, characters outside slugs): nothing is ever read
    from the file system, and such paths name no resource.
    """
    segments = path.split("/")
    if not path or not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise UnknownResource(f"There is no resource at /id/{path[:200]}.")
    suffix = None
    stem, dot, extension = segments[-1].rpartition(".")
    if dot and extension in SUFFIXES and _SEGMENT.fullmatch(stem):
        segments[-1], suffix = stem, SUFFIXES[extension]
    return ox.NamedNode(ID_BASE + "/".join(segments)), suffix


@dataclass(frozen=True)
class Description:
    """A resource's description: quads (the graph says where each statement comes from)."""

    iri: ox.NamedNode
    quads: tuple[ox.Quad, ...]
    truncated: bool = False

    def about(self) -> list[ox.Quad]:
        """The statements whose subject is the resource itself."""
        return [q for q in self.quads if q.subject == self.iri]

    def graphs(self) -> set[str]:
        """The named graphs the resource's own statements come from."""
        return {q.graph_name.value for q in self.about() if isinstance(q.graph_name, ox.NamedNode)}


def describe(backend: Backend, iri: ox.NamedNode) -> Description:
    """Describe ``iri``; raises ``UnknownResource`` when no statement mentions it."""
    rows = select(backend, "describe", {"resource": iri})
    quads = tuple(
        dict.fromkeys(ox.Quad(row["s"], row["p"], row["o"], row["g"]) for row in rows)
    )
    if not quads:
        raise UnknownResource(f"No resource is named {iri.value} in this graph.")
    return Description(iri, quads, truncated=len(rows) >= DESCRIBE_LIMIT)


def used_prefixes(quads: Iterable[ox.Quad]) -> dict[str, str]:
    """The prefixes of ``PREFIXES`` that some IRI of ``quads`` starts with (so Turtle declares no unused ones)."""
    iris = {
        term.value
        for quad in quads
        for term in (quad.subject, quad.predicate, quad.object, quad.graph_name)
        if isinstance(term, ox.NamedNode)
    }
    iris |= {q.object.datatype.value for q in quads if isinstance(q.object, ox.Literal)}
    namespaces = {iri[: max(iri.rfind("/"), iri.rfind("#")) + 1] for iri in iris}
    return {name: ns for name, ns in PREFIXES.items() if ns in namespaces}


def serialize_quads(quads: Iterable[ox.Quad], fmt: ox.RdfFormat) -> bytes:
    """Serialise quads: dataset formats keep the graphs; triple formats give the union (no repeats)."""
    quads = list(quads)
    prefixes = used_prefixes(quads) if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML) else None
    if fmt.supports_datasets:
        return ox.serialize(quads, None, fmt, prefixes=prefixes) or b""
    triples = list(dict.fromkeys(q.triple for q in quads))
    return ox.serialize(triples, None, fmt, prefixes=prefixes) or b""


def text(term: object) -> str:
    """The lexical value of an IRI, blank node or literal (the N-Triples form of anything else)."""
    value = getattr(term, "value", None)
    return value if isinstance(value, str) else str(term)


def graph_quads(backend: Backend, graph: str) -> list[ox.Quad]:
    """Every statement of one named graph, as quads."""
    raw = backend.query("CONSTRUCT WHERE { ?s ?p ?o }", default_graph_uris=(graph,))
    if raw.truncated:
        raise UpstreamError(f"The graph {graph} is larger than this server returns in one answer.")
    named = ox.NamedNode(graph)
    return [ox.Quad(t.subject, t.predicate, t.object, named) for t in ox.parse(raw.body, ox.RdfFormat.N_TRIPLES)]


# ---------------------------------------------------------------- dumps

CHUNK_SIZE = 64 * 1024
_QUEUE_CHUNKS = 8
_DONE = object()


class _Cancelled(Exception):
    """The reader went away: stop writing."""


class _QueueWriter(io.RawIOBase):
    """A binary sink that hands ``CHUNK_SIZE`` chunks to a bounded queue (so the writer waits for the reader)."""

    def __init__(self, chunks: queue.Queue[object], cancelled: threading.Event) -> None:
        self.chunks = chunks
        self.cancelled = cancelled
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += data
        while len(self.buffer) >= CHUNK_SIZE:
            self._put(bytes(self.buffer[:CHUNK_SIZE]))
            del self.buffer[:CHUNK_SIZE]
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            self._put(bytes(self.buffer))
            self.buffer.clear()

    def _put(self, item: object) -> None:
        while True:
            if self.cancelled.is_set():
                raise _Cancelled
            try:
                self.chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue


def dump(backend: Backend, output: IO[bytes], fmt: ox.RdfFormat) -> None:
    """Write the whole dataset (quad formats) or the union of its graphs (triple formats).

    A backend with a ``dump`` capability streams it; any other backend is read
    graph by graph with ``CONSTRUCT`` (held in memory one graph at a time).
    """
    if isinstance(backend, DumpingBackend):
        backend.dump(output, fmt)
        return
    if fmt.supports_datasets:
        rows = solutions(backend.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }"))
        quads = [q for row in rows for q in graph_quads(backend, row["g"].value)]
        output.write(serialize_quads(quads, fmt))
        return
    raw = backend.query("CONSTRUCT WHERE { ?s ?p ?o }", graph_format=fmt)
    if raw.truncated:
        raise UpstreamError("The graph is larger than this server returns in one answer.")
    output.write(raw.body)


def stream_dump(backend: Backend, fmt: ox.RdfFormat, compress: bool = False) -> Iterator[bytes]:
    """The dump as an iterator of chunks, produced by a thread through a small bounded queue.

    Memory stays at a few chunks: the thread waits while the client reads. When
    the client goes away (the iterator is closed), the thread stops. An error
    half-way raises in the iterator, which aborts the response (a truncated
    body, never a silently short file).
    """
    chunks: queue.Queue[object] = queue.Queue(maxsize=_QUEUE_CHUNKS)
    cancelled = threading.Event()

    def produce() -> None:
        sink = _QueueWriter(chunks, cancelled)
        try:
            if compress:
                with gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=6) as zipped:
                    dump(backend, zipped, fmt)  # type: ignore[arg-type]
            else:
                dump(backend, sink, fmt)  # type: ignore[arg-type]
            sink.flush()
            sink._put(_DONE)
        except _Cancelled:
            return
        except BaseException as error:  # handed to the reader, which re-raises it
            try:
                sink._put(error)
            except _Cancelled:
                return

    thread = threading.Thread(target=produce, name="coopgraph-dump", daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item
    finally:
        cancelled.set()


# ---------------------------------------------------------------- VoID and DCAT

DUMP_FILES = {
    "nq": "coopgraph.nq", "trig": "coopgraph.trig", "ttl": "coopgraph.ttl",
    "nt": "coopgraph.nt", "jsonld": "coopgraph.jsonld", "rdf": "coopgraph.rdf",
}


def void_description(backend: Backend, base_url: str, media_types: Mapping[str, str]) -> list[ox.Quad]:
    """The dataset description: the build's statistics plus endpoint, dumps, licence, sources, vocabularies.

    ``base_url`` is where this server answers (``http://host:port``);
    ``media_types`` maps each dump name (``nq``…) to its media type.
    """
    quads = graph_quads(backend, VOID_GRAPH)
    dataset = ox.NamedNode(DATASET_IRI)
    graph = ox.NamedNode(VOID_GRAPH)

    def add(subject: ox.NamedNode | ox.BlankNode, predicate: str, value: Term) -> None:
        quads.append(ox.Quad(subject, ox.NamedNode(predicate), value, graph))

    add(dataset, RDF + "type", ox.NamedNode(DCAT + "Dataset"))
    add(dataset, DCT + "title", ox.Literal("coopgraph: decentralised international cooperation", language="en"))
    add(dataset, DCT + "title", ox.Literal("coopgraph : la coopération décentralisée internationale", language="fr"))
    add(dataset, DCT + "description", ox.Literal(
        "Which local and regional authorities cooperate with which, through which partnerships "
        "and networks, on what, since when, and on what evidence.", language="en"))
    add(dataset, DCT + "license", ox.NamedNode(LICENCE))
    add(dataset, VOID + "uriSpace", ox.Literal(ID_BASE))
    add(dataset, VOID + "sparqlEndpoint", ox.NamedNode(f"{base_url}/sparql"))
    add(dataset, VOID + "rootResource", ox.NamedNode(ID_BASE + "authority/lyon"))
    add(dataset, VOID + "exampleResource", ox.NamedNode(ID_BASE + "authority/lyon"))
    add(dataset, DCAT + "landingPage", ox.NamedNode(f"{base_url}/"))
    for vocabulary in VOCABULARIES:
        add(dataset, VOID + "vocabulary", ox.NamedNode(vocabulary))
    for row in select(backend, "sources"):
        add(dataset, DCT + "source", row["source"])
    service = ox.BlankNode()
    add(dataset, DCAT + "accessService", service)
    add(service, RDF + "type", ox.NamedNode(DCAT + "DataService"))
    add(service, DCAT + "endpointURL", ox.NamedNode(f"{base_url}/sparql"))
    add(service, DCT + "conformsTo", ox.NamedNode("https://www.w3.org/TR/sparql11-protocol/"))
    for name, filename in DUMP_FILES.items():
        url = ox.NamedNode(f"{base_url}/dumps/{filename}")
        add(dataset, VOID + "dataDump", url)
        distribution = ox.BlankNode()
        add(dataset, DCAT + "distribution", distribution)
        add(distribution, RDF + "type", ox.NamedNode(DCAT + "Distribution"))
        add(distribution, DCAT + "downloadURL", url)
        add(distribution, DCAT + "mediaType", ox.NamedNode(f"https://www.iana.org/assignments/media-types/{media_types[name]}"))
        add(distribution, DCT + "format", ox.Literal(media_types[name]))
        add(distribution, DCT + "license", ox.NamedNode(LICENCE))
    return quads


# ---------------------------------------------------------------- JSON-LD context


def jsonld_context(backend: Backend) -> dict[str, Any]:
    """A JSON-LD context: the prefixes, and a short term for every coop: property (typed as in the ontology)."""
    # Vocabulary prefixes only: instance prefixes (country:, role:…) would clash with property terms.
    context: dict[str, Any] = {
        name: namespace for name, namespace in sorted(PREFIXES.items()) if not namespace.startswith((ID_BASE, GRAPH_BASE))
    }
    ontology = graph_quads(backend, GRAPH_BASE + "ontology")
    kinds: dict[str, str] = {}
    ranges: dict[str, str] = {}
    for quad in ontology:
        subject = text(quad.subject)
        if not subject.startswith(ONTOLOGY_NS) or not isinstance(quad.object, ox.NamedNode):
            continue
        if quad.predicate.value == RDF + "type" and quad.object.value in (OWL + "ObjectProperty", OWL + "DatatypeProperty"):
            kinds[subject] = quad.object.value
        elif quad.predicate.value == RDFS + "range":
            ranges[subject] = quad.object.value
    for iri, kind in sorted(kinds.items()):
        term: dict[str, str] = {"@id": "coop:" + iri.removeprefix(ONTOLOGY_NS)}
        value_range = ranges.get(iri, "")
        if kind == OWL + "ObjectProperty":
            term["@type"] = "@id"
        elif value_range.startswith(XSD):
            term["@type"] = "xsd:" + value_range.removeprefix(XSD)
        context[iri.removeprefix(ONTOLOGY_NS)] = term
    context.update({
        "type": "@type",
        "label": {"@id": "rdfs:label"},
        "prefLabel": {"@id": "skos:prefLabel"},
        "altLabel": {"@id": "skos:altLabel"},
        "notation": {"@id": "skos:notation"},
        "inScheme": {"@id": "skos:inScheme", "@type": "@id"},
        "wasDerivedFrom": {"@id": "prov:wasDerivedFrom", "@type": "@id"},
        "member": {"@id": "org:member", "@type": "@id"},
        "organization": {"@id": "org:organization", "@type": "@id"},
        "role": {"@id": "org:role", "@type": "@id"},
        "hasMember": {"@id": "org:hasMember", "@type": "@id"},
        "title": {"@id": "dct:title"},
        "description": {"@id": "dct:description"},
        "lat": {"@id": "geo:lat", "@type": "xsd:decimal"},
        "long": {"@id": "geo:long", "@type": "xsd:decimal"},
    })
    return {"@context": context}
