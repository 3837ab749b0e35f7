"""What travels on the bus: a small JSON header, a newline, then the frame already serialized.

The publisher serializes a frame once; every receiving process forwards the payload bytes to
its sockets as they are, without decoding them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

FRAME = "frame"  # a frame for users' connections
CLOSE = "close"  # close the connections of some sessions
GROUPS = "groups"  # a user joined or left a group: (un)subscribe its channel
TICK = "tick"  # stream positions a..b are committed and their frames were published


def origin_prefix(origin: str) -> bytes:
    """How every message that `origin` encodes begins, so that a process can recognize its own
    messages coming back without decoding them."""
    return orjson.dumps({"o": origin})[:-1]


@dataclass(frozen=True)
class Envelope:
    """One bus message. `origin` names the publishing process, which ignores its own."""

    origin: str
    kind: str
    sent_at: float
    payload: bytes = b""
    fields: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        header = {"o": self.origin, "k": self.kind, "t": self.sent_at, **self.fields}
        return orjson.dumps(header) + b"\n" + self.payload

    @classmethod
    def decode(cls, message: bytes) -> Envelope:
        header_bytes, _, payload = message.partition(b"\n")
        header = orjson.loads(header_bytes)
        origin, kind, sent_at = header.pop("o"), header.pop("k"), header.pop("t")
        return cls(origin=origin, kind=kind, sent_at=sent_at, payload=payload, fields=header)
