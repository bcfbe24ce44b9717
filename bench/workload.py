"""The benchmark workload: which canned queries, with which arguments, on a built store.

The arguments are picked from the data itself (the best-connected authority, an
authority two hops away from it, the first network), so that every size has a
meaningful call. ``inline`` writes the bound values into the query text for the
engines that have no variable substitution (the Oxigraph server and rdflib over
HTTP, rdflib in process); values are serialised by pyoxigraph as typed terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from coopgraph import canned
from coopgraph.backend import Backend
from coopgraph.sparql_binding import bind_values, values_block

BENCH_QUERIES = Path(__file__).resolve().parent / "queries"
COOP = "https://w3id.org/coopgraph/ontology#"
LIMIT = 100


@dataclass(frozen=True)
class Call:
    """One canned call: a label, the query, its arguments, its SPARQL with LIMIT, and the bound terms."""

    label: str
    query: canned.CannedQuery
    arguments: dict[str, str]
    sparql: str
    substitutions: dict[str, Any]

    def inlined(self) -> str:
        return inline(self.sparql, self.substitutions)

    def url(self) -> str:
        from urllib.parse import urlencode

        return f"/api/queries/{self.query.name}?{urlencode({**self.arguments, 'limit': LIMIT})}"


def _first(store: ox.Store, sparql: str) -> ox.QuerySolution:
    rows = store.query(sparql, use_default_graph_as_union=True)
    assert isinstance(rows, ox.QuerySolutions)
    return next(iter(rows))


def calls(store: ox.Store, backend: Backend) -> list[Call]:
    """The workload on ``store``: cooperations (plain and shaped), partners-of, network-members, connection."""
    hub = _first(store, f"""PREFIX coop: <{COOP}> SELECT ?a (COUNT(*) AS ?n)
        WHERE {{ ?p a coop:Partnership ; coop:partner ?a }} GROUP BY ?a ORDER BY DESC(?n) ?a LIMIT 1""")["a"]
    far = _first(store, f"""PREFIX coop: <{COOP}> SELECT ?c WHERE {{
        {hub} coop:cooperatesWith ?b . ?b coop:cooperatesWith ?c .
        FILTER (?c != {hub} && NOT EXISTS {{ {hub} coop:cooperatesWith|coop:sharesNetworkWith ?c }})
        }} ORDER BY ?c LIMIT 1""")["c"]
    network = _first(store, f"PREFIX coop: <{COOP}> SELECT ?n WHERE {{ ?n a coop:Network }} ORDER BY ?n LIMIT 1")["n"]
    shipped, shaped = canned.load_registry(), canned.load_registry(BENCH_QUERIES)
    wanted = [
        ("cooperations (CN, education)", shipped.get("cooperations"), {"partnerCountry": "CN", "sector": "education"}),
        ("cooperations shaped (CN, education)", shaped.get("cooperations-by-partner-country-and-sector"),
         {"partnerCountry": "CN", "sector": "education"}),
        ("partners-of hub", shipped.get("partners-of"), {"authority": hub.value}),
        ("network-members", shipped.get("network-members"), {"network": network.value}),
        ("connection, 2 hops", shipped.get("connection"), {"from": hub.value, "to": far.value}),
    ]
    out = []
    for label, query, arguments in wanted:
        substitutions, _shown = canned.bind(query, arguments, backend)
        out.append(Call(label, query, arguments, canned._paginated(query.text_for(substitutions), LIMIT + 1, 0), substitutions))
    return out


def inline(sparql: str, substitutions: dict[str, Any]) -> str:
    """``sparql`` with each bound ``?_name`` written as its term where it is matched.

    ``sparql_binding.bind_values`` does the writing (subquery projections included);
    its VALUES block is left out, so the outer projection shows the names unbound:
    what a user pasting the values into the text would run.
    """
    if not substitutions:
        return sparql
    return bind_values(sparql, substitutions).replace(f" {values_block(substitutions)} ", " ", 1)
