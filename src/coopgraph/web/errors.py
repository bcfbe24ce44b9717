"""Map coopgraph errors to HTTP responses, in one place.

Programs get JSON; a browser (an ``Accept`` that prefers ``text/html`` over
JSON, as browsers send) gets the same message as an HTML page, except on the
machine interfaces (``/sparql``, ``/api``), which always answer JSON errors.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from coopgraph.errors import CoopgraphError, NotAcceptable
from coopgraph.negotiation import HTML, Format, negotiate
from coopgraph.web.pages import error_page

_JSON = Format("application/json", "json")
_MACHINE_PATHS = ("/sparql", "/api/", "/graph.json", "/context.jsonld")


def wants_html(request: Request) -> bool:
    """Whether to answer an error page: a browser (HTML preferred to JSON; ``*/*`` alone means JSON) off the machine interfaces."""
    if request.url.path.startswith(_MACHINE_PATHS):
        return False
    try:
        return negotiate(request.headers.get("accept"), (_JSON, HTML)) is HTML
    except NotAcceptable:
        return False


def install(app: FastAPI) -> None:
    """Register the handlers that turn errors into their status and a JSON body or an HTML page."""

    @app.exception_handler(CoopgraphError)
    def coopgraph_error(request: Request, error: CoopgraphError) -> Response:
        headers = {"Retry-After": "1"} if error.status == 503 else None
        if wants_html(request):
            page = error_page(request, error.status, error.message)
            if headers:
                page.headers.update(headers)
            return page
        body: dict[str, object] = {"error": type(error).__name__, "message": error.message}
        body.update({k: v for k, v in error.details.items() if k != "report"})
        return JSONResponse(body, status_code=error.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404 and wants_html(request):
            return error_page(request, 404, "There is no page at this address.")
        return await http_exception_handler(request, error)
