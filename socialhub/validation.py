"""Checks for values that come from clients: ids, text fields and list parameters.

Every id and text passes through here before it reaches SQL, because the drivers reject some
values outright (integers beyond 64 bits, NUL, unpaired surrogates) and the contract wants a
clear 400 for them instead.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta, timezone

from socialhub.errors import InvalidRequest, NotFound

MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")
_ANY_DIGITS = re.compile(r"[0-9]+")
# The longest search text `q` (a substring of names).
QUERY_MAX = 1000
# The patterns are public so that the API's JSON Schemas (http/schemas.py) state the same ones.
USERNAME_PATTERN = r"[A-Za-z0-9_.-]{3,32}"
_USERNAME = re.compile(USERNAME_PATTERN)
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+"
_EMAIL = re.compile(EMAIL_PATTERN)
# C0 controls except tab, newline and carriage return; DEL and C1 controls. Lone surrogates
# are refused too, though no JSON body or UTF-8 query can carry one to a schema's reader.
CONTROL_CHARS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_FORBIDDEN_CHARS = re.compile(rf"[{CONTROL_CHARS}\ud800-\udfff]")
# RFC 3339 date-time: date, T, time, optional fraction, Z or a numeric offset (ASCII digits only).
_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)


def parse_id(value: object, field: str) -> int:
    """An id given as an integer or a string of digits; anything else is a 400."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    if number is None or not 1 <= number <= MAX_ID:
        raise InvalidRequest(f"{field} must be a positive integer id")
    return number


def optional_id(value: object, field: str) -> int | None:
    """An id, or None for JSON null (a field that can be cleared)."""
    return None if value is None else parse_id(value, field)


def id_list(value: object, field: str, max_count: int) -> list[int]:
    """A JSON list of at most `max_count` different ids, in the order given (400 otherwise)."""
    if not isinstance(value, list) or len(value) > max_count:
        raise InvalidRequest(f"{field} must be a list of at most {max_count} ids")
    ids = [parse_id(item, field) for item in value]
    if len(set(ids)) != len(ids):
        raise InvalidRequest(f"{field} must not repeat an id")
    return ids


def id_query(query: Mapping[str, str], field: str, max_count: int) -> list[int]:
    """A query parameter of 1 to `max_count` comma-separated ids (`users=1,2,3`); a repeated
    id counts once. 400 when it is missing, empty, too long, or names a non-id."""
    items = query.get(field, "").split(",")
    if not 1 <= len(items) <= max_count:
        raise InvalidRequest(f"{field} must list 1 to {max_count} ids, separated by commas")
    return list(dict.fromkeys(parse_id(item, field) for item in items))


def parse_path_id(value: str) -> int:
    """An id taken from a URL path: anything that is not a valid id names no resource."""
    if not _DIGITS.fullmatch(value) or not 1 <= int(value) <= MAX_ID:
        raise NotFound("no such resource")
    return int(value)


def text(
    value: object, field: str, *, min_length: int = 0, max_length: int, content: bool = False
) -> str:
    """A text field, kept verbatim; length counts code points.

    `content` marks message-like fields, where whitespace alone is not content.
    """
    if not isinstance(value, str):
        raise InvalidRequest(f"{field} must be a string")
    if _FORBIDDEN_CHARS.search(value):
        raise InvalidRequest(f"{field} contains a forbidden control character")
    if not min_length <= len(value) <= max_length:
        raise InvalidRequest(f"{field} must be {min_length} to {max_length} characters long")
    if content and not value.strip():
        raise InvalidRequest(f"{field} must not be empty")
    return value


def optional_text(
    body: Mapping[str, object], field: str, *, max_length: int, min_length: int = 0
) -> str | None:
    """A text field that may be absent (None) from a request body."""
    if field not in body or body[field] is None:
        return None
    return text(body[field], field, min_length=min_length, max_length=max_length)


