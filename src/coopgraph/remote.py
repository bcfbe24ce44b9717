"""A ``Backend`` over any SPARQL 1.1 server (Oxigraph server, Fuseki, Virtuoso, QLever).

Queries go out with the SPARQL 1.1 Protocol (``POST application/sparql-query``,
``default-graph-uri``/``named-graph-uri`` in the URL) and come back in a
lossless format (SPARQL JSON results, or N-Triples for graphs). They are parsed
as they stream in and re-serialised by pyoxigraph in the format the caller
asked for, under the same row and byte caps as the embedded backend
(``coopgraph.truncation``): so both backends answer with the same bytes, cut
the same way, and the HTTP layer cannot tell them apart.

What the server must provide: **the union of all named graphs as its default
graph**, as the embedded store does (Oxigraph: ``oxigraph serve
--union-default-graph``; Fuseki: ``tdb2:unionDefaultGraph true``; Virtuoso and
QLever query all graphs by default). ``coopgraph build --sparql-endpoint``
loads it (``coopgraph.remote_load``).

Behaviour shared with the embedded backend:

- parameters of canned queries are bound with ``VALUES`` (``coopgraph.sparql_binding``);
- at most ``workers`` queries are sent at once and ``queue_size`` more wait;
  beyond that ``Overloaded`` (503) at once;
- a query that has not answered completely within the time limit is abandoned
  with ``QueryTimeout`` (503), with the embedded backend's message. Set the
  server's own limit too (``oxigraph serve --timeout-s``), so that it stops
  evaluating an abandoned query;
- a server that cannot be reached, that fails (5xx) or that answers something
  unreadable gives ``UpstreamError`` (502); connecting has its own short limit,
  so a dead server never hangs a request.

``version()`` reads the ``coop:dataVersion`` the build writes into the ``void``
graph (one cheap query, remembered for ``version_ttl`` seconds), so ETags change
exactly when a build or an update changes the data, on every replica.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING

import httpx
import pyoxigraph as ox

from coopgraph import __version__
from coopgraph.backend import RawResult
from coopgraph.build import DATA_VERSION, DATASET_IRI
from coopgraph.errors import (
    CoopgraphError,
    Overloaded,
    QuerySyntaxError,
    QueryTimeout,
    UpdateForbidden,
    UpstreamError,
)
from coopgraph.export import PREFIXES
from coopgraph.inference import INFERRED_UPDATE
from coopgraph.query_guard import check_query, check_update
from coopgraph.sparql_binding import bind_values, without_trailing_separator
from coopgraph.store import Term, graph_iri
from coopgraph.truncation import DEFAULT_MAX_BYTES, serialise_capped

if TYPE_CHECKING:
    from coopgraph.config import Settings

log = logging.getLogger(__name__)

RESULTS_JSON = "application/sparql-results+json"
NTRIPLES = "application/n-triples"
CONNECT_TIMEOUT = 5.0
VERSION_TTL = 1.0
_ERROR_TEXT_LIMIT = 300

_PROLOGUE = re.compile(r"(?:\s|#[^\n]*|BASE\s*<[^>]*>|PREFIX\s*[^\s:]*:\s*<[^>]*>)*", re.IGNORECASE)
_FORM = re.compile(r"(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)
_PREFIXED_FORMATS = (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG)

VERSION_QUERY = f"""SELECT ?version WHERE {{
  GRAPH <{graph_iri("void").value}> {{ <{DATASET_IRI.value}> <{DATA_VERSION.value}> ?version }}
}} LIMIT 1"""


def _accept_for(sparql: str) -> str:
    """The lossless formats to ask for, read from the query form (both when it is unclear)."""
    prologue = _PROLOGUE.match(sparql)
    form = _FORM.match(sparql, prologue.end() if prologue else 0)
    keyword = form.group(1).upper() if form else ""
    if keyword in ("SELECT", "ASK"):
        return RESULTS_JSON
    if keyword in ("CONSTRUCT", "DESCRIBE"):
        return NTRIPLES
    return f"{RESULTS_JSON}, {NTRIPLES};q=0.9"


class _Deadline(Exception):
    """The time limit passed while the answer was still arriving."""


class _StreamReader(io.RawIOBase):
    """A file-like view of a streamed response body that gives up at a deadline."""

    def __init__(self, chunks: Iterator[bytes], deadline: float) -> None:
        super().__init__()
        self._chunks = chunks
        self._deadline = deadline
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            if time.monotonic() > self._deadline:
                raise _Deadline
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class RemoteBackend:
    """A ``Backend`` evaluating queries on a SPARQL 1.1 server, see the module docstring."""

    def __init__(
        self,
        query_endpoint: str,
        update_endpoint: str | None = None,
        *,
        timeout: float = 30.0,
        connect_timeout: float = CONNECT_TIMEOUT,
        workers: int = 8,
        queue_size: int = 16,
        max_results: int = 100_000,
        max_result_bytes: int = DEFAULT_MAX_BYTES,
        version_ttl: float = VERSION_TTL,
    ) -> None:
        self.query_endpoint = query_endpoint
        self.update_endpoint = update_endpoint
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.workers = workers
        self.queue_size = queue_size
        self.max_results = max_results
        self.max_result_bytes = max_result_bytes
        self.version_ttl = version_ttl
        self._admission = threading.BoundedSemaphore(workers + queue_size)
        self._client = httpx.Client(
            limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers),
            headers={"User-Agent": f"coopgraph/{__version__}"},
            follow_redirects=False,
        )
        self._version_lock = threading.Lock()
        self._version: tuple[float, str] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RemoteBackend:
        """A backend on ``settings.sparql_endpoint`` with the limits of ``settings``."""
        if not settings.sparql_endpoint:
            raise ValueError("settings.sparql_endpoint is not set")
        return cls(
            settings.sparql_endpoint,
            settings.sparql_update_endpoint,
            timeout=settings.timeout,
            workers=settings.workers,
            queue_size=settings.queue_size,
            max_results=settings.max_results,
        )

    # -- the Backend protocol -------------------------------------------------------------

    def version(self) -> str:
        """The build's ``coop:dataVersion`` (remembered for ``version_ttl`` s).

        A store loaded by other means has none: then every call within a new
        ``version_ttl`` window gets a fresh token, so nothing is ever served
        stale (and nothing is revalidated). Raises ``UpstreamError`` when the
        server cannot be reached.
        """
        with self._version_lock:
            now = time.monotonic()
            if self._version is not None and now - self._version[0] < self.version_ttl:
                return self._version[1]
            raw = self.query(VERSION_QUERY, timeout=min(self.timeout, 10.0))
            rows = ox.parse_query_results(raw.body, ox.QueryResultsFormat.JSON)
            found = next(iter(rows), None) if isinstance(rows, ox.QuerySolutions) else None
            term = found["version"] if found is not None else None
            version = f"remote-{term.value}" if isinstance(term, ox.Literal) else f"unversioned-{uuid.uuid4().hex}"
            self._version = (time.monotonic(), version)
            return version

    def query(
        self,
        sparql: str,
        *,
        results_format: ox.QueryResultsFormat = ox.QueryResultsFormat.JSON,
        graph_format: ox.RdfFormat = ox.RdfFormat.N_TRIPLES,
        substitutions: Mapping[str, Term] | None = None,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        timeout: float | None = None,
    ) -> RawResult:
        """Evaluate ``sparql`` on the server; see ``Backend.query``.

        Raises ``QuerySyntaxError`` (the server refused the query), ``QueryTimeout``,
        ``Overloaded`` or ``UpstreamError``.
        """
        check_query(sparql)
        limit = self.timeout if timeout is None else timeout
        if substitutions:
            sparql = bind_values(sparql, substitutions)
        params: list[tuple[str, str | int | float | bool | None]] = [("default-graph-uri", uri) for uri in default_graph_uris]
        params += [("named-graph-uri", uri) for uri in named_graph_uris]
        if not self._admission.acquire(blocking=False):
            raise Overloaded(
                f"The server is already running {self.workers} queries with {self.queue_size} "
                "waiting; retry in a few seconds."
            )
        try:
            return self._send_query(sparql, params, limit, results_format, graph_format)
        finally:
            self._admission.release()

    def update(self, sparql: str) -> None:
        """Apply ``sparql``, re-derive ``coop:cooperatesWith`` and give the data a new version, in one request.

        The server applies one update request as one transaction (Oxigraph does),
        so readers see all of it or none. Raises ``UpdateForbidden`` without an
        update endpoint, ``QuerySyntaxError`` when the server refuses the update.
        """
        check_update(sparql)
        if not self.update_endpoint:
            raise UpdateForbidden(
                "This server's SPARQL store is read-only: start coopgraph with "
                "--sparql-update-endpoint to accept updates."
            )
        request = "\n".join((without_trailing_separator(sparql), ";", INFERRED_UPDATE, ";", version_update(uuid.uuid4().hex)))
        response = self._request(
            "POST",
            self.update_endpoint,
            content=request.encode("utf-8"),
            headers={"Content-Type": "application/sparql-update; charset=utf-8"},
            timeout=self.timeout,
        )
        if response.status_code == 400:
            raise QuerySyntaxError(f"The SPARQL update is malformed: {_server_message(response)}")
        _raise_for_status(response, "update")
        with self._version_lock:
            self._version = None

    def close(self) -> None:
        self._client.close()

    # -- HTTP -------------------------------------------------------------------------

    def _timeouts(self, limit: float) -> httpx.Timeout:
        return httpx.Timeout(limit, connect=min(self.connect_timeout, limit), pool=limit)

    def _request(self, method: str, url: str, *, timeout: float, **kwargs: object) -> httpx.Response:
        """Send a request whose answer is small and read whole (updates)."""
        try:
            return self._client.request(method, url, timeout=self._timeouts(timeout), **kwargs)  # type: ignore[arg-type]
        except httpx.TimeoutException as error:
            raise _timeout_error(error, timeout) from None
        except httpx.HTTPError as error:
            raise _unreachable(error) from None

    def _send_query(
        self,
        sparql: str,
        params: list[tuple[str, str | int | float | bool | None]],
        limit: float,
        results_format: ox.QueryResultsFormat,
        graph_format: ox.RdfFormat,
    ) -> RawResult:
        deadline = time.monotonic() + limit
        for attempt in (1, 2):
            try:
                return self._stream_query(sparql, params, limit, deadline, results_format, graph_format)
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
                # A kept-alive connection the server closed (it restarted): a read-only query is safe to resend once.
                if attempt == 2 or time.monotonic() > deadline:
                    raise _unreachable(error) from None
                log.info("resending a query after a broken connection: %r", error)
        raise AssertionError("unreachable")  # pragma: no cover

    def _stream_query(
        self,
        sparql: str,
        params: list[tuple[str, str | int | float | bool | None]],
        limit: float,
        deadline: float,
        results_format: ox.QueryResultsFormat,
        graph_format: ox.RdfFormat,
    ) -> RawResult:
        try:
            with self._client.stream(
                "POST",
                self.query_endpoint,
                params=tuple(params),
                content=sparql.encode("utf-8"),
                headers={"Content-Type": "application/sparql-query; charset=utf-8", "Accept": _accept_for(sparql)},
                timeout=self._timeouts(limit),
            ) as response:
                if response.status_code == 400:
                    response.read()
                    raise QuerySyntaxError(f"The SPARQL query is malformed: {_server_message(response)}")
                if response.status_code != 200:
                    response.read()
                    _raise_for_status(response, "query")
                reader = io.BufferedReader(_StreamReader(response.iter_bytes(), deadline))
                return self._reserialise(response, reader, results_format, graph_format)
        except _Deadline:
            raise _query_timeout(limit) from None
        except httpx.TimeoutException as error:
            raise _timeout_error(error, limit) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            raise
        except httpx.HTTPError as error:
            raise _unreachable(error) from None

    def _reserialise(
        self,
        response: httpx.Response,
        reader: IO[bytes],
        results_format: ox.QueryResultsFormat,
        graph_format: ox.RdfFormat,
    ) -> RawResult:
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            parsed_format = ox.QueryResultsFormat.from_media_type(media_type)
            if parsed_format is not None:
                solutions = ox.parse_query_results(reader, parsed_format)
                return serialise_capped(
                    solutions, results_format, graph_format, max_rows=self.max_results, max_bytes=self.max_result_bytes
                )
            rdf_format = ox.RdfFormat.from_media_type(media_type)
            if rdf_format is not None:
                return self._capped_graph(ox.parse(reader, rdf_format), graph_format)
        except (SyntaxError, ValueError) as error:
            # Oxigraph, for one, starts a 200 answer and ends it with a message when its own limit cuts a query.
            raise UpstreamError(
                "The SPARQL store broke off its answer (it may have stopped the query at its own time limit); "
                "retry, or simplify the query."
            ) from error
        raise UpstreamError(f"The SPARQL store answered in an unexpected format ({media_type or 'none'}).")

    def _capped_graph(self, quads: ox.QuadParser, fmt: ox.RdfFormat) -> RawResult:
        """At most ``max_results`` triples (and about ``max_result_bytes``) in ``fmt``, flagged when cut."""
        triples: list[ox.Triple] = []
        size = 0
        truncated = False
        for quad in quads:
            if len(triples) >= self.max_results or size >= self.max_result_bytes:
                truncated = True
                break
            triple = quad.triple
            triples.append(triple)
            size += len(str(triple)) + 3
        body = ox.serialize(triples, format=fmt, prefixes=PREFIXES if fmt in _PREFIXED_FORMATS else None) or b""
        return RawResult("graph", fmt.media_type, body, truncated=truncated)


def version_update(version: str) -> str:
    """The SPARQL update that gives the data the version ``version`` (a hex token)."""
    if not re.fullmatch(r"[0-9a-f]+", version):
        raise ValueError("a data version is a hexadecimal token")
    graph, dataset, predicate = graph_iri("void").value, DATASET_IRI.value, DATA_VERSION.value
    return (
        f"DELETE WHERE {{ GRAPH <{graph}> {{ <{dataset}> <{predicate}> ?version }} }} ;\n"
        f'INSERT DATA {{ GRAPH <{graph}> {{ <{dataset}> <{predicate}> "{version}" }} }}'
    )


def _server_message(response: httpx.Response) -> str:
    """The server's explanation, on one line and short (never a page of HTML or a trace)."""
    text = " ".join(response.text.split())
    if response.headers.get("content-type", "").startswith("text/html"):
        text = ""
    if len(text) > _ERROR_TEXT_LIMIT:
        text = text[:_ERROR_TEXT_LIMIT] + "…"
    return text or f"the SPARQL store answered HTTP {response.status_code}"


