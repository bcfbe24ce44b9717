"""In-process query figures: coopgraph's canned path vs the same SPARQL on pyoxigraph vs rdflib.

    python bench/query_bench.py --sizes 10000 100000 [--rounds 20] [--rdflib-max 100000]

Per size: a coopgraph store is built (``bench/build_bench.py`` does it, or this
script), its union is dumped to ``dataset.nt`` for rdflib, and each workload
call (``bench/workload.py``) is run by the three contenders in turn after a
warm-up: ``coopgraph.canned.run`` (bind, query, JSON, parse back), and the
same SPARQL text with the values written in, straight on ``pyoxigraph.Store.query``
and on an ``rdflib.Graph`` of the same triples.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyoxigraph as ox

from bench.common import BENCH, Timings, alternate, ms, save
from bench.workload import Call, calls
from coopgraph import canned
from coopgraph.backend import EmbeddedBackend
from coopgraph.store import StoreRoot


def built_store(size: int, work: Path) -> StoreRoot:
    """The coopgraph store of ``size`` generated triples (built once with the real build)."""
    from bench.build_bench import dataset
    from coopgraph.build import build

    root = StoreRoot(work / f"store-{size}")
    if root.current_path() is None:
        build(root, data_dir=dataset(size, work) / "data")
    return root


def union_triples(root: StoreRoot, target: Path) -> Path:
    """The store's union as N-Triples (what a plain engine is given), written once per generation."""
    current = root.current_path()
    assert current is not None
    stamp = target.with_suffix(".generation")
    if not target.exists() or not stamp.exists() or stamp.read_text() != current.name:
        store = root.open_current()
        triples = store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", use_default_graph_as_union=True)
        with open(target, "wb") as out:
            ox.serialize(triples, out, ox.RdfFormat.N_TRIPLES)  # type: ignore[arg-type]
        stamp.write_text(current.name)
    return target


# rdflib evaluates the 4-step connection query by nested loops: minutes above 10 k triples.
RDFLIB_MAX_SIZE = {"connection, 2 hops": 10_000}


def contenders(call: Call, backend: EmbeddedBackend, rdflib_graph: object | None) -> dict[str, object]:
    store = backend.store()
    # The same text coopgraph evaluates: values written in as terms (pyoxigraph's own
    # `substitutions` keep the variables in the plan, up to 9× slower; see queries/README.md).
    bound = call.inlined()

    def coopgraph_canned() -> int:
        return len(canned.run(backend, call.query, call.arguments, limit=100).rows)

    def bare_pyoxigraph() -> int:
        return sum(1 for _ in store.query(bound, use_default_graph_as_union=True))  # type: ignore[union-attr]

    runs: dict[str, object] = {"coopgraph canned": coopgraph_canned, "pyoxigraph": bare_pyoxigraph}
    if rdflib_graph is not None:

        def rdflib_query() -> int:
            return sum(1 for _ in rdflib_graph.query(bound))  # type: ignore[attr-defined]

        runs["rdflib"] = rdflib_query
    return runs


def bench_size(size: int, work: Path, rounds: int, rdflib_max: int, rdflib_budget: float) -> list[dict[str, object]]:
    root = built_store(size, work)
    backend = EmbeddedBackend(root)
    graph = None
    if size <= rdflib_max:
        import rdflib

        started = time.perf_counter()
        graph = rdflib.Graph()
        graph.parse(str(union_triples(root, work / f"dataset-{size}.nt")), format="nt")
        print(f"rdflib parsed {len(graph)} triples in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    results = []
    for call in calls(backend.store(), backend):
        runs = contenders(call, backend, graph if size <= RDFLIB_MAX_SIZE.get(call.label, size) else None)
        counts = {name: run() for name, run in runs.items()}  # type: ignore[operator]
        expected = min(counts["pyoxigraph"], 100)  # type: ignore[type-var]
        if counts["coopgraph canned"] != expected:
            raise AssertionError(f"{call.label}: coopgraph gave {counts['coopgraph canned']} rows, pyoxigraph {expected}")
        slow = {}
        if "rdflib" in runs:
            # rdflib is measured with fewer rounds when one call takes longer than the budget.
            started = time.perf_counter()
            runs["rdflib"]()  # type: ignore[operator]
            if time.perf_counter() - started > rdflib_budget:
                slow["rdflib"] = runs.pop("rdflib")
        timings = alternate(runs, rounds)  # type: ignore[arg-type]
        for name, run in slow.items():
            timings[name] = alternate({name: run}, 2, warmup=0)[name]  # type: ignore[dict-item]
        results.append({
            "size": size, "call": call.label, "rows": counts,
            "timings": {name: t.samples for name, t in timings.items()},
        })
        print(f"{size:>9} {call.label:40s} " + " ".join(
            f"{name}={ms(t.median)}ms" for name, t in timings.items()), file=sys.stderr)
    return results


def summary(results: list[dict[str, object]]) -> str:
    lines = [
        "| triples | call | rows | coopgraph canned p50 / p99 (ms) | pyoxigraph p50 / p99 (ms) | rdflib p50 (ms) "
        "| coopgraph ÷ pyoxigraph | rdflib ÷ coopgraph |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        t = {name: Timings(samples) for name, samples in result["timings"].items()}  # type: ignore[attr-defined]
        ours, bare = t["coopgraph canned"], t["pyoxigraph"]
        rdf = t.get("rdflib")
        lines.append(
            f"| {result['size']:,} | {result['call']} | {result['rows']['pyoxigraph']} "  # type: ignore[index]
            f"| {ms(ours.median)} / {ms(ours.p99)} | {ms(bare.median)} / {ms(bare.p99)} "
            f"| {ms(rdf.median) if rdf else '–'} | {ours.median / bare.median:.2f}× "
            f"| {f'{rdf.median / ours.median:.0f}×' if rdf else '–'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--rdflib-max", type=int, default=100_000, help="Largest size rdflib is run on.")
    parser.add_argument("--rdflib-budget", type=float, default=5.0, help="Seconds per call above which rdflib runs twice only.")
    parser.add_argument("--work", type=Path, default=BENCH / ".work")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "query.json")
    arguments = parser.parse_args()
    arguments.work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("COOPGRAPH_STORE", str(arguments.work / "unused-store"))
    results = [r for size in arguments.sizes
               for r in bench_size(size, arguments.work, arguments.rounds, arguments.rdflib_max, arguments.rdflib_budget)]
    save({"query": results}, arguments.out)
    print(summary(results))


if __name__ == "__main__":
    main()
