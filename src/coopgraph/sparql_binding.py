"""Binding variables of a SPARQL query to RDF terms for an engine that has no substitution API.

The embedded store binds a canned query's parameters with pyoxigraph's
``substitutions``: the variable becomes that term everywhere in the query. A
remote SPARQL 1.1 server offers nothing of the kind, so ``bind_values`` writes
the same binding in standard SPARQL: an inline-data block

    VALUES (?_authority ?_lang) { (<https://w3id.org/coopgraph/id/authority/lyon> "en") }

placed at the start of the query's outermost group graph pattern, and at the
start of every nested group (``OPTIONAL``, ``UNION`` branches, ``EXISTS``,
``GRAPH``, subqueries…) that mentions one of the variables.

Why every group and not only the outer one: SPARQL evaluates a nested group on
its own, before joining it with the rest, so ``OPTIONAL { … OPTIONAL { ?x
rdfs:label ?l FILTER(LANG(?l) = ?_lang) } }`` would not see an outer
``?_lang``, whereas pyoxigraph's substitution would. Joining each group that
uses the variable with its one-row table makes the variable that constant
everywhere, which is what substitution means, and placing the block first makes
it visible to the group's ``BIND``s. (One corner differs: a ``MINUS`` group
that shares no variable with its left side but a bound one removes solutions
here and none under substitution; no canned query uses ``MINUS``.) Queries with
no group to put the block in (``DESCRIBE ?x``, ``CONSTRUCT WHERE { … }``) get a
trailing ``VALUES`` clause, which the grammar allows after the solution
modifiers and which joins with the whole pattern.

Why this is binding and not pasting: the query text is fixed code; a value
never enters it as text a user chose. Each value is a pyoxigraph term — an IRI
already checked by ``NamedNode`` (which refuses ``>``, ``{``, ``"``, spaces) or
a literal — written by pyoxigraph's canonical N-Triples serialiser, which
escapes every character that could end the term (``"``, ``\\``, line breaks).
So each value is exactly one complete RDF term token in a data-block position,
where the grammar accepts nothing but terms: it cannot close the block, open a
pattern or add a clause. Blank nodes are refused (they are not allowed in
``VALUES`` and would not mean the same node on another server).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pyoxigraph as ox

VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_STRING = "|".join(
    (
        r'"""(?:[^"\\]|\\.|"(?!""))*"""',
        r"'''(?:[^'\\]|\\.|'(?!''))*'''",
        r'"(?:[^"\\\n\r]|\\.)*"',
        r"'(?:[^'\\\n\r]|\\.)*'",
    )
)
# Tokens that may hold braces or keywords that are not syntax: comments, strings, IRIs,
# prefixed names (a local name may contain escaped quotes); then words and single characters.
_TOKEN = re.compile(
    rf"""(?P<comment>\#[^\n\r]*)
    |(?P<string>{_STRING})
    |(?P<iri><[^<>"{{}}|^`\\\x00-\x20]*>)
    |(?P<var>[?$]\w+)
    |(?P<pname>(?:[^\W\d_][\w.\-]*)?:(?:[\w.\-:%]|\\[_~.\-!$&'()*+,;=/?\#@%])*)
    |(?P<word>[^\W\d]\w*)
    |(?P<space>\s+)
    |(?P<char>.)""",
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int


def _tokens(sparql: str) -> list[_Token]:
    """The significant tokens of ``sparql`` (no comments or spaces)."""
    return [
        _Token(match.lastgroup or "char", match.group(), match.start(), match.end())
        for match in _TOKEN.finditer(sparql)
        if match.lastgroup not in ("comment", "space")
    ]


def term_text(term: ox.NamedNode | ox.Literal | ox.BlankNode) -> str:
    """The canonical N-Triples form of ``term``, which is also valid SPARQL. Refuses blank nodes."""
    if isinstance(term, ox.NamedNode | ox.Literal):
        return str(term)
    raise TypeError("a blank node cannot be bound on a remote SPARQL server; bind an IRI or a literal")


def values_block(substitutions: Mapping[str, ox.NamedNode | ox.Literal | ox.BlankNode]) -> str:
    """``VALUES (?a ?b) { (t1 t2) }`` for the given variables (names without ``?``) and terms."""
    for name in substitutions:
        if not VARIABLE_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a SPARQL variable name")
    variables = " ".join(f"?{name}" for name in substitutions)
    terms = " ".join(term_text(term) for term in substitutions.values())
    return f"VALUES ({variables}) {{ ({terms}) }}"


def bind_values(sparql: str, substitutions: Mapping[str, ox.NamedNode | ox.Literal | ox.BlankNode]) -> str:
    """``sparql`` with each variable of ``substitutions`` bound to its term by ``VALUES`` blocks.

    Raises ``TypeError`` for a blank node and ``ValueError`` for a name that is
    not a variable name or an unbalanced query.
    """
    if not substitutions:
        return sparql
    values_block(substitutions)  # checks names and terms before anything else
    tokens = _tokens(sparql)
    groups = _groups(tokens)
    insertions: list[tuple[int, str]] = []
    outer = groups[0] if groups and groups[0][2] else None
    for opening, closing, is_outer in groups:
        text = sparql[tokens[opening].end : tokens[closing].start]
        wanted = {
            name: term
            for name, term in substitutions.items()
            if is_outer or re.search(rf"[?$]{re.escape(name)}(?!\w)", text)
        }
        if wanted:
            insertions.append((tokens[opening].end, f" {values_block(wanted)} "))
    if outer is None:
        # No group that may hold inline data: the trailing VALUES clause, after the modifiers.
        insertions.append((len(sparql), f"\n{values_block(substitutions)}\n"))
    bound = sparql
    for position, text in sorted(insertions, reverse=True):
        bound = bound[:position] + text + bound[position:]
    return bound


def _groups(tokens: list[_Token]) -> list[tuple[int, int, bool]]:
    """Group graph patterns as (opening index, closing index, is the query's WHERE group).

    Braces that open a ``VALUES`` data block, a ``CONSTRUCT`` template, the
    short ``CONSTRUCT WHERE`` form or the bracket around a subquery are not
    groups that may start with inline data.
    """
    groups: list[tuple[int, int, bool]] = []
    stack: list[tuple[int, bool, bool]] = []  # (opening index, may hold inline data, is outer)
    form = next((t.text.upper() for t in tokens if t.kind == "word" and t.text.upper() in _FORMS), None)
    parentheses = 0
    expect_data = False
    template_pending = form == "CONSTRUCT"
    seen_where = False
    found_outer = False
    for index, token in enumerate(tokens):
        if token.kind == "word":
            keyword = token.text.upper()
            if keyword == "VALUES":
                expect_data = True
            elif keyword == "WHERE":
                seen_where = True
        elif token.text == "(":
            parentheses += 1
        elif token.text == ")":
            parentheses -= 1
        elif token.text == "{":
            next_word = tokens[index + 1].text.upper() if index + 1 < len(tokens) else ""
            if expect_data:
                expect_data = False
                stack.append((index, False, False))
            elif template_pending:
                template_pending = False
                # ``CONSTRUCT { template } WHERE`` vs the short ``CONSTRUCT WHERE { triples }``.
                stack.append((index, False, False))
                found_outer = found_outer or seen_where
            elif next_word == "SELECT":
                stack.append((index, False, False))
            else:
                is_outer = not found_outer and not stack and parentheses == 0
                found_outer = found_outer or is_outer
                stack.append((index, True, is_outer))
        elif token.text == "}":
            if not stack:
                raise ValueError("the query has a closing brace without an opening one")
            opening, holds_data, is_outer = stack.pop()
            if holds_data:
                groups.append((opening, index, is_outer))
    if stack:
        raise ValueError("the query has an opening brace without a closing one")
    groups.sort(key=lambda group: (not group[2], group[0]))
    return groups


_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")


def without_trailing_separator(update: str) -> str:
    """``update`` without a final ``;`` (allowed at the end, not before another operation)."""
    tokens = _tokens(update)
    if tokens and tokens[-1].text == ";":
        return update[: tokens[-1].start] + update[tokens[-1].end :]
    return update
