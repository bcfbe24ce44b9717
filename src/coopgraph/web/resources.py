"""Linked data over HTTP: ``/id/…`` resources, ``/ontology``, ``/dumps/``, ``/context.jsonld``, ``/.well-known/void``.

Resources answer **200 with content negotiation** rather than 303 to a
document (see ``docs/linked-data.md``): one round trip, accepted by FAIR
checkers that refuse 303, and each representation also has its own URL
(``/id/authority/lyon.ttl``), named in ``Content-Location`` and in ``Link:
rel=alternate`` headers. HTML for browsers comes from ``coopgraph.web.pages``.

Routes are plain ``def``: backend calls block, so FastAPI runs them in its
thread pool.
"""

from __future__ import annotations

import json

import pyoxigraph as ox
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from coopgraph import linked_data
from coopgraph.backend import Backend
from coopgraph.errors import UnknownResource
from coopgraph.negotiation import HTML, RDF_FORMATS, Format, negotiate
from coopgraph.store import GRAPH_BASE, ID_BASE
from coopgraph.web import pages

router = APIRouter(tags=["Linked data"])

OFFERS: tuple[Format, ...] = (*RDF_FORMATS, HTML)
FORMATS_BY_NAME = {fmt.name: fmt for fmt in OFFERS}
JSONLD_CONTEXT_TYPE = "application/ld+json"


def _backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


def base_url(request: Request) -> str:
    """Where this server answers, as the client sees it (``http://host:port`` plus any root path)."""
    return str(request.base_url).rstrip("/")


def choose(request: Request, suffix: str | None = None) -> Format:
    """The representation: a suffix or ``format=`` wins over ``Accept``; 406 when nothing fits."""
    if suffix:
        return FORMATS_BY_NAME[suffix]
    return negotiate(request.headers.get("accept"), OFFERS, request.query_params.get("format"))


def alternates(path: str) -> str:
    """``Link`` header value naming every representation of the document at ``path``."""
    links = [f'<{path}.{fmt.name}>; rel="alternate"; type="{fmt.media_type}"' for fmt in OFFERS]
    return ", ".join(links)


def rdf_response(body: bytes, fmt: Format, path: str) -> Response:
    """An RDF answer with the headers of a negotiated document."""
    return Response(
        body,
        media_type=fmt.media_type,
        headers={"Content-Location": f"{path}.{fmt.name}", "Link": alternates(path), "Vary": "Accept"},
    )


# HEAD is a route of its own so that each method has its own OpenAPI operation id.
@router.get("/id/{path:path}", name="resource")
@router.head("/id/{path:path}", name="resource_head")
def resource(path: str, request: Request) -> Response:
    """Dereference ``https://w3id.org/coopgraph/id/{path}``: HTML or RDF by negotiation or suffix."""
    iri, suffix = linked_data.resource_path(path)
    fmt = choose(request, suffix)
    description = linked_data.describe(_backend(request), iri)
    document = "/id/" + iri.value.removeprefix(ID_BASE)
    if fmt is HTML:
        response = pages.resource_page(request, description)
        response.headers["Content-Location"] = f"{document}.html"
        response.headers["Link"] = alternates(document) + f', <{iri.value}>; rel="canonical"'
        return response
    assert fmt.rdf is not None
    return rdf_response(linked_data.serialize_quads(description.quads, fmt.rdf), fmt, document)


@router.get("/ontology", name="ontology")
@router.head("/ontology", name="ontology_head")
@router.get("/ontology.{suffix}", name="ontology_file")
@router.head("/ontology.{suffix}", name="ontology_file_head")
def ontology(request: Request, suffix: str | None = None) -> Response:
    """The ontology and the thesauri: HTML documentation or RDF (``/ontology#Authority`` anchors work)."""
    if suffix is not None and suffix not in linked_data.SUFFIXES:
        raise UnknownResource(f"There is no /ontology.{suffix[:20]}; use one of {', '.join(linked_data.SUFFIXES)}.")
    fmt = choose(request, suffix)
    backend = _backend(request)
    quads = linked_data.graph_quads(backend, GRAPH_BASE + "ontology") + linked_data.graph_quads(backend, GRAPH_BASE + "thesauri")
    if fmt is HTML:
        return pages.ontology_page(request, quads)
    assert fmt.rdf is not None
    return rdf_response(linked_data.serialize_quads(quads, fmt.rdf), fmt, "/ontology")


