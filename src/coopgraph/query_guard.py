"""Queries the server refuses before evaluating them: federated ``SERVICE`` calls.

pyoxigraph evaluates ``SERVICE <url>`` by fetching the URL, so any client of a
public endpoint could make the server send requests anywhere (server-side
request forgery). coopgraph answers one clear 400 instead. ``LOAD <url>`` in an
update fetches too; updates need the token, and ``LOAD`` is refused the same way.
"""

from __future__ import annotations

import re

from coopgraph.errors import QuerySyntaxError

# Comments, string literals (short and long) and IRIs can contain the word
# SERVICE without it being the keyword: they are blanked out before looking.
_NOT_CODE = re.compile(
    r"""
    \#[^\n\r]*                                   # comment
    | '''(?:[^'\\]|\\.|'(?!''))*'''              # long strings
    | \"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
    | '(?:[^'\\\n\r]|\\.)*'                      # short strings
    | "(?:[^"\\\n\r]|\\.)*"
    | <[^<>"{}|^`\\\x00-\x20]*>                  # IRIs
    """,
    re.VERBOSE | re.DOTALL,
)
# The keyword, not a variable (?service), a prefixed name (ex:SERVICE) or part of a word.
_KEYWORD = r"(?<![\w?$:]){word}(?![\w:])"
_SERVICE = re.compile(_KEYWORD.format(word="SERVICE"), re.IGNORECASE)
_LOAD = re.compile(_KEYWORD.format(word="LOAD"), re.IGNORECASE)


def _code(sparql: str) -> str:
    return _NOT_CODE.sub(" ", sparql)


def check_query(sparql: str) -> None:
    """Raise ``QuerySyntaxError`` (400) when ``sparql`` calls a remote service."""
    if _SERVICE.search(_code(sparql)):
        raise QuerySyntaxError(
            "Federated queries (SERVICE) are disabled on this endpoint; "
            "run the query on your own copy of the data (see /dumps/) to join it with other sources."
        )


def check_update(sparql: str) -> None:
    """Raise ``QuerySyntaxError`` (400) when ``sparql`` fetches remote data (SERVICE or LOAD)."""
    check_query(sparql)
    if _LOAD.search(_code(sparql)):
        raise QuerySyntaxError(
            "LOAD is disabled on this endpoint: the server does not fetch URLs; "
            "use `coopgraph import` or INSERT DATA with the triples instead."
        )
