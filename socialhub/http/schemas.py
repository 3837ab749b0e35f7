"""JSON Schemas (2020-12, the dialect of OpenAPI 3.1) of the values validation.py accepts.

Each REST body (http/rest/bodies.py) and query parameter declares its schema with these, from
the limits and patterns its checks use, so that /api/openapi.json (http/openapi.py) states what
the server accepts. Fields a body does not know are ignored, so objects allow any others.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from socialhub.validation import (
    CONTROL_CHARS,
    EMAIL_MAX,
    EMAIL_PATTERN,
    MAX_ID,
    PASSWORD_MAX,
    PASSWORD_MIN,
    QUERY_MAX,
    USERNAME_PATTERN,
)

Schema = dict[str, Any]
Parser = TypeVar("Parser", bound=Callable[[Mapping[str, object]], object])
# Each body parser's schema, by parser (`described`); trial_tests/http/test_openapi.py feeds
# each parser bodies generated from its schema.
BODIES: dict[Callable[[Mapping[str, object]], object], Schema] = {}

# The contract refuses a number written with a fraction or an exponent (1.0), which JSON
# Schema's "integer" allows: the descriptions say so.
WHOLE = "a JSON integer, written without a fraction or an exponent"
ID: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": WHOLE}
BOOLEAN: Schema = {"type": "boolean"}
# validation.date_time: RFC 3339, with a real instant in the years 1 to 9999.
DATE_TIME: Schema = {"type": "string", "format": "date-time"}
USERNAME: Schema = {"type": "string", "pattern": f"^{USERNAME_PATTERN}$"}
_ALLOWED = f"[^{CONTROL_CHARS}]"
# validation.email: 3 to 254 allowed characters, one '@' between two non-empty parts.
EMAIL: Schema = {
    "type": "string",
    "minLength": 3,
    "maxLength": EMAIL_MAX,
    "pattern": "^" + EMAIL_PATTERN.replace("[^@", f"[^@{CONTROL_CHARS}") + "$",
}


def text(max_length: int, min_length: int = 0, *, content: bool = False) -> Schema:
    """validation.text: no forbidden control character; with `content`, not whitespace alone."""
    pattern = f"^{_ALLOWED}*[^{CONTROL_CHARS}\\s]{_ALLOWED}*$" if content else f"^{_ALLOWED}*$"
    return {"type": "string", "minLength": min_length, "maxLength": max_length, "pattern": pattern}


PASSWORD: Schema = text(PASSWORD_MAX, PASSWORD_MIN)


def nullable(schema: Schema) -> Schema:
    """A field that may be JSON null (absent, cleared or the default)."""
    return {"anyOf": [schema, {"type": "null"}]}


def choice(values: Collection[str]) -> Schema:
    return {"type": "string", "enum": list(values)}


def positive_int(maximum: int) -> Schema:
    return {"type": "integer", "minimum": 1, "maximum": maximum, "description": WHOLE}


def id_list(max_count: int, *, unique: bool = True) -> Schema:
    """validation.id_list: at most `max_count` ids, no repeats."""
    return {"type": "array", "items": ID, "maxItems": max_count, "uniqueItems": unique}


def body(properties: Mapping[str, Schema], required: Sequence[str] = ()) -> Schema:
    """A JSON object body; any other field is ignored."""
    schema: Schema = {"type": "object", "properties": dict(properties)}
    if required:
        schema["required"] = list(required)
    return schema


def described(schema: Schema) -> Callable[[Parser], Parser]:
    """Declare `schema` as the JSON Schema of the bodies the decorated parser accepts."""

    def record(parse: Parser) -> Parser:
        BODIES[parse] = schema
        return parse

    return record


@dataclass(frozen=True)
class Param:
    """A query parameter a route reads (as `validation.py` checks it)."""

    name: str
    schema: Schema
    required: bool = False
    # A list is written comma-separated (`users=1,2,3`): OpenAPI's form style, not exploded.
    comma_separated: bool = False


# validation.page: a larger limit is clamped, not refused.
PAGE = (
    Param("limit", {"type": "integer", "minimum": 0}),
    Param("offset", {"type": "integer", "minimum": 0, "maximum": MAX_ID}),
)
SEARCH = (Param("q", text(QUERY_MAX)), *PAGE)


def id_param(name: str, *, required: bool = False) -> Param:
    return Param(name, ID, required)


def ids_param(name: str, max_count: int) -> Param:
    """validation.id_query: 1 to `max_count` ids; a repeat counts once."""
    schema = {"type": "array", "items": ID, "minItems": 1, "maxItems": max_count}
    return Param(name, schema, required=True, comma_separated=True)
