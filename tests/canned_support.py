"""Shared helpers of the canned-query tests: the fixture graph and temporary query folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from coopgraph.build import build
from coopgraph.resources import resource_dir
from coopgraph.store import StoreRoot

FIXTURE_DATA = Path(__file__).parent / "fixtures" / "canned" / "data"
ID = "https://w3id.org/coopgraph/id/"


def build_fixture_root(tmp_path_factory: pytest.TempPathFactory) -> StoreRoot:
    """A store built from ``tests/fixtures/canned/data`` (two Vienne, Brest–Qingdao–La Rochelle, Pékin…)."""
    root = StoreRoot(tmp_path_factory.mktemp("canned-store"))
    build(root, data_dir=FIXTURE_DATA)
    return root


def copy_shipped_queries(folder: Path) -> Path:
    """A copy of the shipped queries/ in ``folder``, to add or break files in."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in resource_dir("queries").glob("*.rq"):
        shutil.copy(path, folder / path.name)
    return folder
