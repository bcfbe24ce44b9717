"""The ``coopgraph`` command: thin wrappers over the same functions the HTTP layer uses.

Exit codes: 0 success, 1 data does not conform to the shapes, 2 unusable input
or any other error. Every option can be set as ``COOPGRAPH_<OPTION>``.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pyoxigraph as ox
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from coopgraph import build as building
from coopgraph.config import Settings
from coopgraph.errors import CoopgraphError, DataInvalid, InputUnusable
from coopgraph.export import EXPORT_FORMATS, export_format, write_graph
from coopgraph.reference import country_quads
from coopgraph.resources import resource_dir
from coopgraph.store import StoreRoot, graph_iri, run_query
from coopgraph.validation import ValidationReport, files_to_quads, validate_quads

app = typer.Typer(
    help="coopgraph: a knowledge graph of decentralised international cooperation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

StoreOption = Annotated[
    Path | None,
    typer.Option("--store", envvar="COOPGRAPH_STORE", help="Store folder (default: per-user data dir)."),
]
SparqlEndpointOption = Annotated[
    str | None,
    typer.Option(
        "--sparql-endpoint",
        envvar="COOPGRAPH_SPARQL_ENDPOINT",
        help="A SPARQL 1.1 server's query URL (e.g. http://127.0.0.1:7878/query) to use instead of the embedded store.",
    ),
]
SparqlUpdateEndpointOption = Annotated[
    str | None,
    typer.Option(
        "--sparql-update-endpoint",
        envvar="COOPGRAPH_SPARQL_UPDATE_ENDPOINT",
        help="Its update URL (build/import: derived from an Oxigraph query URL; serve: read-only without it).",
    ),
]
GraphStoreEndpointOption = Annotated[
    str | None,
    typer.Option(
        "--graph-store-endpoint",
        envvar="COOPGRAPH_GRAPH_STORE_ENDPOINT",
        help="Its Graph Store Protocol URL (default: derived from an Oxigraph query URL, …/store).",
    ),
]


def reports_errors(command: F) -> F:
    """Turn coopgraph errors into one sentence on stderr and the matching exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DataInvalid as error:
            report = error.details.get("report")
            if isinstance(report, ValidationReport):
                print_report(report)
            err.print(f"[red]Error:[/red] {error.message}", highlight=False)
            raise typer.Exit(error.exit_code) from None
        except CoopgraphError as error:
            err.print(f"[red]Error:[/red] {error.message}", highlight=False)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            err.print("Interrupted; nothing was changed.")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def settings_for(store: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, with the options given on the command line on top."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if store is not None:
        values["store"] = store
    return Settings(**values)


def print_report(report: ValidationReport) -> None:
    for violation in report.violations:
        err.print(f"- {violation}", highlight=False, soft_wrap=True)
    err.print(report.summary(), highlight=False)


def run_remote_load(
    sparql_endpoint: str,
    update_endpoint: str | None,
    graph_store_endpoint: str | None,
    **kwargs: Any,
) -> Any:
    """Build and validate locally, then load the remote SPARQL store, with a progress bar on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn

    from coopgraph.remote_load import RemoteStore, load_build

    remote = RemoteStore.from_endpoints(sparql_endpoint, update_endpoint, graph_store_endpoint)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("triples"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("Building", total=None)

        def show(step: str, done: int, total: int) -> None:
            progress.update(task, description=step, completed=done, total=total or None)

        return load_build(remote, progress=show, **kwargs)


def run_build(root: StoreRoot, **kwargs: Any) -> building.BuildResult:
    """Build with a progress display on stderr."""
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
    ) as progress:
        task = progress.add_task("Building the store", total=None)
        result = building.build(root, progress=lambda step: progress.update(task, description=step), **kwargs)
    return result


@app.command()
@reports_errors
def build(
    store: StoreOption = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", envvar="COOPGRAPH_DATA", help="Data folder (default: the shipped data)."),
    ] = None,
    sparql_endpoint: SparqlEndpointOption = None,
    sparql_update_endpoint: SparqlUpdateEndpointOption = None,
    graph_store_endpoint: GraphStoreEndpointOption = None,
) -> None:
    """Build the store from data/ (validated; the previous store stays until the new one is complete).

    With --sparql-endpoint the build is made and validated locally, then loaded
    into that SPARQL server, which switches to it in one step.
    """
    root = StoreRoot(settings_for(store).store)
    if data is not None and not data.is_dir():
        raise InputUnusable(f"{data} is not a folder; --data takes a folder with one subfolder per source.")
    if sparql_endpoint:
        loaded = run_remote_load(sparql_endpoint, sparql_update_endpoint, graph_store_endpoint, data_dir=data)
        out.print(
            f"Built and validated {loaded.build.quads} quads; loaded {loaded.triples_sent} triples in "
            f"{loaded.graphs_sent} graphs into {sparql_endpoint}.",
            highlight=False,
        )
        return
    result = run_build(root, data_dir=data)
    out.print(f"Built {result.quads} quads in {len(result.graphs)} graphs at {result.generation}.", highlight=False)


@app.command()
@reports_errors
def validate(
    files: Annotated[list[Path] | None, typer.Argument(help="RDF files (default: the shipped data).")] = None,
) -> None:
    """Check RDF files (or the shipped data) against the SHACL shapes; exit 1 on violations."""
    ontology = resource_dir("ontology")
    if files:
        targets = [ontology / "coopgraph.ttl", *sorted(ontology.glob("thesauri*.ttl")), *files]
    else:
        data = resource_dir("data")
        targets = [*sorted(ontology.glob("*.ttl")), *sorted(data.glob("*/*.ttl"))]
    quads = files_to_quads(targets)
    quads.extend(country_quads(graph_iri("reference")))
    report = validate_quads(quads)
    if not report.conforms:
        print_report(report)
        raise typer.Exit(1)
    out.print(report.summary(), highlight=False)


QUERY_FORMATS = ("table", "json", "csv")


@app.command()
@reports_errors
def query(
    text: Annotated[str | None, typer.Argument(help="A SPARQL query.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the query from a file.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    store: StoreOption = None,
) -> None:
    """Run a SPARQL query on the store (the default graph is the union of all graphs)."""
    if fmt not in QUERY_FORMATS:
        raise InputUnusable(f"Unknown format {fmt!r}; use table, json or csv.")
    if (text is None) == (file is None):
        raise InputUnusable("Give the query as an argument or with --file, not both and not neither.")
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputUnusable(f"{file}: cannot be read as UTF-8 text ({error}).") from error
    assert text is not None
    result = run_query(StoreRoot(settings_for(store).store).open_current(), text)
    print_result(result, fmt)


def print_result(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples, fmt: str) -> None:
    """Print a query result as a table, SPARQL JSON/CSV, or RDF for graph results."""
    if isinstance(result, ox.QueryTriples):
        rdf = {"table": ox.RdfFormat.TURTLE, "json": ox.RdfFormat.JSON_LD, "csv": ox.RdfFormat.N_TRIPLES}[fmt]
        sys.stdout.buffer.write(ox.serialize(result, format=rdf) or b"")
        return
    if fmt != "table":
        results_format = ox.QueryResultsFormat.JSON if fmt == "json" else ox.QueryResultsFormat.CSV
        sys.stdout.buffer.write(result.serialize(format=results_format) or b"")
        if fmt == "json":
            sys.stdout.write("\n")
        return
    if isinstance(result, ox.QueryBoolean):
        out.print("true" if bool(result) else "false")
        return
    columns = [v.value for v in result.variables]
    table = Table(*columns, show_lines=False)
    rows = 0
    for solution in result:
        table.add_row(*(_plain(solution[c]) for c in columns))
        rows += 1
    out.print(table)
    out.print(f"{rows} row(s)", highlight=False)


def _plain(term: object) -> str:
    if term is None:
        return ""
    return str(getattr(term, "value", term))


@app.command()
@reports_errors
def export(
    fmt: Annotated[str, typer.Option("--format", help=f"One of {', '.join(EXPORT_FORMATS)}.")] = "ttl",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write (default: stdout).")] = None,
    store: StoreOption = None,
) -> None:
    """Export the whole graph: triple formats give the union, nq/trig keep the named graphs."""
    rdf_format = export_format(fmt)
    opened = StoreRoot(settings_for(store).store).open_current()
    if output is None:
        write_graph(opened, sys.stdout.buffer, rdf_format)
        return
    partial = output.with_name(output.name + ".partial")
    with open(partial, "wb") as stream:
        write_graph(opened, stream, rdf_format)
    partial.replace(output)
    err.print(f"Wrote {output}.", highlight=False)


@app.command()
@reports_errors
def serve(
    host: Annotated[str | None, typer.Option(envvar="COOPGRAPH_HOST", help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(envvar="COOPGRAPH_PORT", help="Port (default 8000).")] = None,
    timeout: Annotated[float | None, typer.Option(envvar="COOPGRAPH_TIMEOUT", help="Query time limit in seconds (default 30).")] = None,
    workers: Annotated[int | None, typer.Option(envvar="COOPGRAPH_WORKERS", help="Query worker processes (default 2).")] = None,
    store: StoreOption = None,
    sparql_endpoint: SparqlEndpointOption = None,
    sparql_update_endpoint: SparqlUpdateEndpointOption = None,
) -> None:
    """Serve the SPARQL endpoint, the API, linked data and pages; builds the store first if needed.

    With --sparql-endpoint every query goes to that SPARQL 1.1 server instead
    (its default graph must be the union of its named graphs, see docs/deploy.md;
    --workers then counts the queries sent to it at once).

    Queries run in worker processes so that one past the time limit is stopped.
    Updates through /sparql are refused unless COOPGRAPH_UPDATE_TOKEN is set (a
    token is never taken on the command line, where other users could read it).
    """

    from coopgraph.executor import PooledBackend

    settings = settings_for(
        store,
        host=host,
        port=port,
        timeout=timeout,
        workers=workers,
        sparql_endpoint=sparql_endpoint,
        sparql_update_endpoint=sparql_update_endpoint,
    )
    if settings.sparql_endpoint:
        serve_remote(settings)
        return
    root = StoreRoot(settings.store)
    if root.current_path() is None:
        err.print(f"No store at {root.root} yet: building it from the shipped data.", highlight=False)
        run_build(root)
    run_server(
        settings,
        PooledBackend.from_settings(settings),
        f"({settings.workers} query workers, {settings.timeout:g} s limit)",
    )


def run_server(settings: Settings, backend: Any, description: str) -> None:
    """Serve the app over ``backend`` until interrupted, then stop the backend."""
    import uvicorn

    from coopgraph.web.app import create_app
    from coopgraph.web.server import uvicorn_config

    try:
        err.print(f"Serving on http://{settings.host}:{settings.port}/ {description}", highlight=False)
        threading.Thread(target=keep_name_index_warm, args=(backend,), daemon=True, name="name-index").start()
        uvicorn.Server(uvicorn_config(create_app(settings, backend), settings)).run()
    finally:
        backend.close()


def keep_name_index_warm(backend: Any, every: float = 2.0, stop: threading.Event | None = None) -> None:
    """Build the name index when the server starts and again soon after each new generation.

    Otherwise the first request naming an authority after a start or a publish
    waits for it (3.8 s at 1 M triples). Between checks, ``index_for`` costs one
    version look-up.
    """
    from coopgraph import names

    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            names.index_for(backend)
        except CoopgraphError:
            pass  # no store yet, the remote store is down, or the pool is full: try again later
        stop.wait(every)


def serve_remote(settings: Settings) -> None:
    """Serve over the remote SPARQL store of ``settings`` (nothing is built here)."""

    from coopgraph.errors import UpstreamError
    from coopgraph.remote import RemoteBackend

    backend = RemoteBackend.from_settings(settings)
    try:
        backend.version()
    except UpstreamError as error:
        err.print(f"[yellow]Warning:[/yellow] {error.message} Serving anyway; requests fail with 502 until it answers.")
    run_server(
        settings,
        backend,
        f"over the SPARQL store at {settings.sparql_endpoint} "
        f"({settings.workers} queries at once, {settings.timeout:g} s limit)",
    )


@app.command("import")
@reports_errors
def import_(
    file: Annotated[Path, typer.Argument(help="A CSV file following the template in docs/import.md.")],
    store: StoreOption = None,
    sparql_endpoint: SparqlEndpointOption = None,
    sparql_update_endpoint: SparqlUpdateEndpointOption = None,
    graph_store_endpoint: GraphStoreEndpointOption = None,
) -> None:
    """Import partnerships from a CSV file: all rows or none; the report names bad rows and columns."""

    if sparql_endpoint:
        import_remote(file, sparql_endpoint, sparql_update_endpoint, graph_store_endpoint)
        return
    root = StoreRoot(settings_for(store).store)
    if root.current_path() is None:
        raise InputUnusable(f"No store at {root.root} yet; run `coopgraph build` before importing.")
    try:
        result = run_import(root, file)
    except DataInvalid as error:
        for problem in error.details.get("problems", []):
            err.print(f"- {problem}", highlight=False, soft_wrap=True)
        err.print(f"[red]Error:[/red] {error.message}", highlight=False)
        raise typer.Exit(1) from None
    out.print(f"Imported {file.name}: the store now holds {result.quads} quads.", highlight=False)


def import_remote(file: Path, sparql_endpoint: str, update_endpoint: str | None, graph_store_endpoint: str | None) -> None:
    """Import ``file`` into the remote SPARQL store: validated locally with the server's data, then loaded."""
    from coopgraph.importer import import_csv

    try:
        loaded = run_remote_load(
            sparql_endpoint,
            update_endpoint,
            graph_store_endpoint,
            build_generation=lambda root: import_csv(root, file),
        )
    except DataInvalid as error:
        for problem in error.details.get("problems", []):
            err.print(f"- {problem}", highlight=False, soft_wrap=True)
        err.print(f"[red]Error:[/red] {error.message}", highlight=False)
        raise typer.Exit(1) from None
    out.print(
        f"Imported {file.name}: {sparql_endpoint} now holds {loaded.triples_sent} triples in {loaded.graphs_sent} graphs.",
        highlight=False,
    )


def run_import(root: StoreRoot, file: Path) -> building.BuildResult:
    from coopgraph.importer import import_csv

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True) as progress:
        task = progress.add_task("Importing", total=None)
        return import_csv(root, file, progress=lambda step: progress.update(task, description=step))


