"""Where the ontology, shapes, queries and data shipped with coopgraph live.

In a source checkout (editable install) they are the top-level folders of the
repository; in an installed wheel they are copied under ``coopgraph/_resources``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_ROOT = _PACKAGE_DIR.parent.parent
_KINDS = ("ontology", "shapes", "queries", "data")


def resource_dir(kind: str) -> Path:
    """Return the folder holding the shipped ``kind`` (ontology, shapes, queries, data).

    Raises ``FileNotFoundError`` when neither the checkout nor the wheel has it.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown resource kind {kind!r}; expected one of {_KINDS}")
    for candidate in (_PACKAGE_DIR / "_resources" / kind, _CHECKOUT_ROOT / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the {kind} folder shipped with coopgraph is missing")
