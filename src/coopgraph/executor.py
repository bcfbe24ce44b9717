"""Queries run in a pool of worker processes, so a runaway query can really be stopped.

pyoxigraph cannot cancel a query: evaluation runs in native code until it ends.
A thread cannot be stopped either. The only reliable way to honour a time limit
is to evaluate in another process and kill that process. ``PooledBackend`` does
this:

- ``workers`` processes each open the current store generation read-only, and
  reopen it when ``StoreRoot.version()`` changes, so a published build or update
  is seen by the next query. They come from the ``forkserver`` context: the server
  is multithreaded, and a plain fork of a threaded process may copy a lock held by
  another thread and wait on it forever. The fork server is a clean
  single-threaded process that has imported this module (and pyoxigraph) once, so
  a replacement worker skips the interpreter start and most imports that
  ``spawn`` would pay. (Like any ``multiprocessing`` child, a worker re-imports
  the main script, so a script that builds a pool must guard its entry point
  with ``if __name__ == "__main__":``.)
- A caller takes an idle worker, sends it the query, and waits on the pipe for
  at most the time limit. The worker evaluates, serialises (with the row and byte
  caps of ``coopgraph.truncation``) and sends back bytes.
- When the limit passes, the worker is killed (SIGKILL: it is in native code and
  would not see a gentler signal), the caller gets ``QueryTimeout`` at once, and a
  replacement is started in the background. Other callers use other workers
  meanwhile.
- In front of the workers is a bounded admission count (``workers + queue_size``).
  A query that finds it full fails at once with ``Overloaded`` (HTTP 503 with
  ``Retry-After``) instead of piling up; an admitted query waits for a free worker
  at most the time limit.

Updates do not go through the workers: they are applied in the calling process
as a new store generation (``coopgraph.updates``), which the workers pick up.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pyoxigraph as ox

from coopgraph.backend import RawResult
from coopgraph.errors import (
    CoopgraphError,
    InvalidParameter,
    Overloaded,
    QuerySyntaxError,
    QueryTimeout,
    StoreUnavailable,
    UpstreamError,
)
from coopgraph.export import write_graph
from coopgraph.store import StoreRoot, Term, run_query
from coopgraph.truncation import DEFAULT_MAX_BYTES, serialise_capped

if TYPE_CHECKING:  # the workers import this module: keep their start light
    from coopgraph.config import Settings

log = logging.getLogger(__name__)

_READY_TIMEOUT = 60.0
_STOP_GRACE = 2.0
_RESTART_PAUSE = 1.0

# The errors a worker may report, rebuilt under the same type in the caller.
_ERRORS: dict[str, type[CoopgraphError]] = {
    cls.__name__: cls
    for cls in (QuerySyntaxError, InvalidParameter, StoreUnavailable, UpstreamError)
}


@dataclass(frozen=True)
class _Request:
    """One query for a worker; formats travel as media types (pyoxigraph formats do not pickle)."""

    sparql: str
    results_media_type: str
    graph_media_type: str
    substitutions: Mapping[str, Term] | None
    default_graph_uris: tuple[str, ...]
    named_graph_uris: tuple[str, ...]
    max_rows: int
    max_bytes: int


def _worker_main(connection: Connection, store_root: str) -> None:
    """The loop of a worker process: receive a request, evaluate it, send back a result or an error."""
    # Ctrl-C in a terminal, and a service manager stopping the service (systemd sends
    # SIGTERM to every process of the unit), reach the workers too: they keep answering
    # the queries in flight while the server drains, and the parent stops them after.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    root = StoreRoot(Path(store_root))
    opened: tuple[str | None, ox.Store] | None = None
    connection.send(("ready", os.getpid()))
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return  # the parent went away
        if request is None:
            return
        try:
            version = root.version()
            if opened is None or opened[0] != version:
                opened = None  # release the old generation before opening the new one
                opened = (version, root.open_current(read_only=True))
            connection.send(("ok", _evaluate(opened[1], request)))
        except CoopgraphError as error:
            connection.send(("error", type(error).__name__, error.message))
        except (RuntimeError, ValueError) as error:
            connection.send(("error", "QuerySyntaxError", f"The query could not be evaluated: {error}."))
        except OSError as error:
            connection.send(("error", "UpstreamError", f"The query failed while fetching data: {error}."))


def _evaluate(store: ox.Store, request: _Request) -> RawResult:
    result = run_query(
        store,
        request.sparql,
        substitutions=request.substitutions,
        default_graph_uris=request.default_graph_uris,
        named_graph_uris=request.named_graph_uris,
    )
    results_format = ox.QueryResultsFormat.from_media_type(request.results_media_type)
    graph_format = ox.RdfFormat.from_media_type(request.graph_media_type)
    if results_format is None or graph_format is None:
        raise InvalidParameter("The requested result format is not one pyoxigraph can write.")
    return serialise_capped(
        result,
        results_format,
        graph_format,
        max_rows=request.max_rows,
        max_bytes=request.max_bytes,
    )


class _WorkerLost(Exception):
    """The worker process died or its pipe broke."""


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: multiprocessing.context.BaseContext, store_root: Path) -> None:
        self.connection, child_end = context.Pipe(duplex=True)
        self.process: BaseProcess = context.Process(  # type: ignore[attr-defined]
            target=_worker_main, args=(child_end, str(store_root)), name="coopgraph-query-worker", daemon=True
        )
        self.process.start()
        child_end.close()

    def wait_ready(self, timeout: float) -> bool:
        """True once the worker has started and said so."""
        try:
            return self.connection.poll(timeout) and self.connection.recv()[0] == "ready"
        except (EOFError, OSError):
            return False

    def call(self, request: _Request, timeout: float) -> tuple[object, ...] | None:
        """The worker's reply, or ``None`` when it did not answer within ``timeout``."""
        try:
            self.connection.send(request)
            if not self.connection.poll(timeout):
                return None
            reply: tuple[object, ...] = self.connection.recv()
            return reply
        except (EOFError, OSError) as error:
            raise _WorkerLost from error

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.connection.close()

    def stop(self) -> None:
        """Ask the worker to exit, and kill it if it does not."""
        try:
            self.connection.send(None)
        except OSError:
            pass
        self.process.join(timeout=_STOP_GRACE)
        self.kill()


