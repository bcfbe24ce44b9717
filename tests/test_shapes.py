"""Each SHACL shape has a conforming and a violating example (tests/fixtures/shapes.toml)."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
import pytest

from coopgraph.reference import country_quads
from coopgraph.resources import resource_dir
from coopgraph.store import graph_iri
from coopgraph.validation import validate_quads

from .conftest import PREFIXES

CASES_FILE = Path(__file__).parent / "fixtures" / "shapes.toml"
CASES = tomllib.loads(CASES_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def vocabulary() -> tuple[ox.Quad, ...]:
    quads: list[ox.Quad] = []
    for path in sorted(resource_dir("ontology").glob("*.ttl")):
        quads.extend(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    quads.extend(country_quads(graph_iri("reference")))
    return tuple(quads)


def turtle_prefixes() -> str:
    return "\n".join(
        f"@prefix {line.split()[1]} {line.split()[2]} ." for line in PREFIXES.strip().splitlines()
    )


def graph_with(snippet: str) -> list[ox.Quad]:
    text = turtle_prefixes() + CASES["base"] + snippet
    return [*vocabulary(), *ox.parse(text.encode("utf-8"), format=ox.RdfFormat.TURTLE)]


def test_the_base_graph_conforms() -> None:
    report = validate_quads(graph_with(""))
    assert report.conforms, [str(v) for v in report.violations]


@pytest.mark.parametrize("case", CASES["case"], ids=[c["shape"] for c in CASES["case"]])
def test_conforming_example_conforms(case: dict[str, str]) -> None:
    report = validate_quads(graph_with(case["conforms"]))
    assert report.conforms, [str(v) for v in report.violations]


@pytest.mark.parametrize("case", CASES["case"], ids=[c["shape"] for c in CASES["case"]])
def test_violating_example_is_reported_with_its_message(case: dict[str, str]) -> None:
    report = validate_quads(graph_with(case["violates"]))
    assert not report.conforms
    messages = [v.message for v in report.violations]
    assert any(case["expect"] in m for m in messages), messages


def test_every_shape_has_examples() -> None:
    shapes = ox.Store()
    shapes.load(path=str(resource_dir("shapes") / "coopgraph-shapes.ttl"), format=ox.RdfFormat.TURTLE)
    targeted = {
        q.subject.value.rsplit("#", 1)[1]
        for q in shapes.quads_for_pattern(None, ox.NamedNode("http://www.w3.org/ns/shacl#targetClass"), None)
        if isinstance(q.subject, ox.NamedNode)
    }
    covered = {c["shape"].split(" (")[0] for c in CASES["case"]}
    assert targeted <= covered, f"shapes without examples: {sorted(targeted - covered)}"