def username(value: object) -> str:
    """A new account's username: 3 to 32 of a small ASCII set, so it reads the same anywhere."""
    if not isinstance(value, str) or not _USERNAME.fullmatch(value):
        raise InvalidRequest("username must be 3 to 32 of A-Z, a-z, 0-9, '_', '.', '-'")
    return value


EMAIL_MAX = 254


def email(value: object) -> str:
    """A new account's email: only its shape is checked (no mail is sent)."""
    address = text(value, "email", min_length=3, max_length=EMAIL_MAX)
    if not _EMAIL.fullmatch(address):
        raise InvalidRequest("email must be one '@' between two non-empty parts")
    return address


PASSWORD_MIN = 8
PASSWORD_MAX = 1024


def password(value: object, field: str) -> str:
    """A password being set: at least PASSWORD_MIN code points."""
    return text(value, field, min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


def positive_int(value: object, field: str, maximum: int) -> int:
    """A whole number from 1 to `maximum` (a JSON number, not a string)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidRequest(f"{field} must be a whole number from 1 to {maximum}")
    return value


def choice(value: object, choices: Collection[str], problem: str) -> str:
    """One of a few strings; `problem` is the 400's message, which names them."""
    if not isinstance(value, str) or value not in choices:
        raise InvalidRequest(problem)
    return value


def _zone(sign: str | None, hours: str | None, minutes: str | None) -> timezone:
    """The zone of an RFC 3339 offset (`Z` has no sign); ValueError when it is out of range."""
    if sign is None or hours is None or minutes is None:
        return UTC
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError("offset out of range")
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-offset if sign == "-" else offset)


def date_time(value: object, field: str) -> int:
    """An RFC 3339 date-time as Unix seconds, e.g. `2030-01-01T12:00:00Z` or `...T14:00:00+02:00`.

    Fractions of a second are dropped. It must name a real instant (no month 13, no February 30,
    no leap second) that is between the years 1 and 9999 in UTC, so it can be rendered back.
    """
    match = _DATE_TIME.fullmatch(value) if isinstance(value, str) else None
    problem = InvalidRequest(f"{field} must be an RFC 3339 date-time, e.g. 2030-01-01T12:00:00Z")
    if match is None:
        raise problem
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    try:
        zone = _zone(*match.groups()[6:])
        moment = datetime(year, month, day, hour, minute, second, tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):
        raise problem from None
    return int(moment.timestamp())


def boolean(value: object, field: str) -> bool:
    """A JSON boolean, nothing else (no 0/1, no strings)."""
    if not isinstance(value, bool):
        raise InvalidRequest(f"{field} must be true or false")
    return value


def non_negative_int(value: str, field: str) -> int:
    """A query parameter that must be a whole number from 0 to MAX_ID: the drivers take no
    larger integer, and no list is that long."""
    if not _DIGITS.fullmatch(value) or int(value) > MAX_ID:
        raise InvalidRequest(f"{field} must be an integer from 0 to {MAX_ID}")
    return int(value)


def _limit(value: str, max_limit: int) -> int:
    """A `limit` of any size is clamped, not refused: only non-integers and negatives are 400."""
    if not _ANY_DIGITS.fullmatch(value):
        raise InvalidRequest("limit must be a non-negative integer")
    digits = value.lstrip("0") or "0"
    return max_limit if len(digits) > len(str(max_limit)) else min(int(digits), max_limit)


def search_text(query: Mapping[str, str]) -> str:
    """The `q` of a search, "" (everything) when absent."""
    return text(query.get("q", ""), "q", max_length=QUERY_MAX)


def page(query: Mapping[str, str], default_limit: int, max_limit: int = 100) -> tuple[int, int]:
    """`limit` (clamped to `max_limit`) and `offset` from a query string."""
    limit = _limit(query["limit"], max_limit) if "limit" in query else default_limit
    offset = non_negative_int(query["offset"], "offset") if "offset" in query else 0
    return limit, offset
