"""The errors coopgraph raises on purpose, each mapped once to an HTTP status and a CLI exit code.

Messages are one sentence that says what was wrong and how to fix it.
"""

from __future__ import annotations

from typing import Any


class CoopgraphError(Exception):
    """Base class: ``status`` for HTTP, ``exit_code`` for the CLI."""

    status = 500
    exit_code = 2

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InputUnusable(CoopgraphError):
    """Input that cannot be read at all (missing file, unparsable RDF, wrong encoding)."""

    status = 400
    exit_code = 2


class QuerySyntaxError(CoopgraphError):
    status = 400


class InvalidParameter(CoopgraphError):
    status = 422


class DataInvalid(CoopgraphError):
    """Data that parses but does not conform to the SHACL shapes."""

    status = 422
    exit_code = 1


class UnknownQuery(CoopgraphError):
    status = 404


class UnknownName(CoopgraphError):
    status = 404


class UnknownResource(CoopgraphError):
    status = 404


class AmbiguousName(CoopgraphError):
    status = 409


class UpdateForbidden(CoopgraphError):
    status = 403


class NotAcceptable(CoopgraphError):
    status = 406


class PayloadTooLarge(CoopgraphError):
    status = 413


class UnsupportedMediaType(CoopgraphError):
    status = 415


class QueryTimeout(CoopgraphError):
    status = 503


class Overloaded(CoopgraphError):
    status = 503


class StoreUnavailable(CoopgraphError):
    """No built store yet, or the store could not be opened."""

    status = 503


class StoreWriteFailed(CoopgraphError):
    """A new store generation could not be written (disk full, quota, read-only file system…)."""

    status = 507


class UpstreamError(CoopgraphError):
    """A remote SPARQL endpoint failed or answered something unusable."""

    status = 502


class UpstreamTimeout(CoopgraphError):
    status = 504
