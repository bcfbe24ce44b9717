"""Pages for people: home, search, resource pages, the query page, network pictures, ontology, VoID, dumps.

Server-rendered HTML (Jinja2, autoescaped: labels come from data and may hold
markup) in English or French (``?lang=`` or ``Accept-Language``), working
without JavaScript; the scripts in ``static/`` only improve it. Every HTML
answer carries the security headers of ``SECURITY_HEADERS`` (a CSP that allows
no inline script). Routes are plain ``def``: backend calls block.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import pyoxigraph as ox
from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from coopgraph import __version__, canned, linked_data, names
from coopgraph.backend import Backend, solutions
from coopgraph.errors import CoopgraphError, InvalidParameter, UnknownResource
from coopgraph.sparql_binding import bind_values
from coopgraph.store import GRAPH_BASE, ID_BASE, ONTOLOGY_NS

router = APIRouter(include_in_schema=False)

HERE = Path(__file__).resolve().parent
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
LANGUAGES = ("en", "fr")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABELS = ("http://www.w3.org/2000/01/rdf-schema#label", "http://www.w3.org/2004/02/skos/core#prefLabel",
          "http://purl.org/dc/terms/title")
LAT, LONG = linked_data.GEO + "lat", linked_data.GEO + "long"
LOCATION = ONTOLOGY_NS + "location"

# Names of the non-coop properties shown most often (coop: ones come from the ontology).
COMMON_PROPERTIES = {
    RDF_TYPE: ("type", "type"),
    "http://www.w3.org/2000/01/rdf-schema#label": ("label", "libellé"),
    "http://www.w3.org/2004/02/skos/core#prefLabel": ("preferred label", "libellé préféré"),
    "http://www.w3.org/2004/02/skos/core#altLabel": ("other name", "autre nom"),
    "http://www.w3.org/2004/02/skos/core#notation": ("code", "code"),
    "http://www.w3.org/ns/prov#wasDerivedFrom": ("source", "source"),
    "http://www.w3.org/ns/org#member": ("member", "membre"),
    "http://www.w3.org/ns/org#organization": ("organisation", "organisation"),
    "http://www.w3.org/ns/org#role": ("role", "rôle"),
    "http://www.w3.org/ns/org#hasMember": ("has member", "a pour membre"),
    "http://purl.org/dc/terms/title": ("title", "titre"),
    "http://purl.org/dc/terms/description": ("description", "description"),
    "http://purl.org/dc/terms/publisher": ("publisher", "éditeur"),
    LAT: ("latitude", "latitude"),
    LONG: ("longitude", "longitude"),
}

GRAPH_NOTES = {
    GRAPH_BASE + "inferred": ("derived by the build from the partnerships and memberships",
                              "déduit à la construction des partenariats et des appartenances"),
    GRAPH_BASE + "reference": ("reference data: ISO 3166 countries and GeoNames places",
                               "données de référence : pays ISO 3166 et lieux GeoNames"),
    GRAPH_BASE + "ontology": ("the coopgraph ontology", "l'ontologie coopgraph"),
    GRAPH_BASE + "thesauri": ("the coopgraph thesauri", "les thésaurus coopgraph"),
    GRAPH_BASE + "void": ("dataset statistics computed by the build", "statistiques calculées à la construction"),
}


# ---------------------------------------------------------------- rendering


@functools.cache
def environment() -> jinja2.Environment:
    """The template environment (autoescape on for every template)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["urlencode_query"] = lambda pairs: urlencode(pairs)
    return env


def language(request: Request) -> str:
    """``?lang=`` if it is en or fr, else the first of en/fr in ``Accept-Language``, else en."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    best, best_q = "en", 0.0
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, parameter = part.strip().partition(";")
        primary = tag.strip().lower()[:2]
        try:
            quality = float(parameter.strip().removeprefix("q=")) if parameter.strip().startswith("q=") else 1.0
        except ValueError:
            quality = 0.0
        if primary in LANGUAGES and quality > best_q:
            best, best_q = primary, quality
    return best


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the shared layout context; HTML with security headers."""
    lang = language(request)
    other = "fr" if lang == "en" else "en"
    switch = {**request.query_params, "lang": other}
    context.setdefault("title", "coopgraph")
    html = environment().get_template(template).render(
        lang=lang,
        other_lang=other,
        switch_url=f"{request.url.path}?{urlencode(switch)}",
        tr=lambda en, fr: fr if lang == "fr" else en,
        href=href,
        version=__version__,
        **context,
    )
    headers = {**SECURITY_HEADERS, "Vary": "Accept, Accept-Language", "Content-Language": lang}
    return HTMLResponse(html, status_code=status, headers=headers)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """The HTML page for an error (used by ``web/errors.py`` for browsers)."""
    return render(request, "error.html", status=status, title=str(status), code=status, message=message)


