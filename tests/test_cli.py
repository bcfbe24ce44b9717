"""The foundation as a user meets it: build, query, export, validate from the command line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

from coopgraph.cli import app
from coopgraph.export import EXPORT_FORMATS
from coopgraph.resources import resource_dir
from coopgraph.store import StoreRoot

runner = CliRunner()
COUNT_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/coopgraph/ontology#Authority> }"


def coopgraph(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed console script, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "coopgraph.cli", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("cli") / "store"
    result = coopgraph("build", "--store", str(store))
    assert result.returncode == 0, result.stderr
    assert "Built" in result.stdout
    return store


def test_build_then_query_as_table(built: Path) -> None:
    result = coopgraph("query", "--store", str(built), COUNT_QUERY)
    assert result.returncode == 0, result.stderr
    assert "1 row(s)" in result.stdout


def test_query_as_json_is_sparql_results(built: Path) -> None:
    result = runner.invoke(app, ["query", "--store", str(built), "--format", "json", COUNT_QUERY])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["head"]["vars"] == ["n"]
    assert int(body["results"]["bindings"][0]["n"]["value"]) > 10


def test_query_as_csv(built: Path) -> None:
    result = runner.invoke(app, ["query", "--store", str(built), "--format", "csv", COUNT_QUERY])
    assert result.exit_code == 0, result.output
    header, value = result.stdout.strip().splitlines()
    assert header == "n" and int(value) > 10


def test_query_from_file_and_construct(built: Path, tmp_path: Path) -> None:
    query = tmp_path / "q.rq"
    query.write_text("CONSTRUCT { ?s a ?c } WHERE { ?s a ?c } LIMIT 3", encoding="utf-8")
    result = runner.invoke(app, ["query", "--store", str(built), "--file", str(query)])
    assert result.exit_code == 0, result.output
    assert len(list(ox.parse(result.stdout.encode(), format=ox.RdfFormat.TURTLE))) == 3


def test_malformed_query_is_one_sentence_and_exit_2(built: Path) -> None:
    result = coopgraph("query", "--store", str(built), "SELECT WHERE {")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "malformed" in result.stderr


def test_query_without_a_store_says_to_build(tmp_path: Path) -> None:
    result = coopgraph("query", "--store", str(tmp_path / "none"), COUNT_QUERY)
    assert result.returncode == 2
    assert "coopgraph build" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("name", sorted(EXPORT_FORMATS))
def test_export_parses_back_to_the_same_size(built: Path, tmp_path: Path, name: str) -> None:
    target = tmp_path / f"dump.{name}"
    result = runner.invoke(app, ["export", "--store", str(built), "--format", name, "-o", str(target)])
    assert result.exit_code == 0, result.output
    fmt = EXPORT_FORMATS[name]
    parsed = list(ox.parse(path=str(target), format=fmt))
    store = StoreRoot(built).open_current()
    if fmt.supports_datasets:
        assert len(parsed) == len(store)
    else:
        union = store.query(
            "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }",
            use_default_graph_as_union=True,
        )
        assert len(parsed) == int(next(iter(union))["n"].value)


def test_export_rejects_an_unknown_format(built: Path) -> None:
    result = coopgraph("export", "--store", str(built), "--format", "xlsx")
    assert result.returncode == 2 and "Unknown export format" in result.stderr


def copy_of_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(resource_dir("data"), data)
    return data


def test_a_violation_fails_the_build_and_keeps_the_previous_store(built: Path, tmp_path: Path) -> None:
    before = runner.invoke(app, ["export", "--store", str(built), "--format", "nq"]).stdout_bytes
    data = copy_of_data(tmp_path)
    (data / "resacoop-meae-2025-laureates" / "broken.ttl").write_text(
        "@prefix coop: <https://w3id.org/coopgraph/ontology#> .\n"
        "<https://w3id.org/coopgraph/id/partnership/lonely> a coop:Partnership ;\n"
        "  coop:partner <https://w3id.org/coopgraph/id/authority/shandong> .\n",
        encoding="utf-8",
    )
    result = coopgraph("build", "--store", str(built), "--data", str(data))
    assert result.returncode == 1
    assert "https://w3id.org/coopgraph/id/partnership/lonely" in result.stderr
    assert "at least two coop:partner" in result.stderr
    after = runner.invoke(app, ["export", "--store", str(built), "--format", "nq"]).stdout_bytes
    assert after == before


def test_unparsable_turtle_is_exit_2_naming_the_file(built: Path, tmp_path: Path) -> None:
    data = copy_of_data(tmp_path)
    (data / "resacoop-meae-2025-laureates" / "typo.ttl").write_text("this is not turtle", encoding="utf-8")
    result = coopgraph("build", "--store", str(built), "--data", str(data))
    assert result.returncode == 2
    assert "typo.ttl" in result.stderr and "Traceback" not in result.stderr


def test_a_build_killed_half_way_leaves_the_previous_store_usable(built: Path) -> None:
    root = StoreRoot(built)
    version = root.version()
    before = runner.invoke(app, ["query", "--store", str(built), "--format", "csv", COUNT_QUERY]).stdout
    process = subprocess.Popen(
        [sys.executable, "-m", "coopgraph.cli", "build", "--store", str(built)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not list(built.glob("staging-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # let it write into the staging generation
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert root.version() == version
    after = runner.invoke(app, ["query", "--store", str(built), "--format", "csv", COUNT_QUERY]).stdout
    assert after == before
    # The next build cleans up what the killed one left and succeeds.
    assert coopgraph("build", "--store", str(built)).returncode == 0
    assert not list(built.glob("staging-*"))
    assert root.version() != version


def test_validate_reports_violations_with_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text(
        "@prefix coop: <https://w3id.org/coopgraph/ontology#> .\n"
        "<https://w3id.org/coopgraph/id/authority/nowhere> a coop:Authority .\n",
        encoding="utf-8",
    )
    result = coopgraph("validate", str(bad))
    assert result.returncode == 1
    assert "exactly one coop:country" in result.stderr


def test_validate_the_shipped_data_conforms() -> None:
    result = coopgraph("validate")
    assert result.returncode == 0, result.stderr
    assert "conforms" in result.stdout


def test_environment_sets_the_store(built: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "coopgraph.cli", "query", COUNT_QUERY],
        capture_output=True, text=True, env={**os.environ, "COOPGRAPH_STORE": str(built)}, timeout=120,
    )
    assert result.returncode == 0, result.stderr
