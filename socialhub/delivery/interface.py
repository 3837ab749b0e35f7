"""What handlers call to get a frame to people: the one interface between rules and sockets.

Handlers call it only after their write has committed. The frame is serialized once, by the
implementation, however many connections receive it. `delivery/fanout.py` implements it over the
process's own sockets and the bus (in-process or Redis): the same handler code either way.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Protocol

from twisted.internet.defer import Deferred


class SharedFrame:
    """A serialized frame on its way to several connections (a fan-out).

    The first connection that sends it encodes it for the wire and leaves the bytes in `wire`;
    every later copy writes those same bytes. So a group message is framed once, not once per
    member: per copy, framing cost more than everything else delivery does.
    """

    __slots__ = ("payload", "wire")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.wire: bytes | None = None


class Connection(Protocol):
    """An open, authenticated WebSocket as delivery sees it."""

    connection_id: str  # unique across every process of the deployment
    user_id: int
    session_id: int

    def send_payload(self, payload: bytes) -> None:
        """Send an already serialized JSON text frame."""

    def send_shared(self, frame: SharedFrame) -> None:
        """Send a frame other connections are sent too, encoding it only if no one has."""

    def close_with(self, code: int, reason: str) -> None:
        """Close the connection with this WebSocket close code."""


class Delivery(Protocol):
    """Frames to users' open connections, wherever they are connected."""

    def to_users(
        self,
        user_ids: Collection[int],
        frame: Mapping[str, Any],
        exclude: Connection | None = None,
        position: int | None = None,
    ) -> None:
        """Send `frame` to every open connection of each user, except `exclude`; a stored
        frame gives its stream `position` (and `committed` must follow)."""

    def to_group(
        self,
        group_id: int,
        member_ids: Collection[int],
        frame: Mapping[str, Any],
        exclude: Connection | None = None,
        position: int | None = None,
    ) -> None:
        """Send `frame` to every open connection of these members of the group."""

    def committed(self, first: int, last: int) -> None:
        """Stream positions first..last are committed and all their frames were handed over:
        called once per writing transaction, after its frames."""

    def to_everyone(self, frame: Mapping[str, Any], exclude: Connection | None = None) -> None:
        """Send `frame` to every open connection (broadcasts)."""

    def close_sessions(
        self, user_id: int, session_ids: Collection[int], code: int, reason: str
    ) -> None:
        """Close every connection opened with one of these sessions of the user (4001)."""

    def membership_changed(self, user_id: int, group_id: int, joined: bool) -> None:
        """A user became, or stopped being, an accepted member of a group."""

    def claim(self, key: str, seconds: float) -> Deferred[bool]:
        """True when no process of the deployment claimed `key` within `seconds`: a limit of
        frames that only say "now", shared by every process (through the bus)."""

    def open_sessions(self) -> dict[int, set[int]]:
        """The sessions this process has open connections of, by user."""

    async def online(self, user_ids: Collection[int]) -> set[int]:
        """Those of these users who have a connection open on any process."""

    async def presence_shown(self, user_id: int, shown: bool) -> None:
        """The user showed or hid their presence: tell their audience if they are online."""
