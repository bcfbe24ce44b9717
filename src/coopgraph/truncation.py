"""Serialising query results under a row cap and a byte cap, with the cut made visible.

pyoxigraph evaluates lazily and serialises in chunks, but gives no way to stop a
result after N solutions. So a SELECT result is first serialised as SPARQL TSV
(one solution per line, every term written losslessly) into a buffer that refuses
to grow past the caps: the exception it raises stops the serialiser, and with it
the evaluation. The complete lines kept are parsed back and serialised in the
format the client asked for. Graph results do the same through N-Triples (one
triple per line). A result cut this way is flagged ``truncated`` so the HTTP
layer can say so; it is never cut silently.
"""

from __future__ import annotations

from io import BytesIO
from typing import IO, cast

import pyoxigraph as ox

from coopgraph.backend import RawResult, ResultKind
from coopgraph.export import PREFIXES

DEFAULT_MAX_BYTES = 256 * 1024 * 1024

_PREFIXED_FORMATS = (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG)


class _Full(Exception):
    """Raised from ``write`` to stop pyoxigraph's serialiser once a cap is reached."""


class _LineCappedBuffer:
    """A write-only buffer keeping at most ``max_lines`` complete lines and ``max_bytes`` bytes."""

    def __init__(self, max_lines: int, max_bytes: int) -> None:
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.parts: list[bytes] = []
        self.lines = 0
        self.size = 0
        self.full = False

    def write(self, chunk: bytes | bytearray | memoryview) -> int:
        if self.full:
            raise _Full
        data = bytes(chunk)
        newlines = data.count(b"\n")
        if self.lines + newlines <= self.max_lines and self.size + len(data) <= self.max_bytes:
            self.parts.append(data)
            self.lines += newlines
            self.size += len(data)
            return len(data)
        self.parts.append(data[: self._cut(data)])
        self.full = True
        raise _Full

    def _cut(self, data: bytes) -> int:
        """Length of the prefix of ``data`` made of the complete lines that still fit."""
        room = self.max_bytes - self.size
        cut = 0
        for _ in range(self.max_lines - self.lines):
            end = data.find(b"\n", cut)
            if end < 0 or end + 1 > room:
                break
            cut = end + 1
        return cut

    def flush(self) -> None:
        """Nothing to flush: the parts are kept in memory."""

    def getvalue(self) -> bytes:
        return b"".join(self.parts)


def serialise_capped(
    result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples,
    results_format: ox.QueryResultsFormat,
    graph_format: ox.RdfFormat,
    *,
    max_rows: int,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> RawResult:
    """Serialise ``result`` keeping at most ``max_rows`` solutions or triples and about ``max_bytes``.

    SELECT/ASK results come out in ``results_format``, CONSTRUCT/DESCRIBE in
    ``graph_format``. ``RawResult.truncated`` is true when something was left out.
    """
    if isinstance(result, ox.QueryBoolean):
        return RawResult("boolean", results_format.media_type, result.serialize(format=results_format) or b"")
    if isinstance(result, ox.QuerySolutions):
        return _capped_solutions(result, results_format, max_rows, max_bytes)
    return _capped_triples(result, graph_format, max_rows, max_bytes)


def _capped_solutions(
    result: ox.QuerySolutions, fmt: ox.QueryResultsFormat, max_rows: int, max_bytes: int
) -> RawResult:
    # One header line, then one line per solution (at least the header is kept).
    buffer = _LineCappedBuffer(1 + max_rows, max(max_bytes, 1))
    try:
        result.serialize(cast(IO[bytes], buffer), ox.QueryResultsFormat.TSV)
    except _Full:
        pass
    tsv = buffer.getvalue()
    if not tsv:
        # Even the header passed the byte cap: answer the variables with no rows.
        tsv = "\t".join(f"?{v.value}" for v in result.variables).encode() + b"\n"
    kind: ResultKind = "solutions"
    if fmt == ox.QueryResultsFormat.TSV and not buffer.full:
        return RawResult(kind, fmt.media_type, tsv)
    parsed = ox.parse_query_results(tsv, ox.QueryResultsFormat.TSV)
    body = parsed.serialize(format=fmt) or b""
    return RawResult(kind, fmt.media_type, body, truncated=buffer.full)


def _capped_triples(result: ox.QueryTriples, fmt: ox.RdfFormat, max_rows: int, max_bytes: int) -> RawResult:
    buffer = _LineCappedBuffer(max_rows, max(max_bytes, 1))
    try:
        ox.serialize(result, cast(IO[bytes], buffer), ox.RdfFormat.N_TRIPLES)
    except _Full:
        pass
    ntriples = buffer.getvalue()
    if fmt == ox.RdfFormat.N_TRIPLES:
        return RawResult("graph", fmt.media_type, ntriples, truncated=buffer.full)
    output = BytesIO()
    triples = ox.parse(ntriples, ox.RdfFormat.N_TRIPLES)
    ox.serialize(triples, output, fmt, prefixes=PREFIXES if fmt in _PREFIXED_FORMATS else None)
    return RawResult("graph", fmt.media_type, output.getvalue(), truncated=buffer.full)
