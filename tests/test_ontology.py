"""The ontology and thesauri are documented in English and French, term by term."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from coopgraph.resources import resource_dir

OWL = "http://www.w3.org/2002/07/owl#"
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
DEFINITION = ox.NamedNode("http://www.w3.org/2004/02/skos/core#definition")
PREF_LABEL = ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel")
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def load(name: str) -> ox.Store:
    store = ox.Store()
    store.load(path=str(resource_dir("ontology") / name), format=ox.RdfFormat.TURTLE)
    return store


ONTOLOGY = load("coopgraph.ttl")
TERMS = sorted(
    {
        q.subject.value
        for kind in ("Class", "ObjectProperty", "DatatypeProperty")
        for q in ONTOLOGY.quads_for_pattern(None, RDF_TYPE, ox.NamedNode(OWL + kind))
        if isinstance(q.subject, ox.NamedNode)
    }
)


def languages(store: ox.Store, subject: str, predicate: ox.NamedNode) -> set[str]:
    return {
        q.object.language or ""
        for q in store.quads_for_pattern(ox.NamedNode(subject), predicate, None)
        if isinstance(q.object, ox.Literal)
    }


def test_the_ontology_has_the_classes_of_the_spec() -> None:
    for name in ("Authority", "Partnership", "Network", "Membership", "Actor", "Project", "SourceDocument"):
        assert f"https://w3id.org/coopgraph/ontology#{name}" in TERMS


@pytest.mark.parametrize("term", TERMS)
def test_every_term_has_labels_and_definitions_in_english_and_french(term: str) -> None:
    assert {"en", "fr"} <= languages(ONTOLOGY, term, RDFS_LABEL)
    assert {"en", "fr"} <= languages(ONTOLOGY, term, DEFINITION)


def test_every_concept_has_english_and_french_labels() -> None:
    thesauri = load("thesauri.ttl")
    concepts = {
        q.subject.value
        for q in thesauri.quads_for_pattern(None, RDF_TYPE, ox.NamedNode("http://www.w3.org/2004/02/skos/core#Concept"))
    }
    assert len(concepts) > 50
    for concept in concepts:
        assert {"en", "fr"} <= languages(thesauri, concept, PREF_LABEL), concept


def test_directory_sector_values_are_all_in_the_scheme() -> None:
    thesauri = load("thesauri.ttl")
    french = {
        q.object.value
        for q in thesauri.quads_for_pattern(None, PREF_LABEL, None)
        if isinstance(q.object, ox.Literal) and q.object.language == "fr"
    }
    listed = [
        "Développement économique local", "Enseignement / Éducation", "Culture et francophonie",
        "Patrimoine, tourisme", "Sciences et techniques", "Agriculture et agroalimentaire",
        "Formation professionnelle", "Environnement", "Formation municipale", "Commerce", "Jeunesse",
        "Gestion des services publics", "Sport", "Gestion de l'eau, assainissement", "Action sociale",
        "Politique de la ville", "Développement des échanges d'activités agricoles", "Culture", "Tourisme",
        "Santé", "Échanges de bibliothécaires en stage de formation continue", "Ingénierie urbano-portuaire",
        "Design", "Transports urbains", "Sécurité civile",
    ]
    assert [value for value in listed if value not in french] == []
