"""What the edges hand the handlers, already parsed and checked, and the answer a frame gets.

The edges (ws/frames.py for WebSocket frames, http/rest for query strings) turn wire input
into these values; handlers never see JSON, a query string or a protocol object.
"""

from __future__ import annotations

from dataclasses import dataclass

from socialhub.errors import InvalidRequest
from socialhub.storage.stores.messages import Page

# The frame commands are made for every message: slots and not frozen, whose __init__ costs 4x
# (2.7 against 0.6 us).


@dataclass(slots=True)
class PrivateMessage:
    to: int
    content: str


@dataclass(slots=True)
class GroupMessage:
    group_id: int
    content: str


@dataclass(slots=True)
class Broadcast:
    content: str


@dataclass(slots=True)
class Answer:
    """What a frame's ack says: a message's id (None when it is not stored, as a broadcast)
    and its time; both None for a frame that sends no message."""

    message_id: int | None
    timestamp: int | None


# A history page as asked, or why its paging fields were refused: the refusal waits for the
# reader's check, whose 404 or 403 the contract puts before it.
Paging = Page | InvalidRequest


@dataclass(frozen=True)
class PrivateHistory:
    """A page of the viewer's private conversation with another user."""

    user_id: int
    paging: Paging


@dataclass(frozen=True)
class GroupHistory:
    """A page of a group's messages."""

    group_id: int
    paging: Paging
