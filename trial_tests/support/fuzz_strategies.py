"""Hypothesis strategies of hostile input: WebSocket messages and HTTP requests.

Values mix what the server would take (small ids that exist in the fuzz world, short text) with
what it must refuse: wrong types, huge and negative numbers, NaN, control characters, unpaired
surrogates, long text, nested junk. Frames are built per frame type from the dispatch table,
requests per route from the Klein url_map, so a new frame type or route is fuzzed without
changing this file (a new frame type needs its fields in FRAME_FIELDS; a test checks that).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

# The fields of each client frame type (docs/api/websocket.md).
FRAME_FIELDS: dict[str, tuple[str, ...]] = {
    "private": ("to", "content", "reply_to", "timestamp"),
    "group": ("group_id", "content", "reply_to", "timestamp"),
    "broadcast": ("content",),
    "typing": ("to", "group_id"),
    "reaction": ("message_id", "emoji", "on"),
    "edit": ("message_id", "content"),
    "delete": ("message_id",),
}

# The fields of each route's JSON body (docs/api/rest.md); other routes get fields of these.
_REGISTER = ("username", "email", "password", "display_name")
BODY_FIELDS: dict[str, tuple[str, ...]] = {
    "POST /api/auth/register": _REGISTER,
    "POST /api/auth/login": ("username", "email", "password"),
    "POST /api/auth/password": ("old_password", "new_password"),
    "POST /api/auth/password-reset": ("email",),
    "POST /api/auth/password-reset/confirm": ("token", "password"),
    "POST /api/auth/verify-email": ("token",),
    "DELETE /api/users/me": ("password",),
    "PATCH /api/users/me": (
        "display_name",
        "about",
        "is_private",
        "avatar_media_id",
        "show_presence",
    ),
    "POST /api/admin/users": (*_REGISTER, "is_admin"),
    "POST /api/admin/registration-tokens": ("uses_allowed", "expires_at"),
    "POST /api/admin/reports/<report_id>/resolve": ("note",),
    "POST /api/reports": ("kind", "id", "reason"),
    "POST /api/groups": ("name", "description"),
    "POST /api/groups/invite": ("group_id", "user_id", "group_name"),
    "PATCH /api/groups/<group_id>": ("name", "description", "owner_id"),
    "POST /api/groups/<group_id>/events": ("title", "description", "starts_at"),
    "POST /api/events/<event_id>/rsvp": ("response",),
    "POST /api/notifications/read": ("ids",),
    "POST /api/conversations/read": ("user", "group", "up_to"),
    "POST /api/posts": ("content", "privacy", "allowed_user_ids", "group_id", "media_ids"),
    "POST /api/posts/<post_id>/comments": ("content", "media_ids"),
}
# Fields a valid body or frame may leave out (typing takes one of `to` and `group_id`).
OPTIONAL = {"reply_to", "timestamp", "display_name", "description", "group_name"}
OPTIONAL |= {"privacy", "allowed_user_ids", "media_ids", "about", "is_private", "show_presence"}
OPTIONAL |= {"avatar_media_id", "owner_id", "uses_allowed", "expires_at", "note", "is_admin"}
ALL_BODY_FIELDS = tuple(sorted({name for names in BODY_FIELDS.values() for name in names}))
QUERY_NAMES = ["limit", "offset", "before", "q", "user", "group", "users", "kind", "status"]

WS_LIMIT = 65536  # a larger text message closes the connection with 1009

# Hypothesis draws a range's ends more often than the rest: a rare choice is a middle value.
RARE = 5
ids = st.integers(1, 8)  # the fuzz world's rows have small ids
# Text a field takes: no control character, not whitespace alone.
words = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30).filter(
    str.strip
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10),
    st.integers(),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), 2**64, 10**30]),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(["", " ", "\x00", "\x07", "\ud800", "\udfff", "\u202e", "\ufeff", "é" * 4001]),
    st.integers(3990, 10010).map(lambda n: "x" * n),
)
junk = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
# What the server may accept: the right type and a plausible value.
plausible: dict[str, st.SearchStrategy[Any]] = {
    "content": words,
    "emoji": st.sampled_from(["👍", "❤️", "x", "🏳️‍🌈"]),
    "on": st.booleans(),
    "privacy": st.sampled_from(["public", "followers", "private"]),
    "response": st.sampled_from(["going", "not_going"]),
    "starts_at": st.sampled_from(["2030-01-01T12:00:00Z", "2030-13-01T00:00:00Z", "yesterday"]),
    "ids": st.lists(ids, max_size=3),
    "media_ids": st.lists(ids, max_size=5),
    "allowed_user_ids": st.lists(ids, max_size=3),
    "is_private": st.booleans(),
    "show_presence": st.booleans(),
    "is_admin": st.booleans(),
    "group_id": ids | ids.map(str),
    "to": ids,
    "timestamp": st.integers(0, 2**31),
    "username": st.sampled_from(["fuzzer0", "FUZZER0", "newcomer", "ab", "a" * 33, "bad name"]),
    "email": st.sampled_from(["fuzzer0@example.org", "new@example.org", "no-at", "@x", "a@"]),
    "password": st.sampled_from(["correct horse", "wrong horse", "short", "x" * 1025]),
    "old_password": st.sampled_from(["correct horse", "wrong horse"]),
    "new_password": st.sampled_from(["correct horse", "another horse", "short"]),
    "kind": st.sampled_from(["post", "comment", "message", "user", "group", "other"]),
    "id": ids,
    "uses_allowed": st.integers(-1, 5),
    "expires_at": st.sampled_from(["2030-01-01T12:00:00Z", "2000-01-01T00:00:00Z", "soon"]),
}


def plausible_value(name: str) -> st.SearchStrategy[Any]:
    """A value of the field's type, often one the server takes."""
    if name in plausible:
        return plausible[name]
    if name.endswith(("_id", "to", "user", "group")):
        return ids | ids.map(str)
    return words


