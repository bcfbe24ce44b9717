"""SHACL validation compiled to SPARQL and evaluated by Oxigraph on the store itself.

pySHACL (``coopgraph.validation``) needs an rdflib copy of the whole graph: at
a million triples that copy alone takes most of a minute and over a gigabyte.
This module reads the shapes once, turns every constraint into a SPARQL query
and runs the queries on the (staging) store, producing the same
``ValidationReport``: focus node, path, message and value of each violation.
pySHACL stays the reference implementation; ``tests/test_validation_sparql.py``
checks that both agree on every shape example and on the shipped data.

Only the SHACL-core subset our shapes use is compiled (see ``SUPPORTED``).
Anything else in the shapes graph, including a construct that is supported in
one position but not in another, raises ``ShapesUnsupported`` when the shapes
are compiled, so a new shape can never be validated silently wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from coopgraph.errors import CoopgraphError
from coopgraph.resources import resource_dir
from coopgraph.validation import ValidationReport, Violation

SH = "http://www.w3.org/ns/shacl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_SUBCLASS_OF = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
XSD = "http://www.w3.org/2001/XMLSchema#"

# Constraints checked on each value node (or on the focus node itself at node level).
VALUE_KEYS = ("class", "datatype", "node", "or", "in", "pattern", "minInclusive", "languageIn")
# Everything the compiler understands, by the kind of node it may appear on.
SUPPORTED = {
    "shape": {"targetClass", "property", "sparql", "message", "path", "minCount", "maxCount", "hasValue",
              "qualifiedValueShape", "qualifiedMinCount", "qualifiedMaxCount", "flags", *VALUE_KEYS},
    "sparql": {"message", "prefixes", "select"},
    "declare": {"declare", "prefix", "namespace"},
    "types": {"NodeShape", "PropertyShape", "SPARQLConstraint"},
}
# Lexical forms checked for ``sh:datatype`` (an ill-formed literal does not have the datatype).
LEXICAL_FORMS = {
    XSD + "integer": r"^[+-]?[0-9]+$",
    XSD + "decimal": r"^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)$",
    XSD + "date": r"^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?$",
    XSD + "boolean": r"^(true|false|1|0)$",
    XSD + "string": None,
    XSD + "anyURI": None,
    RDF + "langString": None,
}
# Clauses whose meaning changes when $this is pre-bound rather than joined (SHACL 5.3.1).
_PREBINDING_UNSAFE = re.compile(
    r"\b(MINUS|SERVICE|VALUES|GROUP\s+BY|ORDER\s+BY|HAVING|LIMIT|OFFSET)\b|\$(PATH|shapesGraph|currentShape)\b",
    re.IGNORECASE,
)


class ShapesUnsupported(CoopgraphError):
    """The shapes use a SHACL feature the SPARQL compiler does not implement."""

    status = 500
    exit_code = 2


Term = ox.NamedNode | ox.BlankNode | ox.Literal


@dataclass(frozen=True)
class Check:
    """One SPARQL query whose rows are violations of one shape.

    Rows bind ``?this``; ``?value`` when the result has a value; for a value
    query, ``?ok_<component>`` (false for each failed component); for a count
    query, ``?count``. ``components`` names what each row can violate.
    """

    kind: str  # "value", "count", "missing", "sparql"
    sparql: str
    message: str
    path: str | None
    components: tuple[str, ...] = ()
    bounds: tuple[int | None, int | None] = (None, None)


class _ShapesGraph:
    """The shapes as a dictionary: subject → predicate → objects, with list and shape helpers."""

    def __init__(self, triples: Iterable[ox.Triple | ox.Quad]) -> None:
        self.facts: dict[Term, dict[str, list[Term]]] = {}
        for t in triples:
            self.facts.setdefault(t.subject, {}).setdefault(t.predicate.value, []).append(t.object)  # type: ignore[arg-type]

    def values(self, node: Term, key: str) -> list[Term]:
        return self.facts.get(node, {}).get(SH + key, [])

    def one(self, node: Term, key: str) -> Term | None:
        found = self.values(node, key)
        if len(found) > 1:
            raise ShapesUnsupported(f"{_name(node)} has {len(found)} values of sh:{key}; one is supported.")
        return found[0] if found else None

    def integer(self, node: Term, key: str) -> int | None:
        value = self.one(node, key)
        if value is None:
            return None
        if not isinstance(value, ox.Literal) or not re.fullmatch(r"[0-9]+", value.value):
            raise ShapesUnsupported(f"{_name(node)}: sh:{key} must be a non-negative integer.")
        return int(value.value)

    def items(self, head: Term) -> list[Term]:
        out: list[Term] = []
        while head != ox.NamedNode(RDF + "nil"):
            first = self.facts.get(head, {}).get(RDF + "first")
            rest = self.facts.get(head, {}).get(RDF + "rest")
            if not first or not rest:
                raise ShapesUnsupported(f"{_name(head)} is not a well-formed RDF list.")
            out.append(first[0])
            head = rest[0]
        return out

    def list_nodes(self) -> set[Term]:
        return {s for s, p in self.facts.items() if RDF + "first" in p}

    def check_everything_is_supported(self) -> None:
        """Raise ``ShapesUnsupported`` for any SHACL term outside the compiled subset."""
        for subject, predicates in self.facts.items():
            for predicate, objects in predicates.items():
                if predicate == RDF + "type":
                    for kind in objects:
                        if kind.value.startswith(SH) and kind.value[len(SH):] not in SUPPORTED["types"]:
                            raise ShapesUnsupported(f"{_name(subject)} is a {kind.value}, which is not supported.")
                        if kind.value in ("http://www.w3.org/2000/01/rdf-schema#Class",
                                          "http://www.w3.org/2002/07/owl#Class"):
                            raise ShapesUnsupported(f"{_name(subject)}: implicit class targets are not supported.")
                if not predicate.startswith(SH):
                    continue
                local = predicate[len(SH):]
                if not any(local in allowed for kind, allowed in SUPPORTED.items() if kind != "types"):
                    raise ShapesUnsupported(
                        f"{_name(subject)} uses sh:{local}, which the SPARQL validator does not implement; "
                        "implement it in coopgraph.validation_sparql or validate with pySHACL."
                    )


@dataclass
class _Compiler:
    """Turns shapes into ``Check`` queries; ``classes`` maps a class IRI to it and its subclasses."""

    shapes: _ShapesGraph
    classes: dict[str, list[str]]
    fresh: Iterator[int] = field(default_factory=lambda: iter(range(1, 1_000_000)))

    def var(self) -> str:
        return f"?_v{next(self.fresh)}"

    def instance_of(self, var: str, cls: str) -> str:
        members = self.classes.get(cls, [cls])
        if len(members) == 1:
            return f"EXISTS {{ {var} a <{members[0]}> }}"
        t = self.var()
        return f"EXISTS {{ VALUES {t} {{ {' '.join(f'<{c}>' for c in members)} }} {var} a {t} }}"

    def focus(self, shape: Term) -> str:
        """A pattern binding ``?this`` to each focus node of ``shape`` once."""
        targets = self.shapes.values(shape, "targetClass")
        members = sorted({c for t in targets for c in self.classes.get(t.value, [t.value])})
        if len(members) == 1:
            return f"{{ SELECT DISTINCT ?this WHERE {{ ?this a <{members[0]}> }} }}"
        listed = " ".join(f"<{c}>" for c in members)
        return f"{{ SELECT DISTINCT ?this WHERE {{ VALUES ?_target {{ {listed} }} ?this a ?_target }} }}"

    def value_conditions(self, shape: Term, var: str) -> list[tuple[str, str]]:
        """(component, SPARQL expression true when ``var`` satisfies it) for each value constraint."""
        out: list[tuple[str, str]] = []
        for cls in self.shapes.values(shape, "class"):
            out.append(("class", self.instance_of(var, cls.value)))
        for datatype in self.shapes.values(shape, "datatype"):
            out.append(("datatype", self.datatype(var, datatype.value)))
        for node in self.shapes.values(shape, "node"):
            out.append(("node", self.conforms(node, var)))
        for alternatives in self.shapes.values(shape, "or"):
            options = [self.conforms(a, var) for a in self.shapes.items(alternatives)]
            out.append(("or", "(" + " || ".join(f"COALESCE({o}, false)" for o in options) + ")"))
        for members in self.shapes.values(shape, "in"):
            terms = self.shapes.items(members)
            out.append(("in", "(" + " || ".join(f"sameTerm({var}, {t})" for t in terms) + ")" if terms else "false"))
        for pattern in self.shapes.values(shape, "pattern"):
            flags = self.shapes.one(shape, "flags")
            flag_text = f", {ox.Literal(flags.value)}" if flags is not None else ""
            out.append(("pattern", f"(!isBlank({var}) && REGEX(STR({var}), {ox.Literal(pattern.value)}{flag_text}))"))
        for minimum in self.shapes.values(shape, "minInclusive"):
            out.append(("minInclusive", f"({var} >= {minimum})"))
        for languages in self.shapes.values(shape, "languageIn"):
            tags = [t.value for t in self.shapes.items(languages)]
            ranges = " || ".join(f'langMatches(LANG({var}), "{tag}")' for tag in tags) or "false"
            out.append(("languageIn", f"(isLiteral({var}) && ({ranges}))"))
        return out

    def datatype(self, var: str, datatype: str) -> str:
        if datatype not in LEXICAL_FORMS:
            raise ShapesUnsupported(f"sh:datatype <{datatype}> is not supported (no lexical check for it).")
        check = f"(isLiteral({var}) && DATATYPE({var}) = <{datatype}>"
        lexical = LEXICAL_FORMS[datatype]
        return check + (f' && REGEX(STR({var}), "{lexical}"))' if lexical else ")")

    def conforms(self, shape: Term, var: str) -> str:
        """A SPARQL expression true when ``var`` conforms to ``shape`` (used by sh:node and sh:or)."""
        for key in ("targetClass", "sparql", "qualifiedValueShape"):
            if self.shapes.values(shape, key):
                raise ShapesUnsupported(f"{_name(shape)}: sh:{key} inside a nested shape is not supported.")
        path = self.shapes.one(shape, "path")
        parts = [expression for _, expression in self.value_conditions(shape, var)] if path is None else []
        if path is not None:
            predicate = self.path(shape)
            minimum = self.shapes.integer(shape, "minCount")
            maximum = self.shapes.integer(shape, "maxCount")
            if minimum not in (None, 0, 1) or maximum not in (None, 0):
                raise ShapesUnsupported(f"{_name(shape)}: nested counts other than minCount 1 / maxCount 0.")
            if minimum == 1:
                parts.append(f"EXISTS {{ {var} {predicate} {self.var()} }}")
            if maximum == 0:
                parts.append(f"NOT EXISTS {{ {var} {predicate} {self.var()} }}")
            for value in self.shapes.values(shape, "hasValue"):
                parts.append(f"EXISTS {{ {var} {predicate} {value} }}")
            inner = self.var()
            conditions = [e for _, e in self.value_conditions(shape, inner)]
            if conditions:
                every = " && ".join(f"COALESCE({c}, false)" for c in conditions)
                parts.append(f"NOT EXISTS {{ {var} {predicate} {inner} FILTER (!({every})) }}")
        elif self.shapes.values(shape, "hasValue"):
            parts += [f"sameTerm({var}, {v})" for v in self.shapes.values(shape, "hasValue")]
        for nested in self.shapes.values(shape, "property"):
            parts.append(self.conforms(nested, var))
        return "(" + " && ".join(f"COALESCE({p}, false)" for p in parts) + ")" if parts else "true"

    def path(self, shape: Term) -> str:
        path = self.shapes.one(shape, "path")
        if not isinstance(path, ox.NamedNode):
            raise ShapesUnsupported(f"{_name(shape)}: only IRI paths are supported, not {path}.")
        return str(path)

    def message(self, shape: Term) -> str:
        message = self.shapes.one(shape, "message")
        if not isinstance(message, ox.Literal):
            raise ShapesUnsupported(
                f"{_name(shape)} has no sh:message: write one (pySHACL's generic messages are not reproduced)."
            )
        return message.value

    def checks(self) -> list[Check]:
        """Every query of every targeted node shape, in a stable order."""
        out: list[Check] = []
        shapes = sorted((s for s, p in self.shapes.facts.items() if SH + "targetClass" in p), key=str)
        for shape in shapes:
            if self.shapes.values(shape, "path"):
                raise ShapesUnsupported(f"{_name(shape)}: targeted property shapes are not supported.")
            focus = self.focus(shape)
            conditions = self.value_conditions(shape, "?value")
            if conditions:
                out.append(self.value_check(focus + " BIND (?this AS ?value)", conditions, self.message(shape), None))
            for prop in self.shapes.values(shape, "property"):
                out += self.property_checks(focus, prop)
            for constraint in self.shapes.values(shape, "sparql"):
                out.append(self.sparql_check(focus, constraint))
            for key in ("hasValue", "minCount", "maxCount", "qualifiedValueShape"):
                if self.shapes.values(shape, key):
                    raise ShapesUnsupported(f"{_name(shape)}: sh:{key} on a node shape is not supported.")
        return out

    def value_check(self, pattern: str, conditions: list[tuple[str, str]], message: str, path: str | None) -> Check:
        binds = " ".join(f"BIND (COALESCE({e}, false) AS ?ok_{i})" for i, (_, e) in enumerate(conditions))
        failed = " || ".join(f"!?ok_{i}" for i in range(len(conditions)))
        oks = " ".join(f"?ok_{i}" for i in range(len(conditions)))
        sparql = f"SELECT DISTINCT ?this ?value {oks} WHERE {{ {pattern} {binds} FILTER ({failed}) }}"
        return Check("value", sparql, message, path, tuple(c for c, _ in conditions))

    def property_checks(self, focus: str, prop: Term) -> list[Check]:
        if self.shapes.values(prop, "property") or self.shapes.values(prop, "sparql"):
            raise ShapesUnsupported(f"{_name(prop)}: sh:property or sh:sparql inside a property shape.")
        predicate, message = self.path(prop), self.message(prop)
        path = predicate[1:-1]
        out: list[Check] = []
        minimum = self.shapes.integer(prop, "minCount")
        maximum = self.shapes.integer(prop, "maxCount")
        if minimum is not None or maximum is not None:
            having = []
            if minimum is not None:
                having.append(f"COUNT(DISTINCT ?value) < {minimum}")
            if maximum is not None:
                having.append(f"COUNT(DISTINCT ?value) > {maximum}")
            sparql = (f"SELECT ?this (COUNT(DISTINCT ?value) AS ?count) WHERE {{ {focus} "
                      f"OPTIONAL {{ ?this {predicate} ?value }} }} GROUP BY ?this HAVING ({' || '.join(having)})")
            out.append(Check("count", sparql, message, path, ("minCount", "maxCount"), (minimum, maximum)))
        for value in self.shapes.values(prop, "hasValue"):
            sparql = f"SELECT ?this WHERE {{ {focus} FILTER NOT EXISTS {{ ?this {predicate} {value} }} }}"
            out.append(Check("missing", sparql, message, path, ("hasValue",)))
        for qualified in self.shapes.values(prop, "qualifiedValueShape"):
            low = self.shapes.integer(prop, "qualifiedMinCount")
            high = self.shapes.integer(prop, "qualifiedMaxCount")
            having = [f"COUNT(DISTINCT ?value) < {low}"] if low is not None else []
            having += [f"COUNT(DISTINCT ?value) > {high}"] if high is not None else []
            if not having:
                continue
            sparql = (f"SELECT ?this (COUNT(DISTINCT ?value) AS ?count) WHERE {{ {focus} OPTIONAL {{ "
                      f"?this {predicate} ?value FILTER (COALESCE({self.conforms(qualified, '?value')}, false)) }} }} "
                      f"GROUP BY ?this HAVING ({' || '.join(having)})")
            out.append(Check("count", sparql, message, path, ("qualifiedMinCount", "qualifiedMaxCount"), (low, high)))
        conditions = self.value_conditions(prop, "?value")
        if conditions:
            out.append(self.value_check(f"{focus} ?this {predicate} ?value .", conditions, message, path))
        return out

    def sparql_check(self, focus: str, constraint: Term) -> Check:
        select = self.shapes.one(constraint, "select")
        if not isinstance(select, ox.Literal):
            raise ShapesUnsupported(f"{_name(constraint)}: an sh:sparql constraint needs one sh:select.")
        text = select.value
        unsafe = _PREBINDING_UNSAFE.search(text)
        if unsafe or len(re.findall(r"\bSELECT\b", text, re.IGNORECASE)) != 1:
            what = unsafe.group(0) if unsafe else "a nested SELECT"
            raise ShapesUnsupported(f"{_name(constraint)}: {what} in sh:select is not supported.")
        if not re.search(r"SELECT\s+(DISTINCT\s+)?[^{]*[?$]this\b", text, re.IGNORECASE):
            raise ShapesUnsupported(f"{_name(constraint)}: the sh:select must project $this.")
        # Joining the focus nodes into the top-level group is pre-binding for the queries allowed above.
        opening = text.index("{")
        sparql = self.prefixes(constraint) + text[: opening + 1] + f" {focus} " + text[opening + 1 :]
        return Check("sparql", sparql, self.message(constraint), None, ("sparql",))

    def prefixes(self, constraint: Term) -> str:
        lines = []
        for holder in self.shapes.values(constraint, "prefixes"):
            for declaration in self.shapes.values(holder, "declare"):
                prefix, namespace = self.shapes.one(declaration, "prefix"), self.shapes.one(declaration, "namespace")
                if prefix is None or namespace is None:
                    raise ShapesUnsupported(f"{_name(declaration)}: sh:declare needs sh:prefix and sh:namespace.")
                lines.append(f"PREFIX {prefix.value}: <{namespace.value}>\n")
        return "".join(lines)


def _name(node: Term) -> str:
    return f"<{node.value}>" if isinstance(node, ox.NamedNode) else "a blank node in the shapes"


@lru_cache(maxsize=4)
def _shapes(folder: Path) -> _ShapesGraph:
    triples: list[ox.Triple | ox.Quad] = []
    for path in sorted(folder.glob("*.ttl")):
        triples.extend(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    shapes = _ShapesGraph(triples)
    shapes.check_everything_is_supported()
    return shapes


def compile_shapes(store: ox.Store, shapes_dir: Path | None = None) -> list[Check]:
    """The validation queries for ``store``: the shapes, with classes expanded by the store's subclasses.

    Raises ``ShapesUnsupported`` when a shape uses something not compiled, and
    ``SyntaxError`` from Oxigraph if a generated query does not parse (a bug here).
    """
    shapes = _shapes((shapes_dir or resource_dir("shapes")).resolve())
    classes = {
        cls.value
        for predicates in shapes.facts.values()
        for key in (SH + "targetClass", SH + "class")
        for cls in predicates.get(key, [])
    }
    closure = {cls: _subclasses(store, cls) for cls in sorted(classes)}
    return _Compiler(shapes, closure).checks()


def _subclasses(store: ox.Store, cls: str) -> list[str]:
    rows = store.query(
        f"SELECT DISTINCT ?c WHERE {{ ?c <{RDFS_SUBCLASS_OF}>* <{cls}> }}", use_default_graph_as_union=True
    )
    assert isinstance(rows, ox.QuerySolutions)  # noqa: S101 - a SELECT always gives solutions
    found = sorted({row["c"].value for row in rows if isinstance(row["c"], ox.NamedNode)} | {cls})
    return found


def _show(term: object) -> str:
    if isinstance(term, ox.BlankNode):
        return "a blank node"
    return str(getattr(term, "value", term))


def _fill(message: str, row: ox.QuerySolution, variables: Iterable[str]) -> str:
    for name in variables:
        bound = row[name]
        if bound is not None:
            text = str(bound.value)
            message = message.replace("{?" + name + "}", text).replace("{$" + name + "}", text)
    return message


def _violations(check: Check, rows: ox.QuerySolutions) -> Iterator[Violation]:
    names = [v.value for v in rows.variables]
    for row in rows:
        focus = _show(row["this"])
        if check.kind == "value":
            value = _show(row["value"])
            for index, _component in enumerate(check.components):
                if row[f"ok_{index}"] != ox.Literal("true", datatype=ox.NamedNode(XSD + "boolean")):
                    yield Violation(focus, check.path, check.message, value, "Violation")
        elif check.kind == "sparql":
            bound = row["value"] if "value" in names else None
            shown = _show(bound) if bound is not None else None
            yield Violation(focus, check.path, _fill(check.message, row, names), shown, "Violation")
        else:
            yield Violation(focus, check.path, check.message, None, "Violation")


def validate_store(store: ox.Store, shapes_dir: Path | None = None) -> ValidationReport:
    """Validate the union of all graphs of ``store`` against the shapes (default: the shipped ones).

    Returns a ``ValidationReport``; raises nothing for "does not conform".
    Raises ``ShapesUnsupported`` when the shapes use a feature this module does not compile.
    """
    found: set[Violation] = set()
    for check in compile_shapes(store, shapes_dir):
        rows = store.query(check.sparql, use_default_graph_as_union=True)
        assert isinstance(rows, ox.QuerySolutions)  # noqa: S101 - every check is a SELECT
        found.update(_violations(check, rows))
    triples = store.query(
        "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }",
        use_default_graph_as_union=True,
    )
    assert isinstance(triples, ox.QuerySolutions)  # noqa: S101
    count = int(next(iter(triples))["n"].value)
    violations = sorted(found, key=lambda v: (v.focus, v.path or "", v.message, v.value or ""))
    return ValidationReport(conforms=not violations, violations=violations, triples=count)


def validate_quads_sparql(quads: Iterable[ox.Quad], shapes_dir: Path | None = None) -> ValidationReport:
    """Validate ``quads`` (graph names ignored) in a temporary in-memory store; see ``validate_store``."""
    store = ox.Store()
    store.extend(quads)
    return validate_store(store, shapes_dir)
