"""Writing to a plain TCP connection's socket at once when nothing is queued ahead.

Twisted's `transport.write` only buffers: the reactor then registers the socket for writing
(an epoll_ctl), wakes up for it, dispatches the write event (log context, `logPrefix`), sends,
and unregisters the socket (another epoll_ctl). For one group message to 1,000 members that is
1,000 times the whole round, and it cost more than everything else per copy (issue 9's fan-out
profile). asyncio and uvloop send at once when their buffer is empty; `SocketWriter` does the
same for Twisted's TCP transports and hands whatever the kernel did not take (or everything, on
TLS or any other transport) to `transport.write`. So the transport's buffer, its streaming
producer (the slow-reader guard) and the order of the bytes stay as Twisted keeps them.

It reads Twisted's `dataBuffer` and `_tempDataBuffer` (not public API):
trial_tests/test_direct_write.py fails if Twisted changes them.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import tcp


class SocketWriter:
    """Writes for one connection's transport, straight to its socket when it can."""

    __slots__ = ("_socket", "_transport")

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        plain = isinstance(transport, tcp.Connection) and not transport.TLS
        self._socket = transport.socket if plain else None

    def write(self, data: bytes) -> None:
        transport = self._transport
        if self._socket is not None and not transport.dataBuffer and not transport._tempDataBuffer:
            try:
                sent = self._socket.send(data)
            except OSError:  # the kernel buffer is full, or the connection broke: the
                sent = 0  # transport finds out which when it writes, and reports it
            if sent == len(data):
                return
            data = data[sent:]
        transport.write(data)
