"""Name resolution: labels in any language, case/accent/punctuation-insensitive, ambiguity and suggestions."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coopgraph import names
from coopgraph.backend import EmbeddedBackend
from coopgraph.build import build
from coopgraph.errors import AmbiguousName, InvalidParameter, UnknownName
from coopgraph.reference import fold
from coopgraph.store import StoreRoot
from tests.canned_support import FIXTURE_DATA, ID, build_fixture_root


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedBackend:
    return EmbeddedBackend(build_fixture_root(tmp_path_factory))


@pytest.mark.parametrize(
    "text", ["Pékin", "pekin", "PÉKIN", "Beijing", "beijing", "  Beijing ", "Municipalité de Pékin", "beijing"]
)
def test_french_and_english_names_resolve_to_one_iri(backend: EmbeddedBackend, text: str) -> None:
    assert names.resolve(backend, text, ["authority"]).iri == ID + "authority/beijing"


def test_punctuation_and_accents_are_ignored(backend: EmbeddedBackend) -> None:
    assert names.resolve(backend, "la-rochelle", ["authority"]).iri == ID + "authority/la-rochelle"
    assert names.resolve(backend, "ISERE", ["authority"]).iri == ID + "authority/isere-departement"


def test_ambiguous_name_lists_candidates(backend: EmbeddedBackend) -> None:
    with pytest.raises(AmbiguousName) as caught:
        names.resolve(backend, "Vienne", ["authority"])
    candidates = caught.value.details["candidates"]
    assert {c["iri"] for c in candidates} == {ID + "authority/vienne", ID + "authority/vienne-departement"}
    assert {c["type"] for c in candidates} == {"Municipality", "Département"}
    assert all(c["country"] == "FR" and c["label"] == "Vienne" for c in candidates)
    assert "Vienne" in caught.value.message and "IRI" in caught.value.message


def test_an_alternative_name_of_one_resource_resolves(backend: EmbeddedBackend) -> None:
    candidate = names.resolve(backend, "Département de la Vienne", ["authority"])
    assert candidate.iri == ID + "authority/vienne-departement"


def test_unknown_name_suggests_the_closest(backend: EmbeddedBackend) -> None:
    with pytest.raises(UnknownName) as caught:
        names.resolve(backend, "Qingdaoo", ["authority"])
    assert caught.value.details["suggestions"][0]["iri"] == ID + "authority/qingdao"
    assert "Qingdao" in caught.value.message


def test_iri_is_accepted_only_for_the_wanted_kind(backend: EmbeddedBackend) -> None:
    assert names.resolve(backend, ID + "authority/brest", ["authority"]).label == "Brest"
    with pytest.raises(InvalidParameter, match="network"):
        names.resolve(backend, ID + "network/fixture-network", ["authority"])
    with pytest.raises(UnknownName):
        names.resolve(backend, ID + "authority/nowhere", ["authority"])
    with pytest.raises(InvalidParameter, match="not a valid IRI"):
        names.resolve(backend, "http://example.org/a>b", ["authority"])


def test_networks_sectors_and_kinds_resolve_by_label_and_slug(backend: EmbeddedBackend) -> None:
    assert names.resolve(backend, "réseau d'essai", ["network"]).iri == ID + "network/fixture-network"
    assert names.resolve(backend, "jumelage", ["partnership-kind"]).iri == ID + "partnership-kind/twinning"
    assert names.resolve(backend, "higher-education", ["sector"]).iri == ID + "sector/higher-education"


@pytest.mark.parametrize("text", ["", "   ", "!!!", "x" * 301])
def test_empty_or_oversized_names_are_refused(backend: EmbeddedBackend, text: str) -> None:
    with pytest.raises(InvalidParameter):
        names.resolve(backend, text, ["authority"])


def test_search_ranks_prefix_matches_first(backend: EmbeddedBackend) -> None:
    found = names.search(backend, "vi")
    assert [c.iri for c in found[:2]] == sorted([ID + "authority/vienne", ID + "authority/vienne-departement"])
    assert [c.iri for c in names.search(backend, "rochel")] == [ID + "authority/la-rochelle"]
    assert names.search(backend, "essai")[0].kind == "network"
    assert names.search(backend, "") == []
    assert len(names.search(backend, "e", limit=3)) == 3


def test_index_is_rebuilt_when_the_data_changes(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = build_fixture_root(tmp_path_factory)
    backend = EmbeddedBackend(root)
    first = names.index_for(backend)
    assert names.index_for(backend) is first
    build(StoreRoot(root.root), data_dir=FIXTURE_DATA)
    assert names.index_for(backend) is not first



def test_the_server_keeps_the_index_ready_across_publishes(tmp_path_factory: pytest.TempPathFactory) -> None:
    # What `coopgraph serve` runs in the background: no request has to wait for the index.
    import threading
    import time

    from coopgraph.cli import keep_name_index_warm

    root = build_fixture_root(tmp_path_factory)
    backend = EmbeddedBackend(root)
    stop = threading.Event()

    def ready_for_current_data() -> bool:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            cached = names._cache.get(backend)
            if cached is not None and cached[0] == backend.version():
                return True
            time.sleep(0.05)
        return False

    warmer = threading.Thread(target=keep_name_index_warm, args=(backend, 0.1, stop), daemon=True)
    warmer.start()
    try:
        assert ready_for_current_data()  # built at start, before any request
        build(StoreRoot(root.root), data_dir=FIXTURE_DATA)
        assert ready_for_current_data()  # and again for the new generation
    finally:
        stop.set()
        warmer.join(timeout=10)
    assert not warmer.is_alive()

@given(st.text(max_size=40))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


LABELS = ["Pékin", "Beijing", "La Rochelle", "Isère", "Qingdao", "Brest", "Municipalité de Pékin"]


def _variant(draw: st.DrawFn, label: str) -> str:
    accents = {"e": "éèêë", "E": "ÉÈ", "i": "îï", "a": "àâ", "o": "ô", "u": "ùû"}
    out = []
    for char in label:
        if draw(st.booleans()):
            char = char.swapcase()
        if char in accents and draw(st.booleans()):
            char = draw(st.sampled_from(accents[char]))
        if char == " " and draw(st.booleans()):
            char = draw(st.sampled_from(["-", "  ", "'", " - ", "_"]))
        out.append(char)
    return "".join(out)


@st.composite
def label_variants(draw: st.DrawFn) -> tuple[str, str]:
    label = draw(st.sampled_from(LABELS))
    return label, _variant(draw, label)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(label_variants())
def test_case_and_accent_variants_resolve_like_the_label(backend: EmbeddedBackend, pair: tuple[str, str]) -> None:
    label, variant = pair
    assert names.resolve(backend, variant, ["authority"]).iri == names.resolve(backend, label, ["authority"]).iri
