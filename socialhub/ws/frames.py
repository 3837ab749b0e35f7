"""Client frames: JSON read and checked here, into the handlers' commands, before any rule sees
them. Values are checked by socialhub/validation.py, as REST's are.

A frame that cannot be used raises FrameError with the contract's error code; the connection
answers with an `error` frame and stays open. Which parser a frame type takes is the dispatch
table's (ws/dispatch.py).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from socialhub.errors import InvalidRequest
from socialhub.handlers.commands import (
    Broadcast,
    Delete,
    Edit,
    GroupMessage,
    PrivateMessage,
    React,
    Typing,
)
from socialhub.validation import boolean, parse_id, text

MAX_CONTENT = 4000
MAX_CLIENT_ID = 64
MAX_EMOJI = 16
# An emoji allows no control character at all: not even the tab and newlines text may hold.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

Fields = dict[str, Any]


class FrameError(Exception):
    """A client frame refused before dispatch: an error code, a message, the client id if any."""

    def __init__(self, code: str, message: str, client_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_id = client_id


def _client_id(fields: Fields) -> str | None:
    if "id" not in fields:
        return None
    value = fields["id"]
    if not isinstance(value, str):
        raise FrameError("invalid_frame", "id must be a string of 1 to 64 characters")
    try:
        return text(value, "id", min_length=1, max_length=MAX_CLIENT_ID)
    except InvalidRequest as error:
        raise FrameError("invalid_frame", error.message) from None


def envelope(payload: bytes) -> tuple[str, str | None, Fields]:
    """(type, client id, fields) of a text message; raises FrameError."""
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
    return frame_type, client_id, fields


def unknown_type(frame_type: str, client_id: str | None) -> FrameError:
    return FrameError("unknown_type", f"unknown frame type {frame_type[:40]!r}", client_id)


# The parsers of the frame types: each raises InvalidRequest for a field it cannot use.


def _content(fields: Fields) -> str:
    return text(fields.get("content"), "content", max_length=MAX_CONTENT, content=True)


def _reply_to(fields: Fields) -> int | None:
    """The message a message answers; absent or null: none."""
    reply_to = fields.get("reply_to")
    return None if reply_to is None else parse_id(reply_to, "reply_to")


def private(fields: Fields) -> PrivateMessage:
    to = parse_id(fields.get("to"), "to")
    return PrivateMessage(to, _content(fields), _reply_to(fields))


def group(fields: Fields) -> GroupMessage:
    group_id = parse_id(fields.get("group_id"), "group_id")
    return GroupMessage(group_id, _content(fields), _reply_to(fields))


def broadcast(fields: Fields) -> Broadcast:
    return Broadcast(content=_content(fields))


def typing(fields: Fields) -> Typing:
    """A typing frame names exactly one conversation: `to` or `group_id`."""
    if ("to" in fields) == ("group_id" in fields):
        raise InvalidRequest("a typing frame has either to or group_id")
    if "to" in fields:
        return Typing(to=parse_id(fields["to"], "to"), group_id=None)
    return Typing(to=None, group_id=parse_id(fields["group_id"], "group_id"))


def _message_id(fields: Fields) -> int:
    return parse_id(fields.get("message_id"), "message_id")


def reaction(fields: Fields) -> React:
    """An emoji is 1 to 16 characters of text without any control character."""
    emoji = text(fields.get("emoji"), "emoji", min_length=1, max_length=MAX_EMOJI)
    if _CONTROL.search(emoji):
        raise InvalidRequest("emoji contains a control character")
    return React(_message_id(fields), emoji, boolean(fields.get("on"), "on"))


def edit(fields: Fields) -> Edit:
    return Edit(_message_id(fields), _content(fields))


def delete(fields: Fields) -> Delete:
    return Delete(_message_id(fields))
