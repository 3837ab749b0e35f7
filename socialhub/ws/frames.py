"""Client frames: decoded and validated in one place, before any rule sees them.

A frame that cannot be used raises FrameError with the contract's error code; the connection
answers with an `error` frame and stays open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from socialhub.errors import InvalidRequest
from socialhub.validation import parse_id, text

MAX_CONTENT = 4000
MAX_CLIENT_ID = 64


class FrameError(Exception):
    """A client frame refused before dispatch: an error code, a message, the client id if any."""

    def __init__(self, code: str, message: str, client_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_id = client_id


# Made for every message: slots and not frozen, whose __init__ costs 4x (2.7 against 0.6 us).
@dataclass(slots=True)
class PrivateFrame:
    kind: ClassVar[str] = "private"
    to: int
    content: str


@dataclass(slots=True)
class GroupFrame:
    kind: ClassVar[str] = "group"
    group_id: int
    content: str


@dataclass(slots=True)
class BroadcastFrame:
    kind: ClassVar[str] = "broadcast"
    content: str


ClientFrame = PrivateFrame | GroupFrame | BroadcastFrame


def _content(fields: dict[str, Any]) -> str:
    return text(fields.get("content"), "content", max_length=MAX_CONTENT, content=True)


_PARSERS: dict[str, Callable[[dict[str, Any]], ClientFrame]] = {
    "private": lambda f: PrivateFrame(to=parse_id(f.get("to"), "to"), content=_content(f)),
    "group": lambda f: GroupFrame(
        group_id=parse_id(f.get("group_id"), "group_id"), content=_content(f)
    ),
    "broadcast": lambda f: BroadcastFrame(content=_content(f)),
}


def _client_id(fields: dict[str, Any]) -> str | None:
    if "id" not in fields:
        return None
    value = fields["id"]
    if not isinstance(value, str):
        raise FrameError("invalid_frame", "id must be a string of 1 to 64 characters")
    try:
        return text(value, "id", min_length=1, max_length=MAX_CLIENT_ID)
    except InvalidRequest as error:
        raise FrameError("invalid_frame", error.message) from None


def decode(payload: bytes) -> tuple[str | None, ClientFrame]:
    """(client id, frame) from a text message; raises FrameError."""
    try:
        fields = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise FrameError("invalid_json", "the frame is not valid JSON") from None
    if not isinstance(fields, dict):
        raise FrameError("invalid_frame", "a frame is a JSON object")
    client_id = _client_id(fields)
    frame_type = fields.get("type")
    if not isinstance(frame_type, str):
        raise FrameError("invalid_frame", "type must be a string", client_id)
    parser = _PARSERS.get(frame_type)
    if parser is None:
        raise FrameError("unknown_type", f"unknown frame type {frame_type[:40]!r}", client_id)
    try:
        return client_id, parser(fields)
    except InvalidRequest as error:
        raise FrameError("invalid_frame", error.message, client_id) from None
