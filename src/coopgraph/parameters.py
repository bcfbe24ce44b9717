"""Canned-query parameters: their declared types, how a value is checked, and the term it is bound as.

A value arrives as text (a URL query string, a command-line ``name=value``) and
leaves as a pyoxigraph term that ``canned.run`` binds to its variable: never
as text pasted into SPARQL. A value that does not fit its type raises
``InvalidParameter`` (422) saying why; names of authorities, networks, sectors
and partnership kinds go through ``names.resolve`` (404 unknown, 409 ambiguous).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from coopgraph import names
from coopgraph.backend import Backend
from coopgraph.errors import InvalidParameter
from coopgraph.reference import countries, country_iri, fold

XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
MAX_STRING_LENGTH = 500
MIN_YEAR, MAX_YEAR = 1000, 2999

# type → (kinds of resource a name may stand for) for the types resolved by name.
NAMED_TYPES: dict[str, tuple[str, ...]] = {
    "authority": ("authority",),
    "network": ("network",),
    "sector": ("sector",),
    "partnership-kind": ("partnership-kind",),
    "authority-type": ("authority-type",),
}
TYPES = ("iri", *NAMED_TYPES, "string", "search", "integer", "year", "country", "enum", "boolean")

_TYPE_HELP = {
    "iri": "an absolute IRI",
    "authority": "the IRI or a name (any language, any alternative name) of an authority",
    "network": "the IRI or a name of a network",
    "sector": "the IRI, slug (e.g. education) or a label of a sector",
    "partnership-kind": "the IRI, slug (e.g. twinning) or a label of a partnership kind",
    "authority-type": "the IRI, slug (e.g. region) or a label of an authority type",
    "string": f"text of at most {MAX_STRING_LENGTH} characters",
    "search": f"text of at most {MAX_STRING_LENGTH} characters, matched ignoring case, accents and punctuation",
    "integer": "a whole number",
    "year": f"a year between {MIN_YEAR} and {MAX_YEAR}",
    "country": "an ISO 3166-1 alpha-2 country code (e.g. FR, CN)",
    "enum": "one of the listed values",
    "boolean": "true or false",
}
_INTEGER = re.compile(r"[+-]?\d{1,18}")


@dataclass(frozen=True)
class Parameter:
    """A parameter declared in a query header."""

    name: str
    type: str
    description: str = ""
    required: bool = False
    default: str | None = None
    example: str | None = None
    values: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    @property
    def variable(self) -> str:
        """The SPARQL variable the value is bound to: ``?_`` + the parameter name."""
        return "_" + self.name

    def help(self) -> str:
        return _TYPE_HELP[self.type]

    def as_dict(self) -> dict[str, Any]:
        """The parameter as listed by ``GET /api/queries``."""
        listed: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "required": self.required,
            "default": self.default,
            "example": self.example,
        }
        if self.values:
            listed["values"] = list(self.values)
        if self.minimum is not None:
            listed["minimum"] = self.minimum
        if self.maximum is not None:
            listed["maximum"] = self.maximum
        return listed

    def json_schema(self) -> dict[str, Any]:
        """The OpenAPI schema of the parameter's value."""
        schema: dict[str, Any] = {"type": "string"}
        if self.type in ("integer", "year"):
            schema = {"type": "integer"}
            low = MIN_YEAR if self.type == "year" else self.minimum
            high = MAX_YEAR if self.type == "year" else self.maximum
            if low is not None:
                schema["minimum"] = low
            if high is not None:
                schema["maximum"] = high
        elif self.type == "boolean":
            schema = {"type": "boolean"}
        elif self.values:
            schema["enum"] = list(self.values)
        elif self.type == "country":
            schema["pattern"] = "^[A-Za-z]{2}$"
        elif self.type == "iri":
            schema["format"] = "iri"
        elif self.type in ("string", "search"):
            schema["maxLength"] = MAX_STRING_LENGTH
        if self.default is not None:
            schema["default"] = _typed_default(self)
        return schema


def _typed_default(parameter: Parameter) -> object:
    if parameter.type in ("integer", "year") and parameter.default is not None:
        return int(parameter.default)
    if parameter.type == "boolean":
        return parameter.default == "true"
    return parameter.default


