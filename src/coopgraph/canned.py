"""The canned-query registry: ``queries/*.rq`` files with a header, checked at load, run with bound parameters.

Each file is one query: a YAML header in ``#+`` comment lines (summary,
description, parameters with type, description, example…; see
``queries/README.md``) and a SPARQL SELECT. A parameter ``name`` is bound to
the variable ``?_name`` as an RDF term (``store.run_query`` → ``sparql_binding``),
so a value a user typed never becomes query text. Loading parses and dry-runs
every file, so a broken file fails at start-up with its name in the message. The HTTP API (``web/api.py``) and the
CLI (``coopgraph run``) both call ``load_registry`` and ``run``.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import yaml

from coopgraph.backend import Backend, solutions
from coopgraph.errors import InputUnusable, InvalidParameter, UnknownQuery
from coopgraph.parameters import Parameter, bind_value, declare
from coopgraph.resources import resource_dir

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
HEADER_KEYS = {"summary", "description", "parameters", "tags"}
_NAME = re.compile(r"[a-z][a-z0-9-]*")
# Leading characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class CannedQuery:
    """One ``.rq`` file: its name (the file stem), header and SPARQL text."""

    name: str
    summary: str
    description: str
    parameters: tuple[Parameter, ...]
    sparql: str
    columns: tuple[str, ...]
    tags: tuple[str, ...] = ()

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def text_for(self, substitutions: Mapping[str, object]) -> str:
        """The SPARQL to run with these substitutions: a line ending in ``# if: name``
        is kept only when parameter ``name`` is bound (see queries/README.md)."""
        bound = {p.name for p in self.parameters if p.variable in substitutions}
        return conditional_text(self.sparql, bound)

    def example_arguments(self) -> dict[str, str]:
        """Arguments that make a meaningful example call: required ones and those with an example."""
        return {p.name: p.example for p in self.parameters if p.example is not None}

    def as_dict(self) -> dict[str, Any]:
        """The query as listed by ``GET /api/queries`` (URLs are added by the caller)."""
        return {
            "name": self.name,
            "summary": self.summary,
            "description": self.description,
            "tags": list(self.tags),
            "parameters": [p.as_dict() for p in self.parameters],
            "columns": list(self.columns),
            "sparql": self.sparql,
        }


@dataclass(frozen=True)
class Registry:
    """The canned queries of one folder, by name."""

    folder: Path
    queries: Mapping[str, CannedQuery]

    def get(self, name: str) -> CannedQuery:
        """The query called ``name``. Raises ``UnknownQuery`` (404) with close names suggested."""
        query = self.queries.get(name)
        if query is None:
            close = difflib.get_close_matches(name, list(self.queries), n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise UnknownQuery(
                f"There is no canned query called {name[:80]!r}.{hint} GET /api/queries lists them.",
                suggestions=close,
            )
        return query

    def __iter__(self) -> Iterator[CannedQuery]:
        return iter(self.queries.values())


def load_registry(folder: Path | None = None) -> Registry:
    """Load and check every ``*.rq`` file of ``folder`` (default: the shipped ``queries/``).

    Raises ``InputUnusable`` naming the file and the problem when one is broken.
    """
    folder = Path(folder) if folder is not None else resource_dir("queries")
    if not folder.is_dir():
        raise InputUnusable(f"The canned-query folder {folder} does not exist.")
    queries = {}
    for path in sorted(folder.glob("*.rq")):
        query = parse_query_file(path)
        queries[query.name] = query
    return Registry(folder, queries)


def parse_query_file(path: Path) -> CannedQuery:
    """Read one ``.rq`` file, check its header and SPARQL. Raises ``InputUnusable`` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputUnusable(f"Canned query {path.name}: cannot be read as UTF-8 text ({error}).") from error
    try:
        return _parse(path.stem, text)
    except ValueError as error:
        raise InputUnusable(f"Canned query {path.name}: {error}.") from None


_CONDITION = re.compile(r"#\s*if:\s*([A-Za-z][\w-]*)\s*$")


def conditional_text(sparql: str, bound: Collection[str]) -> str:
    """``sparql`` without the lines whose ``# if: name`` condition names an unbound parameter.

    An optional filter written as its own line is dropped when its parameter is
    not given, so the engine never plans a filter that can only be true: the
    COALESCE form keeps such filters in the plan, and Oxigraph sometimes orders
    them into a cross product that runs for seconds.
    """
    kept = []
    for line in sparql.splitlines():
        condition = _CONDITION.search(line)
        if condition is None or condition.group(1) in bound:
            kept.append(line)
    return "\n".join(kept) + "\n"


