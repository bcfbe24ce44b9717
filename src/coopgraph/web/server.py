"""Running the app under uvicorn with the limits the SPARQL protocol needs."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from coopgraph.config import Settings


def request_line_limit(settings: Settings) -> int:
    """Bytes of request line and headers uvicorn accepts before the app sees a request.

    A percent-encoded query can be three times its size; above this limit uvicorn
    itself answers 400, below it the app answers a long ``GET /sparql`` with 413
    and a hint to POST instead. 64 KiB at least, for long URLs of the other pages.
    """
    return max(64 * 1024, 4 * settings.max_query_bytes + 16 * 1024)


def uvicorn_config(app: FastAPI, settings: Settings, *, port: int | None = None) -> uvicorn.Config:
    """The uvicorn configuration for ``app`` on ``settings.host`` and ``port`` (default ``settings.port``)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port if port is None else port,
        log_level="warning",
        h11_max_incomplete_event_size=request_line_limit(settings),
    )