def declare(name: str, spec: object) -> Parameter:
    """A ``Parameter`` from its header entry (all scalars are strings). Raises ``ValueError`` saying what is wrong."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name):
        raise ValueError(f"parameter name {name!r} must be letters and digits, starting with a letter")
    if name in ("limit", "offset"):
        raise ValueError(f"parameter name {name!r} is reserved for pagination")
    if not isinstance(spec, Mapping):
        raise ValueError(f"parameter {name!r} must be a mapping of type, description, example…")
    allowed = {"type", "description", "required", "default", "example", "values", "minimum", "maximum"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ValueError(f"parameter {name!r} has unknown keys {unknown}; allowed: {sorted(allowed)}")
    kind = spec.get("type")
    if kind not in TYPES:
        raise ValueError(f"parameter {name!r} has type {kind!r}; use one of {', '.join(TYPES)}")
    values = spec.get("values", [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"parameter {name!r}: values must be a list of strings")
    if (kind == "enum") != bool(values):
        raise ValueError(f"parameter {name!r}: type enum needs values, and only enum takes them")
    required = spec.get("required", "false")
    if required not in ("true", "false"):
        raise ValueError(f"parameter {name!r}: required must be true or false")
    scalars = {key: spec.get(key) for key in ("description", "default", "example", "minimum", "maximum")}
    for key, value in scalars.items():
        if value is not None and not isinstance(value, str):
            raise ValueError(f"parameter {name!r}: {key} must be a single value")
    bounds = {}
    for key in ("minimum", "maximum"):
        if scalars[key] is not None:
            if kind != "integer" or not _INTEGER.fullmatch(str(scalars[key])):
                raise ValueError(f"parameter {name!r}: {key} must be a whole number, for type integer only")
            bounds[key] = int(str(scalars[key]))
    parameter = Parameter(
        name=name,
        type=kind,
        description=str(scalars["description"] or "").strip(),
        required=required == "true",
        default=scalars["default"],
        example=scalars["example"],
        values=tuple(values),
        **bounds,
    )
    if parameter.required and parameter.default is not None:
        raise ValueError(f"parameter {name!r} is required and has a default: choose one")
    if parameter.default is not None and parameter.type not in NAMED_TYPES:
        # A default must itself be a valid value (named types need the data, so are checked at run time).
        try:
            check_value(parameter, parameter.default)
        except InvalidParameter as error:
            raise ValueError(f"the default of parameter {name!r} is invalid: {error.message}") from None
    return parameter


def check_value(parameter: Parameter, raw: str) -> tuple[ox.NamedNode | ox.Literal, str]:
    """Check a value of a type that needs no data; returns (term to bind, value as shown).

    Raises ``InvalidParameter`` naming the parameter and what it expects.
    """
    value = raw.strip()

    def refuse(reason: str) -> InvalidParameter:
        return InvalidParameter(f"Parameter {parameter.name!r}: {reason}; expected {parameter.help()}.")

    if parameter.type == "string":
        if len(raw) > MAX_STRING_LENGTH:
            raise refuse(f"the value is {len(raw)} characters long")
        return ox.Literal(raw), raw
    if parameter.type == "search":
        if len(raw) > MAX_STRING_LENGTH:
            raise refuse(f"the value is {len(raw)} characters long")
        if not fold(raw):
            raise refuse(f"{_shown(raw)} has no letters or digits")
        # Folded here; the query folds the labels the same way (see queries/authorities.rq).
        return ox.Literal(fold(raw)), raw
    if parameter.type in ("integer", "year"):
        if not _INTEGER.fullmatch(value):
            raise refuse(f"{_shown(raw)} is not a whole number")
        number = int(value)
        low = MIN_YEAR if parameter.type == "year" else parameter.minimum
        high = MAX_YEAR if parameter.type == "year" else parameter.maximum
        if (low is not None and number < low) or (high is not None and number > high):
            raise refuse(f"{number} is out of range")
        return ox.Literal(str(number), datatype=XSD_INTEGER), str(number)
    if parameter.type == "boolean":
        if value.lower() not in ("true", "false"):
            raise refuse(f"{_shown(raw)} is neither true nor false")
        return ox.Literal(value.lower() == "true"), value.lower()
    if parameter.type == "enum":
        if value not in parameter.values:
            raise InvalidParameter(
                f"Parameter {parameter.name!r}: {_shown(raw)} is not one of {', '.join(parameter.values)}."
            )
        return ox.Literal(value), value
    if parameter.type == "country":
        code = value.upper()
        if not re.fullmatch(r"[A-Z]{2}", code) or code not in countries():
            raise refuse(f"{_shown(raw)} is not an ISO 3166-1 alpha-2 code")
        return country_iri(code), code
    if parameter.type == "iri":
        if not names.looks_like_iri(value):
            raise refuse(f"{_shown(raw)} does not start with http://, https:// or urn:")
        try:
            return ox.NamedNode(value), value
        except ValueError:
            raise refuse(f"{_shown(raw)} contains characters an IRI cannot hold") from None
    raise AssertionError(f"type {parameter.type} needs the data")  # pragma: no cover - guarded by callers


def bind_value(parameter: Parameter, raw: str, backend: Backend) -> tuple[ox.NamedNode | ox.Literal, str]:
    """The term to bind for ``raw`` and the value as shown in responses (resolved names show their IRI)."""
    kinds = NAMED_TYPES.get(parameter.type)
    if kinds is None:
        return check_value(parameter, raw)
    candidate = names.resolve(backend, raw, kinds, parameter=parameter.name)
    return ox.NamedNode(candidate.iri), candidate.iri


def _shown(raw: str) -> str:
    """A value quoted for an error message, shortened so a huge value does not flood the reply."""
    return repr(raw if len(raw) <= 60 else raw[:57] + "...")