def _check_conditions(body: str, parameters: Sequence[Parameter]) -> None:
    names = {p.name for p in parameters}
    for line in body.splitlines():
        condition = _CONDITION.search(line)
        if condition is not None and condition.group(1) not in names:
            raise ValueError(f"a line is conditional on {condition.group(1)!r}, which is not a declared parameter")


def _parse(name: str, text: str) -> CannedQuery:
    if not _NAME.fullmatch(name):
        raise ValueError("the file name must be lowercase letters, digits and hyphens (it becomes the URL)")
    header_lines = [line[2:] for line in text.splitlines() if line.startswith("#+")]
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#+")).strip() + "\n"
    try:
        header = yaml.load("\n".join(header_lines), Loader=yaml.BaseLoader)  # noqa: S506 - BaseLoader builds only str/list/dict
    except yaml.YAMLError as error:
        raise ValueError(f"the #+ header is not valid YAML ({error})") from None
    if not isinstance(header, dict) or not header.get("summary"):
        raise ValueError("the #+ header must give at least a summary (#+ summary: …)")
    unknown = sorted(set(header) - HEADER_KEYS)
    if unknown:
        raise ValueError(f"unknown header keys {unknown}; allowed: {sorted(HEADER_KEYS)}")
    declared = header.get("parameters") or {}
    if not isinstance(declared, dict):
        raise ValueError("#+ parameters must map each parameter name to its description")
    parameters = tuple(declare(str(key), spec) for key, spec in declared.items())
    tags = header.get("tags") or []
    if not isinstance(tags, list):
        raise ValueError("#+ tags must be a list")
    _check_conditions(body, parameters)
    columns = _check_sparql(body, parameters)
    # Every line dropped must leave a query that parses: check with no parameter given.
    _check_sparql(conditional_text(body, ()), parameters)
    return CannedQuery(
        name=name,
        summary=str(header["summary"]).strip(),
        description=str(header.get("description") or "").strip(),
        parameters=parameters,
        sparql=body,
        columns=columns,
        tags=tuple(str(t) for t in tags),
    )


def _check_sparql(body: str, parameters: Sequence[Parameter]) -> tuple[str, ...]:
    """Parse and dry-run the query on an empty store; return its result columns."""
    empty = ox.Store()
    try:
        result = empty.query(_paginated(body, 1, 0))
    except SyntaxError as error:
        raise ValueError(
            f"the SPARQL does not parse once LIMIT/OFFSET are appended ({error}); "
            "a canned query must be a SELECT without its own LIMIT or OFFSET"
        ) from None
    if not isinstance(result, ox.QuerySolutions):
        raise ValueError("a canned query must be a SELECT query")
    projected = [v.value for v in result.variables]
    for parameter in parameters:
        if parameter.variable not in projected:
            raise ValueError(
                f"parameter {parameter.name!r} is bound to ?{parameter.variable}, which must be in the SELECT clause"
            )
        if re.search(rf"BOUND\s*\(\s*\?{parameter.variable}\s*\)", body, re.IGNORECASE):
            raise ValueError(
                f"BOUND(?{parameter.variable}) is always false for a substituted variable in pyoxigraph; "
                f"test an optional parameter with COALESCE (see queries/README.md)"
            )
    undeclared = [v for v in projected if v.startswith("_") and v[1:] not in {p.name for p in parameters}]
    if undeclared:
        raise ValueError(f"?{undeclared[0]} looks like a parameter (leading _) but is not declared in #+ parameters")
    return tuple(v for v in projected if not v.startswith("_"))


def _paginated(body: str, limit: int, offset: int) -> str:
    # Only Python ints reach the text; the user's values are bound as terms.
    return f"{body}\nLIMIT {int(limit)}\nOFFSET {int(offset)}\n"


@dataclass(frozen=True)
class Page:
    """One page of a canned query's results, with the parameters as bound."""

    query: CannedQuery
    parameters: dict[str, str]
    columns: tuple[str, ...]
    variables: tuple[str, ...]
    rows: list[dict[str, ox.NamedNode | ox.Literal | ox.BlankNode | None]]
    limit: int
    offset: int
    has_more: bool
    bindings: dict[str, ox.NamedNode | ox.Literal] = field(default_factory=dict)