def _raise_for_status(response: httpx.Response, what: str) -> None:
    if response.status_code < 300:
        return
    log.warning("SPARQL store %s answered %s to a %s: %s", response.url, response.status_code, what, response.text[:500])
    if response.status_code in (401, 403):
        raise UpstreamError(f"The SPARQL store refused the {what} (HTTP {response.status_code}); check its access rights.")
    raise UpstreamError(f"The SPARQL store failed on the {what} (HTTP {response.status_code}); retry later.")


def _query_timeout(limit: float) -> CoopgraphError:
    return QueryTimeout(
        f"The query ran for more than {limit:g} s and was stopped; add a LIMIT, make "
        "its patterns more selective, or run it on a local copy of the data."
    )


def _timeout_error(error: httpx.TimeoutException, limit: float) -> CoopgraphError:
    if isinstance(error, httpx.ConnectTimeout):
        log.warning("SPARQL store connection timed out: %s", error)
        return UpstreamError("The SPARQL store did not accept a connection in time; retry later.")
    if isinstance(error, httpx.PoolTimeout):
        return Overloaded(f"All connections to the SPARQL store stayed busy for {limit:g} s; retry later.")
    return _query_timeout(limit)


def _unreachable(error: httpx.HTTPError) -> UpstreamError:
    log.warning("SPARQL store unreachable: %r", error)
    if isinstance(error, httpx.ConnectError):
        return UpstreamError("The SPARQL store cannot be reached; retry in a moment.")
    return UpstreamError("The connection to the SPARQL store broke during the request; retry in a moment.")
