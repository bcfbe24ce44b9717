"""Facts read from the source documents, kept in tests/facts/*.toml, hold in the built graph.

Each fact quotes the source words and gives an ASK query; add facts there.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pyoxigraph as ox
import pytest

from coopgraph.store import StoreRoot, run_query

from .conftest import PREFIXES

FACT_FILES = sorted((Path(__file__).parent / "facts").glob("*.toml"))
FACTS = [
    pytest.param(fact, id=f"{path.stem}-{number}")
    for path in FACT_FILES
    for number, fact in enumerate(tomllib.loads(path.read_text(encoding="utf-8")).get("fact", []), 1)
]


def test_every_source_has_facts() -> None:
    assert len(FACTS) >= 40


@pytest.mark.parametrize("fact", FACTS)
def test_fact_holds(store_root: StoreRoot, fact: dict[str, str]) -> None:
    result = run_query(store_root.open_current(), PREFIXES + fact["ask"])
    assert isinstance(result, ox.QueryBoolean)
    assert bool(result), f"not in the graph: {fact['quote']!r}"
