"""Binding variables of a SPARQL query to RDF terms, in the query text, safely.

pyoxigraph has a ``substitutions`` argument, but it leaves the variable in the
plan (an index look-up on a bound country became a scan: 9× slower on the
canned ``cooperations`` query at 1 M triples), and a remote SPARQL 1.1 server
offers nothing of the kind. So both backends bind with ``bind_values``, which
writes the binding in standard SPARQL, in two parts:

- inside the query's ``WHERE`` group, every occurrence of the variable becomes
  the term itself (``?_lang`` → ``"en"``), so every nested group — ``OPTIONAL``,
  ``UNION`` branches, ``EXISTS``, ``GRAPH``, subqueries — sees the constant, as
  under substitution, and the engine plans the query with the constant known;
- an inline-data block at the start of that group,
  ``VALUES (?_authority ?_lang) { (<…/authority/lyon> "en") }``, binds the
  variable for what comes after the pattern: the projection (``SELECT ?_lang``),
  ``GROUP BY``, ``ORDER BY``, a ``CONSTRUCT`` template.

Why not only a ``VALUES`` block: SPARQL evaluates a nested group on its own,
before joining it with the rest, so ``OPTIONAL { … OPTIONAL { ?x rdfs:label ?l
FILTER(LANG(?l) = ?_lang) } }`` would not see an outer ``?_lang``; and
``VALUES`` blocks in every group were measured to send Oxigraph's planner into
plans thousands of times slower, now and then. Queries with no group to put
the block in (``DESCRIBE ?x``, ``CONSTRUCT WHERE { … }``) get a trailing
``VALUES`` clause, which the grammar allows after the solution modifiers.

Where a variable cannot become a constant — assigned (``AS ?_x``, a
``VALUES ?_x`` header) or grouped or ordered by a subquery — ``bind_values``
refuses the query (``ValueError``): no canned query does that. A subquery that
projects a bound variable projects ``(term AS ?var)`` instead.

Why this is binding and not pasting: the query text is fixed code; a value
never enters it as text a user chose. Each value is a pyoxigraph term — an IRI
already checked by ``NamedNode`` (which refuses ``>``, ``{``, ``"``, spaces) or
a literal — written by pyoxigraph's canonical N-Triples serialiser, which
escapes every character that could end the term (``"``, ``\\``, line breaks).
So each value is exactly one complete RDF term token, put where a variable
token was (a term or expression position) or in a data block, where the
grammar accepts nothing but terms: it cannot close the term, open a pattern or
add a clause. Blank nodes are refused (they are not allowed in ``VALUES`` and
would not mean the same node on another server).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
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


@functools.lru_cache(maxsize=512)
def _tokens(sparql: str) -> tuple[_Token, ...]:
    """The significant tokens of ``sparql`` (no comments or spaces).

    Cached: a canned query has one text per set of given parameters, and
    tokenising it took a fifth of a short canned call.
    """
    return tuple(
        _Token(match.lastgroup or "char", match.group(), match.start(), match.end())
        for match in _TOKEN.finditer(sparql)
        if match.lastgroup not in ("comment", "space")
    )


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
    """``sparql`` with each variable of ``substitutions`` bound to its term (see the module docstring).

    Raises ``TypeError`` for a blank node and ``ValueError`` for a name that is
    not a variable name, a variable the query assigns or a subquery projects,
    or an unbalanced query.
    """
    if not substitutions:
        return sparql
    block = values_block(substitutions)  # checks names and terms before anything else
    terms = {name: term_text(term) for name, term in substitutions.items()}
    tokens = _tokens(sparql)
    outer = _outer_group(tokens)
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), in the original text
    if outer is not None:
        opening, closing, holds_data = outer
        edits += _constants(tokens[opening + 1 : closing], terms)
        if holds_data:
            edits.append((tokens[opening].end, tokens[opening].end, f" {block} "))
    if outer is None or not outer[2]:
        # No group that may hold inline data: the trailing VALUES clause, after the modifiers.
        edits.append((len(sparql), len(sparql), f"\n{block}\n"))
    bound = sparql
    for start, end, text in sorted(edits, reverse=True):
        bound = bound[:start] + text + bound[end:]
    return bound


def _constants(tokens: Sequence[_Token], terms: Mapping[str, str]) -> list[tuple[int, int, str]]:
    """Edits turning each occurrence of a bound variable in ``tokens`` (the WHERE group) into its term.

    A subquery that projects a bound variable projects its term instead
    (``(term AS ?var)``), so that the constant reaches the subquery's patterns and
    the enclosing query still sees the variable, as under pyoxigraph substitution.
    """
    edits = []
    clause = ""  # the clause being read when it is one where a variable cannot be a constant
    depth = 0  # parentheses within that clause
    previous = ""
    for token in tokens:
        keyword = token.text.upper() if token.kind == "word" else ""
        if keyword in ("SELECT", "VALUES", "GROUP", "ORDER", "HAVING"):
            clause, depth = keyword, 0
        elif keyword == "WHERE" or token.text in ("{", "}"):
            clause = ""
        elif token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif token.kind == "var" and token.text[1:] in terms:
            if previous == "AS" or (clause and clause != "SELECT"):
                raise ValueError(
                    f"{token.text} is assigned, or used in a subquery's {clause or 'AS'} clause; "
                    "it cannot be bound to a constant"
                )
            term = terms[token.text[1:]]
            projected = clause == "SELECT" and depth == 0
            edits.append((token.start, token.end, f"({term} AS {token.text})" if projected else term))
        previous = keyword or token.text
    return edits


def _outer_group(tokens: Sequence[_Token]) -> tuple[int, int, bool] | None:
    """The query's WHERE group as (opening index, closing index, may hold inline data), if it has one."""
    for opening, closing, is_outer in _groups(tokens):
        if is_outer:
            return opening, closing, True
    form = next((t.text.upper() for t in tokens if t.kind == "word" and t.text.upper() in _FORMS), None)
    if form == "CONSTRUCT":
        # The short form, CONSTRUCT WHERE { triples }: constants may go in, a VALUES block may not.
        where = next((i for i, t in enumerate(tokens) if t.kind == "word" and t.text.upper() == "WHERE"), None)
        if where is not None and where + 1 < len(tokens) and tokens[where + 1].text == "{":
            depth = 0
            for index in range(where + 1, len(tokens)):
                depth += {"{": 1, "}": -1}.get(tokens[index].text, 0)
                if depth == 0:
                    return where + 1, index, False
    return None


def _groups(tokens: Sequence[_Token]) -> list[tuple[int, int, bool]]:
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