def value_of(name: str) -> st.SearchStrategy[Any]:
    """A field's value: plausible or junk."""
    return st.one_of(plausible_value(name), plausible_value(name), junk)


@st.composite
def fields_of(draw: st.DrawFn, names: tuple[str, ...]) -> dict[str, Any]:
    """The fields `names`: all plausible, or all plausible but one field junk or missing, or
    some of them with any values; sometimes with an unknown field or two."""
    fields = {
        name: draw(plausible_value(name))
        for name in names
        if name not in OPTIONAL or draw(st.booleans())
    }
    mode = max(0, draw(st.integers(-2, 3))) if names else 0  # all plausible half the time
    if mode == 1:
        fields[draw(st.sampled_from(names))] = draw(junk)
    elif mode == 2:
        fields.pop(draw(st.sampled_from(names)), None)
    elif mode == 3:
        chosen = draw(st.lists(st.sampled_from(names), unique=True))
        fields = {name: draw(value_of(name)) for name in chosen}
    if draw(st.integers(0, 4)) == 0:
        fields.update(draw(st.dictionaries(st.text(max_size=8), junk, max_size=2)))
    return fields


def to_json(value: Any, ascii_only: bool) -> bytes:
    """JSON as a careless client writes it: big integers, NaN, Infinity, escaped or raw text."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate: escaped, it is valid JSON text
        return json.dumps(value).encode("ascii")


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


# Bodies that are not a JSON object, or not JSON at all.
not_an_object = st.one_of(
    st.builds(to_json, junk, st.booleans()),
    st.binary(max_size=40),
    st.sampled_from(
        [
            b"NaN",
            b'{"limit": NaN}',
            b'{"a": Infinity}',
            b"1e999",
            b'{"id": 1e400}',
            b"-0",
            b"{}{}",
            b"{",
        ]
    ),
    st.sampled_from([nested(300), nested(2000), b"[" * 5000 + b"]" * 5000]),
    st.integers(2**64, 2**200).map(lambda n: b'{"up_to": %d}' % n),
)


@dataclass(frozen=True)
class Payload:
    """One WebSocket message, and the close code the contract answers it with (None: an error
    frame or an ack, the connection stays open)."""

    data: bytes
    binary: bool = False

    @property
    def closes_with(self) -> int | None:
        if self.binary:
            return 1003
        if len(self.data) > WS_LIMIT:
            return 1009
        if self.data.decode("utf-8", "replace").encode("utf-8") != self.data:
            return 1007  # not UTF-8: decoding replaced something
        return None

    def __repr__(self) -> str:
        shown = self.data if len(self.data) < 300 else self.data[:300] + b"..."
        return f"Payload({shown!r}, binary={self.binary}, length={len(self.data)})"


def client_ids() -> st.SearchStrategy[Any]:
    """A frame's `id`: absent (None here), usable, or junk."""
    usable = st.text(min_size=1, max_size=64).filter(lambda s: s.isprintable())
    return st.integers(0, 4).flatmap(
        lambda choice: (st.none(), usable, usable, usable, junk)[choice]
    )


