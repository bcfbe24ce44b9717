"""The benchmark scripts run end to end on the smallest size (figures are never asserted)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coopgraph import canned
from coopgraph.backend import EmbeddedBackend
from coopgraph.build import build
from coopgraph.store import StoreRoot

BENCH = Path(__file__).resolve().parent.parent / "bench"
SHAPED = "cooperations-by-partner-country-and-sector"


def run(script: str, *arguments: str | Path) -> str:
    completed = subprocess.run(
        [sys.executable, str(BENCH / script), *map(str, arguments)], capture_output=True, text=True, timeout=240
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


@pytest.mark.timeout(300)
def test_build_and_query_scripts_run_on_2k_triples(tmp_path: Path) -> None:
    out = run("build_bench.py", "--sizes", "2000", "--rounds", "1", "--validators", "sparql",
              "--work", tmp_path, "--out", tmp_path / "build.json")
    assert "| 2,000 |" in out
    build_results = json.loads((tmp_path / "build.json").read_text())["build"][0]
    assert build_results["builds"]["coopgraph build"][0]["quads"] > 2000
    out = run("query_bench.py", "--sizes", "2000", "--rounds", "1", "--work", tmp_path, "--out", tmp_path / "query.json")
    calls = {r["call"] for r in json.loads((tmp_path / "query.json").read_text())["query"]}
    assert {"partners-of hub", "connection, 2 hops", "network-members"} <= calls
    assert "rdflib" in out


@pytest.mark.timeout(300)
def test_http_script_runs_against_coopgraph_and_stops_its_server(tmp_path: Path) -> None:
    assert shutil.which("wrk"), "wrk drives the HTTP benchmark: apt-get install wrk (.ci/run does)"
    run("http_bench.py", "--sizes", "2000", "--seconds", "1", "--concurrency", "1", "--contenders", "coopgraph",
        "--work", tmp_path, "--out", tmp_path / "http.json")
    result = json.loads((tmp_path / "http.json").read_text())["http"][0]
    assert {c["contender"] for c in result["cells"]} == {"coopgraph canned", "coopgraph /sparql"}
    assert all(c["errors"] == 0 and c["requests"] > 0 for c in result["cells"])
    assert result["memory"]["coopgraph"]["idle_rss"] > 0



@pytest.mark.timeout(300)
def test_overload_script_drives_both_servers_and_checks_every_body(tmp_path: Path) -> None:
    out = run("overload.py", "--size", "2000", "--clients", "4", "--seconds", "1", "--alone", "0.5",
              "--work", tmp_path, "--out", tmp_path / "overload.json")
    runs = json.loads((tmp_path / "overload.json").read_text())["runs"]
    assert {r["server"] for r in runs} == {"oxigraph serve-read-only", "coopgraph serve"}
    assert all(r["answered_200"] > 0 and r["incomplete_200_bodies"] == 0 for r in runs), runs
    assert "| coopgraph serve |" in out

def test_shaped_cooperations_query_gives_the_rows_of_the_canned_one(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH.parent))
    from bench.generate import write

    write(3000, tmp_path / "data")
    for data in (None, tmp_path / "data" / "data"):
        root = StoreRoot(tmp_path / f"store-{data is None}")
        build(root, data_dir=data)
        backend = EmbeddedBackend(root)
        plain, shaped = canned.load_registry().get("cooperations"), canned.load_registry(BENCH / "queries").get(SHAPED)
        compared = 0
        for country, sector in [("CN", "education"), ("FR", "culture-francophonie"), ("DE", "environment"),
                                ("CN", "local-economic-development")]:
            arguments = {"partnerCountry": country, "sector": sector}
            expected = canned.run(backend, plain, arguments, limit=10_000).rows
            got = canned.run(backend, shaped, arguments, limit=10_000).rows
            def rows(page_rows: list[dict[str, object]]) -> list[tuple[str, ...]]:
                # The same rows; rows that tie on the ORDER BY keys may come in either order.
                return sorted(tuple(str(v) for k, v in sorted(row.items()) if not k.startswith("_")) for row in page_rows)

            assert rows(got) == rows(expected)
            compared += len(got)
        assert compared > 0
