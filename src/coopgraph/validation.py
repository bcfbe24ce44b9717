"""SHACL validation with pySHACL: returns a report, raises nothing for "does not conform"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
import rdflib
from pyshacl import validate as pyshacl_validate
from rdflib.namespace import SH

from coopgraph.resources import resource_dir


@dataclass(frozen=True)
class Violation:
    """One failed constraint: the offending node, the property, the message and the value."""

    focus: str
    path: str | None
    message: str
    value: str | None
    severity: str

    def __str__(self) -> str:
        where = f" ({self.path})" if self.path else ""
        value = f" [value: {self.value}]" if self.value else ""
        return f"{self.focus}{where}: {self.message}{value}"


@dataclass
class ValidationReport:
    """The outcome of a validation: ``conforms`` and the violations found."""

    conforms: bool
    violations: list[Violation] = field(default_factory=list)
    triples: int = 0

    def summary(self) -> str:
        if self.conforms:
            return f"The data conforms to the shapes ({self.triples} triples checked)."
        return f"{len(self.violations)} violation(s) of the shapes in {self.triples} triples."


@lru_cache(maxsize=1)
def shapes_graph() -> rdflib.Graph:
    """All shapes shipped in ``shapes/``, parsed once."""
    graph = rdflib.Graph()
    for path in sorted(resource_dir("shapes").glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


def _to_rdflib(quads: Iterable[ox.Quad]) -> rdflib.Graph:
    # N-Triples is the cheapest exchange between the two libraries: one write, one parse.
    triples = (ox.Triple(q.subject, q.predicate, q.object) for q in quads)
    text = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    graph = rdflib.Graph()
    if text:
        graph.parse(data=text.decode("utf-8"), format="nt")
    return graph


def validate_quads(quads: Iterable[ox.Quad]) -> ValidationReport:
    """Validate the union of ``quads`` (graph names ignored) against the shipped shapes."""
    data = _to_rdflib(quads)
    conforms, results, _ = pyshacl_validate(
        data, shacl_graph=shapes_graph(), inference="none", advanced=True, allow_warnings=True
    )
    report = ValidationReport(conforms=bool(conforms), triples=len(data))
    for result in results.subjects(rdflib.RDF.type, SH.ValidationResult):
        severity = results.value(result, SH.resultSeverity)
        path = results.value(result, SH.resultPath)
        value = results.value(result, SH.value)
        message = results.value(result, SH.resultMessage)
        report.violations.append(
            Violation(
                focus=_show(results.value(result, SH.focusNode)),
                path=_show(path) if path is not None else None,
                message=str(message) if message is not None else "Constraint not met.",
                value=_show(value) if value is not None else None,
                severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
            )
        )
    report.violations.sort(key=lambda v: (v.focus, v.path or "", v.message))
    return report


def _show(term: object) -> str:
    if isinstance(term, rdflib.BNode):
        return "a blank node"
    return str(term)


def files_to_quads(paths: Iterable[Path]) -> list[ox.Quad]:
    """Parse RDF files (format from the extension) into quads.

    Raises ``coopgraph.errors.InputUnusable`` with the file and the parser's message.
    """
    from coopgraph.errors import InputUnusable

    quads: list[ox.Quad] = []
    for path in paths:
        fmt = ox.RdfFormat.from_extension(path.suffix.lstrip(".")) if path.suffix else None
        if fmt is None:
            raise InputUnusable(f"{path}: unknown RDF file extension; use .ttl, .nt, .nq, .trig or .rdf.")
        try:
            quads.extend(ox.parse(path=str(path), format=fmt))
        except FileNotFoundError as error:
            raise InputUnusable(f"{path}: no such file.") from error
        except (SyntaxError, ValueError, UnicodeDecodeError) as error:
            raise InputUnusable(f"{path}: not valid {fmt.name}: {error}") from error
    return quads
