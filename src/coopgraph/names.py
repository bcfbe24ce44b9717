"""Names → IRIs: resolve what a person types ("Pékin", "rhone alpes", "jumelage") to one resource.

Matching is case-, accent- and punctuation-insensitive (``reference.fold``) over
every ``rdfs:label``, ``skos:prefLabel``, ``skos:altLabel`` and ``skos:notation``
in every language, and over the last segment of the IRI (its slug), of the
resources of five kinds: authorities, networks, sectors, partnership kinds and
authority types.

Resolution rules (``resolve``):

- an IRI is accepted when it names a resource of the wanted kind;
- a name that is the main label (``rdfs:label``/``skos:prefLabel``) of exactly
  one resource resolves to it, even when it is also an alternative name of
  others; several main-label matches → ``AmbiguousName`` (409, ``candidates``);
- otherwise a name that is an alternative name or slug of exactly one resource
  resolves to it; several → ``AmbiguousName``;
- otherwise words that appear whole in the names of exactly one resource resolve
  to it ("Brest" → Communauté urbaine de Brest); several → ``AmbiguousName``;
- no match → ``UnknownName`` (404) with the closest names as ``suggestions``.

The index is built with one SPARQL query through the backend and cached per
backend until ``backend.version()`` changes.
"""

from __future__ import annotations

import difflib
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import pyoxigraph as ox

from coopgraph.backend import Backend, solutions
from coopgraph.errors import AmbiguousName, InvalidParameter, UnknownName
from coopgraph.reference import fold
from coopgraph.store import ID_BASE, ONTOLOGY_NS

KINDS = ("authority", "network", "sector", "partnership-kind", "authority-type")
MAX_NAME_LENGTH = 300

INDEX_QUERY = f"""
PREFIX coop: <{ONTOLOGY_NS}>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?resource ?kind ?name ?primary ?labelEn ?labelFr ?country ?typeLabel WHERE {{
  {{ ?resource a coop:Authority . BIND("authority" AS ?kind) }}
  UNION {{ ?resource a coop:Network . BIND("network" AS ?kind) }}
  UNION {{ ?resource skos:inScheme <{ID_BASE}scheme/sector> . BIND("sector" AS ?kind) }}
  UNION {{ ?resource skos:inScheme <{ID_BASE}scheme/partnership-kind> . BIND("partnership-kind" AS ?kind) }}
  UNION {{ ?resource skos:inScheme <{ID_BASE}scheme/authority-type> . BIND("authority-type" AS ?kind) }}
  {{ ?resource rdfs:label|skos:prefLabel ?name . BIND(true AS ?primary) }}
  UNION {{ ?resource skos:altLabel|skos:notation ?name . BIND(false AS ?primary) }}
  OPTIONAL {{ ?resource rdfs:label ?labelEn FILTER(LANGMATCHES(LANG(?labelEn), "en")) }}
  OPTIONAL {{ ?resource rdfs:label ?labelFr FILTER(LANGMATCHES(LANG(?labelFr), "fr")) }}
  OPTIONAL {{ ?resource coop:country/skos:notation ?country }}
  OPTIONAL {{ ?resource coop:authorityType/skos:prefLabel ?typeLabel FILTER(LANGMATCHES(LANG(?typeLabel), "en")) }}
}}
"""


@dataclass(frozen=True)
class Candidate:
    """A resource a name may stand for: its IRI, display label, kind, country (alpha-2) and type."""

    iri: str
    label: str
    kind: str
    country: str | None = None
    type: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


@dataclass
class NameIndex:
    """Folded names → IRIs, per kind, split into main labels and alternative names."""

    candidates: dict[str, Candidate] = field(default_factory=dict)
    primary: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    alternative: dict[str, dict[str, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )
    # Every folded name of each IRI, for search and suggestions.
    names_of: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, candidate: Candidate, name: str, primary: bool) -> None:
        folded = fold(name)
        if not folded:
            return
        self.candidates.setdefault(candidate.iri, candidate)
        table = self.primary if primary else self.alternative
        table[candidate.kind][folded].add(candidate.iri)
        self.names_of[candidate.iri].add(folded)


def build_index(backend: Backend) -> NameIndex:
    """Read every name of every authority, network, sector and partnership kind (one query)."""
    index = NameIndex()
    for row in solutions(backend.query(INDEX_QUERY)):
        iri = _text(row["resource"])
        kind = _text(row["kind"])
        if iri is None or kind is None:
            continue
        label = _text(row["labelEn"]) or _text(row["labelFr"]) or _text(row["name"]) or iri
        type_label = _text(row["typeLabel"]) or (None if kind == "authority" else kind)
        candidate = Candidate(iri, label, kind, _text(row["country"]), type_label)
        name = _text(row["name"])
        if name is not None:
            index.add(candidate, name, primary=_text(row["primary"]) == "true")
        index.add(candidate, iri.rstrip("/").rsplit("/", 1)[-1], primary=False)
    return index


def _text(term: object) -> str | None:
    return None if term is None else str(getattr(term, "value", term))


