"""Build: ontology, thesauri, reference data and ``data/`` → a validated, enriched store generation.

Atomic: everything is written to a staging generation that is published only
when loading, validation and enrichment all succeeded (see ``store.StoreRoot``).
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from coopgraph import reference
from coopgraph.errors import DataInvalid, InputUnusable
from coopgraph.inference import materialise_inferred
from coopgraph.resources import resource_dir
from coopgraph.store import GRAPH_BASE, ID_BASE, ONTOLOGY_NS, StoreRoot, graph_iri, write_failures_explained
from coopgraph.validation import ValidationReport
from coopgraph.validation_sparql import validate_store

COOP = ONTOLOGY_NS
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
VOID = "http://rdfs.org/ns/void#"
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
DATASET_IRI = ox.NamedNode(ID_BASE + "dataset/coopgraph")
DATA_VERSION = ox.NamedNode(COOP + "dataVersion")
IMPORTS_FOLDER = "imports"
DERIVED_GRAPHS = ("reference", "inferred", "void")

Progress = Callable[[str], None]


@dataclass
class BuildResult:
    """What a successful build produced."""

    generation: Path
    quads: int
    graphs: dict[str, int] = field(default_factory=dict)
    report: ValidationReport | None = None


@dataclass(frozen=True)
class GraphSource:
    """Files loaded into one named graph."""

    name: str
    files: tuple[Path, ...]


def data_sources(data_dir: Path, imports_dir: Path | None = None) -> list[GraphSource]:
    """The named graphs of a build: one per folder of ``data_dir``, one per imported file."""
    sources = [
        GraphSource(folder.name, tuple(sorted(folder.glob("*.ttl"))))
        for folder in sorted(p for p in data_dir.iterdir() if p.is_dir())
    ]
    if imports_dir is not None and imports_dir.is_dir():
        sources += [
            GraphSource(f"import/{path.stem}", (path,)) for path in sorted(imports_dir.glob("*.ttl"))
        ]
    return [s for s in sources if s.files]


def vocabulary_sources() -> list[GraphSource]:
    ontology = resource_dir("ontology")
    return [
        GraphSource("ontology", (ontology / "coopgraph.ttl",)),
        GraphSource("thesauri", tuple(sorted(p for p in ontology.glob("*.ttl") if p.name != "coopgraph.ttl"))),
    ]


def _load(store: ox.Store, source: GraphSource) -> None:
    # bulk_load skips the per-load transaction: the staging generation is thrown away
    # as a whole if anything fails, so nothing half-loaded is ever published.
    for path in source.files:
        try:
            store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=graph_iri(source.name))
        except (SyntaxError, ValueError, UnicodeDecodeError) as error:
            raise InputUnusable(f"{path}: not valid Turtle: {error}") from error


def build(
    root: StoreRoot,
    *,
    data_dir: Path | None = None,
    extra: Iterable[GraphSource] = (),
    progress: Progress = lambda _step: None,
) -> BuildResult:
    """Build a new generation from the shipped vocabularies, ``data_dir`` and ``extra`` graphs.

    Imported files kept in the store root are included. Raises ``DataInvalid``
    (with ``details["report"]``) when the data does not conform, ``InputUnusable``
    when a file cannot be parsed; in both cases the current generation is untouched.
    """
    data_dir = data_dir or resource_dir("data")
    with root.writer_lock(), write_failures_explained():
        extra = list(extra)
        # An extra source replaces a shipped or imported graph of the same name (re-importing a file).
        replaced = {source.name for source in extra}
        sources = [
            s for s in vocabulary_sources() + data_sources(data_dir, root.root / IMPORTS_FOLDER)
            if s.name not in replaced
        ] + extra
        staging = root.new_staging()
        try:
            store = ox.Store(str(staging))
            for source in sources:
                progress(f"Loading {source.name}")
                _load(store, source)
            progress("Adding countries and GeoNames places")
            store.extend(list(reference_quads(store)))
            progress("Validating against the SHACL shapes")
            # Shapes compiled to SPARQL and run on the staging store itself: no rdflib copy
            # (pySHACL, the reference, stays behind `coopgraph validate`; see validation_sparql).
            report = validate_store(store)
            if not report.conforms:
                raise DataInvalid(report.summary(), report=report)
            progress("Materialising who cooperates with whom")
            materialise_inferred(store)
            progress("Computing dataset statistics")
            store.extend(list(void_quads(store)))
            store.flush()
            graphs = graph_sizes(store)
            quads = len(store)
            del store
            generation = root.publish(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return BuildResult(generation=generation, quads=quads, graphs=graphs, report=report)


def _select(store: ox.Store, sparql: str) -> Iterator[ox.QuerySolution]:
    result = store.query(sparql, use_default_graph_as_union=True)
    assert isinstance(result, ox.QuerySolutions)
    yield from result


def reference_quads(store: ox.Store) -> Iterator[ox.Quad]:
    """Countries, and GeoNames places for cities that the shipped gazetteer resolves unambiguously."""
    graph = graph_iri("reference")
    yield from reference.country_quads(graph)
    tiers = " ".join(f"<{ID_BASE}authority-type/{t}>" for t in reference.CITY_TIERS)
    names: dict[str, tuple[str, list[str]]] = {}
    for row in _select(
        store,
        f"""PREFIX coop: <{COOP}>
        SELECT ?authority ?country ?name WHERE {{
            ?authority a coop:Authority ; coop:authorityType ?type ; coop:country ?country ;
                       <http://www.w3.org/2000/01/rdf-schema#label>|<http://www.w3.org/2004/02/skos/core#altLabel> ?name .
            VALUES ?type {{ {tiers} }}
        }}""",
    ):
        authority = row["authority"].value
        code = row["country"].value.rsplit("/", 1)[-1].upper()
        names.setdefault(authority, (code, []))[1].append(row["name"].value)
    for authority, (code, labels) in sorted(names.items()):
        geonameid = reference.resolve_city(code, labels)
        if geonameid is not None:
            yield from reference.place_quads(ox.NamedNode(authority), geonameid, graph)


def void_quads(store: ox.Store) -> Iterator[ox.Quad]:
    """VoID statistics of the whole dataset and of each named graph."""
    graph = graph_iri("void")

    def stat(subject: ox.NamedNode, prop: str, value: int) -> ox.Quad:
        return ox.Quad(subject, ox.NamedNode(VOID + prop), ox.Literal(str(value), datatype=XSD_INTEGER), graph)

    yield ox.Quad(DATASET_IRI, RDF_TYPE, ox.NamedNode(VOID + "Dataset"), graph)
    # A token unique to this build: a remote store's ``version()`` (and so every ETag) follows it.
    yield ox.Quad(DATASET_IRI, DATA_VERSION, ox.Literal(uuid.uuid4().hex), graph)
    # The statistics quads themselves are not counted: they describe the rest.
    statistics = next(_select(store, (resource_dir("queries") / "internal" / "dataset-statistics.rq").read_text()))
    for name in ("triples", "entities", "classes", "properties", "distinctSubjects", "distinctObjects"):
        yield stat(DATASET_IRI, name, int(statistics[name].value))
    for name, size in graph_sizes(store).items():
        subset = ox.NamedNode(f"{ID_BASE}dataset/coopgraph/graph/{name}")
        yield ox.Quad(DATASET_IRI, ox.NamedNode(VOID + "subset"), subset, graph)
        yield ox.Quad(subset, RDF_TYPE, ox.NamedNode(VOID + "Dataset"), graph)
        yield ox.Quad(subset, ox.NamedNode("http://www.w3.org/ns/sparql-service-description#name"), graph_iri(name), graph)
        yield stat(subset, "triples", size)
    for row in _select(store, "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c"):
        if not isinstance(row["c"], ox.NamedNode):
            continue
        partition = ox.NamedNode(f"{ID_BASE}dataset/coopgraph/class/{_slug_of_iri(row['c'].value)}")
        yield ox.Quad(DATASET_IRI, ox.NamedNode(VOID + "classPartition"), partition, graph)
        yield ox.Quad(partition, ox.NamedNode(VOID + "class"), row["c"], graph)
        yield stat(partition, "entities", int(row["n"].value))


def _slug_of_iri(iri: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", iri.lower()).strip("-")


def graph_sizes(store: ox.Store) -> dict[str, int]:
    """Quads per named graph, by short name (the part after the graph base IRI)."""
    sizes = {
        row["g"].value.removeprefix(GRAPH_BASE): int(row["n"].value)
        for row in _select_quads(store, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    }
    return dict(sorted(sizes.items()))


def _select_quads(store: ox.Store, sparql: str) -> Iterator[ox.QuerySolution]:
    result = store.query(sparql)
    assert isinstance(result, ox.QuerySolutions)
    yield from result
