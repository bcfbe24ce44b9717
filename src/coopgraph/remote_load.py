"""Loading a remote SPARQL store: build and validate here, then send the named graphs, then switch at once.

``coopgraph build --sparql-endpoint URL`` and ``coopgraph import FILE.csv
--sparql-endpoint URL`` do exactly what they do for the embedded store — the
same ``build()`` into a temporary local generation, with the same validation —
and only a build that passed is sent:

1. the imported graphs already on the server (``graph/import/…``) are fetched
   first, so that a rebuild keeps them, as it keeps the embedded store's imports;
2. each named graph of the new build is uploaded with the SPARQL 1.1 Graph
   Store Protocol into a staging graph of its own (``PUT`` then ``POST`` of
   N-Triples batches, so a large graph never sits whole in one request);
3. one SPARQL update then ``MOVE``s every staging graph onto its real name and
   drops the coopgraph graphs the new build no longer has. The server applies
   one update request as one transaction (Oxigraph does), so readers see the
   old data or the new data, never a mix, and the new ``coop:dataVersion`` (in
   the ``void`` graph) arrives with the rest: every replica's ETags change then.

A failure before the switch drops the staging graphs and leaves the served data
untouched. While the upload runs, the staging graphs are part of the server's
union default graph (a query counting every triple without ``DISTINCT`` may
count some twice for that time); their IRIs (``urn:coopgraph:staging:…``) are
outside coopgraph's graph namespace, so they are never listed as datasets.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pyoxigraph as ox

from coopgraph import __version__
from coopgraph.build import IMPORTS_FOLDER, BuildResult, build
from coopgraph.errors import InputUnusable, UpstreamError
from coopgraph.store import GRAPH_BASE, StoreRoot

BATCH_TRIPLES = 50_000
NTRIPLES = "application/n-triples"
IMPORT_GRAPH_PREFIX = GRAPH_BASE + "import/"
_IMPORT_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")

# (what is happening, triples sent so far, triples to send)
LoadProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RemoteStore:
    """The three endpoints of a SPARQL server: query, update, and Graph Store Protocol."""

    query_endpoint: str
    update_endpoint: str
    graph_store_endpoint: str

    @classmethod
    def from_endpoints(
        cls, query_endpoint: str, update_endpoint: str | None = None, graph_store_endpoint: str | None = None
    ) -> RemoteStore:
        """Endpoints not given are derived from an Oxigraph-style query URL (``…/query`` → ``…/update``, ``…/store``).

        Raises ``InputUnusable`` when they cannot be derived (give them explicitly,
        e.g. Fuseki's ``/ds/update`` and ``/ds/data``).
        """
        parts = urlsplit(query_endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputUnusable(f"{query_endpoint!r} is not an http(s) URL of a SPARQL endpoint.")

        def sibling(name: str) -> str:
            head, _, last = parts.path.rpartition("/")
            if last not in ("query", "sparql"):
                raise InputUnusable(
                    f"Cannot guess the {name} endpoint from {query_endpoint}; give --sparql-update-endpoint "
                    "and --graph-store-endpoint."
                )
            return urlunsplit(parts._replace(path=f"{head}/{name}", query="", fragment=""))

        return cls(
            query_endpoint,
            update_endpoint or sibling("update"),
            graph_store_endpoint or sibling("store"),
        )


@dataclass(frozen=True)
class LoadResult:
    """What was built locally and is now served by the remote store."""

    build: BuildResult
    triples_sent: int
    graphs_sent: int
    graphs_dropped: int


def load_build(
    remote: RemoteStore,
    *,
    data_dir: Path | None = None,
    build_generation: Callable[[StoreRoot], BuildResult] | None = None,
    progress: LoadProgress = lambda _step, _done, _total: None,
    timeout: float = 300.0,
) -> LoadResult:
    """Build (or ``build_generation``, e.g. an import) into a temporary store, then load ``remote`` with it.

    Raises ``DataInvalid``/``InputUnusable`` from the build (nothing is sent) and
    ``UpstreamError`` when the server cannot be reached or refuses a step (the
    served data is then unchanged).
    """
    with (
        httpx.Client(
            timeout=httpx.Timeout(timeout, connect=10.0),
            headers={"User-Agent": f"coopgraph/{__version__}"},
        ) as client,
        tempfile.TemporaryDirectory(prefix="coopgraph-remote-") as folder,
    ):
        loader = _Loader(client, remote, progress)
        root = StoreRoot(Path(folder) / "store")
        progress("Reading the graphs already on the server", 0, 0)
        existing = loader.coopgraph_graphs()
        loader.fetch_imports(existing, root.root / IMPORTS_FOLDER)
        result = (
            build_generation(root)
            if build_generation is not None
            else build(root, data_dir=data_dir, progress=lambda step: progress(step, 0, 0))
        )
        store = root.open_current(read_only=True)
        sent, staged = loader.upload(store)
        dropped = sorted(set(existing) - set(staged.values()))
        progress("Switching the server to the new data", sent, sent)
        loader.switch(staged, dropped)
        return LoadResult(result, sent, len(staged), len(dropped))


class _Loader:
    def __init__(self, client: httpx.Client, remote: RemoteStore, progress: LoadProgress) -> None:
        self.client = client
        self.remote = remote
        self.progress = progress

    def _send(self, method: str, url: str, what: str, **kwargs: object) -> httpx.Response:
        try:
            response = self.client.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as error:
            raise UpstreamError(f"Could not {what} at {url}: {error}.") from None
        if response.status_code >= 300:
            detail = " ".join(response.text.split())[:300]
            raise UpstreamError(f"Could not {what}: {url} answered HTTP {response.status_code} ({detail}).")
        return response

    def coopgraph_graphs(self) -> list[str]:
        """The named graphs on the server that belong to coopgraph (under its graph namespace)."""
        response = self._send(
            "POST",
            self.remote.query_endpoint,
            "list the graphs",
            content=b"SELECT DISTINCT ?g WHERE { GRAPH ?g { } }",
            headers={"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"},
        )
        rows = ox.parse_query_results(response.content, ox.QueryResultsFormat.JSON)
        assert isinstance(rows, ox.QuerySolutions)
        graphs = (row["g"] for row in rows)
        return sorted(g.value for g in graphs if isinstance(g, ox.NamedNode) and g.value.startswith(GRAPH_BASE))

    def fetch_imports(self, graphs: list[str], folder: Path) -> None:
        """Save the server's imported graphs where ``build()`` looks for imports."""
        for graph in graphs:
            name = graph.removeprefix(IMPORT_GRAPH_PREFIX)
            if graph == name or not _IMPORT_NAME.fullmatch(name):
                continue
            self.progress(f"Fetching the import {name}", 0, 0)
            response = self._send(
                "GET",
                self.remote.graph_store_endpoint,
                f"fetch the imported graph {name}",
                params={"graph": graph},
                headers={"Accept": NTRIPLES},
            )
            folder.mkdir(parents=True, exist_ok=True)
            # N-Triples is Turtle: build() loads it like any imported file.
            (folder / f"{name}.ttl").write_bytes(response.content)

    def upload(self, store: ox.Store) -> tuple[int, dict[str, str]]:
        """Send every named graph of ``store`` to a staging graph; return (triples sent, staging → target)."""
        run = uuid.uuid4().hex[:12]
        graphs = [g for g in store.named_graphs() if isinstance(g, ox.NamedNode)]
        total = sum(1 for g in graphs for _ in store.quads_for_pattern(None, None, None, g))
        staged: dict[str, str] = {}
        sent = 0
        try:
            for index, graph in enumerate(sorted(graphs, key=lambda g: g.value)):
                staging = f"urn:coopgraph:staging:{run}:{index}"
                staged[staging] = graph.value
                short = graph.value.removeprefix(GRAPH_BASE)
                method = "PUT"  # the first batch creates (or replaces) the staging graph
                for batch in _batches(store, graph):
                    self.progress(f"Sending {short}", sent, total)
                    self._send(
                        method,
                        self.remote.graph_store_endpoint,
                        f"send the graph {short}",
                        params={"graph": staging},
                        content=batch.body,
                        headers={"Content-Type": NTRIPLES},
                    )
                    method = "POST"
                    sent += batch.triples
                self.progress(f"Sent {short}", sent, total)
        except BaseException:
            self.drop_quietly(list(staged))
            raise
        return sent, staged

    def switch(self, staged: dict[str, str], dropped: list[str]) -> None:
        """Move every staging graph onto its target and drop ``dropped``, in one update request."""
        operations = [f"MOVE SILENT GRAPH <{staging}> TO GRAPH <{target}>" for staging, target in staged.items()]
        operations += [f"DROP SILENT GRAPH <{graph}>" for graph in dropped]
        try:
            self._send(
                "POST",
                self.remote.update_endpoint,
                "switch to the new graphs",
                content=" ;\n".join(operations).encode("utf-8"),
                headers={"Content-Type": "application/sparql-update"},
            )
        except BaseException:
            self.drop_quietly(list(staged))
            raise

    def drop_quietly(self, graphs: list[str]) -> None:
        """Best effort: remove staging graphs after a failure (the server may be the thing that failed)."""
        if not graphs:
            return
        update = " ;\n".join(f"DROP SILENT GRAPH <{graph}>" for graph in graphs)
        try:
            self.client.post(
                self.remote.update_endpoint,
                content=update.encode("utf-8"),
                headers={"Content-Type": "application/sparql-update"},
            )
        except httpx.HTTPError:
            pass


@dataclass(frozen=True)
class _Batch:
    body: bytes
    triples: int


def _batches(store: ox.Store, graph: ox.NamedNode) -> Iterator[_Batch]:
    """The triples of ``graph`` as N-Triples in batches of ``BATCH_TRIPLES`` (one empty batch for an empty graph)."""
    quads = store.quads_for_pattern(None, None, None, graph)
    first = True
    while True:
        triples = [quad.triple for quad in islice(quads, BATCH_TRIPLES)]
        if not triples and not first:
            return
        first = False
        yield _Batch(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"", len(triples))
        if len(triples) < BATCH_TRIPLES:
            return