def _canned_setup(store: Path | None) -> tuple[Any, Any]:
    """The canned-query registry and a backend over the store, as the server would use them."""
    from coopgraph import canned
    from coopgraph.backend import EmbeddedBackend

    settings = settings_for(store)
    return canned.load_registry(settings.queries_dir), EmbeddedBackend(StoreRoot(settings.store))


def parse_arguments(pairs: list[str]) -> dict[str, str]:
    """``name=value`` strings → a mapping; raises ``InputUnusable`` for a pair without ``=`` or given twice."""
    arguments: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise InputUnusable(f"Give parameters as name=value (e.g. authority=Lyon), not {pair!r}.")
        if name.strip() in arguments:
            raise InputUnusable(f"Parameter {name.strip()!r} is given more than once; give it once.")
        arguments[name.strip()] = value
    return arguments


@app.command("run")
@reports_errors
def run_canned(
    name: Annotated[str | None, typer.Argument(help="A canned query; leave out to list them.")] = None,
    arguments: Annotated[
        list[str] | None, typer.Argument(help="Parameters as name=value (e.g. authority=Lyon).")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="A parameter as name=value; repeatable.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    limit: Annotated[int, typer.Option(help="Rows to show (1-10000).")] = 100,
    offset: Annotated[int, typer.Option(help="Rows to skip.")] = 0,
    store: StoreOption = None,
) -> None:
    """Run a canned query from queries/ (the same as GET /api/queries/NAME), e.g. `run partners-of authority=Lyon`."""
    from coopgraph import canned

    if fmt not in QUERY_FORMATS:
        raise InputUnusable(f"Unknown format {fmt!r}; use table, json or csv.")
    registry, backend = _canned_setup(store)
    if name is None:
        table = Table("query", "parameters", "summary")
        for query in registry:
            table.add_row(query.name, ", ".join(p.name for p in query.parameters), query.summary)
        out.print(table)
        return
    query = registry.get(name)
    page = canned.run(backend, query, parse_arguments([*(param or []), *(arguments or [])]), limit=limit, offset=offset)
    if fmt == "json":
        out.print_json(json_dump(canned.page_json(page)))
    elif fmt == "csv":
        sys.stdout.write(canned.page_csv(page))
    else:
        table = Table(*page.columns)
        for row in page.rows:
            table.add_row(*(_plain(row.get(c)) for c in page.columns))
        out.print(table)
        more = f"; more with --offset {offset + limit}" if page.has_more else ""
        out.print(f"{len(page.rows)} row(s){more}", highlight=False)


@app.command()
@reports_errors
def stats(
    lang: Annotated[str, typer.Option(help="Language of the labels: en or fr.")] = "en",
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    store: StoreOption = None,
) -> None:
    """Figures of the graph: counts by source, authority type, country, partner country, decade, sector, network."""
    from coopgraph import canned

    if fmt not in QUERY_FORMATS:
        raise InputUnusable(f"Unknown format {fmt!r}; use table, json or csv.")
    registry, backend = _canned_setup(store)
    if fmt == "table":
        print_contents(canned.run(backend, registry.get("contents"), {"lang": lang}, limit=canned.MAX_LIMIT))
    page = canned.run(backend, registry.get("stats"), {"lang": lang}, limit=canned.MAX_LIMIT)
    if fmt == "json":
        out.print_json(json_dump(canned.page_json(page)))
        return
    if fmt == "csv":
        sys.stdout.write(canned.page_csv(page))
        return
    dimensions: dict[str, Table] = {}
    for row in page.rows:
        dimension = _plain(row.get("dimension"))
        if dimension not in dimensions:
            dimensions[dimension] = Table("value", "code", "count", title=f"by {dimension}", title_justify="left")
        dimensions[dimension].add_row(_plain(row.get("valueLabel")), _plain(row.get("notation")), _plain(row.get("count")))
    for table in dimensions.values():
        out.print(table)


def print_contents(page: Any) -> None:
    """The ``contents`` query as one table per source (and one for the whole graph)."""
    tables: dict[str, Table] = {}
    for row in page.rows:
        kind = _plain(row.get("whatLabel")) or _plain(row.get("what")).rsplit("#", 1)[-1]
        source = _plain(row.get("sourceTitle")) or "The whole graph"
        if source not in tables:
            tables[source] = Table("what", "count", title=source, title_justify="left")
        tables[source].add_row(kind, _plain(row.get("count")))
    for source in sorted(tables, key=lambda s: (s == "The whole graph", s)):
        out.print(tables[source])


def json_dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


if __name__ == "__main__":  # pragma: no cover
    app()
