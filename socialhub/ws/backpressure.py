"""Shedding a reader that stopped reading: it may not hold more than 1 MiB of server memory.

The transport tells a registered streaming producer to pause once its outgoing buffer passes
`bufferSize`. Set to 1 MiB, that pause is the signal: the connection is sent a 1008 close and
aborted one second later (its messages stay in history, and it can resume with its cursor).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.interfaces import IPushProducer
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
        transport.bufferSize = MAX_QUEUED
        transport.registerProducer(self, True)

    def pauseProducing(self) -> None:
        if self.tripped:
            return
        self.tripped = True
        self._close(1008, "too much queued: read faster, then resume")
        self._transport.reactor.callLater(ABORT_AFTER, self._transport.abortConnection)

    def resumeProducing(self) -> None:
        """The buffer drained below the limit before the abort: the connection still goes."""

    def stopProducing(self) -> None:
        """The connection is closing anyway."""