def href(iri: str) -> str:
    """Where a page links for ``iri``: coopgraph IRIs stay on this server, others go out."""
    if iri.startswith(ID_BASE):
        return "/id/" + iri.removeprefix(ID_BASE)
    if iri.startswith(ONTOLOGY_NS):
        return "/ontology#" + iri.removeprefix(ONTOLOGY_NS)
    if iri.rstrip("#") == ONTOLOGY_NS.rstrip("#"):
        return "/ontology"
    return iri


def curie(iri: str) -> str:
    """``coop:partner`` for a known namespace, else the IRI."""
    for prefix, namespace in linked_data.PREFIXES.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri.removeprefix(namespace)}"
    return iri


def pick(literals: Iterable[ox.Literal], lang: str) -> str | None:
    """The literal in ``lang``, else in the other language, else any."""
    ranked = sorted(literals, key=lambda lit: (lit.language != lang, lit.language not in LANGUAGES, lit.value))
    return ranked[0].value if ranked else None


class Labels:
    """Labels of IRIs in the page's language, from quads (labels, titles) and the vocabulary."""

    def __init__(self, quads: Iterable[ox.Quad], lang: str, vocabulary: Mapping[str, list[ox.Literal]]) -> None:
        self.lang = lang
        found: dict[str, list[ox.Literal]] = defaultdict(list)
        for quad in quads:
            if quad.predicate.value in LABELS and isinstance(quad.object, ox.Literal):
                found[linked_data.text(quad.subject)].append(quad.object)
        self.found = {**vocabulary, **found}

    def __call__(self, iri: str) -> str:
        label = pick(self.found.get(iri, ()), self.lang)
        if label:
            return label
        common = COMMON_PROPERTIES.get(iri)
        if common:
            return common[self.lang == "fr"]
        return curie(iri)


def vocabulary_labels(request: Request) -> dict[str, list[ox.Literal]]:
    """Labels of the ontology's classes and properties and the thesauri concepts (cached per data version)."""
    backend = _backend(request)
    cache: dict[str, dict[str, list[ox.Literal]]] = request.app.state.__dict__.setdefault("vocabulary_labels", {})
    version = backend.version()
    if version not in cache:
        labels: dict[str, list[ox.Literal]] = defaultdict(list)
        for graph in ("ontology", "thesauri"):
            for quad in linked_data.graph_quads(backend, GRAPH_BASE + graph):
                if quad.predicate.value in LABELS[:2] and isinstance(quad.object, ox.Literal):
                    labels[linked_data.text(quad.subject)].append(quad.object)
        cache.clear()
        cache[version] = dict(labels)
    return cache[version]


def _backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


def sources_by_graph(request: Request) -> dict[str, dict[str, str]]:
    """Each source graph → its source document (IRI and title)."""
    return {
        row["graph"].value: {"iri": row["source"].value, "title": row["title"].value if "title" in row else row["source"].value}
        for row in linked_data.select(_backend(request), "sources")
    }


def provenance(request: Request, graphs: Iterable[str]) -> list[dict[str, str]]:
    """Where statements in ``graphs`` come from: source documents, or what the build added."""
    lang = language(request)
    sources = sources_by_graph(request)
    listed = []
    for graph in sorted(set(graphs)):
        if graph in sources:
            listed.append({"graph": graph, **sources[graph], "note": ""})
        else:
            note = GRAPH_NOTES.get(graph, ("", ""))[lang == "fr"]
            listed.append({"graph": graph, "iri": "", "title": "", "note": note})
    return listed


# ---------------------------------------------------------------- resource pages