class PooledBackend:
    """A ``Backend`` evaluating queries in worker processes, with a hard time limit and admission control."""

    def __init__(
        self,
        root: StoreRoot,
        *,
        workers: int = 2,
        queue_size: int = 16,
        timeout: float = 30.0,
        max_results: int = 100_000,
        max_result_bytes: int = DEFAULT_MAX_BYTES,
        start_method: str = "forkserver",
    ) -> None:
        self.root = root
        self.workers = workers
        self.queue_size = queue_size
        self.timeout = timeout
        self.max_results = max_results
        self.max_result_bytes = max_result_bytes
        self._context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            # Only effective before the fork server first starts; it is shared by all pools.
            self._context.set_forkserver_preload(["__main__", __name__])  # type: ignore[attr-defined]
        self._admission = threading.BoundedSemaphore(workers + queue_size)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        started = [self._start_worker() for _ in range(workers)]
        for worker in started:
            if not worker.wait_ready(_READY_TIMEOUT):
                self.close()
                raise StoreUnavailable("The query worker processes could not be started.")
            self._idle.put(worker)

    @classmethod
    def from_settings(cls, settings: Settings) -> PooledBackend:
        """A pool sized and limited as ``settings`` says (workers, queue_size, timeout, max_results)."""
        return cls(
            StoreRoot(settings.store),
            workers=settings.workers,
            queue_size=settings.queue_size,
            timeout=settings.timeout,
            max_results=settings.max_results,
        )

    def version(self) -> str:
        return self.root.version() or "empty"

    def worker_pids(self) -> list[int]:
        """The process ids of the live workers (for diagnostics and tests)."""
        with self._lock:
            return sorted(w.process.pid for w in self._all if w.process.pid is not None)

    def query(
        self,
        sparql: str,
        *,
        results_format: ox.QueryResultsFormat = ox.QueryResultsFormat.JSON,
        graph_format: ox.RdfFormat = ox.RdfFormat.N_TRIPLES,
        substitutions: Mapping[str, Term] | None = None,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        timeout: float | None = None,
    ) -> RawResult:
        """Evaluate ``sparql`` in a worker; see ``Backend.query``.

        Raises ``Overloaded`` when the pool and its queue are full, ``QueryTimeout``
        when evaluation passes the time limit (the worker is killed),
        ``QuerySyntaxError`` and ``StoreUnavailable`` as the embedded store does.
        """
        limit = self.timeout if timeout is None else timeout
        request = _Request(
            sparql,
            results_format.media_type,
            graph_format.media_type,
            dict(substitutions) if substitutions else None,
            tuple(default_graph_uris),
            tuple(named_graph_uris),
            self.max_results,
            self.max_result_bytes,
        )
        if self._closed:
            raise StoreUnavailable("The query service is shutting down; retry in a moment.")
        if not self._admission.acquire(blocking=False):
            raise Overloaded(
                f"The server is already running {self.workers} queries with {self.queue_size} "
                "waiting; retry in a few seconds."
            )
        try:
            return self._run(request, limit)
        finally:
            self._admission.release()

    def _run(self, request: _Request, limit: float) -> RawResult:
        started = time.monotonic()
        try:
            worker = self._idle.get(timeout=limit)
        except queue.Empty:
            raise Overloaded(
                f"All {self.workers} query workers stayed busy for {limit:g} s; retry later."
            ) from None
        # Queue time does not count against the query: it gets the whole limit to run.
        try:
            reply = worker.call(request, limit)
        except _WorkerLost:
            self._replace(worker)
            raise StoreUnavailable(
                "The query worker stopped unexpectedly while evaluating the query; retry, "
                "or simplify the query if this happens again."
            ) from None
        if reply is None:
            self._replace(worker)
            log.warning("query stopped after %.1f s (limit %g s)", time.monotonic() - started, limit)
            raise QueryTimeout(
                f"The query ran for more than {limit:g} s and was stopped; add a LIMIT, make "
                "its patterns more selective, or run it on a local copy of the data."
            )
        if self._closed:
            worker.stop()
        else:
            self._idle.put(worker)
        if reply[0] == "ok":
            result = reply[1]
            assert isinstance(result, RawResult)
            return result
        error_type = _ERRORS.get(str(reply[1]), UpstreamError)
        raise error_type(str(reply[2]))

    def _start_worker(self) -> _Worker:
        worker = _Worker(self._context, self.root.root)
        with self._lock:
            self._all.add(worker)
        return worker

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` now and bring a fresh one into the pool in the background."""
        worker.kill()
        with self._lock:
            self._all.discard(worker)
        threading.Thread(target=self._add_worker, name="coopgraph-worker-restart", daemon=True).start()

    def _add_worker(self) -> None:
        while not self._closed:
            worker = self._start_worker()
            if worker.wait_ready(_READY_TIMEOUT):
                self._idle.put(worker)
                if self._closed:
                    self.close()
                return
            log.error("a query worker failed to start; retrying")
            worker.kill()
            with self._lock:
                self._all.discard(worker)
            time.sleep(_RESTART_PAUSE)

    def update(self, sparql: str) -> None:
        """Apply ``sparql`` as a new store generation; workers reopen it on their next query."""
        from coopgraph.updates import apply_update

        apply_update(self.root, sparql)

    def dump(self, output: IO[bytes], fmt: ox.RdfFormat) -> None:
        """Stream the whole current generation to ``output`` from this process.

        A dump is one long sequential read, not a query: it needs no worker and no
        time limit, and a read-only handle beside the workers' is safe.
        """
        write_graph(self.root.open_current(read_only=True), output, fmt)

    def close(self) -> None:
        """Stop every worker (idle ones politely, busy ones by force)."""
        self._closed = True
        idle: list[_Worker] = []
        while True:
            try:
                idle.append(self._idle.get_nowait())
            except queue.Empty:
                break
        for worker in idle:
            worker.stop()
        with self._lock:
            busy = [w for w in self._all if w not in idle]
            self._all.clear()
        for worker in busy:
            worker.kill()
