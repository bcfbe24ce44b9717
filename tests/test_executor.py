"""The worker-process pool: results, errors, the hard time limit, admission, truncation, new generations."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pyoxigraph as ox
import pytest

from coopgraph.build import build
from coopgraph.errors import Overloaded, QuerySyntaxError, QueryTimeout, StoreUnavailable
from coopgraph.executor import PooledBackend
from coopgraph.store import StoreRoot
from coopgraph.truncation import serialise_capped

OWL_CLASSES = "SELECT ?class WHERE { ?class a <http://www.w3.org/2002/07/owl#Class> } ORDER BY ?class"
EXPLOSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
AUTHORITY = ox.NamedNode("https://w3id.org/coopgraph/ontology#Authority")


@pytest.fixture(scope="module")
def pool(store_root: StoreRoot) -> Iterator[PooledBackend]:
    backend = PooledBackend(store_root, workers=2, queue_size=2, timeout=5)
    yield backend
    backend.close()


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_select_ask_construct_come_back_serialised(pool: PooledBackend) -> None:
    select = pool.query(OWL_CLASSES, results_format=ox.QueryResultsFormat.TSV)
    assert (select.kind, select.media_type.split(";")[0]) == ("solutions", "text/tab-separated-values")
    parsed = ox.parse_query_results(select.body, ox.QueryResultsFormat.TSV)
    assert isinstance(parsed, ox.QuerySolutions)
    assert AUTHORITY in [row["class"] for row in parsed]
    ask = pool.query(f"ASK {{ {AUTHORITY} ?p ?o }}")
    assert ask.kind == "boolean" and b"true" in ask.body
    graph = pool.query(f"DESCRIBE {AUTHORITY}", graph_format=ox.RdfFormat.TURTLE)
    assert graph.kind == "graph" and graph.media_type == "text/turtle"
    assert any(q.subject == AUTHORITY for q in ox.parse(graph.body, ox.RdfFormat.TURTLE))
    assert not (select.truncated or ask.truncated or graph.truncated)


def test_substitutions_and_dataset_cross_the_process_boundary(pool: PooledBackend) -> None:
    bound = pool.query(OWL_CLASSES, substitutions={"class": AUTHORITY})
    rows = list(ox.parse_query_results(bound.body, ox.QueryResultsFormat.JSON))
    assert [row["class"] for row in rows] == [AUTHORITY]
    thesauri_only = pool.query(
        OWL_CLASSES, default_graph_uris=["https://w3id.org/coopgraph/graph/thesauri"]
    )
    assert list(ox.parse_query_results(thesauri_only.body, ox.QueryResultsFormat.JSON)) == []


def test_syntax_error_keeps_its_type_and_message(pool: PooledBackend) -> None:
    with pytest.raises(QuerySyntaxError, match="malformed.*1:"):
        pool.query("SELECT ?x WHERE { ?x }")


def test_evaluation_error_is_a_clear_400(pool: PooledBackend) -> None:
    with pytest.raises(QuerySyntaxError, match="could not be evaluated"):
        # A variable the query assigns itself cannot also be bound to a value.
        pool.query("SELECT ?class ?x WHERE { ?class ?p ?o BIND(1 AS ?x) }", substitutions={"x": AUTHORITY})


def test_overrunning_query_is_killed_and_its_worker_replaced(pool: PooledBackend) -> None:
    before = set(pool.worker_pids())
    with pytest.raises(QueryTimeout, match="stopped"):
        pool.query(EXPLOSIVE, timeout=1.0)
    killed = before - set(pool.worker_pids())
    assert len(killed) == 1
    assert not is_running(killed.pop())
    # The pool is whole again and answers.
    deadline = time.monotonic() + 30
    while len(pool.worker_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(pool.worker_pids()) == 2
    assert pool.query("ASK {}").body.endswith(b"true}")


def test_full_pool_refuses_at_once(store_root: StoreRoot) -> None:
    backend = PooledBackend(store_root, workers=1, queue_size=1, timeout=2)
    outcomes: list[tuple[float, str]] = []
    lock = threading.Lock()

    def slow() -> None:
        try:
            backend.query(EXPLOSIVE)
        except (QueryTimeout, Overloaded) as error:
            with lock:
                outcomes.append((time.monotonic(), type(error).__name__))

    try:
        running = [threading.Thread(target=slow) for _ in range(2)]
        for thread in running:
            thread.start()
        time.sleep(0.5)  # one evaluating, one waiting for the worker
        with pytest.raises(Overloaded, match="retry"):
            backend.query("ASK {}")
        refused_at = time.monotonic()
        for thread in running:
            thread.join(timeout=30)
        assert len(outcomes) == 2
        assert all(done > refused_at for done, _ in outcomes)
        assert "QueryTimeout" in {name for _, name in outcomes}
    finally:
        backend.close()


def test_truncation_is_flagged(store_root: StoreRoot) -> None:
    backend = PooledBackend(store_root, workers=1, max_results=2)
    try:
        cut = backend.query(OWL_CLASSES)
        assert cut.truncated
        assert len(list(ox.parse_query_results(cut.body, ox.QueryResultsFormat.JSON))) == 2
        whole = backend.query("SELECT ?x WHERE { VALUES ?x { 1 2 } }")
        assert not whole.truncated
    finally:
        backend.close()


def test_workers_see_a_published_update(fresh_root: StoreRoot) -> None:
    build(fresh_root)
    backend = PooledBackend(fresh_root, workers=2)
    ask = "ASK { <http://example.org/s> <http://example.org/p> ?o }"
    try:
        version = backend.version()
        assert [backend.query(ask).body for _ in range(2)] == [b'{"head":{},"boolean":false}'] * 2
        backend.update("INSERT DATA { <http://example.org/s> <http://example.org/p> 1 }")
        assert backend.version() != version
        # Both workers (queried in turn) reopen the new generation.
        assert [backend.query(ask).body for _ in range(2)] == [b'{"head":{},"boolean":true}'] * 2
    finally:
        backend.close()


def test_no_store_yet_is_unavailable(fresh_root: StoreRoot) -> None:
    backend = PooledBackend(fresh_root, workers=1)
    try:
        with pytest.raises(StoreUnavailable, match="coopgraph build"):
            backend.query("ASK {}")
    finally:
        backend.close()


def test_close_stops_every_worker(store_root: StoreRoot) -> None:
    backend = PooledBackend(store_root, workers=2)
    pids = backend.worker_pids()
    backend.close()
    assert pids and not any(is_running(pid) for pid in pids)
    with pytest.raises(StoreUnavailable):
        backend.query("ASK {}")


@pytest.mark.parametrize(
    ("rows", "max_rows", "truncated"), [(0, 3, False), (3, 3, False), (4, 3, True), (50, 1, True)]
)
def test_capped_serialisation_counts_rows_exactly(rows: int, max_rows: int, truncated: bool) -> None:
    store = ox.Store()
    for i in range(rows):
        store.add(ox.Quad(ox.NamedNode(f"http://example.org/{i}"), AUTHORITY, ox.Literal(f"line\n{i}\t")))
    for fmt in (ox.QueryResultsFormat.JSON, ox.QueryResultsFormat.TSV, ox.QueryResultsFormat.XML):
        raw = serialise_capped(store.query("SELECT * WHERE { ?s ?p ?o }"), fmt, ox.RdfFormat.TURTLE, max_rows=max_rows)
        assert raw.truncated is truncated
        assert len(list(ox.parse_query_results(raw.body, fmt))) == min(rows, max_rows)
    graph = serialise_capped(
        store.query("CONSTRUCT WHERE { ?s ?p ?o }"), ox.QueryResultsFormat.JSON, ox.RdfFormat.TURTLE, max_rows=max_rows
    )
    assert graph.truncated is truncated
    assert len(list(ox.parse(graph.body, ox.RdfFormat.TURTLE))) == min(rows, max_rows)


def test_capped_serialisation_honours_the_byte_cap() -> None:
    store = ox.Store()
    for i in range(100):
        store.add(ox.Quad(ox.NamedNode(f"http://example.org/{i}"), AUTHORITY, ox.Literal("x" * 100)))
    raw = serialise_capped(
        store.query("SELECT * WHERE { ?s ?p ?o }"), ox.QueryResultsFormat.TSV, ox.RdfFormat.TURTLE,
        max_rows=1000, max_bytes=2000,
    )
    assert raw.truncated
    assert 0 < len(list(ox.parse_query_results(raw.body, ox.QueryResultsFormat.TSV))) < 100
