"""What socialhub relies on of Twisted beyond its public API.

Sending straight to a connection's socket (ws/direct_write.py) is safe only while nothing is
queued in the transport: Twisted keeps that in `dataBuffer` and `_tempDataBuffer`. A request
body's limit depends on its path before the Request has it (http/site.py): the HTTP channel
keeps it in `_path` meanwhile. None of these are public API: trial_tests/_compat/test_twisted.py
fails if Twisted changes them.
"""

from __future__ import annotations

import socket
from typing import Any

from twisted.internet import tcp


class AtOnceWriter:
    """Writes to a transport straight to its socket when it is plain TCP and nothing is queued
    in it; what the kernel does not take (or everything, on TLS or any other transport) goes to
    `transport.write`, so the transport's buffer, its producer and the order of the bytes stay
    as Twisted keeps them. (A base class rather than a helper: `send` runs for every frame.)"""

    __slots__ = ("_socket", "_transport")

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        plain = isinstance(transport, tcp.Connection) and not transport.TLS
        self._socket: socket.socket | None = transport.socket if plain else None

    def send(self, data: bytes) -> None:
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


def path_so_far(channel: Any) -> bytes:
    """The path (and query) of the request line the channel is reading the body of: a Request
    gets its own only once the whole body is in. Empty when there is none."""
    path: bytes = getattr(channel, "_path", b"") or b""
    return path
