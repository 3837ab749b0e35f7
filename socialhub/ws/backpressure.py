"""Shedding a reader that stopped reading: it may not hold more than 1 MiB of server memory.

The transport tells a registered streaming producer to pause once its outgoing buffer passes
`bufferSize`. Set to 1 MiB, that pause is the signal: the connection is sent a 1008 close and
aborted one second later (its messages stay in history, and it can resume with its cursor).

A resuming connection's replay (up to 1,000 stored frames) is written all at once and may pass
1 MiB by itself, however fast the reader reads. So the limit starts once the replay is written,
and until the reader has drained the buffer it counts on top of what the replay queued.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IPushProducer
from zope.interface import implementer

MAX_QUEUED = 1024 * 1024
ABORT_AFTER = 1.0


@implementer(IPushProducer)
class SlowReaderGuard:
    """Registered on a WebSocket's transport; closes the connection when the buffer overflows."""

    def __init__(self, transport: Any, close: Callable[[int, str], None]) -> None:
        self._transport = transport
        self._close = close
        self.tripped = False
        self.replaying = True  # until replayed(): the connection is being sent what it missed
        self._replay_bytes = 0
        self._replay_over = False  # the replay passed the limit and has not drained since
        self._abort: IDelayedCall | None = None
        transport.bufferSize = MAX_QUEUED
        transport.registerProducer(self, True)

    def sending(self, size: int) -> None:
        """`size` bytes are about to be written to the connection."""
        if self.replaying:
            self._replay_bytes += size

    def replayed(self) -> None:
        """The replay is written: the limit applies from now on, with room for what the replay
        left queued until the buffer has drained."""
        self.replaying = False
        if self._replay_over:
            self._transport.bufferSize = MAX_QUEUED + self._replay_bytes

    def pauseProducing(self) -> None:
        if self.replaying:
            self._replay_over = True
            return
        if self.tripped:
            return
        self.tripped = True
        self._close(1008, "too much queued: read faster, then resume")
        self._abort = self._transport.reactor.callLater(
            ABORT_AFTER, self._transport.abortConnection
        )

    def resumeProducing(self) -> None:
        """The buffer drained: the replay's room goes. (A tripped connection still goes.)"""
        self._replay_over = False
        if not self.replaying:
            self._transport.bufferSize = MAX_QUEUED

    def stopProducing(self) -> None:
        """The connection is closing anyway."""
        self.closed()

    def closed(self) -> None:
        """The connection is gone, so no abort is due. (The protocol says so: Autobahn
        unregisters the guard before it drops a connection, and then the transport cannot.)"""
        if self._abort is not None and self._abort.active():
            self._abort.cancel()
