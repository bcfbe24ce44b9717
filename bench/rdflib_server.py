"""rdflib-endpoint over an N-Triples file, for the HTTP benchmark: ``python bench/rdflib_server.py FILE PORT``."""

from __future__ import annotations

import sys

import rdflib
import uvicorn
from rdflib_endpoint import SparqlEndpoint


def main() -> None:
    path, port = sys.argv[1], int(sys.argv[2])
    graph = rdflib.Graph()
    graph.parse(path, format="nt")
    uvicorn.run(SparqlEndpoint(graph=graph), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