def value_view(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple, labels: Labels) -> dict[str, Any]:
    """How a value is shown: a link with a label, a literal with its language or datatype, or a blank node."""
    if isinstance(term, ox.NamedNode):
        return {"kind": "iri", "iri": term.value, "href": href(term.value), "label": labels(term.value)}
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value.removeprefix(linked_data.XSD)
        return {"kind": "literal", "text": term.value, "lang": term.language or "",
                "datatype": "" if term.language or datatype == "string" else datatype}
    return {"kind": "blank", "id": linked_data.text(term)}


def statements_view(
    quads: Iterable[ox.Quad], subject: ox.NamedNode | ox.BlankNode, labels: Labels, sources: Mapping[str, dict[str, str]],
    all_quads: tuple[ox.Quad, ...], depth: int = 0,
) -> list[dict[str, Any]]:
    """The statements about ``subject`` grouped by property; blank-node values are expanded (two levels)."""
    grouped: dict[str, dict[str, Any]] = {}
    for quad in quads:
        if quad.subject != subject:
            continue
        prop = grouped.setdefault(quad.predicate.value, {
            "iri": quad.predicate.value, "href": href(quad.predicate.value), "label": labels(quad.predicate.value),
            "curie": curie(quad.predicate.value), "values": {},
        })
        key = str(quad.object)
        value = prop["values"].get(key)
        if value is None:
            value = value_view(quad.object, labels)
            value["graphs"] = []
            if isinstance(quad.object, ox.BlankNode) and depth < 2:
                value["parts"] = statements_view(all_quads, quad.object, labels, sources, all_quads, depth + 1)
            prop["values"][key] = value
        graph = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else ""
        if graph not in value["graphs"]:
            value["graphs"].append(graph)
    for prop in grouped.values():
        prop["values"] = sorted(prop["values"].values(), key=lambda v: (v.get("label") or v.get("text") or "").lower())
    first = (RDF_TYPE, *LABELS)
    return sorted(grouped.values(), key=lambda p: (p["iri"] not in first, first.index(p["iri"]) if p["iri"] in first else 0, p["label"].lower()))


def resource_page(request: Request, description: linked_data.Description) -> HTMLResponse:
    """The page of one resource: properties, parts, incoming links, sources, partners, networks, map."""
    backend = _backend(request)
    lang = language(request)
    iri = description.iri
    labels = Labels(description.quads, lang, vocabulary_labels(request))
    sources = sources_by_graph(request)
    own = description.about()
    types = list(dict.fromkeys(q.object.value for q in own if q.predicate.value == RDF_TYPE and isinstance(q.object, ox.NamedNode)))
    incoming: dict[str, dict[str, Any]] = {}
    for row in linked_data.select(backend, "incoming-counts", {"resource": iri}):
        prop = row["p"].value
        incoming[prop] = {"iri": prop, "label": labels(prop), "curie": curie(prop), "count": int(row["count"].value), "subjects": []}
    for quad in description.quads:
        if quad.object == iri and isinstance(quad.subject, ox.NamedNode) and quad.predicate.value in incoming:
            subjects = incoming[quad.predicate.value]["subjects"]
            view = value_view(quad.subject, labels)
            if view not in subjects:
                subjects.append(view)
    extra: dict[str, Any] = {"partners": [], "networks": [], "members": []}
    bindings: dict[str, ox.NamedNode | ox.Literal | ox.BlankNode] = {"resource": iri, "lang": ox.Literal(lang)}
    if ONTOLOGY_NS + "Authority" in types:
        extra["partners"] = _with_sources(linked_data.select(backend, "authority-partners", bindings), sources)
        extra["networks"] = _with_sources(linked_data.select(backend, "authority-networks", bindings), sources)
    place = _position(description)
    sparql = (
        f"SELECT ?graph ?property ?value WHERE {{\n  GRAPH ?graph {{ <{iri.value}> ?property ?value }}\n}}\nORDER BY ?property"
    )
    path = "/id/" + iri.value.removeprefix(ID_BASE)
    graphs = {q.graph_name.value for q in description.quads
              if isinstance(q.graph_name, ox.NamedNode) and (q.subject == iri or isinstance(q.subject, ox.BlankNode))}
    listed = provenance(request, graphs)
    source_refs = {p["graph"]: {"href": f"#src-{n}", "short": str(n), "title": p["title"] or p["note"]} for n, p in enumerate(listed, 1)}
    return render(
        request, "resource.html",
        title=labels(iri.value),
        iri=iri.value,
        path=path,
        types=[{"iri": t, "href": href(t), "label": labels(t)} for t in types],
        properties=statements_view(description.quads, iri, labels, sources, description.quads),
        incoming=sorted(incoming.values(), key=lambda p: -p["count"]),
        provenance=listed,
        source_refs=source_refs,
        place=place,
        sparql_url="/query?" + urlencode({"query": sparql}),
        formats=[("ttl", "Turtle"), ("jsonld", "JSON-LD"), ("nt", "N-Triples"), ("rdf", "RDF/XML"), ("nq", "N-Quads"), ("trig", "TriG")],
        graph_kind="authority" if ONTOLOGY_NS + "Authority" in types else "network" if ONTOLOGY_NS + "Network" in types else "",
        truncated=description.truncated,
        **extra,
    )