def check_page(limit: str | int | None, offset: str | int | None) -> tuple[int, int]:
    """Validate ``limit`` (1…10 000, default 100) and ``offset`` (≥ 0). Raises ``InvalidParameter``."""

    def number(name: str, value: str | int | None, default: int, low: int, high: int | None) -> int:
        if value is None or value == "":
            return default
        text = str(value).strip()
        if not re.fullmatch(r"\d{1,12}", text) or int(text) < low or (high is not None and int(text) > high):
            upper = f" and {high}" if high is not None else ""
            raise InvalidParameter(
                f"Parameter {name!r} must be a whole number between {low}{upper or ' or more'}, "
                f"not {str(value)[:40]!r}."
            )
        return int(text)

    return number("limit", limit, DEFAULT_LIMIT, 1, MAX_LIMIT), number("offset", offset, 0, 0, None)


def bind(query: CannedQuery, arguments: Mapping[str, str], backend: Backend) -> tuple[dict[str, Any], dict[str, str]]:
    """Check ``arguments`` against the query's parameters; return (substitutions, values as shown).

    Raises ``InvalidParameter`` for unknown names, missing required values and
    ill-typed values, ``UnknownName``/``AmbiguousName`` for names that resolve
    to no or several resources.
    """
    known = {p.name for p in query.parameters}
    unknown = sorted(set(arguments) - known)
    if unknown:
        accepted = ", ".join(sorted(known | {"limit", "offset"}))
        raise InvalidParameter(
            f"Query {query.name!r} has no parameter {unknown[0][:60]!r}; it accepts {accepted}.",
            accepted=sorted(known | {"limit", "offset"}),
        )
    substitutions: dict[str, Any] = {}
    shown: dict[str, str] = {}
    for parameter in query.parameters:
        raw = arguments.get(parameter.name)
        if raw is None or raw == "":
            raw = parameter.default
        if raw is None:
            if parameter.required:
                example = f" (e.g. {parameter.name}={parameter.example})" if parameter.example else ""
                raise InvalidParameter(
                    f"Query {query.name!r} needs the parameter {parameter.name!r}{example}: {parameter.help()}."
                )
            continue
        term, value = bind_value(parameter, raw, backend)
        substitutions[parameter.variable] = term
        shown[parameter.name] = value
    return substitutions, shown


def run(
    backend: Backend,
    query: CannedQuery,
    arguments: Mapping[str, str],
    *,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    timeout: float | None = None,
) -> Page:
    """Bind ``arguments`` and run one page of ``query``; one row more is read to know if a next page exists."""
    limit, offset = check_page(limit, offset)
    substitutions, shown = bind(query, arguments, backend)
    raw = backend.query(
        _paginated(query.text_for(substitutions), limit + 1, offset), substitutions=substitutions, timeout=timeout
    )
    parsed = solutions(raw)
    variables = tuple(v.value for v in parsed.variables)
    rows = [{name: solution[name] for name in variables} for solution in parsed]
    return Page(
        query=query,
        parameters=shown,
        columns=query.columns,
        variables=variables,
        rows=rows[:limit],
        limit=limit,
        offset=offset,
        has_more=len(rows) > limit,
        bindings=substitutions,
    )


def plain(term: object) -> str | None:
    """An IRI or literal as a plain string (``None`` when unbound)."""
    return None if term is None else str(getattr(term, "value", term))


def page_json(page: Page, next_url: str | None = None, prev_url: str | None = None) -> dict[str, Any]:
    """The JSON document of SPEC §6: query, parameters, columns, results, and the page it is."""
    return {
        "query": page.query.name,
        "parameters": page.parameters,
        "columns": list(page.columns),
        "results": [{c: plain(row.get(c)) for c in page.columns} for row in page.rows],
        "page": {
            "limit": page.limit,
            "offset": page.offset,
            "count": len(page.rows),
            "hasMore": page.has_more,
            "next": next_url,
            "prev": prev_url,
        },
    }


def page_csv(page: Page) -> str:
    """The page as CSV (RFC 4180), a header row of column names; formula-like cells are neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(page.columns)
    for row in page.rows:
        writer.writerow([_safe_cell(plain(row.get(c)) or "") for c in page.columns])
    return buffer.getvalue()


def _safe_cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def page_sparql_json(page: Page) -> dict[str, Any]:
    """The page as a SPARQL 1.1 Query Results JSON document (every projected variable, typed terms)."""
    return {
        "head": {"vars": list(page.variables)},
        "results": {
            "bindings": [
                {name: _sparql_json_term(term) for name, term in row.items() if term is not None}
                for row in page.rows
            ]
        },
    }


def _sparql_json_term(term: object) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        encoded = {"type": "literal", "value": term.value}
        if term.language:
            encoded["xml:lang"] = term.language
        elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
            encoded["datatype"] = term.datatype.value
        return encoded
    raise TypeError(f"unexpected term {term!r}")  # pragma: no cover - solutions hold only these three
