"""Map coopgraph errors to HTTP responses, in one place."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from coopgraph.errors import CoopgraphError


def install(app: FastAPI) -> None:
    """Register the handler that turns a ``CoopgraphError`` into its status and a JSON body."""

    @app.exception_handler(CoopgraphError)
    async def coopgraph_error(_request: Request, error: CoopgraphError) -> JSONResponse:
        body: dict[str, object] = {"error": type(error).__name__, "message": error.message}
        body.update({k: v for k, v in error.details.items() if k != "report"})
        headers = {"Retry-After": "1"} if error.status == 503 else None
        return JSONResponse(body, status_code=error.status, headers=headers)
