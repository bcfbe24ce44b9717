"""The canned-query API (SPEC §6): ``GET /api/queries`` and one documented route per ``queries/*.rq``.

``create_router(settings)`` loads the registry (a broken file stops the app
from being created) and registers, for each query, ``GET /api/queries/{name}``
with its own OpenAPI entry (parameters, types, enumerations, examples) and
``GET /api/queries/{name}.csv``. Routes only parse the request and shape the
response; binding and running happen in ``coopgraph.canned``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from coopgraph import canned
from coopgraph.canned import CannedQuery, Registry
from coopgraph.config import Settings
from coopgraph.errors import InvalidParameter
from coopgraph.negotiation import Format, negotiate

JSON = Format("application/json", "json")
CSV = Format("text/csv", "csv")
SPARQL_JSON = Format("application/sparql-results+json", "sparql-json")
OFFERS = (JSON, CSV, SPARQL_JSON)
PAGINATION = ("limit", "offset")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
}
ERRORS = {
    "404": "Unknown name (with `suggestions`).",
    "406": "None of the accepted media types can be produced.",
    "409": "Ambiguous name (with `candidates`).",
    "422": "A parameter is unknown, missing or ill-typed; the message says which and why.",
    "503": "The query ran past the time limit or the server is busy; retry later.",
}


def create_router(settings: Settings) -> APIRouter:
    """The router of the canned-query API over the queries of ``settings.queries_dir`` (default: shipped)."""
    registry = canned.load_registry(settings.queries_dir)
    router = APIRouter(prefix="/api", tags=["canned queries"])
    router.add_api_route(
        "/queries",
        _list_endpoint(registry),
        methods=["GET"],
        summary="List the canned queries",
        description="Every canned query: name, summary, description, parameters, result columns, "
        "SPARQL text and an example URL.",
        operation_id="list-queries",
    )
    for query in registry:
        router.add_api_route(
            f"/queries/{query.name}",
            _run_endpoint(query, forced=None),
            methods=["GET"],
            summary=query.summary,
            description=_description(query),
            operation_id=query.name,
            name="run-" + query.name,
            openapi_extra=_openapi(query),
        )
        router.add_api_route(
            f"/queries/{query.name}.csv",
            _run_endpoint(query, forced=CSV),
            methods=["GET"],
            name=f"run-{query.name}.csv",
            include_in_schema=False,
        )
    router.add_api_route("/queries/{name}", _unknown_endpoint(registry), methods=["GET"], include_in_schema=False)
    return router


def _list_endpoint(registry: Registry) -> Callable[[Request], dict[str, Any]]:
    def list_queries(request: Request) -> dict[str, Any]:
        listed = []
        for query in registry:
            entry = query.as_dict()
            entry["url"] = str(request.url_for("run-" + query.name))
            entry["csvUrl"] = entry["url"] + ".csv"
            entry["exampleUrl"] = str(
                request.url_for("run-" + query.name).include_query_params(**query.example_arguments())
            )
            listed.append(entry)
        return {"queries": listed}

    return list_queries


def _run_endpoint(query: CannedQuery, forced: Format | None) -> Callable[[Request], Response]:
    def run_query(request: Request) -> Response:
        return respond(request, query, forced)

    return run_query


def _unknown_endpoint(registry: Registry) -> Callable[[str], Response]:
    def unknown_query(name: str) -> Response:
        registry.get(name.removesuffix(".csv"))  # raises UnknownQuery with suggestions
        raise AssertionError("unreachable: known queries have their own routes")  # pragma: no cover

    return unknown_query


def respond(request: Request, query: CannedQuery, forced: Format | None = None) -> Response:
    """Run ``query`` with the request's parameters and answer in the negotiated format."""
    given = request.query_params.multi_items()
    names = [name for name, _value in given]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidParameter(f"Parameter {repeated[0][:60]!r} is given more than once; give it once.")
    values = dict(given)
    limit, offset = canned.check_page(values.get("limit"), values.get("offset"))
    arguments = {name: value for name, value in values.items() if name not in PAGINATION}
    fmt = forced or negotiate(request.headers.get("accept"), OFFERS)
    state = request.app.state
    page = canned.run(
        state.backend, query, arguments, limit=limit, offset=offset, timeout=state.settings.timeout
    )
    next_url = str(request.url.include_query_params(offset=offset + limit, limit=limit)) if page.has_more else None
    prev_url = (
        str(request.url.include_query_params(offset=max(0, offset - limit), limit=limit)) if offset > 0 else None
    )
    links = [f'<{url}>; rel="{rel}"' for rel, url in (("next", next_url), ("prev", prev_url)) if url]
    headers = {"Vary": "Accept"}
    if links:
        headers["Link"] = ", ".join(links)
    if fmt is CSV:
        headers["Content-Disposition"] = f'inline; filename="{query.name}.csv"'
        return Response(canned.page_csv(page), media_type="text/csv; charset=utf-8", headers=headers)
    if fmt is SPARQL_JSON:
        body = json.dumps(canned.page_sparql_json(page), ensure_ascii=False).encode()
        return Response(body, media_type=SPARQL_JSON.media_type, headers=headers)
    return JSONResponse(canned.page_json(page, next_url, prev_url), headers=headers)


