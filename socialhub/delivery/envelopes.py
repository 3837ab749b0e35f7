"""What delivery sends between processes over the bus, and its wire format.

A message is a small JSON header, a newline, then (for a frame) the frame already serialized: the
publisher serializes a frame once, and every receiving process forwards the payload bytes to its
sockets as they are, without decoding them again. The header names its fields in full; `origin`
comes first, so a process recognizes its own messages coming back by their first bytes
(`origin_prefix`) without decoding them. The format is internal to one version of socialhub:
processes of different versions must not share a bus (docs/scaling.md).

The envelopes are slotted but not frozen: a frozen dataclass's __init__ sets each field through
object.__setattr__, which doubles the cost of building one, and a stored message builds one per
publish and per process that receives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import orjson


@dataclass(slots=True)
class FrameEnvelope:
    """A frame for users' connections: those of the channel's user, or `members` on a group's
    channel, except the connection `exclude`. A stored frame has its stream `position`."""

    kind: ClassVar[str] = "frame"
    origin: str
    sent_at: float
    payload: bytes
    exclude: str | None = None
    members: list[int] | None = None
    position: int | None = None

    def encode(self) -> bytes:
        header: dict[str, Any] = {"origin": self.origin, "kind": self.kind, "sent_at": self.sent_at}
        if self.exclude is not None:
            header["exclude"] = self.exclude
        if self.members is not None:
            header["members"] = self.members
        if self.position is not None:
            header["position"] = self.position
        return orjson.dumps(header) + b"\n" + self.payload

    @classmethod
    def from_header(cls, header: dict[str, Any], payload: bytes) -> FrameEnvelope:
        get = header.get
        return cls(
            header["origin"],
            header["sent_at"],
            payload,
            get("exclude"),
            get("members"),
            get("position"),
        )


@dataclass(slots=True)
class CloseEnvelope:
    """Close the connections opened with these sessions (a revoked session: 4001)."""

    kind: ClassVar[str] = "close"
    origin: str
    sent_at: float
    session_ids: list[int]
    code: int
    reason: str

    def encode(self) -> bytes:
        return _header_only(self, session_ids=self.session_ids, code=self.code, reason=self.reason)

    @classmethod
    def from_header(cls, header: dict[str, Any], payload: bytes) -> CloseEnvelope:
        return cls(
            header["origin"],
            header["sent_at"],
            header["session_ids"],
            header["code"],
            header["reason"],
        )


@dataclass(slots=True)
class GroupsEnvelope:
    """The channel's user joined (or left) a group: (un)subscribe the group's channel."""

    kind: ClassVar[str] = "groups"
    origin: str
    sent_at: float
    group_id: int
    joined: bool

    def encode(self) -> bytes:
        return _header_only(self, group_id=self.group_id, joined=self.joined)

    @classmethod
    def from_header(cls, header: dict[str, Any], payload: bytes) -> GroupsEnvelope:
        return cls(header["origin"], header["sent_at"], header["group_id"], header["joined"])


@dataclass(slots=True)
class TickEnvelope:
    """Stream positions first..last are committed and their frames were published."""

    kind: ClassVar[str] = "tick"
    origin: str
    sent_at: float
    first: int
    last: int

    def encode(self) -> bytes:
        return _header_only(self, first=self.first, last=self.last)

    @classmethod
    def from_header(cls, header: dict[str, Any], payload: bytes) -> TickEnvelope:
        return cls(header["origin"], header["sent_at"], header["first"], header["last"])


Envelope = FrameEnvelope | CloseEnvelope | GroupsEnvelope | TickEnvelope

_BY_KIND: dict[str, type[Envelope]] = {
    kind.kind: kind for kind in (FrameEnvelope, CloseEnvelope, GroupsEnvelope, TickEnvelope)
}


def decode(message: bytes) -> Envelope:
    """The envelope a message holds; ValueError if it is not one this version writes."""
    header_bytes, _, payload = message.partition(b"\n")
    header = orjson.loads(header_bytes)
    try:
        return _BY_KIND[header["kind"]].from_header(header, payload)
    except (KeyError, TypeError) as error:
        raise ValueError(f"not an envelope: {error!r}") from None


def origin_prefix(origin: str) -> bytes:
    """How every message that `origin` encodes begins, so that a process can recognize its own
    messages coming back without decoding them."""
    return orjson.dumps({"origin": origin})[:-1]


def _header_only(envelope: CloseEnvelope | GroupsEnvelope | TickEnvelope, **fields: Any) -> bytes:
    """A control message: its header, with no payload after the newline."""
    header = {"origin": envelope.origin, "kind": envelope.kind, "sent_at": envelope.sent_at}
    return orjson.dumps({**header, **fields}) + b"\n"
