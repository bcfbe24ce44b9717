"""The seam between coopgraph and a SPARQL engine.

Everything that reads the graph (``/sparql``, the canned queries, linked-data
pages, dumps, VoID) goes through a ``Backend``. Results cross it as serialised
bytes in a format the caller chose, so the same contract holds for the embedded
store, a pool of worker processes and a remote SPARQL 1.1 endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import IO, Literal, Protocol, runtime_checkable

import pyoxigraph as ox

from coopgraph.export import write_graph
from coopgraph.store import StoreRoot, Term, run_query

ResultKind = Literal["solutions", "boolean", "graph"]


@dataclass(frozen=True)
class RawResult:
    """A serialised query result: its kind, the format it is in, and the bytes."""

    kind: ResultKind
    media_type: str
    body: bytes
    truncated: bool = False


class Backend(Protocol):
    """What coopgraph needs from a SPARQL engine."""

    def version(self) -> str:
        """A token that changes exactly when the data changes (ETags derive from it)."""
        ...

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
        """Evaluate ``sparql``; SELECT/ASK serialised in ``results_format``, CONSTRUCT/DESCRIBE in ``graph_format``.

        Raises ``QuerySyntaxError``, ``QueryTimeout``, ``Overloaded``, ``StoreUnavailable``
        or ``UpstreamError``.
        """
        ...

    def update(self, sparql: str) -> None:
        """Apply a SPARQL update so that the next query sees it."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class DumpingBackend(Protocol):
    """An optional capability: a backend that can stream the whole dataset itself.

    Dumps do not fit ``query`` (one answer in memory, capped in rows): a backend
    holding a local store writes it straight to ``output`` in ``fmt`` instead.
    ``coopgraph.linked_data.dump`` uses this when present and falls back to
    reading graph by graph through ``query`` otherwise.
    """

    def dump(self, output: IO[bytes], fmt: ox.RdfFormat) -> None:
        """Write every quad (dataset formats) or the union of the graphs (triple formats) to ``output``."""
        ...


def serialise(
    result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples,
    results_format: ox.QueryResultsFormat,
    graph_format: ox.RdfFormat,
) -> RawResult:
    """Serialise a pyoxigraph result in the requested format."""
    buffer = BytesIO()
    if isinstance(result, ox.QueryTriples):
        ox.serialize(result, buffer, graph_format)
        return RawResult("graph", graph_format.media_type, buffer.getvalue())
    result.serialize(buffer, results_format)
    kind: ResultKind = "boolean" if isinstance(result, ox.QueryBoolean) else "solutions"
    return RawResult(kind, results_format.media_type, buffer.getvalue())


def solutions(raw: RawResult) -> ox.QuerySolutions:
    """Parse a SELECT result back into pyoxigraph solutions (terms keep their types)."""
    parsed = ox.parse_query_results(raw.body, ox.QueryResultsFormat.from_media_type(raw.media_type))
    if not isinstance(parsed, ox.QuerySolutions):
        raise TypeError("expected SELECT solutions")
    return parsed


class EmbeddedBackend:
    """The current store generation opened in this process; reopened when a new one is published.

    No time limit: evaluation happens in the calling thread. The HTTP server uses
    a pool of worker processes instead (see ``coopgraph.executor``) when it must
    stop runaway queries.
    """

    def __init__(self, root: StoreRoot) -> None:
        self.root = root
        self._opened: tuple[str, ox.Store] | None = None

    def store(self) -> ox.Store:
        version = self.version()
        if self._opened is None or self._opened[0] != version:
            self._opened = (version, self.root.open_current(read_only=True))
        return self._opened[1]

    def version(self) -> str:
        return self.root.version() or "empty"

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
        result = run_query(
            self.store(),
            sparql,
            substitutions=substitutions,
            default_graph_uris=default_graph_uris,
            named_graph_uris=named_graph_uris,
        )
        return serialise(result, results_format, graph_format)

    def update(self, sparql: str) -> None:
        from coopgraph.updates import apply_update

        apply_update(self.root, sparql)

    def dump(self, output: IO[bytes], fmt: ox.RdfFormat) -> None:
        """Stream the current generation to ``output`` (see ``DumpingBackend``)."""
        write_graph(self.store(), output, fmt)

    def close(self) -> None:
        self._opened = None
