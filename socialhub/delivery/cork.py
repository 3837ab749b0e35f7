"""The cork: while a burst of frames is answered (a batch of messages), sockets keep what they
are given and write it in one piece when the burst is done (see ws/direct_write.py)."""

from __future__ import annotations

from collections import deque
from types import TracebackType
from typing import Protocol


class Kept(Protocol):
    """A socket's writer that holds frames while the cork is in."""

    def flush(self) -> None:
        """Write what it kept, in one piece."""


class Cork:
    """While entered (re-entrantly), SocketWriters keep what they are given; leaving the
    outermost entry has each of them write it out in one piece.

    One per process, shared by every connection: the code that answers a burst (a chat batch,
    handlers/chat_batch.py) enters it without knowing of sockets. Never hold it across an `await`:
    other connections' frames would wait for an unrelated batch."""

    __slots__ = ("_depth", "_kept")

    def __init__(self) -> None:
        self._depth = 0
        self._kept: deque[Kept] = deque()  # writers holding frames, first come first

    @property
    def corked(self) -> bool:
        return self._depth > 0

    def keeping(self, writer: Kept) -> None:
        """`writer` holds frames now: it is flushed when the cork comes out."""
        self._kept.append(writer)

    def __enter__(self) -> None:
        self._depth += 1

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Runs however the body ended, so nothing is kept past it. A writer is taken off the
        queue before it flushes: should one raise, the others are still flushed next time."""
        self._depth -= 1
        if self._depth == 0:
            while self._kept:
                self._kept.popleft().flush()
