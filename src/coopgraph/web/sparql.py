"""The SPARQL 1.1 Protocol endpoint, ``/sparql``.

- ``GET ?query=``, ``POST`` as a form (``query=`` or ``update=``), ``POST
  application/sparql-query`` and ``POST application/sparql-update``;
  ``default-graph-uri`` / ``named-graph-uri`` (repeatable) restrict the dataset.
- The result format comes from ``Accept`` (or ``format=``) through the one
  content negotiation of ``coopgraph.negotiation``; 406 when nothing fits.
- ``GET /sparql`` without a query answers the Service Description, or sends a
  browser to the query page.
- Sizes are checked before bodies are read; updates need the update token.

The router only reads the request and shapes the response: evaluation, time
limits and truncation belong to the backend (``coopgraph.executor`` when served).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import pyoxigraph as ox
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from coopgraph.backend import Backend, RawResult
from coopgraph.config import Settings
from coopgraph.errors import (
    InvalidParameter,
    NotAcceptable,
    PayloadTooLarge,
    QuerySyntaxError,
    UnsupportedMediaType,
    UpdateForbidden,
)
from coopgraph.negotiation import HTML, RDF_FORMATS, RESULT_FORMATS, Format, negotiate
from coopgraph.service_description import service_description

router = APIRouter(tags=["SPARQL"])

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"
BODY_TYPES = (FORM, SPARQL_QUERY, SPARQL_UPDATE)

TRUNCATED_HEADER = "X-Coopgraph-Truncated"

# Up to the query form keyword: comments, BASE and PREFIX declarations.
_PROLOGUE = re.compile(
    r"""(?:\s|\#[^\n]*|BASE\s*<[^>]*>|PREFIX\s*[^\s:]*:\s*<[^>]*>)*""", re.IGNORECASE
)
_FORM = re.compile(r"(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)


@dataclass
class ProtocolRequest:
    """The SPARQL protocol parameters of one request."""

    queries: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    default_graph_uris: list[str] = field(default_factory=list)
    named_graph_uris: list[str] = field(default_factory=list)
    using_graph_uris: list[str] = field(default_factory=list)
    format_names: list[str] = field(default_factory=list)

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str]]) -> ProtocolRequest:
        request = cls()
        lists = {
            "query": request.queries,
            "update": request.updates,
            "default-graph-uri": request.default_graph_uris,
            "named-graph-uri": request.named_graph_uris,
            "using-graph-uri": request.using_graph_uris,
            "using-named-graph-uri": request.using_graph_uris,
            "format": request.format_names,
        }
        for name, value in pairs:
            if name in lists and (value or name != "format"):
                lists[name].append(value)
        return request


def query_form(sparql: str) -> str | None:
    """``select``, ``ask``, ``construct`` or ``describe``, read after the prologue; ``None`` if unclear."""
    prologue = _PROLOGUE.match(sparql)
    form = _FORM.match(sparql, prologue.end() if prologue else 0)
    return form.group(1).lower() if form else None


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


# HEAD is a route of its own so that each method has its own OpenAPI operation id.
@router.get("/sparql", name="sparql")
@router.head("/sparql", name="sparql_head")
async def sparql_get(request: Request) -> Response:
    """Run ``?query=``, or describe the service when there is no query."""
    settings = _settings(request)
    if len(request.scope.get("query_string", b"")) > 3 * settings.max_query_bytes + 4096:
        raise PayloadTooLarge(
            "The request URL is too long; send long queries with POST and "
            "Content-Type: application/sparql-query."
        )
    protocol = ProtocolRequest.from_pairs(request.query_params.multi_items())
    if protocol.updates:
        raise InvalidParameter("SPARQL updates are only accepted with POST, never with GET.")
    if not protocol.queries:
        return await _service_description(request, protocol.format_names)
    return await _answer_query(request, protocol)


@router.post("/sparql", name="sparql_post")
async def sparql_post(request: Request) -> Response:
    """Run a query or an update sent as a form, ``application/sparql-query`` or ``application/sparql-update``."""
    settings = _settings(request)
    content_type = request.headers.get("content-type", "")
    media_type, _, parameters = content_type.partition(";")
    media_type = media_type.strip().lower()
    if media_type not in BODY_TYPES:
        raise UnsupportedMediaType(
            f"Cannot read a request body of type {media_type or 'unknown'!r}; send "
            f"{SPARQL_QUERY}, {SPARQL_UPDATE} or {FORM}."
        )
    _check_charset(parameters)
    # Percent-encoding may triple a query's size in a form.
    limit = settings.max_query_bytes * (3 if media_type == FORM else 1) + 4096
    body = await _read_body(request, limit)
    pairs = request.query_params.multi_items()
    if media_type == FORM:
        pairs += _parse_form(body)
    else:
        text = _utf8(body)
        pairs.append(("query" if media_type == SPARQL_QUERY else "update", text))
    protocol = ProtocolRequest.from_pairs(pairs)
    if protocol.updates:
        return await _apply_update(request, protocol)
    return await _answer_query(request, protocol)