@router.get("/.well-known/void", name="void")
@router.head("/.well-known/void", name="void_head")
def void(request: Request) -> Response:
    """The VoID and DCAT description of the dataset, with statistics, endpoint and dumps."""
    fmt = negotiate(request.headers.get("accept"), OFFERS, request.query_params.get("format"))
    quads = linked_data.void_description(_backend(request), base_url(request), DUMP_MEDIA_TYPES)
    if fmt is HTML:
        return pages.void_page(request, quads)
    assert fmt.rdf is not None
    response = Response(linked_data.serialize_quads(quads, fmt.rdf), media_type=fmt.media_type)
    response.headers["Link"] = ", ".join(
        f'</.well-known/void?format={f.name}>; rel="alternate"; type="{f.media_type}"' for f in OFFERS
    )
    return response


@router.get("/context.jsonld", name="jsonld_context")
def context(request: Request) -> Response:
    """The JSON-LD context: prefixes and short names for coop: properties."""
    body = json.dumps(linked_data.jsonld_context(_backend(request)), indent=2, ensure_ascii=False)
    return Response(body, media_type=JSONLD_CONTEXT_TYPE)


# ---------------------------------------------------------------- dumps

DUMP_FORMATS: dict[str, Format] = {name: FORMATS_BY_NAME[name] for name in linked_data.DUMP_FILES}
DUMP_MEDIA_TYPES = {name: fmt.media_type for name, fmt in DUMP_FORMATS.items()}
_FILES = {filename: name for name, filename in linked_data.DUMP_FILES.items()}


@router.get("/dumps", include_in_schema=False)
@router.get("/dumps/", name="dumps")
def dumps_index(request: Request) -> Response:
    """The list of dumps (HTML)."""
    return pages.dumps_page(request, linked_data.DUMP_FILES, DUMP_MEDIA_TYPES)


@router.get("/dumps/{filename}", name="dump")
@router.head("/dumps/{filename}", name="dump_head")
def dump(filename: str, request: Request) -> Response:
    """The whole graph in one format, streamed; ``.gz`` names or ``Accept-Encoding: gzip`` compress it."""
    packed = filename.endswith(".gz")
    name = _FILES.get(filename.removesuffix(".gz"))
    if name is None:
        raise UnknownResource(
            f"There is no dump named {filename[:80]!r}; the dumps are {', '.join(linked_data.DUMP_FILES.values())} "
            "(add .gz for a compressed file)."
        )
    fmt = DUMP_FORMATS[name]
    assert fmt.rdf is not None
    encode = not packed and _accepts_gzip(request.headers.get("accept-encoding", ""))
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Vary": "Accept-Encoding",
        "Link": f'<{base_url(request)}/.well-known/void>; rel="describedby"',
    }
    if encode:
        headers["Content-Encoding"] = "gzip"
    media_type = "application/gzip" if packed else fmt.media_type
    if request.method == "HEAD":
        return Response(media_type=media_type, headers=headers)
    chunks = linked_data.stream_dump(_backend(request), fmt.rdf, compress=packed or encode)
    return StreamingResponse(chunks, media_type=media_type, headers=headers)


def _accepts_gzip(header: str) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (``gzip`` or ``*`` with q > 0)."""
    for part in header.split(","):
        coding, _, parameters = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip", "*"):
            quality = parameters.strip().removeprefix("q=")
            try:
                return float(quality) > 0 if quality else True
            except ValueError:
                return False
    return False


def rdf_format(name: str) -> ox.RdfFormat:
    """The pyoxigraph format of a short name (``ttl``, ``nq``…)."""
    fmt = FORMATS_BY_NAME[name].rdf
    assert fmt is not None
    return fmt
