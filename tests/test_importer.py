"""`coopgraph import FILE.csv`: all rows or none, problems named by row and column, idempotent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coopgraph.build import build
from coopgraph.cli import app
from coopgraph.store import StoreRoot

runner = CliRunner()
HEADER = (
    "authority,authority_type,authority_country,partner,partner_type,partner_country,kind,"
    "start_year,sectors,source,source_publisher,source_date,source_language"
)
GOOD_ROW = (
    "Testville,municipality,FR,Exampleburg,municipality,DE,twinning,1992,education;sport,"
    "Testville annual report,Ville de Testville,2021,fr"
)
ASK_TESTVILLE = (
    "ASK { <https://w3id.org/coopgraph/id/authority/testville> "
    "<https://w3id.org/coopgraph/ontology#cooperatesWith> "
    "<https://w3id.org/coopgraph/id/authority/exampleburg> }"
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> StoreRoot:
    root = StoreRoot(tmp_path_factory.mktemp("import-base") / "store")
    build(root)
    return root


@pytest.fixture
def root(pristine: StoreRoot, tmp_path: Path) -> StoreRoot:
    copy = tmp_path / "store"
    shutil.copytree(pristine.root, copy, symlinks=True)
    return StoreRoot(copy)


def write(tmp_path: Path, *rows: str, name: str = "partners.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode(encoding))
    return path


def run(root: StoreRoot, path: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["import", "--store", str(root.root), str(path)])
    return result.exit_code, result.output


def export(root: StoreRoot) -> bytes:
    return runner.invoke(app, ["export", "--store", str(root.root), "--format", "nq"]).stdout_bytes


def ask(root: StoreRoot, query: str) -> bool:
    return bool(root.open_current().query(query, use_default_graph_as_union=True))


def test_a_good_file_is_loaded_and_cooperation_is_derived(root: StoreRoot, tmp_path: Path) -> None:
    code, output = run(root, write(tmp_path, GOOD_ROW))
    assert code == 0, output
    assert ask(root, ASK_TESTVILLE)


def test_importing_the_same_file_twice_adds_nothing(root: StoreRoot, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_ROW)
    assert run(root, path)[0] == 0
    size = len(root.open_current())
    assert run(root, path)[0] == 0
    assert len(root.open_current()) == size


def test_the_import_survives_a_rebuild(root: StoreRoot, tmp_path: Path) -> None:
    assert run(root, write(tmp_path, GOOD_ROW))[0] == 0
    build(root)
    assert ask(root, ASK_TESTVILLE)


def test_one_bad_row_loads_nothing_and_names_rows_and_columns(root: StoreRoot, tmp_path: Path) -> None:
    before = export(root)
    bad_country = GOOD_ROW.replace(",DE,", ",XY,").replace("Exampleburg", "Otherburg")
    bad_year = GOOD_ROW.replace("1992", "1492").replace("Exampleburg", "Thirdburg")
    formula = GOOD_ROW.replace("Exampleburg", "=HYPERLINK(1)")
    code, output = run(root, write(tmp_path, GOOD_ROW, bad_country, bad_year, formula))
    assert code == 1
    assert "row 3, column partner_country" in output
    assert "row 4, column start_year" in output
    assert "row 5, column partner" in output and "formula" in output
    assert export(root) == before


def test_a_conflict_with_the_existing_graph_is_rejected_as_a_whole(root: StoreRoot, tmp_path: Path) -> None:
    before = export(root)
    # Shandong is a Chinese province in the shipped data: a second type and country conflict with it.
    conflicting = "Testville,municipality,FR,Shandong,municipality,DE,twinning,1990,,A report,Someone,2020,en"
    code, output = run(root, write(tmp_path, GOOD_ROW, conflicting))
    assert code == 1
    assert "row 3" in output and "shandong" in output
    assert export(root) == before


def test_broken_quoting_is_a_clear_error(root: StoreRoot, tmp_path: Path) -> None:
    before = export(root)
    code, output = run(root, write(tmp_path, GOOD_ROW.replace("Testville annual report", '"unclosed'), 'x,"y'))
    assert code == 2
    assert "malformed" in output or "more cells" in output
    assert "Traceback" not in output
    assert export(root) == before


def test_a_wrong_encoding_is_a_clear_error(root: StoreRoot, tmp_path: Path) -> None:
    code, output = run(root, write(tmp_path, GOOD_ROW.replace("Testville", "Besançon"), encoding="latin-1"))
    assert code == 2
    assert "UTF-8" in output


def test_a_wrong_header_names_the_columns(root: StoreRoot, tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("name,country\nLyon,FR\n", encoding="utf-8")
    code, output = run(root, path)
    assert code == 2
    assert "missing column(s)" in output and "authority_type" in output


def test_the_shipped_example_imports(root: StoreRoot) -> None:
    example = Path(__file__).parent.parent / "examples" / "partnerships.csv"
    code, output = run(root, example)
    assert code == 0, output


def test_millions_of_rows_are_refused_at_once_and_change_nothing(root: StoreRoot, tmp_path: Path) -> None:
    before = export(root)
    # A million and a half empty rows (19.5 MB): under the size limit, far over the row limit.
    path = tmp_path / "many.csv"
    path.write_bytes((HEADER + "\n").encode() + b",,,,,,,,,,,,\n" * 1_500_000)
    code, output = run(root, path)
    assert code == 2, output  # unusable as a whole
    assert "more than 50000 rows; split it" in output
    assert "Traceback" not in output
    assert export(root) == before


def test_a_file_over_the_size_limit_is_refused_before_parsing(root: StoreRoot, tmp_path: Path) -> None:
    before = export(root)
    path = tmp_path / "huge.csv"
    with path.open("wb") as out:
        out.write((HEADER + "\n").encode())
        out.write((GOOD_ROW + "\n").encode() * (21 * 1024 * 1024 // len(GOOD_ROW)))
    code, output = run(root, path)
    assert code == 2, output  # unusable as a whole
    assert "larger than 20 MiB; split it" in output
    assert export(root) == before
