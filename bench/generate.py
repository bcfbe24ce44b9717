"""A deterministic synthetic cooperation graph in coopgraph's own ontology, at any size.

    python bench/generate.py --triples 100000 --out bench/.work/data-100k [--seed 1]

Writes a data folder that ``coopgraph build --data`` loads (one subfolder per
synthetic source = one named graph; N-Triples, which is valid Turtle) and, beside
it, ``all.nt`` with the same triples for raw ``bulk_load`` comparisons. The graph
has a realistic skew: partners are drawn with preferential attachment, so a few
hub authorities have hundreds of partners and most have one or two. Partnerships
carry kinds, sectors, years and statuses from the shipped thesauri; networks have
memberships with roles; labels are in French and English. It passes the shapes.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from pathlib import Path

ID = "https://w3id.org/coopgraph/id/"
COOP = "https://w3id.org/coopgraph/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
DERIVED = "http://www.w3.org/ns/prov#wasDerivedFrom"
ORG = "http://www.w3.org/ns/org#"
DCT = "http://purl.org/dc/terms/"
XSD_INT = "http://www.w3.org/2001/XMLSchema#integer"
XSD_DATE = "http://www.w3.org/2001/XMLSchema#date"

COUNTRIES = ["fr", "cn", "de", "it", "es", "ma", "sn", "ml", "br", "us", "ca", "jp", "vn", "tn", "pl", "ro", "lb", "bf", "am", "ar"]
AUTHORITY_TYPES = ["municipality"] * 6 + ["region", "departement", "province", "intercommunality", "district", "state"]
KINDS = ["twinning", "cooperation-agreement", "memorandum", "declaration-of-intent", "friendship-agreement", "cooperation"]
SECTORS = [
    "local-economic-development", "education", "higher-education", "culture-francophonie", "heritage-tourism",
    "science-technology", "agriculture-agrifood", "vocational-training", "environment", "water-sanitation",
    "health", "youth", "sport", "urban-policy", "transport", "sustainable-development", "trade", "social-action",
]
STATUSES = ["active"] * 8 + ["suspended", "ended", "planned"]
ROLES = ["founder", "member", "member", "member", "associate"]
SYLLABLES = ["ba", "lo", "ri", "na", "te", "mu", "sa", "ko", "vi", "len", "dor", "mar", "qing", "zhou", "vil", "ber", "ton", "ly"]

# Average triples per partnership (incl. its share of authority and membership triples),
# measured on generated graphs: used to reach the requested size.
TRIPLES_PER_PARTNERSHIP = 13.2


def iri(path: str) -> str:
    return f"<{ID}{path}>"


def lit(text: str, language: str | None = None) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"@{language}' if language else f'"{escaped}"'


def integer(value: int) -> str:
    return f'"{value}"^^<{XSD_INT}>'


def triple(s: str, p: str, o: str) -> str:
    return f"{s} <{p}> {o} .\n"


def name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def generate(triples: int, seed: int, sources: int = 8) -> Iterator[tuple[int, str]]:
    """(source index, N-Triples line) for a graph of about ``triples`` triples."""
    rng = random.Random(seed)
    partnerships = max(10, int(triples / TRIPLES_PER_PARTNERSHIP))
    authorities = max(20, partnerships // 2)
    networks = max(2, authorities // 200)
    for index in range(sources):
        source = iri(f"source/synthetic-{index}")
        yield index, triple(source, RDF_TYPE, f"<{COOP}SourceDocument>")
        yield index, triple(source, DCT + "title", lit(f"Synthetic source {index}", "en"))
        yield index, triple(source, DCT + "publisher", lit("coopgraph bench"))
        yield index, triple(source, DCT + "language", lit("en"))
        yield index, triple(source, DCT + "date", f'"2024-01-01"^^<{XSD_DATE}>')
    names: list[str] = []
    for number in range(authorities):
        base = name(rng)
        slug = f"{base.lower()}-{number}"
        names.append(slug)
        node = iri(f"authority/{slug}")
        home = number % sources
        yield home, triple(node, RDF_TYPE, f"<{COOP}Authority>")
        yield home, triple(node, LABEL, lit(f"{base} {number}", "fr"))
        yield home, triple(node, LABEL, lit(f"{base} {number}", "en"))
        yield home, triple(node, COOP + "authorityType", iri(f"authority-type/{rng.choice(AUTHORITY_TYPES)}"))
        country = "fr" if number % 3 == 0 else rng.choice(COUNTRIES)
        yield home, triple(node, COOP + "country", iri(f"country/{country}"))
        yield home, triple(node, DERIVED, iri(f"source/synthetic-{home}"))
    # Preferential attachment: each new edge picks an endpoint already used with probability ~ its degree.
    endpoints: list[int] = list(range(min(authorities, 50)))
    seen: set[tuple[int, int]] = set()
    made = 0
    while made < partnerships:
        a = rng.choice(endpoints) if rng.random() < 0.7 else rng.randrange(authorities)
        b = rng.randrange(authorities)
        if a == b or (min(a, b), max(a, b)) in seen:
            continue
        seen.add((min(a, b), max(a, b)))
        endpoints += [a, b]
        made += 1
        home = made % sources
        node = iri(f"partnership/{names[a]}--{names[b]}")
        yield home, triple(node, RDF_TYPE, f"<{COOP}Partnership>")
        yield home, triple(node, LABEL, lit(f"{names[a]} – {names[b]}", "en"))
        yield home, triple(node, COOP + "partner", iri(f"authority/{names[a]}"))
        yield home, triple(node, COOP + "partner", iri(f"authority/{names[b]}"))
        yield home, triple(node, COOP + "partnershipKind", iri(f"partnership-kind/{rng.choice(KINDS)}"))
        yield home, triple(node, COOP + "startYear", integer(rng.randint(1950, 2024)))
        yield home, triple(node, COOP + "status", iri(f"status/{rng.choice(STATUSES)}"))
        for sector in rng.sample(SECTORS, rng.randint(1, 3)):
            yield home, triple(node, COOP + "sector", iri(f"sector/{sector}"))
        yield home, triple(node, DERIVED, iri(f"source/synthetic-{home}"))
    for number in range(networks):
        node = iri(f"network/synthetic-network-{number}")
        home = number % sources
        yield home, triple(node, RDF_TYPE, f"<{COOP}Network>")
        yield home, triple(node, LABEL, lit(f"Réseau {number}", "fr"))
        yield home, triple(node, LABEL, lit(f"Network {number}", "en"))
        yield home, triple(node, DERIVED, iri(f"source/synthetic-{home}"))
        for member in rng.sample(range(authorities), min(authorities, rng.randint(3, 25))):
            membership = iri(f"membership/synthetic-network-{number}--{names[member]}")
            yield home, triple(membership, RDF_TYPE, f"<{COOP}Membership>")
            yield home, triple(membership, ORG + "member", iri(f"authority/{names[member]}"))
            yield home, triple(membership, ORG + "organization", node)
            yield home, triple(membership, ORG + "role", iri(f"role/{rng.choice(ROLES)}"))
            yield home, triple(membership, DERIVED, iri(f"source/synthetic-{home}"))


def write(triples: int, out: Path, seed: int = 1, sources: int = 8) -> int:
    """Write the data folder and ``all.nt`` under ``out``; return the number of triples."""
    out.mkdir(parents=True, exist_ok=True)
    data = out / "data"
    files = []
    for index in range(sources):
        folder = data / f"synthetic-{index}"
        folder.mkdir(parents=True, exist_ok=True)
        files.append(open(folder / "graph.ttl", "w", encoding="utf-8"))  # noqa: SIM115
    count = 0
    with open(out / "all.nt", "w", encoding="utf-8") as everything:
        for index, line in generate(triples, seed, sources):
            files[index].write(line)
            everything.write(line)
            count += 1
    for handle in files:
        handle.close()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=100_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    count = write(arguments.triples, arguments.out, arguments.seed)
    print(f"{count} triples in {arguments.out}")


if __name__ == "__main__":
    main()
