"""Writing to a plain TCP connection's socket at once when nothing is queued ahead.

Twisted's `transport.write` only buffers: the reactor then registers the socket for writing
(an epoll_ctl), wakes up for it, dispatches the write event (log context, `logPrefix`), sends,
and unregisters the socket (another epoll_ctl). For one group message to 1,000 members that is
1,000 times the whole round, and it cost more than everything else per copy (in the fan-out's
profile). asyncio and uvloop send at once when their buffer is empty; `SocketWriter` does the
same for Twisted's TCP transports and hands whatever the kernel did not take (or everything, on
TLS or any other transport) to `transport.write`. So the transport's buffer, its streaming
producer (the slow-reader guard) and the order of the bytes stay as Twisted keeps them.

Sending at once still costs one `send` syscall per frame. When a group-commit batch is answered,
each connection gets several frames in a row (acks of its own messages, deliveries of others'),
and those syscalls were about a tenth of the server's CPU. So a `Cork` can be held around such
a burst: meanwhile every SocketWriter keeps its frames, and when the cork is taken out each
writes what it kept in one piece, through the same path as a single frame (so what the kernel
refuses then lands in Twisted's buffer and counts toward the slow-reader guard, as any frame's
bytes do; frames are kept only while one batch's answers run). Bytes that reach the
transport another way (Autobahn's close, ping and pong frames) must not overtake kept ones: the
protocol calls `flush` before each of those (ws/protocol.py).

Sending at once, which reads whether anything is queued from Twisted's internals, is
AtOnceWriter's (socialhub/_compat/twisted.py).
"""

from __future__ import annotations

from typing import Any

from socialhub._compat.twisted import AtOnceWriter
from socialhub.delivery.cork import Cork


class SocketWriter(AtOnceWriter):
    """Writes for one connection's transport, straight to its socket when it can."""

    __slots__ = ("_cork", "_kept")

    def __init__(self, transport: Any, cork: Cork) -> None:
        super().__init__(transport)
        self._cork = cork
        self._kept: list[bytes] | None = None  # frames written while corked, not sent yet

    def write(self, data: bytes) -> None:
        """Send `data`, or keep it while corked (and after kept frames, until they are sent)."""
        if self._kept is not None:
            self._kept.append(data)
        elif self._cork.corked:
            self._kept = [data]
            self._cork.keeping(self)
        else:
            self.send(data)

    def flush(self) -> None:
        """Send the frames kept while corked, in one piece; call before writing to the
        transport any other way, so that those bytes come after them."""
        kept, self._kept = self._kept, None
        if kept is not None:
            self.send(b"".join(kept))
