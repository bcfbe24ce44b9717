"""``coopgraph import FILE.csv``: one row per partnership → Turtle → the same validated build as ``data/``.

The whole file is checked before anything is written; a file with any bad row
loads nothing and the report names each bad row and column. The converted
graph is kept in the store root (``imports/{name}.ttl``) so that later builds
keep it; importing a file of the same name again replaces that graph, so
importing the same file twice adds nothing the second time.
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyoxigraph as ox

from coopgraph.build import IMPORTS_FOLDER, BuildResult, GraphSource, build
from coopgraph.errors import DataInvalid, InputUnusable
from coopgraph.reference import countries
from coopgraph.resources import resource_dir
from coopgraph.store import ID_BASE, ONTOLOGY_NS, StoreRoot

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
REQUIRED = (
    "authority", "authority_type", "authority_country",
    "partner", "partner_type", "partner_country",
    "kind", "source", "source_publisher", "source_date", "source_language",
)
OPTIONAL = ("start_year", "sectors")
COLUMNS = REQUIRED + OPTIONAL
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Problem:
    """One bad cell (or row, when ``column`` is None)."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        return f"The CSV file has {len(self.problems)} problem(s); nothing was imported."


def slugify(name: str) -> str:
    """Lowercase ASCII slug of a name (CONVENTIONS.md)."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _notations(scheme: str) -> set[str]:
    """The skos:notation values of one shipped scheme (authority-type, partnership-kind, sector)."""
    store = ox.Store()
    for path in resource_dir("ontology").glob("*.ttl"):
        store.load(path=str(path), format=ox.RdfFormat.TURTLE)
    prefix = f"{ID_BASE}{scheme}/"
    return {
        q.subject.value.removeprefix(prefix)
        for q in store.quads_for_pattern(None, ox.NamedNode("http://www.w3.org/2004/02/skos/core#notation"), None)
        if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(prefix)
    }


def read_rows(data: bytes) -> tuple[list[dict[str, str]], ImportReport]:
    """Decode and parse the CSV; structural problems go into the report."""
    report = ImportReport()
    if len(data) > MAX_BYTES:
        raise InputUnusable(f"The CSV file is larger than {MAX_BYTES // (1024 * 1024)} MiB; split it.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputUnusable(
            f"The CSV file is not UTF-8 (byte {error.start} cannot be decoded); save it as UTF-8."
        ) from error
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        raise InputUnusable(f"The CSV header is wrong: {'; '.join(parts)} (see docs/import.md).")
    rows: list[dict[str, str]] = []
    try:
        for row in reader:
            if len(rows) >= MAX_ROWS:
                raise InputUnusable(f"The CSV file has more than {MAX_ROWS} rows; split it.")
            if None in row:
                report.problems.append(Problem(reader.line_num, None, "the row has more cells than the header."))
            rows.append({k: (v or "").strip() for k, v in row.items() if k is not None})
    except csv.Error as error:
        raise InputUnusable(f"The CSV file is malformed at line {reader.line_num}: {error}.") from error
    if not rows:
        raise InputUnusable("The CSV file has a header but no rows.")
    return rows, report


def check_rows(rows: list[dict[str, str]], report: ImportReport) -> None:
    """Check every cell; add a Problem per bad cell."""
    types = _notations("authority-type")
    kinds = _notations("partnership-kind")
    sectors = _notations("sector")
    known_countries = set(countries())
    this_year = date.today().year
    for number, row in enumerate(rows, start=2):
        def bad(column: str, message: str, number: int = number) -> None:
            report.problems.append(Problem(number, column, message))

        for column in COLUMNS:
            if row.get(column, "").startswith(FORMULA_START):
                bad(column, f"{row[column]!r} looks like a spreadsheet formula; remove the leading character.")
        for column in REQUIRED:
            if not row.get(column):
                bad(column, "is empty; it is required.")
        for side in ("authority", "partner"):
            if row.get(f"{side}_type") and row[f"{side}_type"] not in types:
                bad(f"{side}_type", f"{row[f'{side}_type']!r} is not an authority type; use one of {', '.join(sorted(types))}.")
            if row.get(f"{side}_country") and row[f"{side}_country"].upper() not in known_countries:
                bad(f"{side}_country", f"{row[f'{side}_country']!r} is not an ISO 3166-1 alpha-2 country code.")
        if row.get("kind") and row["kind"] not in kinds:
            bad("kind", f"{row['kind']!r} is not a partnership kind; use one of {', '.join(sorted(kinds))}.")
        if row.get("start_year"):
            if not re.fullmatch(r"\d{4}", row["start_year"]) or not 1900 <= int(row["start_year"]) <= this_year:
                bad("start_year", f"{row['start_year']!r} is not a year from 1900 to {this_year}.")
        for sector in filter(None, (s.strip() for s in row.get("sectors", "").split(";"))):
            if sector not in sectors:
                bad("sectors", f"{sector!r} is not a sector; use notations from the sector scheme separated by ';'.")
        if row.get("source_date") and not re.fullmatch(r"\d{4}(-\d{2}-\d{2})?", row["source_date"]):
            bad("source_date", f"{row['source_date']!r} is not a year (YYYY) or a date (YYYY-MM-DD).")
        if row.get("source_language") and not re.fullmatch(r"[a-z]{2}", row["source_language"]):
            bad("source_language", f"{row['source_language']!r} is not a two-letter language code such as fr or en.")
        if row.get("authority") and slugify(row["authority"]) == slugify(row.get("partner", "")):
            bad("partner", "is the same authority as the authority column.")
        if row.get("authority") and not slugify(row["authority"]):
            bad("authority", "has no letters or digits to name it by.")
        if row.get("partner") and not slugify(row["partner"]):
            bad("partner", "has no letters or digits to name it by.")


def authority_slug(name: str, authority_type: str) -> str:
    slug = slugify(name)
    return f"{slug}-departement" if authority_type == "departement" else slug


def to_turtle(rows: list[dict[str, str]]) -> tuple[str, dict[str, int]]:
    """Turtle for the rows, and the first row number of each node (to report SHACL violations)."""
    lines = [
        f"@prefix coop: <{ONTOLOGY_NS}> .",
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .",
        "@prefix prov: <http://www.w3.org/ns/prov#> .",
        "@prefix dct: <http://purl.org/dc/terms/> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
        "",
    ]
    first_row: dict[str, int] = {}
    for number, row in enumerate(rows, start=2):
        language = row["source_language"]
        source = f"{ID_BASE}source/import-{slugify(row['source'])[:80]}"
        date_literal = (
            f'"{row["source_date"]}"^^xsd:gYear' if len(row["source_date"]) == 4 else f'"{row["source_date"]}"^^xsd:date'
        )
        lines.append(
            f"<{source}> a coop:SourceDocument ; dct:title {_lit(row['source'])} ; rdfs:label {_lit(row['source'])} ; "
            f"dct:publisher {_lit(row['source_publisher'])} ; dct:language {_lit(language)} ; dct:date {date_literal} ."
        )
        first_row.setdefault(source, number)
        iris = []
        for side in ("authority", "partner"):
            iri = f"{ID_BASE}authority/{authority_slug(row[side], row[f'{side}_type'])}"
            iris.append(iri)
            first_row.setdefault(iri, number)
            lines.append(
                f"<{iri}> a coop:Authority ; rdfs:label {_lit(row[side], language)} ; "
                f"coop:authorityType <{ID_BASE}authority-type/{row[f'{side}_type']}> ; "
                f"coop:country <{ID_BASE}country/{row[f'{side}_country'].lower()}> ; prov:wasDerivedFrom <{source}> ."
            )
        slug_a, slug_b = (i.rsplit("/", 1)[1] for i in iris)
        partnership = f"{ID_BASE}partnership/{slug_a}--{slug_b}"
        first_row.setdefault(partnership, number)
        statements = [
            f"<{partnership}> a coop:Partnership",
            f"rdfs:label {_lit(row['authority'] + ' – ' + row['partner'], language)}",
            f"coop:partner <{iris[0]}> , <{iris[1]}>",
            f"coop:partnershipKind <{ID_BASE}partnership-kind/{row['kind']}>",
            f"prov:wasDerivedFrom <{source}>",
        ]
        if row.get("start_year"):
            statements.append(f"coop:startYear {int(row['start_year'])}")
        for sector in filter(None, (s.strip() for s in row.get("sectors", "").split(";"))):
            statements.append(f"coop:sector <{ID_BASE}sector/{sector}>")
        lines.append(" ;\n    ".join(statements) + " .")
    return "\n".join(lines) + "\n", first_row


def _lit(text: str, language: str | None = None) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"@{language}' if language else f'"{escaped}"'


def import_csv(root: StoreRoot, path: Path, **build_options: object) -> BuildResult:
    """Convert, validate and load ``path``; all or nothing.

    Raises ``InputUnusable`` (unreadable file or header) or ``DataInvalid`` with
    ``details["problems"]`` (a list of ``Problem``) naming rows and columns.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputUnusable(f"{path}: cannot be read ({error.strerror}).") from error
    rows, report = read_rows(data)
    check_rows(rows, report)
    if report.problems:
        raise DataInvalid(report.summary(), problems=report.problems)
    turtle, first_row = to_turtle(rows)
    name = slugify(path.stem) or "import"
    imports = root.root / IMPORTS_FOLDER
    imports.mkdir(parents=True, exist_ok=True)
    pending = imports / f".{name}.ttl.pending"
    pending.write_text(turtle, encoding="utf-8")
    succeeded = False
    try:
        result = build(root, extra=[GraphSource(f"import/{name}", (pending,))], **build_options)  # type: ignore[arg-type]
        succeeded = True
    except DataInvalid as error:
        validation = error.details.get("report")
        problems = [
            Problem(first_row.get(v.focus, 0), None, f"{v.focus}: {v.message}")
            for v in getattr(validation, "violations", [])
        ]
        raise DataInvalid(report.summary(), problems=problems or [Problem(0, None, error.message)]) from error
    finally:
        if not succeeded:
            pending.unlink(missing_ok=True)
    # The store now holds the import; keep its Turtle so that later builds keep it too.
    os.replace(pending, imports / f"{name}.ttl")
    return result