def _with_sources(rows: list[dict[str, Any]], sources: Mapping[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Rows with plain values and their ``graphs`` turned into source documents."""
    listed = []
    for row in rows:
        plain = {name: term.value for name, term in row.items()}
        plain["sources"] = [sources[g] for g in plain.pop("graphs", "").split() if g in sources]
        listed.append(plain)
    return listed


def _position(description: linked_data.Description) -> dict[str, Any] | None:
    """Latitude and longitude of the resource (through ``coop:location``, or its own), with a map link."""
    places = {q.object for q in description.about() if q.predicate.value == LOCATION} | {description.iri}
    coordinates: dict[str, float] = {}
    for quad in description.quads:
        if quad.subject in places and quad.predicate.value in (LAT, LONG):
            coordinates[quad.predicate.value] = float(linked_data.text(quad.object))
    if len(coordinates) < 2:
        return None
    lat, lon = coordinates[LAT], coordinates[LONG]
    return {"lat": lat, "long": lon, "osm": f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=10/{lat}/{lon}"}


def ontology_page(request: Request, quads: list[ox.Quad]) -> HTMLResponse:
    """Documentation of the ontology (classes, properties) and the thesauri (schemes and concepts)."""
    lang = language(request)
    labels = Labels(quads, lang, {})
    by_subject: dict[str, dict[str, list[ox.NamedNode | ox.Literal | ox.BlankNode | ox.Triple]]] = defaultdict(lambda: defaultdict(list))
    for quad in quads:
        by_subject[linked_data.text(quad.subject)][quad.predicate.value].append(quad.object)

    def entry(iri: str) -> dict[str, Any]:
        facts = by_subject[iri]
        def texts(prop: str, language_tag: str) -> str:
            return " ".join(lit.value for lit in facts.get(prop, []) if isinstance(lit, ox.Literal) and lit.language == language_tag)
        def links(prop: str) -> list[dict[str, str]]:
            return [{"href": href(t.value), "label": labels(t.value), "curie": curie(t.value)} for t in facts.get(prop, []) if isinstance(t, ox.NamedNode)]
        return {
            "iri": iri, "anchor": iri.removeprefix(ONTOLOGY_NS), "curie": curie(iri), "href": href(iri),
            "label_en": texts(linked_data.RDFS + "label", "en"), "label_fr": texts(linked_data.RDFS + "label", "fr"),
            "definition_en": texts("http://www.w3.org/2004/02/skos/core#definition", "en"),
            "definition_fr": texts("http://www.w3.org/2004/02/skos/core#definition", "fr"),
            "types": links(RDF_TYPE), "superclasses": links(linked_data.RDFS + "subClassOf"),
            "superproperties": links(linked_data.RDFS + "subPropertyOf"),
            "domains": links(linked_data.RDFS + "domain"), "ranges": links(linked_data.RDFS + "range"),
        }

    def typed(*classes: str) -> list[str]:
        return sorted(
            s for s, facts in by_subject.items()
            if s.startswith(ONTOLOGY_NS) and any(ox.NamedNode(c) in facts.get(RDF_TYPE, []) for c in classes)
        )

    skos = "http://www.w3.org/2004/02/skos/core#"
    schemes = []
    for scheme in typed_all(by_subject, skos + "ConceptScheme"):
        concepts = sorted(
            (s for s, facts in by_subject.items() if ox.NamedNode(scheme) in facts.get(skos + "inScheme", [])),
            key=lambda s: labels(s).lower(),
        )
        schemes.append({**entry(scheme), "href": href(scheme), "label": labels(scheme), "concepts": [
            {"iri": c, "href": href(c), "label": labels(c),
             "other": pick([lit for lit in by_subject[c].get(skos + "prefLabel", []) if isinstance(lit, ox.Literal) and lit.language != lang], lang) or "",
             "notation": " ".join(linked_data.text(n) for n in by_subject[c].get(skos + "notation", [])),
             "broader": [{"href": href(linked_data.text(b)), "label": labels(linked_data.text(b))} for b in by_subject[c].get(skos + "broader", [])]}
            for c in concepts
        ]})
    owl = linked_data.OWL
    ontology = entry(ONTOLOGY_NS.rstrip("#"))
    return render(
        request, "ontology.html", title="coopgraph ontology",
        ontology=ontology,
        description=pick([lit for lit in by_subject[ONTOLOGY_NS.rstrip("#")].get(linked_data.DCT + "description", []) if isinstance(lit, ox.Literal)], lang) or "",
        classes=[entry(c) for c in typed(owl + "Class")],
        object_properties=[entry(p) for p in typed(owl + "ObjectProperty")],
        datatype_properties=[entry(p) for p in typed(owl + "DatatypeProperty") if p not in typed(owl + "ObjectProperty")],
        schemes=schemes,
    )


def typed_all(by_subject: Mapping[str, Mapping[str, list[Any]]], cls: str) -> list[str]:
    """Subjects of any namespace that have the type ``cls``."""
    return sorted(s for s, facts in by_subject.items() if ox.NamedNode(cls) in facts.get(RDF_TYPE, []))


def void_page(request: Request, quads: list[ox.Quad]) -> HTMLResponse:
    """The VoID/DCAT description as a page (the same view as a resource)."""
    dataset = ox.NamedNode(linked_data.DATASET_IRI)
    description = linked_data.Description(dataset, tuple(quads))
    labels = Labels(quads, language(request), vocabulary_labels(request))
    return render(
        request, "void.html", title="VoID",
        iri=dataset.value,
        properties=statements_view(quads, dataset, labels, {}, description.quads),
    )


def dumps_page(request: Request, files: Mapping[str, str], media_types: Mapping[str, str]) -> HTMLResponse:
    """The list of dumps with their formats."""
    names_ = {"nq": "N-Quads", "trig": "TriG", "ttl": "Turtle", "nt": "N-Triples", "jsonld": "JSON-LD", "rdf": "RDF/XML"}
    dumps = [{"name": names_[n], "file": f, "media_type": media_types[n], "graphs": ox_supports_datasets(n)} for n, f in files.items()]
    return render(request, "dumps.html", title="Dumps", dumps=dumps)


def ox_supports_datasets(name: str) -> bool:
    """Whether the dump format keeps named graphs."""
    return name in ("nq", "trig")


# ---------------------------------------------------------------- home, search


@router.get("/static/{name}", name="static")
def static(name: str) -> Response:
    """A shipped asset, looked up by name among the files of ``static/`` (no path is ever built from input)."""
    files = {path.name: path for path in (HERE / "static").iterdir() if path.suffix in STATIC_TYPES}
    path = files.get(name)
    if path is None:
        raise UnknownResource(f"There is no static file named {name[:80]!r}.")
    return FileResponse(path, media_type=STATIC_TYPES[path.suffix], headers={"X-Content-Type-Options": "nosniff"})


@router.get("/", name="home")
def home(request: Request) -> HTMLResponse:
    """What the data is, figures, a search box, example queries and the networks."""
    backend = _backend(request)
    lang = language(request)
    figures = {name: int(term.value) for name, term in linked_data.select(backend, "figures")[0].items()}
    void = {q.predicate.value.removeprefix(linked_data.VOID): int(linked_data.text(q.object))
            for q in linked_data.graph_quads(backend, linked_data.VOID_GRAPH)
            if linked_data.text(q.subject) == linked_data.DATASET_IRI and q.predicate.value in (linked_data.VOID + "triples", linked_data.VOID + "entities")}
    networks: dict[str, dict[str, Any]] = {}
    for row in linked_data.select(backend, "networks"):
        entry = networks.setdefault(row["network"].value, {"href": href(row["network"].value), "labels": [], "members": int(row["members"].value)})
        entry["labels"].append(row["label"])
    network_list = sorted(({"href": n["href"], "label": pick(n["labels"], lang), "members": n["members"]} for n in networks.values()), key=lambda n: str(n["label"]).lower())
    return render(request, "home.html", figures=figures, void=void, networks=network_list, examples=examples(request)[:6])


@router.get("/search", name="search")
def search(request: Request, q: str = "") -> HTMLResponse:
    """Authorities and networks whose names contain ``q``."""
    found = names.search(_backend(request), q, limit=50) if q.strip() else []
    results = [{"href": href(c.iri), "label": c.label, "kind": c.kind, "country": c.country or "", "type": c.type or ""} for c in found]
    return render(request, "search.html", title=q or "Search", q=q, results=results)


# ---------------------------------------------------------------- query page


def examples(request: Request) -> list[dict[str, str]]:
    """The canned queries, each bound to its example arguments as standalone SPARQL (cached per data version)."""
    state = request.app.state
    backend = _backend(request)
    cache: dict[str, list[dict[str, str]]] = state.__dict__.setdefault("query_examples", {})
    version = backend.version()
    if version not in cache:
        registry = canned.load_registry(state.settings.queries_dir)
        listed = []
        for query in registry:
            try:
                substitutions, _shown = canned.bind(query, query.example_arguments(), backend)
            except CoopgraphError:
                continue  # an example name that no longer resolves: leave the query out
            sparql = bind_values(query.text_for(substitutions), substitutions).strip() + "\nLIMIT 100"
            listed.append({"name": query.name, "summary": query.summary, "sparql": sparql,
                           "url": "/query?" + urlencode({"query": sparql}),
                           "api": f"/api/queries/{query.name}?{urlencode(query.example_arguments())}"})
        cache.clear()
        cache[version] = listed
    return cache[version]


@router.get("/query", name="query_page")
def query_page(request: Request, query: str = "") -> HTMLResponse:
    """The query editor; with ``?query=`` it runs the query and shows the results (the URL is the permalink)."""
    results: dict[str, Any] | None = None
    error = ""
    status = 200
    if query.strip():
        try:
            results = run_for_page(request, query)
        except CoopgraphError as failure:
            error, status = failure.message, failure.status
    downloads = {fmt: "/sparql?" + urlencode({"query": query, "format": fmt}) for fmt in ("csv", "json")} if query.strip() else {}
    return render(request, "query.html", status=status, title="SPARQL", query=query, results=results, error=error,
                  examples=examples(request), downloads=downloads)


def run_for_page(request: Request, sparql: str) -> dict[str, Any]:
    """Run a query for the page: a table of solutions, a yes/no answer, or the triples of a graph."""
    settings = request.app.state.settings
    if len(sparql.encode()) > settings.max_query_bytes:
        raise InvalidParameter(f"The query is longer than {settings.max_query_bytes} bytes.")
    raw = _backend(request).query(sparql, graph_format=ox.RdfFormat.N_TRIPLES, timeout=settings.timeout)
    if raw.kind == "boolean":
        return {"boolean": b"true" in raw.body, "columns": [], "rows": [], "truncated": False}
    if raw.kind == "graph":
        columns = ["subject", "predicate", "object"]
        rows = [[_cell(t.subject), _cell(t.predicate), _cell(t.object)] for t in ox.parse(raw.body, ox.RdfFormat.N_TRIPLES)]
    else:
        parsed = solutions(raw)
        columns = [v.value for v in parsed.variables]
        rows = [[_cell(row[c]) for c in columns] for row in parsed]
    return {"boolean": None, "columns": columns, "rows": rows[:10_000], "truncated": raw.truncated or len(rows) > 10_000}


def _cell(term: Any) -> dict[str, str]:
    """A result cell: its text, a link for an IRI, the language of a literal."""
    if isinstance(term, ox.NamedNode):
        return {"text": curie(term.value), "href": href(term.value), "title": term.value, "lang": ""}
    if isinstance(term, ox.Literal):
        return {"text": term.value, "href": "", "title": "", "lang": term.language or ""}
    text = "" if term is None else f"_:{term.value}"
    return {"text": text, "href": "", "title": "", "lang": ""}


# ---------------------------------------------------------------- network pictures


def _graph_centre(request: Request, authority: str, network: str) -> tuple[str, ox.NamedNode]:
    """Which picture is asked for: ``authority`` or ``network``, each an IRI or a name."""
    if bool(authority) == bool(network):
        raise InvalidParameter("Give either authority= or network= (an IRI or a name), e.g. /graph?authority=Lyon.")
    kind = "authority" if authority else "network"
    candidate = names.resolve(_backend(request), authority or network, (kind,), parameter=kind)
    return kind, ox.NamedNode(candidate.iri)


def neighbourhood(request: Request, kind: str, centre: ox.NamedNode) -> dict[str, Any]:
    """Nodes (authorities, networks, actors) and links (partnerships, memberships) around ``centre``."""
    backend = _backend(request)
    lang = language(request)
    rows = linked_data.select(backend, f"{kind}-neighbourhood", {"resource": centre})
    label_terms: dict[str, list[ox.Literal]] = defaultdict(list)
    info: dict[str, dict[str, str]] = {}
    for row in linked_data.select(backend, "node-labels"):
        label_terms[row["node"].value].append(row["label"])
        info[row["node"].value] = {"type": row["type"].value.removeprefix(ONTOLOGY_NS).lower(),
                                   "country": row["country"].value if "country" in row else ""}
    ids = {centre.value} | {row[c].value for row in rows for c in ("from", "to")}
    nodes = [
        {"id": iri, "label": pick(label_terms.get(iri, []), lang) or curie(iri), "href": href(iri),
         "kind": info.get(iri, {}).get("type", "authority"), "country": info.get(iri, {}).get("country", ""),
         "centre": iri == centre.value}
        for iri in sorted(ids)
    ]
    links: dict[tuple[str, str, str], dict[str, str]] = {}
    for row in rows:
        a, b, via = row["from"].value, row["to"].value, row["via"].value
        key = (min(a, b), max(a, b), via)
        links[key] = {"source": key[0], "target": key[1], "relation": row["relation"].value, "via": via,
                      "viaLabel": pick(label_terms.get(via, []), lang) or curie(via), "href": href(via)}
    return {"centre": centre.value, "kind": kind, "nodes": nodes, "links": list(links.values())}


@router.get("/graph.json", name="graph_json")
def graph_json(request: Request, authority: str = "", network: str = "") -> JSONResponse:
    """The neighbourhood of an authority (two steps) or the members of a network, as nodes and links."""
    kind, centre = _graph_centre(request, authority, network)
    return JSONResponse(neighbourhood(request, kind, centre))


@router.get("/graph", name="graph_page")
def graph_page(request: Request, authority: str = "", network: str = "") -> HTMLResponse:
    """The picture of who cooperates with whom (drawn by ``static/graph.js``; a list without JavaScript)."""
    kind, centre = _graph_centre(request, authority, network)
    data = neighbourhood(request, kind, centre)
    by_id = {n["id"]: n for n in data["nodes"]}
    centre_node = by_id[centre.value]
    layout = radial_layout(data)
    return render(request, "graph.html", title=centre_node["label"], data=data, centre=centre_node, by_id=by_id,
                  layout=layout, json_url="/graph.json?" + urlencode({kind: centre.value, "lang": language(request)}))


def radial_layout(data: Mapping[str, Any], size: float = 800) -> dict[str, tuple[float, float]]:
    """Positions for the picture without JavaScript: the centre, its neighbours on a ring, the rest outside."""
    centre = data["centre"]
    neighbours = {lit["target"] if lit["source"] == centre else lit["source"] for lit in data["links"] if centre in (lit["source"], lit["target"])}
    rings = [[centre], sorted(neighbours - {centre}), sorted({n["id"] for n in data["nodes"]} - neighbours - {centre})]
    positions = {}
    for depth, ring in enumerate(rings):
        for index, node in enumerate(ring):
            angle = 2 * math.pi * index / max(1, len(ring))
            radius = depth * size * 0.2
            positions[node] = (round(size / 2 + radius * math.cos(angle), 1), round(size / 2 + radius * math.sin(angle), 1))
    return positions