_cache: weakref.WeakKeyDictionary[object, tuple[str, NameIndex]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def index_for(backend: Backend) -> NameIndex:
    """The name index of ``backend``'s current data, built once per ``backend.version()``."""
    version = backend.version()
    with _cache_lock:
        cached = _cache.get(backend)
        if cached is not None and cached[0] == version:
            return cached[1]
        index = build_index(backend)
        _cache[backend] = (version, index)
        return index


def looks_like_iri(text: str) -> bool:
    """True for ``http://…``/``https://…``/``urn:…`` strings, which are taken as IRIs, not names."""
    return text.startswith(("http://", "https://", "urn:"))


def resolve(backend: Backend, text: str, kinds: Iterable[str], parameter: str = "name") -> Candidate:
    """The one resource of one of ``kinds`` that ``text`` (an IRI or a name) stands for.

    Raises ``InvalidParameter`` (empty or overlong text, malformed IRI),
    ``AmbiguousName`` (409, ``candidates``) or ``UnknownName`` (404, ``suggestions``).
    """
    wanted = tuple(kinds)
    noun = " or ".join(k.replace("-", " ") for k in wanted)
    what = _article(noun)
    text = text.strip()
    if not text or len(text) > MAX_NAME_LENGTH:
        raise InvalidParameter(
            f"Parameter {parameter!r} must be the IRI or the name of {what} "
            f"(1 to {MAX_NAME_LENGTH} characters)."
        )
    index = index_for(backend)
    if looks_like_iri(text):
        return _resolve_iri(index, text, wanted, noun, parameter)
    folded = fold(text)
    if not folded:
        raise InvalidParameter(
            f"Parameter {parameter!r}: {text!r} contains no letters or digits; give the name of {what}."
        )
    for table in (index.primary, index.alternative):
        matches = sorted({iri for kind in wanted for iri in table[kind].get(folded, ())})
        if len(matches) == 1:
            return index.candidates[matches[0]]
        if len(matches) > 1:
            candidates = [index.candidates[iri] for iri in matches]
            listed = "; ".join(_describe(c) for c in candidates)
            raise AmbiguousName(
                f"{text!r} names {len(candidates)} resources ({listed}); "
                f"give the IRI of the one you mean as {parameter!r}.",
                candidates=[c.as_dict() for c in candidates],
            )
    # Last resort: the words typed appear, whole, in the names of exactly one resource
    # ("Brest" for "Communauté urbaine de Brest").
    padded = f" {folded} "
    containing = sorted(
        {
            iri
            for table in (index.primary, index.alternative)
            for kind in wanted
            for name, iris in table[kind].items()
            if padded in f" {name} "
            for iri in iris
        }
    )
    if len(containing) == 1:
        return index.candidates[containing[0]]
    if len(containing) > 1:
        candidates = [index.candidates[iri] for iri in containing]
        raise AmbiguousName(
            f"{text!r} is part of the names of {len(candidates)} resources "
            f"({'; '.join(_describe(c) for c in candidates)}); give the full name or the IRI as {parameter!r}.",
            candidates=[c.as_dict() for c in candidates],
        )
    suggestions = suggest(index, folded, wanted)
    hint = f" Did you mean {', '.join(repr(s.label) for s in suggestions)}?" if suggestions else ""
    raise UnknownName(
        f"No {noun} is named {text!r}.{hint} GET /api/queries/authorities?q=… searches by name.",
        suggestions=[s.as_dict() for s in suggestions],
    )


def _resolve_iri(index: NameIndex, text: str, wanted: tuple[str, ...], noun: str, parameter: str) -> Candidate:
    try:
        ox.NamedNode(text)
    except ValueError:
        raise InvalidParameter(
            f"Parameter {parameter!r}: {text!r} is not a valid IRI (no spaces, quotes or angle brackets)."
        ) from None
    candidate = index.candidates.get(text)
    if candidate is None:
        raise UnknownName(f"No {noun} has the IRI {text}; give a known IRI or a name.", suggestions=[])
    if candidate.kind not in wanted:
        raise InvalidParameter(
            f"Parameter {parameter!r}: {text} is {_article(candidate.kind.replace('-', ' '))}, not {_article(noun)}."
        )
    return candidate


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def _describe(candidate: Candidate) -> str:
    details = ", ".join(d for d in (candidate.type, candidate.country) if d)
    return f"{candidate.label} ({details}) <{candidate.iri}>" if details else f"{candidate.label} <{candidate.iri}>"


def suggest(index: NameIndex, folded: str, kinds: tuple[str, ...], limit: int = 5) -> list[Candidate]:
    """The resources whose names are closest to ``folded``: names containing it first, then difflib's."""
    names: dict[str, set[str]] = defaultdict(set)
    for table in (index.primary, index.alternative):
        for kind in kinds:
            for name, iris in table[kind].items():
                names[name] |= iris
    containing = sorted((n for n in names if folded in n), key=lambda n: (len(n), n))
    close = difflib.get_close_matches(folded, list(names), n=limit * 2, cutoff=0.6)
    ordered: list[str] = []
    for name in [*containing, *close]:
        for iri in sorted(names[name]):
            if iri not in ordered:
                ordered.append(iri)
    return [index.candidates[iri] for iri in ordered[:limit]]


def search(
    backend: Backend, text: str, limit: int = 20, kinds: Iterable[str] = ("authority", "network")
) -> list[Candidate]:
    """Resources whose names contain ``text`` (folded), best first: for search boxes.

    Ranking: a name equal to the text, then a name starting with it, then a word
    of a name starting with it, then any name containing it; ties by label.
    Returns at most ``limit`` candidates, ``[]`` for a text with no letters or
    digits. Stable API: the site's search box calls it.
    """
    folded = fold(text)
    if not folded or limit <= 0:
        return []
    wanted = set(kinds)
    index = index_for(backend)
    ranked: list[tuple[int, str, str]] = []
    for iri, names in index.names_of.items():
        candidate = index.candidates[iri]
        if candidate.kind not in wanted:
            continue
        rank = min((_rank(name, folded) for name in names), default=None)
        if rank is not None and rank < 4:
            ranked.append((rank, fold(candidate.label), iri))
    ranked.sort()
    return [index.candidates[iri] for _rank_, _label, iri in ranked[:limit]]


def _rank(name: str, folded: str) -> int:
    if name == folded:
        return 0
    if name.startswith(folded):
        return 1
    if any(word.startswith(folded) for word in name.split()):
        return 2
    return 3 if folded in name else 4
