"""Unmasking small client frames with one big-integer XOR instead of Autobahn's native masker.

Every frame a client sends is masked (RFC 6455 5.3), and Autobahn makes a masker object per
frame: its native (NVX, cffi) one allocates a C masker and two buffers each time, ~8 µs for a
100-byte chat frame here, 8% of the server's CPU in the private relay's profile. XOR-ing the
payload as one Python integer with the repeated mask costs ~1.5 µs up to a few hundred bytes
(and ~3 µs at 1 KiB); beyond SMALL, Autobahn's SIMD masker is faster and stays in use.

Autobahn looks its `create_xor_masker` up in its protocol module at each frame, so `install`
replaces that one name; trial_tests/ws/test_unmask.py checks it still exists and that both
maskers give the same bytes, however a frame is split across reads.
"""

from __future__ import annotations

from typing import Any

from autobahn.websocket import protocol as autobahn_protocol

SMALL = 1024
_autobahns = autobahn_protocol.create_xor_masker


class SmallMasker:
    """Autobahn's masker interface (pointer, reset, process), for one frame's payload."""

    __slots__ = ("_mask", "_pointer")

    def __init__(self, mask: bytes) -> None:
        self._mask = mask
        self._pointer = 0  # payload bytes processed so far: where the mask is at

    def pointer(self) -> int:
        return self._pointer

    def reset(self) -> None:
        self._pointer = 0

    def process(self, data: bytes) -> bytes:
        turn = self._pointer % 4
        self._pointer += len(data)
        return unmasked(self._mask[turn:] + self._mask[:turn], data)


def unmasked(mask: bytes, data: bytes) -> bytes:
    """`data` XOR-ed with the 4-byte `mask` repeated (RFC 6455 5.3), as one integer."""
    size = len(data)
    key = mask * (size // 4 + 1)
    masked = int.from_bytes(data, "little") ^ int.from_bytes(key[:size], "little")
    return masked.to_bytes(size, "little")


def create_xor_masker(mask: bytes, length: int | None = None) -> Any:
    """A masker for a frame of `length` payload bytes: ours when small, else Autobahn's."""
    if length is not None and length < SMALL:
        return SmallMasker(mask)
    return _autobahns(mask, length)


def install() -> None:
    """Make Autobahn's protocols (servers' and, in the same process, clients') use it.

    Should Autobahn drop the name, importing this module already fails (`_autobahns`)."""
    autobahn_protocol.create_xor_masker = create_xor_masker
