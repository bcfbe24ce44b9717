"""Schemathesis over every operation of the OpenAPI document that is not under /api (that part: test_api.py).

The SPARQL endpoint, resources, the ontology, VoID, the JSON-LD context and the
dumps: requests generated from their OpenAPI entries (bounded) never get a 5xx,
other than a 503 that says the query was stopped or refused; and the document
itself is usable by client generators (one operation id per operation).
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from coopgraph.config import Settings
from coopgraph.store import StoreRoot
from coopgraph.web.app import create_app


@pytest.fixture(scope="module")
def schema(store_root: StoreRoot) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(Settings(store=store_root.root, timeout=5.0)))


def test_every_operation_has_its_own_operation_id(schema: schemathesis.schemas.BaseSchema) -> None:
    ids = Counter(
        operation["operationId"]
        for path in schema.raw_schema["paths"].values()
        for method, operation in path.items()
        if method in {"get", "head", "post", "put", "delete", "patch", "options"}
    )
    assert [name for name, count in ids.items() if count > 1] == []


def test_no_server_error_outside_the_api(schema: schemathesis.schemas.BaseSchema) -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if not op.path.startswith("/api/")]
    assert {op.path for op in operations} >= {"/sparql", "/id/{path}", "/dumps/{filename}", "/.well-known/void"}

    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call()
            if response.status_code == 503:
                # A generated query may be slow or the pool busy: stopped or refused, and saying so.
                assert "error" in response.json(), response.text[:300]
                return
            assert response.status_code < 500, (case.method, case.path, case.path_parameters, case.query,
                                                 response.text[:300])
            assert "Traceback" not in response.text

        no_server_error()