@st.composite
def frame_objects(draw: st.DrawFn, types: tuple[str, ...]) -> dict[str, Any]:
    """A frame of a known type with some of its fields, or of an unknown or junk type."""
    kind = draw(junk if draw(st.integers(0, 9)) == RARE else st.sampled_from(types))
    frame: dict[str, Any] = {}
    if draw(st.integers(0, 19)) != RARE:
        frame["type"] = kind
    client_id = draw(client_ids())
    if client_id is not None:
        frame["id"] = client_id
    names = FRAME_FIELDS.get(kind, ()) if isinstance(kind, str) else ()
    frame.update(draw(fields_of(names)))
    return frame


def payloads(types: tuple[str, ...]) -> st.SearchStrategy[Payload]:
    """Client messages: frames of these types seven times in ten, then not-a-frame, binary and
    oversize messages."""
    frames = st.builds(to_json, frame_objects(types), st.booleans()).map(Payload)
    others = st.one_of(
        not_an_object.map(Payload),
        st.text(max_size=40).map(lambda text: Payload(text.encode("utf-8", "surrogatepass"))),
        st.binary(max_size=40).map(lambda data: Payload(data, binary=True)),
        st.just(Payload(b'{"type": "broadcast", "content": "' + b"x" * WS_LIMIT + b'"}')),
    )
    return st.integers(0, 9).flatmap(lambda choice: others if choice in (2, RARE, 8) else frames)


# HTTP requests.

CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/json;",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "image/png",
]
_PATH_ARGUMENT = re.compile(r"<(?:[^:>]+:)?([^>]+)>")
path_values = st.one_of(
    ids.map(str),
    ids.map(str),
    st.integers().map(str),
    st.sampled_from(
        [
            *("0", "-1", "1.5", "1e3", "00001", "%201", "me", "..", "%2e%2e", "%00", "%ff"),
            *("%c3%28", "9223372036854775807", "9223372036854775808", "9" * 40, "x" * 300),
        ]
    ),
    st.text(min_size=1, max_size=12).map(lambda text: quote(text, safe="")),
)
query_values = st.one_of(
    st.integers(-3, 120).map(str),
    ids.map(str),
    st.sampled_from(["", "now", "1,2,3", ",", "%ff", "%00", str(2**63), "1e2", "NaN", "x" * 1100]),
    st.text(max_size=12).map(lambda text: quote(text.encode("utf-8", "surrogatepass"), safe="")),
)


@dataclass(frozen=True)
class HttpCase:
    """One request: method, target (path and query, already percent-encoded), body."""

    method: str
    target: str
    content_type: str | None
    body: bytes

    def __repr__(self) -> str:
        body = self.body if len(self.body) < 300 else self.body[:300] + b"..."
        return f"HttpCase({self.method} {self.target[:300]} {self.content_type!r} {body!r})"


def _query_strings() -> st.SearchStrategy[str]:
    names = st.one_of(
        st.sampled_from(QUERY_NAMES), st.text(max_size=5).map(lambda s: quote(s, safe=""))
    )
    pairs = st.lists(st.tuples(names, query_values), max_size=4)
    return pairs.map(lambda items: "&".join(f"{name}={value}" for name, value in items))


@st.composite
def _bodies(draw: st.DrawFn, route: str) -> tuple[str | None, bytes]:
    """The route's fields (the simplest case: all plausible, as JSON), no body, one that is not
    a JSON object, or fields of other routes."""
    kind = draw(st.integers(0, 5))
    if kind == 1:
        return None, b""
    content_type = draw(st.sampled_from(CONTENT_TYPES[:1] * 8 + CONTENT_TYPES))
    if kind == 2:
        return content_type, draw(not_an_object)
    names = BODY_FIELDS.get(route) if kind != 3 else None
    if names is None:
        names = tuple(draw(st.lists(st.sampled_from(ALL_BODY_FIELDS), unique=True, max_size=4)))
    return content_type, to_json(draw(fields_of(names)), draw(st.booleans()))


@st.composite
def http_cases(draw: st.DrawFn, routes: tuple[str, ...]) -> HttpCase:
    """A request to one of `routes` ("METHOD Klein-rule"), its path arguments, query and body
    drawn; now and then with another method."""
    route = draw(st.sampled_from(routes))
    method, rule = route.split(" ", 1)
    if draw(st.integers(0, 9)) == 9:
        method = draw(st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"]))
    path = _PATH_ARGUMENT.sub(lambda _: draw(path_values), rule)
    query = draw(_query_strings())
    content_type, body = draw(_bodies(route))
    return HttpCase(method, path + (f"?{query}" if query else ""), content_type, body)
