"""RemoteBackend limits, updates and remote loading, against real Oxigraph servers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from coopgraph.errors import Overloaded, QueryTimeout, UpdateForbidden, UpstreamError
from coopgraph.remote import RemoteBackend
from coopgraph.store import GRAPH_BASE
from tests.remote.conftest import OxigraphServer, coopgraph_command, loaded_oxigraph_server

# A cross product of the whole graph with itself: seconds of work on the server, and bounded.
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }"
CLASSES = "SELECT ?c WHERE { ?c a <http://www.w3.org/2002/07/owl#Class> } ORDER BY ?c"
COOP = "https://w3id.org/coopgraph/ontology#"
EXAMPLE_CSV = Path(__file__).parents[2] / "examples" / "partnerships.csv"


def solutions(raw_body: bytes) -> list[ox.QuerySolution]:
    parsed = ox.parse_query_results(raw_body, ox.QueryResultsFormat.JSON)
    assert isinstance(parsed, ox.QuerySolutions)
    return list(parsed)


def test_a_query_past_the_limit_is_abandoned_with_query_timeout(oxigraph_server: OxigraphServer) -> None:
    backend = RemoteBackend(oxigraph_server.query_endpoint, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match="more than 0.5 s"):
        backend.query(SLOW)
    assert time.monotonic() - started < 2
    backend.close()


def test_beyond_workers_and_queue_a_query_is_refused_at_once(oxigraph_server: OxigraphServer) -> None:
    backend = RemoteBackend(oxigraph_server.query_endpoint, timeout=1, workers=1, queue_size=0)
    slow = threading.Thread(target=lambda: pytest.raises(QueryTimeout, backend.query, SLOW))
    slow.start()
    time.sleep(0.2)
    started = time.monotonic()
    with pytest.raises(Overloaded, match="retry"):
        backend.query(CLASSES)
    assert time.monotonic() - started < 0.2
    slow.join()
    assert solutions(backend.query(CLASSES).body)  # the slot is free again
    backend.close()


def test_results_are_cut_at_the_row_cap_visibly(oxigraph_server: OxigraphServer) -> None:
    backend = RemoteBackend(oxigraph_server.query_endpoint, max_results=3)
    raw = backend.query(CLASSES, results_format=ox.QueryResultsFormat.CSV)
    assert raw.truncated and raw.media_type.startswith("text/csv")
    assert len(raw.body.decode().strip().splitlines()) == 1 + 3
    graph = backend.query("CONSTRUCT WHERE { ?s a ?c }", graph_format=ox.RdfFormat.TURTLE)
    assert graph.truncated and len(list(ox.parse(graph.body, ox.RdfFormat.TURTLE))) == 3
    small = backend.query("ASK { ?s ?p ?o }")
    assert not small.truncated and b"true" in small.body
    backend.close()


def test_an_unreachable_store_fails_fast_with_upstream_error() -> None:
    backend = RemoteBackend("http://127.0.0.1:9/query", timeout=5, connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(UpstreamError, match="cannot be reached"):
        backend.query(CLASSES)
    with pytest.raises(UpstreamError):
        backend.version()
    assert time.monotonic() - started < 3
    backend.close()


def test_without_an_update_endpoint_updates_are_forbidden(oxigraph_server: OxigraphServer) -> None:
    backend = RemoteBackend(oxigraph_server.query_endpoint)
    with pytest.raises(UpdateForbidden, match="--sparql-update-endpoint"):
        backend.update("CLEAR ALL")
    assert solutions(backend.query(CLASSES).body)
    backend.close()


@pytest.fixture(scope="module")
def scratch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    """A server of this module's own, for tests that change the data."""
    with loaded_oxigraph_server(tmp_path_factory.mktemp("oxigraph-scratch")) as server:
        yield server


def test_an_update_is_applied_with_inference_and_a_new_version(scratch_server: OxigraphServer) -> None:
    backend = RemoteBackend(scratch_server.query_endpoint, scratch_server.update_endpoint, version_ttl=0)
    before = backend.version()
    ask = f"ASK {{ <{GRAPH_BASE}x> <{COOP}cooperatesWith> ?b }}"
    lyon, brittany = "https://w3id.org/coopgraph/id/authority/lyon", "https://w3id.org/coopgraph/id/authority/brittany"
    backend.update(
        f"INSERT DATA {{ GRAPH <{GRAPH_BASE}test> {{ <{GRAPH_BASE}p> a <{COOP}Partnership> ; "
        f"<{COOP}partner> <{lyon}> , <{brittany}> }} }} ;"
    )
    inferred = f"ASK {{ GRAPH <{GRAPH_BASE}inferred> {{ <{lyon}> <{COOP}cooperatesWith> <{brittany}> }} }}"
    assert b"true" in backend.query(inferred).body
    assert b"false" in backend.query(ask).body
    assert backend.version() != before
    with pytest.raises(Exception, match="malformed"):
        backend.update("INSERT DATA { oops")
    backend.close()


def test_import_goes_to_the_remote_store_and_a_rebuild_keeps_it(scratch_server: OxigraphServer) -> None:
    imported = coopgraph_command("import", str(EXAMPLE_CSV), "--sparql-endpoint", scratch_server.query_endpoint)
    assert imported.returncode == 0, imported.stderr
    backend = RemoteBackend(scratch_server.query_endpoint, version_ttl=0)
    graphs = f"SELECT ?g WHERE {{ GRAPH ?g {{ }} FILTER(STRSTARTS(STR(?g), '{GRAPH_BASE}import/')) }}"
    assert [row["g"].value for row in solutions(backend.query(graphs).body)] == [GRAPH_BASE + "import/partnerships"]  # type: ignore[union-attr]
    rebuilt = coopgraph_command("build", "--sparql-endpoint", scratch_server.query_endpoint)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert len(solutions(backend.query(graphs).body)) == 1
    backend.close()


def test_data_that_does_not_conform_sends_nothing(scratch_server: OxigraphServer, tmp_path: Path) -> None:
    backend = RemoteBackend(scratch_server.query_endpoint, version_ttl=0)
    before = backend.version()
    folder = tmp_path / "data" / "broken-source"
    folder.mkdir(parents=True)
    (folder / "records.ttl").write_text(
        "@prefix coop: <https://w3id.org/coopgraph/ontology#> .\n"
        "<https://w3id.org/coopgraph/id/authority/nowhere> a coop:Authority .\n",
        encoding="utf-8",
    )
    refused = coopgraph_command("build", "--data", str(tmp_path / "data"), "--sparql-endpoint", scratch_server.query_endpoint)
    assert refused.returncode == 1, refused.stderr
    assert "violation" in refused.stderr
    assert backend.version() == before
    unreadable = coopgraph_command("import", str(tmp_path / "missing.csv"), "--sparql-endpoint", scratch_server.query_endpoint)
    assert unreadable.returncode == 2 and "Traceback" not in unreadable.stderr
    assert backend.version() == before
    backend.close()
