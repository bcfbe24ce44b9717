"""The FastAPI application factory.

``create_app(settings, backend=None)`` builds the whole site over a backend;
tests pass a backend over a small fixture store. No module-level state.
"""

from __future__ import annotations

from fastapi import FastAPI

from coopgraph import __version__
from coopgraph.backend import Backend, EmbeddedBackend
from coopgraph.config import Settings
from coopgraph.store import StoreRoot
from coopgraph.web import api, caching, errors, pages, resources, sparql


def create_app(settings: Settings | None = None, backend: Backend | None = None) -> FastAPI:
    """Assemble the app: SPARQL endpoint, canned-query API, linked data and pages."""
    settings = settings or Settings()
    backend = backend or EmbeddedBackend(StoreRoot(settings.store))
    app = FastAPI(
        title="coopgraph",
        version=__version__,
        description="Who cooperates with whom: decentralised international cooperation as linked data.",
    )
    app.state.settings = settings
    app.state.backend = backend
    errors.install(app)
    caching.install(app)
    app.include_router(sparql.router)
    app.include_router(api.create_router(settings))
    app.include_router(resources.router)
    app.include_router(pages.router)
    return app