def _description(query: CannedQuery) -> str:
    columns = ", ".join(f"`{c}`" for c in query.columns)
    return (
        f"{query.description}\n\n**Columns:** {columns}.\n\n"
        f"JSON by default; CSV with `Accept: text/csv` or `/api/queries/{query.name}.csv`; the raw "
        "SPARQL result with `Accept: application/sparql-results+json`. `limit`/`offset` page through "
        "the results (`Link` headers give the next and previous pages).\n\n"
        f"```sparql\n{query.sparql.strip()}\n```"
    )


def _openapi(query: CannedQuery) -> dict[str, Any]:
    """The OpenAPI parameters and responses of one canned query."""
    parameters: list[dict[str, Any]] = []
    for parameter in query.parameters:
        entry: dict[str, Any] = {
            "name": parameter.name,
            "in": "query",
            "required": parameter.required,
            "description": f"{parameter.description} Expected: {parameter.help()}.".strip(),
            "schema": parameter.json_schema(),
        }
        if parameter.example is not None:
            numeric = parameter.type in ("integer", "year")
            entry["example"] = int(parameter.example) if numeric else parameter.example
        parameters.append(entry)
    parameters += [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": f"Rows per page (1–{canned.MAX_LIMIT}).",
            "schema": {"type": "integer", "minimum": 1, "maximum": canned.MAX_LIMIT, "default": canned.DEFAULT_LIMIT},
        },
        {
            "name": "offset",
            "in": "query",
            "required": False,
            "description": "Rows to skip.",
            "schema": {"type": "integer", "minimum": 0, "default": 0},
        },
    ]
    row = {"type": "object", "properties": {c: {"type": ["string", "null"]} for c in query.columns}}
    page_schema = {
        "type": "object",
        "required": ["query", "parameters", "columns", "results", "page"],
        "properties": {
            "query": {"type": "string", "enum": [query.name]},
            "parameters": {"type": "object", "additionalProperties": {"type": "string"}},
            "columns": {"type": "array", "items": {"type": "string"}},
            "results": {"type": "array", "items": row},
            "page": {"type": "object"},
        },
    }
    responses: dict[str, Any] = {
        "200": {
            "description": "One page of results.",
            "content": {
                "application/json": {"schema": page_schema},
                "text/csv": {"schema": {"type": "string"}},
                "application/sparql-results+json": {"schema": {"type": "object"}},
            },
        }
    }
    for status, text in ERRORS.items():
        responses[status] = {"description": text, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
    return {"parameters": parameters, "responses": responses}
