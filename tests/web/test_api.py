"""The canned-query API: routes generated from queries/, formats, pagination, errors, OpenAPI; real data through a real server."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from coopgraph.config import Settings
from coopgraph.errors import InputUnusable
from coopgraph.web.app import create_app
from tests.canned_support import ID, build_fixture_root, copy_shipped_queries


@pytest.fixture(scope="module")
def fixture_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(store=build_fixture_root(tmp_path_factory).root, timeout=10.0)


@pytest.fixture(scope="module")
def api(fixture_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(fixture_settings)) as client:
        yield client


def test_listing_gives_name_summary_parameters_sparql_and_example_url(api: TestClient) -> None:
    listed = {q["name"]: q for q in api.get("/api/queries").json()["queries"]}
    assert {"cooperations", "partners-of", "network-members", "authorities", "connection", "sectors",
            "partnerships-by-sector", "actors", "projects", "stats"} <= set(listed)
    partners = listed["partners-of"]
    assert partners["summary"] and "SELECT" in partners["sparql"]
    authority = next(p for p in partners["parameters"] if p["name"] == "authority")
    assert authority["type"] == "authority" and authority["required"] is True
    assert partners["exampleUrl"].startswith("http://testserver/api/queries/partners-of?authority=")


def test_json_result_has_query_parameters_columns_results_and_page(api: TestClient) -> None:
    body = api.get("/api/queries/partners-of", params={"authority": "brest"}).json()
    assert body["query"] == "partners-of"
    assert body["parameters"] == {"authority": ID + "authority/brest", "lang": "en"}
    assert body["columns"][:6] == ["partner", "partnerLabel", "partnerCountry", "relation", "via", "viaLabel"]
    assert body["results"] == [{
        "partner": ID + "authority/qingdao", "partnerLabel": "Qingdao", "partnerCountry": "CN",
        "relation": "partnership", "via": ID + "partnership/brest--qingdao", "viaLabel": "Brest – Qingdao",
        "role": None, "startYear": "1993"}]
    assert body["page"] == {"limit": 100, "offset": 0, "count": 1, "hasMore": False, "next": None, "prev": None}


@pytest.mark.parametrize(
    ("url", "headers", "status", "media_type"),
    [
        ("/api/queries/cooperations", {}, 200, "application/json"),
        ("/api/queries/cooperations", {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, 200, "application/json"),
        ("/api/queries/cooperations", {"Accept": "text/csv"}, 200, "text/csv"),
        ("/api/queries/cooperations.csv", {}, 200, "text/csv"),
        ("/api/queries/cooperations", {"Accept": "application/sparql-results+json"}, 200, "application/sparql-results+json"),
        ("/api/queries/cooperations", {"Accept": "text/turtle"}, 406, "application/json"),
    ],
)
def test_content_negotiation(api: TestClient, url: str, headers: dict[str, str], status: int, media_type: str) -> None:
    response = api.get(url, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith(media_type)
    if media_type == "text/csv":
        assert response.text.splitlines()[0].startswith("authority,authorityLabel,authorityCountry,partner")
    if media_type == "application/sparql-results+json":
        assert "authority" in response.json()["head"]["vars"]


def test_csv_neutralises_formulas(api: TestClient) -> None:
    table = list(csv.reader(io.StringIO(api.get("/api/queries/partners-of.csv?authority=Paris").text)))
    assert ["'=HYPERLINK(\"http://evil.example\")"] == [row[1] for row in table[1:] if "evil" in row[1]]


def test_link_headers_page_through_results(api: TestClient) -> None:
    first = api.get("/api/queries/cooperations", params={"limit": 3})
    assert first.headers["link"].endswith('rel="next"') and 'rel="prev"' not in first.headers["link"]
    seen = list(first.json()["results"])
    url = first.json()["page"]["next"]
    while url:
        page = api.get(url)
        assert 'rel="prev"' in page.headers["link"]
        seen += page.json()["results"]
        url = page.json()["page"]["next"]
    assert seen == api.get("/api/queries/cooperations").json()["results"]


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"authority": "Vienne"}, 409, "candidates"),
        ({"authority": "Qingdoa"}, 404, "suggestions"),
        ({}, 422, "needs the parameter"),
        ({"authority": "Brest", "colour": "red"}, 422, "no parameter 'colour'"),
        ({"authority": "Brest", "limit": "10001"}, 422, "limit"),
        ({"authority": "Brest", "offset": "-3"}, 422, "offset"),
        ({"authority": "http://x/a>b"}, 422, "not a valid IRI"),
        ({"authority": '" } ; DROP ALL ; #'}, 404, "No authority"),
        ({"authority": "Brest", "lang": "xx"}, 422, "not one of en, fr"),
    ],
)
def test_bad_input_gets_one_clear_error(api: TestClient, params: dict[str, str], status: int, fragment: str) -> None:
    response = api.get("/api/queries/partners-of", params=params)
    assert response.status_code == status
    body = response.json()
    assert fragment in response.text
    assert "Traceback" not in response.text and "/work/" not in response.text
    assert body["message"].count(". ") <= 2


def test_ambiguous_name_lists_candidates(api: TestClient) -> None:
    body = api.get("/api/queries/network-members", params={"network": "Test Network"}).json()
    assert {m["memberLabel"] for m in body["results"]} == {"Vienne", "Isère", "La Rochelle"}
    conflict = api.get("/api/queries/partners-of", params={"authority": "vienne"}).json()
    assert sorted(c["iri"] for c in conflict["candidates"]) == [ID + "authority/vienne", ID + "authority/vienne-departement"]


def test_repeated_parameter_and_unknown_query(api: TestClient) -> None:
    assert api.get("/api/queries/partners-of?authority=Brest&authority=Paris").status_code == 422
    unknown = api.get("/api/queries/partner-of")
    assert unknown.status_code == 404 and unknown.json()["suggestions"][0] == "partners-of"
    assert api.get("/api/queries/nothing.csv").status_code == 404


def test_openapi_has_one_operation_per_query_with_parameters(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    operation = spec["paths"]["/api/queries/cooperations"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == {"country", "partnerCountry", "sector", "kind", "since", "until", "lang", "limit", "offset"}
    assert parameters["lang"]["schema"]["enum"] == ["en", "fr"]
    assert parameters["since"]["schema"]["type"] == "integer" and parameters["since"]["example"] == 1980
    assert parameters["country"]["example"] == "FR"
    assert operation["summary"] == "Who cooperates with whom"
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv", "application/sparql-results+json"}
    assert "/api/queries/partners-of" in spec["paths"]
    assert "cooperations" in api.get("/docs").text or api.get("/docs").status_code == 200


def test_adding_a_query_file_adds_an_endpoint(tmp_path: Path, fixture_settings: Settings) -> None:
    folder = copy_shipped_queries(tmp_path / "queries")
    (folder / "twin-towns.rq").write_text(
        "#+ summary: Twinnings since a year\n"
        "#+ parameters:\n"
        "#+   since:\n"
        "#+     type: year\n"
        "#+     example: \"1990\"\n"
        "PREFIX coop: <https://w3id.org/coopgraph/ontology#>\n"
        "SELECT ?partnership ?year ?_since WHERE {\n"
        "  ?partnership coop:partnershipKind <https://w3id.org/coopgraph/id/partnership-kind/twinning> ;\n"
        "               coop:startYear ?year .\n"
        "  FILTER(COALESCE(?year >= ?_since, true))\n"
        "}\nORDER BY ?year\n",
        encoding="utf-8",
    )
    with TestClient(create_app(fixture_settings.model_copy(update={"queries_dir": folder}))) as client:
        assert client.get("/api/queries/twin-towns", params={"since": "1990"}).json()["results"] == [
            {"partnership": ID + "partnership/brest--qingdao", "year": "1993"}]
        spec = client.get("/openapi.json").json()["paths"]["/api/queries/twin-towns"]["get"]
        assert spec["summary"] == "Twinnings since a year"
        assert [p["name"] for p in spec["parameters"]] == ["since", "limit", "offset"]
    (folder / "broken.rq").write_text("#+ summary: broken\nSELECT WHERE {", encoding="utf-8")
    with pytest.raises(InputUnusable, match="broken.rq"):
        create_app(fixture_settings.model_copy(update={"queries_dir": folder}))


# ---------------------------------------------------------------- the shipped data, through a real server


def get(live_server: object, name: str, **params: str) -> list[dict[str, str | None]]:
    response = httpx.get(f"{live_server.url}/api/queries/{name}", params=params, timeout=30)  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_every_example_url_answers_with_the_shipped_data(live_server: object) -> None:
    listed = httpx.get(f"{live_server.url}/api/queries", timeout=30).json()["queries"]  # type: ignore[attr-defined]
    for query in listed:
        response = httpx.get(query["exampleUrl"], timeout=30)
        assert response.status_code == 200, (query["name"], response.text)


def test_rhone_alpes_partners_include_shanghai_and_baden_wurttemberg(live_server: object) -> None:
    partners = get(live_server, "partners-of", authority="rhone alpes")
    links = {(p["partner"], p["relation"], p["via"]) for p in partners}
    assert (ID + "authority/shanghai", "partnership", ID + "partnership/rhone-alpes--shanghai") in links
    assert (ID + "authority/baden-wurttemberg", "network", ID + "network/four-motors-for-europe") in links
    assert len(partners) == len({(p["partner"], p["relation"], p["via"]) for p in partners})


def test_alps_mediterranean_euroregion_has_its_five_regions(live_server: object) -> None:
    members = get(live_server, "network-members", network="Eurorégion Alpes-Méditerranée")
    assert {m["member"] for m in members} == {ID + f"authority/{slug}" for slug in (
        "rhone-alpes", "provence-alpes-cote-d-azur", "piedmont", "aosta-valley", "liguria")}


def test_four_motors_members_and_associates(live_server: object) -> None:
    members = {m["member"].rsplit("/", 1)[1]: m["role"] for m in get(live_server, "network-members", network="Four Motors for Europe")}  # type: ignore[union-attr]
    assert {"rhone-alpes", "baden-wurttemberg", "catalonia", "lombardy"} <= set(members)
    assert members.get("flanders") == "associate" and members.get("wales") == "associate"


@pytest.mark.parametrize(("name", "slug"), [("Pékin", "beijing"), ("Beijing", "beijing"), ("Canton", "guangzhou"),
                                            ("Guangzhou", "guangzhou"), ("rhone alpes", "rhone-alpes")])
def test_names_work_in_french_and_english(live_server: object, name: str, slug: str) -> None:
    found = get(live_server, "authorities", q=name)
    assert ID + f"authority/{slug}" in {a["authority"] for a in found}


def test_lyon_cooperates_with_canton(live_server: object) -> None:
    rows = get(live_server, "cooperations", country="FR", partnerCountry="CN")
    assert (ID + "authority/lyon", ID + "authority/guangzhou") in {(r["authority"], r["partner"]) for r in rows}
    assert ID + "authority/guangzhou" in {p["partner"] for p in get(live_server, "partners-of", authority="Lyon")}


def test_brest_and_la_rochelle_are_linked_through_qingdao(live_server: object) -> None:
    steps = get(live_server, "connection", **{"from": "Brest", "to": "La Rochelle"})
    assert steps and {s["length"] for s in steps} == {"2"}
    assert ID + "authority/qingdao" in {s["stepTo"] for s in steps if s["step"] == "1"}


def test_stats_count_partner_countries_decades_and_sectors(live_server: object) -> None:
    rows = get(live_server, "stats", limit="10000")
    dimensions = {r["dimension"] for r in rows}
    assert {"source", "authorityType", "country", "partnerCountry", "decade", "sector", "network"} <= dimensions
    china = next(r for r in rows if r["dimension"] == "partnerCountry" and r["notation"] == "CN")
    assert int(china["count"] or 0) >= 10


# ---------------------------------------------------------------- property-based run of the whole API


def test_no_server_error_anywhere_in_the_api(fixture_settings: Settings) -> None:
    """Schemathesis generates requests for every /api operation from its OpenAPI entry; none may answer 5xx."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(fixture_settings))
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith("/api/")]
    assert len(operations) >= 11

    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call()
            assert response.status_code < 500, (case.path, case.query, response.text[:300])

        no_server_error()
