"""``coopgraph run`` and ``coopgraph stats``: the canned queries from the command line."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from coopgraph.cli import app
from coopgraph.store import StoreRoot
from tests.canned_support import ID, build_fixture_root

runner = CliRunner()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> StoreRoot:
    return build_fixture_root(tmp_path_factory)


def invoke(root: StoreRoot, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--store", str(root.root)])
    return result.exit_code, result.stdout, result.stderr


def test_run_with_positional_and_option_parameters(root: StoreRoot) -> None:
    code, out, _ = invoke(root, "run", "partners-of", "authority=La Rochelle", "--format", "json")
    assert code == 0
    body = json.loads(out)
    assert body["query"] == "partners-of"
    assert {r["partnerLabel"] for r in body["results"]} == {"Qingdao", "Vienne", "Isère"}
    code, out, _ = invoke(root, "run", "partners-of", "-p", "authority=La Rochelle", "-p", "relation=network", "--format", "csv")
    assert code == 0
    assert {row["partnerLabel"] for row in csv.DictReader(io.StringIO(out))} == {"Vienne", "Isère"}


def test_run_prints_a_table_and_pages(root: StoreRoot) -> None:
    code, out, _ = invoke(root, "run", "cooperations", "country=FR", "--limit", "2")
    assert code == 0
    assert "2 row(s); more with --offset 2" in out


def test_run_without_a_name_lists_the_queries(root: StoreRoot) -> None:
    code, out, _ = invoke(root, "run")
    assert code == 0 and "partners-of" in out and "connection" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "partners-of", "authority=Vienne"), "names 2 resources"),
        (("run", "partners-of", "authority=Nowhere"), "No authority is named"),
        (("run", "partners-of"), "needs the parameter 'authority'"),
        (("run", "partners-of", "Brest"), "name=value"),
        (("run", "partners-of", "authority=Brest", "-p", "authority=Paris"), "more than once"),
        (("run", "partner-of", "authority=Brest"), "partners-of"),
        (("run", "cooperations", "since=later"), "not a whole number"),
        (("run", "cooperations", "--format", "xml"), "Unknown format"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_code_2(root: StoreRoot, args: tuple[str, ...], message: str) -> None:
    code, out, err = invoke(root, *args)
    assert code == 2
    assert message in " ".join(err.split())
    assert "Traceback" not in err + out


def test_stats_prints_one_table_per_dimension(root: StoreRoot) -> None:
    code, out, _ = invoke(root, "stats")
    assert code == 0
    for title in ("by source", "by authorityType", "by country", "by partnerCountry", "by decade", "by sector"):
        assert title in out
    code, out, _ = invoke(root, "stats", "--format", "json")
    rows = json.loads(out)["results"]
    decades = {r["value"]: r["count"] for r in rows if r["dimension"] == "decade"}
    assert decades == {"1990s": "2", "2000s": "1"}
    china = next(r for r in rows if r["dimension"] == "partnerCountry" and r["value"] == ID + "country/cn")
    assert china["count"] == "3"
