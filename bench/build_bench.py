"""Build figures: ``coopgraph build`` of a generated data folder vs a raw ``pyoxigraph`` ``bulk_load``.

    python bench/build_bench.py --sizes 10000 100000 [--rounds 3] [--validators sparql pyshacl]

Each contender runs in its own process (peak RSS of the process tree is polled);
contenders alternate, after one warm-up round. The coopgraph build reports the
duration of each of its steps, so validation is shown apart from the rest.
Validators are also timed alone on the same data (the SPARQL-compiled one,
which the build uses, and pySHACL, the reference).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH, Timings, mib, run_measured, save
from bench.generate import write as generate


def dataset(size: int, work: Path) -> Path:
    """The generated data of ``size`` triples (generated once, reused)."""
    folder = work / f"data-{size}"
    if not (folder / "all.nt").exists():
        generate(size, folder)
    return folder


def child_build(data: Path, store: Path) -> None:
    """In a child process: the same ``build`` the CLI runs, printing each step's duration as JSON."""
    from coopgraph.build import build
    from coopgraph.store import StoreRoot

    marks: list[tuple[float, str]] = []
    shutil.rmtree(store, ignore_errors=True)
    start = time.perf_counter()
    result = build(StoreRoot(store), data_dir=data, progress=lambda step: marks.append((time.perf_counter(), step)))
    marks.append((time.perf_counter(), "end"))
    steps: dict[str, float] = {}
    for (at, step), (until, _) in zip(marks, marks[1:], strict=False):
        name = "load" if step.startswith("Loading") else step
        steps[name] = steps.get(name, 0.0) + until - at
    print(json.dumps({"total": time.perf_counter() - start, "steps": steps, "quads": result.quads}))


def child_bulk_load(nt: Path, store: Path) -> None:
    """In a child process: the bare engine, one ``bulk_load`` of ``all.nt``."""
    import pyoxigraph as ox

    shutil.rmtree(store, ignore_errors=True)
    start = time.perf_counter()
    opened = ox.Store(str(store))
    opened.bulk_load(path=str(nt), format=ox.RdfFormat.N_TRIPLES)
    opened.flush()
    print(json.dumps({"total": time.perf_counter() - start, "quads": len(opened)}))


def child_validate(validator: str, store: Path) -> None:
    """In a child process: validate a built store with one validator, timing the validation alone."""
    import pyoxigraph as ox

    from coopgraph.store import StoreRoot

    opened = StoreRoot(store).open_current(read_only=True)
    start = time.perf_counter()
    if validator == "pyshacl":
        from coopgraph.validation import validate_quads

        report = validate_quads(opened.quads_for_pattern(None, None, None, None))
    else:
        from coopgraph.validation_sparql import validate_store

        report = validate_store(opened)
    assert isinstance(opened, ox.Store)
    print(json.dumps({"total": time.perf_counter() - start, "conforms": report.conforms, "triples": report.triples}))


def measure(command: list[str]) -> dict[str, float]:
    elapsed, peak, output = run_measured(command)
    result = json.loads(output.strip().splitlines()[-1])
    return {**result, "wall": elapsed, "peak_rss": peak}


def bench_size(size: int, work: Path, rounds: int, validators: list[str]) -> dict[str, object]:
    folder = dataset(size, work)
    me = [sys.executable, str(Path(__file__).resolve())]
    contenders = {
        "coopgraph build": me + ["child-build", str(folder / "data"), str(work / f"store-{size}")],
        "pyoxigraph bulk_load": me + ["child-bulk-load", str(folder / "all.nt"), str(work / f"raw-{size}")],
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
    for round_number in range(rounds + 1):  # round 0 warms the page cache and is dropped
        for name, command in contenders.items():
            result = measure(command)
            if round_number:
                runs[name].append(result)
    validation: dict[str, list[dict[str, float]]] = {v: [] for v in validators}
    for _ in range(rounds):
        for validator in validators:
            validation[validator].append(measure(me + ["child-validate", validator, str(work / f"store-{size}")]))
    return {"size": size, "builds": runs, "validation": validation}


def summary(results: list[dict[str, object]]) -> str:
    """Markdown tables of the build and validation figures."""
    lines = [
        "| triples | coopgraph build (s) | of which validation (s) | build without validation (s) | raw bulk_load (s) "
        "| ratio without validation | coopgraph peak RSS (MiB) | bulk_load peak RSS (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        builds = result["builds"]
        assert isinstance(builds, dict)
        ours, raw = builds["coopgraph build"], builds["pyoxigraph bulk_load"]
        wall = Timings([r["wall"] for r in ours]).median
        validating = Timings([r["steps"]["Validating against the SHACL shapes"] for r in ours]).median
        raw_wall = Timings([r["wall"] for r in raw]).median
        lines.append(
            f"| {result['size']:,} | {wall:.1f} | {validating:.1f} | {wall - validating:.1f} | {raw_wall:.1f} "
            f"| {(wall - validating) / raw_wall:.2f}× | {mib(max(r['peak_rss'] for r in ours))} "
            f"| {mib(max(r['peak_rss'] for r in raw))} |"
        )
    lines += ["", "| triples | validator | validation alone (s, median) | peak RSS (MiB) | conforms |", "|---:|---|---:|---:|---|"]
    for result in results:
        validation = result["validation"]
        assert isinstance(validation, dict)
        for validator, runs in validation.items():
            if runs:
                lines.append(
                    f"| {result['size']:,} | {validator} | {Timings([r['total'] for r in runs]).median:.1f} "
                    f"| {mib(max(r['peak_rss'] for r in runs))} | {runs[0]['conforms']} |"
                )
    steps = ["| triples | " + " | ".join(["step", "seconds (median)"]) + " |", "|---:|---|---:|"]
    for result in results:
        ours = result["builds"]["coopgraph build"]  # type: ignore[index]
        for step in ours[0]["steps"]:
            steps.append(f"| {result['size']:,} | {step} | {Timings([r['steps'][step] for r in ours]).median:.2f} |")
    return "\n".join(lines + ["", *steps])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    for name, args in {"child-build": ("data", "store"), "child-bulk-load": ("nt", "store"),
                       "child-validate": ("validator", "store")}.items():
        child = sub.add_parser(name)
        for arg in args:
            child.add_argument(arg)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--validators", nargs="*", default=["sparql", "pyshacl"])
    parser.add_argument("--work", type=Path, default=BENCH / ".work")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "build.json")
    arguments = parser.parse_args()
    if arguments.command == "child-build":
        child_build(Path(arguments.data), Path(arguments.store))
    elif arguments.command == "child-bulk-load":
        child_bulk_load(Path(arguments.nt), Path(arguments.store))
    elif arguments.command == "child-validate":
        child_validate(arguments.validator, Path(arguments.store))
    else:
        arguments.work.mkdir(parents=True, exist_ok=True)
        results = [bench_size(size, arguments.work, arguments.rounds, arguments.validators) for size in arguments.sizes]
        save({"build": results}, arguments.out)
        print(summary(results))


if __name__ == "__main__":
    main()