def _check_charset(parameters: str) -> None:
    for parameter in parameters.split(";"):
        key, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if key.strip().lower() == "charset" and charset not in ("utf-8", "utf8", "us-ascii"):
            raise UnsupportedMediaType(f"Cannot read a body in charset {charset!r}; send it in UTF-8.")


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it (or its declared length) passes ``limit`` bytes."""
    too_large = PayloadTooLarge(
        f"The request body is larger than {limit} bytes; queries are limited to "
        f"{_settings(request).max_query_bytes} bytes."
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise QuerySyntaxError(f"The request body is not valid UTF-8 (byte {error.start}); send it in UTF-8.") from None


def _parse_form(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeError:
        raise QuerySyntaxError(
            "The form is not valid URL-encoded UTF-8; encode it as application/x-www-form-urlencoded."
        ) from None


def _single(values: list[str], name: str) -> str:
    if len(values) != 1:
        raise InvalidParameter(f"Give exactly one {name}= parameter (got {len(values)}).")
    return values[0]


def _check_size(text: str, request: Request, what: str) -> None:
    limit = _settings(request).max_query_bytes
    size = len(text.encode("utf-8"))
    if size > limit:
        raise PayloadTooLarge(
            f"The {what} is {size} bytes long, more than the {limit} bytes this endpoint accepts; "
            "shorten it (for example, load long VALUES lists as data instead)."
        )


def _check_iris(iris: list[str], name: str) -> None:
    for iri in iris:
        try:
            ox.NamedNode(iri)
        except ValueError:
            raise InvalidParameter(f"{name} must be an absolute IRI; {iri!r} is not one.") from None


def _negotiate(accept: str | None, offers: tuple[Format, ...], format_names: list[str]) -> Format:
    """The format named by the first usable ``format=`` value, else by ``Accept``.

    SPARQLWrapper sends ``format`` twice (``format=json-ld&format=application/ld+json,...``),
    so every value, and every comma-separated item of it, is a candidate.
    """
    if not format_names:
        return negotiate(accept, offers)
    refusal: NotAcceptable | None = None
    for value in format_names:
        for name in value.split(","):
            try:
                return negotiate(accept, offers, name.strip())
            except NotAcceptable as error:
                refusal = refusal or error
    assert refusal is not None
    raise refusal


def _negotiate_quietly(
    accept: str | None, offers: tuple[Format, ...], format_names: list[str]
) -> Format | NotAcceptable:
    try:
        return _negotiate(accept, offers, format_names)
    except NotAcceptable as error:
        return error


async def _answer_query(request: Request, protocol: ProtocolRequest) -> Response:
    if protocol.updates:
        raise InvalidParameter("Send either query= or update=, not both.")
    sparql = _single(protocol.queries, "query")
    _check_size(sparql, request, "query")
    _check_iris(protocol.default_graph_uris, "default-graph-uri")
    _check_iris(protocol.named_graph_uris, "named-graph-uri")
    accept = request.headers.get("accept")
    results_format = _negotiate_quietly(accept, RESULT_FORMATS, protocol.format_names)
    graph_format = _negotiate_quietly(accept, RDF_FORMATS, protocol.format_names)
    # Refuse before evaluating when the query form shows the answer could not be sent.
    form = query_form(sparql)
    expected = graph_format if form in ("construct", "describe") else results_format
    if isinstance(expected, NotAcceptable) and (form is not None or isinstance(graph_format, NotAcceptable)):
        raise expected
    raw = await run_in_threadpool(
        _backend(request).query,
        sparql,
        results_format=(results_format if isinstance(results_format, Format) else RESULT_FORMATS[0]).results
        or ox.QueryResultsFormat.JSON,
        graph_format=(graph_format if isinstance(graph_format, Format) else RDF_FORMATS[0]).rdf
        or ox.RdfFormat.TURTLE,
        default_graph_uris=protocol.default_graph_uris,
        named_graph_uris=protocol.named_graph_uris,
    )
    produced = graph_format if raw.kind == "graph" else results_format
    if isinstance(produced, NotAcceptable):
        raise produced
    return _result_response(raw, produced, _settings(request).max_results)


def _result_response(raw: RawResult, fmt: Format, max_results: int) -> Response:
    headers = {}
    if raw.truncated:
        headers[TRUNCATED_HEADER] = "true"
        headers["Warning"] = (
            f'199 coopgraph "The result was cut at {max_results} rows (or its size cap); '
            'use LIMIT and OFFSET to read it page by page."'
        )
    return Response(raw.body, media_type=f"{fmt.media_type}; charset=utf-8", headers=headers)


async def _service_description(request: Request, format_names: list[str]) -> Response:
    accept = request.headers.get("accept")
    if not format_names and accept and negotiate(accept, (*RDF_FORMATS, HTML)) is HTML:
        return RedirectResponse(request.scope.get("root_path", "") + "/query", status_code=303)
    fmt = _negotiate(accept, RDF_FORMATS, format_names)
    body = await run_in_threadpool(
        service_description,
        _backend(request),
        endpoint=str(request.url.replace(query="", fragment="")),
        void_url=str(request.base_url) + ".well-known/void",
        update_enabled=_settings(request).update_token is not None,
        rdf_format=fmt.rdf or ox.RdfFormat.TURTLE,
    )
    return Response(body, media_type=f"{fmt.media_type}; charset=utf-8")


def _authorise_update(request: Request) -> None:
    token = _settings(request).update_token
    if token is None:
        raise UpdateForbidden(
            "This endpoint is read-only: updates are refused unless the server is started with "
            "COOPGRAPH_UPDATE_TOKEN set."
        )
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode("utf-8")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode("utf-8"), expected):
        raise UpdateForbidden("Updates need the server's update token, sent as `Authorization: Bearer <token>`.")


async def _apply_update(request: Request, protocol: ProtocolRequest) -> Response:
    if protocol.queries:
        raise InvalidParameter("Send either query= or update=, not both.")
    _authorise_update(request)
    sparql = _single(protocol.updates, "update")
    _check_size(sparql, request, "update")
    if protocol.using_graph_uris:
        raise InvalidParameter(
            "using-graph-uri and using-named-graph-uri are not supported; write USING or WITH "
            "clauses in the update itself."
        )
    await run_in_threadpool(_backend(request).update, sparql)
    return Response(status_code=204)
