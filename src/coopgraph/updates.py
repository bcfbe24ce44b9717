"""SPARQL updates applied as a new store generation (all or nothing, readers never see half)."""

from __future__ import annotations

import shutil

from coopgraph.errors import QuerySyntaxError
from coopgraph.inference import materialise_inferred
from coopgraph.query_guard import check_update
from coopgraph.store import StoreRoot, write_failures_explained


def apply_update(root: StoreRoot, sparql: str) -> None:
    """Apply ``sparql`` to a copy of the current generation, re-derive ``coop:cooperatesWith``, publish.

    Raises ``QuerySyntaxError`` (nothing changed) when the update does not parse.
    """
    check_update(sparql)
    with root.writer_lock(), write_failures_explained():
        staging, store = root.clone_current()
        try:
            try:
                store.update(sparql)
            except SyntaxError as error:
                raise QuerySyntaxError(f"The SPARQL update is malformed: {error}") from error
            materialise_inferred(store)
            store.flush()
            del store
            root.publish(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
