"""The pages in a real headless browser: the path a researcher takes, from the home page to SPARQL."""

from __future__ import annotations

from urllib.parse import quote

from playwright.sync_api import expect

from tests.browser.conftest import Watched
from tests.conftest import LiveServer

XSS_TOWN = "https://w3id.org/coopgraph/id/authority/xss-town"


def test_from_home_to_lyon_its_partner_sources_and_network(live_server: LiveServer, watched: Watched) -> None:
    page = watched.page
    page.goto(live_server.url + "/")
    expect(page.locator("h1")).to_have_text("Who cooperates with whom")
    expect(page.locator(".figures")).to_contain_text("partnerships")
    watched.screenshot("home")

    page.fill("#home-search", "Lyon")
    page.press("#home-search", "Enter")
    page.wait_for_url("**/search?**")
    watched.screenshot("search-lyon")
    page.locator(".search-results a", has_text="Lyon").filter(has_text="Lyon").first.click()
    page.wait_for_url("**/id/authority/lyon**")
    expect(page.locator("h1")).to_have_text("Lyon")

    partners = page.locator("#partners")
    expect(partners).to_contain_text("Guangzhou")
    expect(partners.locator("a.source")).to_contain_text(["Annuaire des partenariats"])
    expect(page.locator("#sources")).to_contain_text("Annuaire des partenariats de coopération décentralisée franco-chinois")
    expect(page.locator("#place")).to_contain_text("45.7")
    watched.screenshot("lyon")

    page.click("#network-picture")
    page.wait_for_url("**/graph?**")
    page.wait_for_selector("#graph.interactive")
    circles = page.locator("#graph-svg circle").count()
    assert circles > 1
    expect(page.locator("#graph-svg")).to_contain_text("Guangzhou")
    watched.screenshot("lyon-network")
    assert watched.errors == []


def test_network_picture_recentres_on_a_clicked_node(live_server: LiveServer, watched: Watched) -> None:
    page = watched.page
    page.goto(live_server.url + "/graph?network=" + quote("https://w3id.org/coopgraph/id/network/four-motors-for-europe"))
    page.wait_for_selector("#graph.interactive")
    assert page.locator("#graph-svg circle").count() > 3
    page.wait_for_timeout(800)  # let the layout settle before clicking
    watched.screenshot("four-motors-network")
    page.locator("#graph-svg g.node.authority").first.locator("circle").click()
    page.wait_for_url("**/graph?authority=**")
    page.wait_for_selector("#graph.interactive")
    assert page.locator("#graph-svg g.node.centre").count() == 1
    assert watched.errors == []


def test_query_page_runs_an_example_and_the_permalink_reopens_it(live_server: LiveServer, watched: Watched) -> None:
    page = watched.page
    page.goto(live_server.url + "/query")
    page.locator("a.example", has_text="Who cooperates with whom").click()
    page.wait_for_selector("#results table tbody tr")
    rows = page.locator("#results table tbody tr").all_inner_texts()
    assert len(rows) > 5
    assert page.locator("#download-csv").get_attribute("href", timeout=1000).startswith("/sparql?")  # type: ignore[union-attr]
    watched.screenshot("query-example")

    permalink = page.locator("#permalink").get_attribute("href")
    assert permalink and permalink.startswith("/query?query=")
    page.goto(live_server.url + "/")
    page.goto(live_server.url + permalink)
    page.wait_for_selector("#results table tbody tr")
    assert page.locator("#results table tbody tr").all_inner_texts() == rows

    # Ctrl+Enter runs what is in the editor.
    page.fill("#query", "SELECT ?n WHERE { VALUES ?n { 1 2 3 } }")
    page.press("#query", "Control+Enter")
    page.wait_for_function("document.querySelector('#row-count') && document.querySelector('#row-count').textContent === '3'")
    assert watched.errors == []


def test_french_pages_by_the_language_switch(live_server: LiveServer, watched: Watched) -> None:
    page = watched.page
    page.goto(live_server.url + "/id/authority/lyon")
    page.click("a.lang")
    expect(page.locator("#partners h2")).to_contain_text("Partenaires")
    expect(page.locator("#partners")).to_contain_text("Canton")
    watched.screenshot("lyon-fr")
    assert watched.errors == []


def test_markup_in_labels_is_shown_as_text_and_never_run(hostile_server: LiveServer, watched: Watched) -> None:
    page = watched.page
    for path in (
        "/id/authority/xss-town",
        "/id/partnership/xss-town--lyon",
        "/id/authority/lyon",
        "/search?q=script",
        "/graph?authority=" + quote(XSS_TOWN),
        "/query?query=" + quote("SELECT ?l WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l FILTER(CONTAINS(?l, '<')) }"),
        "/id/source/test-xss",
    ):
        page.goto(hostile_server.url + path)
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)
    page.goto(hostile_server.url + "/id/authority/xss-town")
    expect(page.locator("h1")).to_have_text("<script>alert(1)</script>")
    watched.screenshot("hostile-label")
    assert watched.dialogs == []
    # The labels' scripts were refused or never became elements: no error from running them either.
    assert not any("alert" in error for error in watched.errors)
