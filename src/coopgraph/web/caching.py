"""HTTP caching and CORS for every read, installed once for the whole app.

Reads are cacheable because the data only changes when a new store generation is
published (a build, an import, an update). So a GET's ETag is a hash of the
backend's data version and of what selects the representation (path, query
string, ``Accept``, ``Accept-Language``): it changes exactly when the data or
the request changes. ``If-None-Match`` is checked *before* the route runs, so a
revalidation costs no query at all.

CORS is open for reads: any origin may GET and POST queries (the preflight lets
through the headers a SPARQL client sends), but no credentials are allowed and
``Authorization`` is not an allowed header, so a web page cannot send updates
from another origin.
"""

from __future__ import annotations

import hashlib

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coopgraph.errors import CoopgraphError

MAX_AGE = 60

CORS_ALLOWED_HEADERS = ["Accept", "Accept-Language", "Content-Type", "If-None-Match", "Cache-Control"]
CORS_EXPOSED_HEADERS = ["ETag", "Link", "Retry-After", "Warning", "X-Coopgraph-Truncated", "Content-Disposition"]

_READS = ("GET", "HEAD")


def entity_tag(version: str, scope: Scope) -> str:
    """The weak ETag of a GET: blank node labels may differ between two evaluations, the meaning does not."""
    headers = Headers(scope=scope)
    digest = hashlib.sha256()
    for part in (
        version,
        scope.get("root_path", "") + scope["path"],
        scope.get("query_string", b"").decode("latin-1"),
        headers.get("accept", ""),
        headers.get("accept-language", ""),
    ):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    return f'W/"{digest.hexdigest()[:32]}"'


def _matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): ``*`` or any listed tag equal once ``W/`` is dropped."""
    wanted = etag.removeprefix("W/")
    tags = [t.strip() for t in if_none_match.split(",")]
    return any(t == "*" or t.removeprefix("W/") == wanted for t in tags)


class CachingMiddleware:
    """Adds ``ETag``, ``Cache-Control`` and ``Vary: Accept`` to successful reads; answers 304 when fresh."""

    def __init__(self, app: ASGIApp, max_age: int = MAX_AGE) -> None:
        self.app = app
        self.max_age = max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _READS:
            await self.app(scope, receive, send)
            return
        backend = scope["app"].state.backend
        # The version may need I/O (a symbolic link, or a remote endpoint): not on the event loop.
        try:
            version = await run_in_threadpool(backend.version)
        except CoopgraphError:
            # No version, no ETag (a remote store that is down): the route answers, or fails
            # with its own status (502/503) through the error handlers, uncached.
            await self.app(scope, receive, send)
            return
        etag = entity_tag(version, scope)
        cache_headers = {
            "ETag": etag,
            "Cache-Control": f"public, max-age={self.max_age}",
        }
        if_none_match = Headers(scope=scope).get("if-none-match")
        if if_none_match and _matches(if_none_match, etag):
            headers = MutableHeaders(scope={"type": "http", "headers": []})
            headers.update(cache_headers)
            headers["Vary"] = "Accept"
            await send({"type": "http.response.start", "status": 304, "headers": headers.raw})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cache_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = MutableHeaders(scope=message)
                if "no-store" not in headers.get("cache-control", ""):
                    for name, value in cache_headers.items():
                        headers.setdefault(name, value)
                    _add_vary(headers, "Accept")
            await send(message)

        await self.app(scope, receive, send_with_cache_headers)


def _add_vary(headers: MutableHeaders, field: str) -> None:
    present = [v.strip().lower() for v in headers.get("vary", "").split(",") if v.strip()]
    if field.lower() not in present and "*" not in present:
        headers["Vary"] = ", ".join([headers["vary"], field]) if present else field


def install(app: FastAPI, max_age: int = MAX_AGE) -> None:
    """Install caching (inner) and CORS (outer, so 304s and errors carry CORS headers too)."""
    app.add_middleware(CachingMiddleware, max_age=max_age)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
        allow_headers=CORS_ALLOWED_HEADERS,
        expose_headers=CORS_EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=86400,
    )
