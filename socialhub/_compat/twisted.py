"""What socialhub relies on of Twisted beyond its public API.

Sending straight to a connection's socket (ws/direct_write.py) is safe only while nothing is
queued in the transport: Twisted keeps that in `dataBuffer` and `_tempDataBuffer`. A request
body's limit depends on its path before the Request has it (http/site.py): the HTTP channel
keeps it in `_path` meanwhile. The channel refuses a malformed request, or headers too large,
through `_respondToBadRequestAndDisconnect` (a bare 400), and a Site makes each connection's
channel through `_GenericHTTPChannelProtocol`. None of these are public API:
trial_tests/_compat/test_twisted.py fails if Twisted changes them.
"""

from __future__ import annotations

import socket
from typing import Any

from twisted.internet import tcp
from twisted.web import http


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


class RefusingChannel(http.HTTPChannel):
    """An HTTP channel that hands each of Twisted's own refusals of a request to `refuse`:
    a request line or header longer than MAX_LENGTH (which Twisted answers by closing in
    silence), a malformed request line or header, or headers over `totalHeadersSize` (which
    it answers with a bare 400). A subclass writes the answer."""

    def _respondToBadRequestAndDisconnect(self) -> None:
        self.refuse("the request line or a header is malformed, or the headers are too large")

    def lineLengthExceeded(self, line: bytes) -> None:
        self.refuse(f"the request line or a header is longer than {self.MAX_LENGTH} bytes")

    def refuse(self, message: str) -> None:
        raise NotImplementedError


def channel_protocol(channel: http.HTTPChannel) -> Any:
    """What a Site's `protocol` returns for `channel`: Twisted's own wrapper, which would
    switch to HTTP/2 when TLS negotiates it."""
    return http._GenericHTTPChannelProtocol(channel)
