"""One HTTP/1.1 connection kept open across requests, written byte for byte.

An agent's pool opens a new connection when the server closed the last one, which would hide
a server that drops a keep-alive connection after an error; this client never reconnects, so
a closed connection shows (`open` is False, the next exchange fails).
"""

from __future__ import annotations

import re

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers

from trial_tests.support.harness import Response

EXCHANGE_TIMEOUT = 30.0  # seconds; generous, the machine is shared
_LENGTH = re.compile(rb"(?im)^content-length:\s*(\d+)\s*$")
_CHUNKED = re.compile(rb"(?im)^transfer-encoding:\s*chunked\s*$")


def _chunked_body(raw: bytes) -> tuple[bytes, bytes] | None:
    """(body, what follows it) of a complete chunked body at the start of `raw`, else None."""
    body, position = b"", 0
    while True:
        line_end = raw.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(raw[position:line_end].split(b";")[0], 16)
        start = line_end + 2
        if size == 0:
            trailer_end = raw.find(b"\r\n", start)
            return None if trailer_end < 0 else (body, raw[trailer_end + 2 :])
        if len(raw) < start + size + 2:
            return None
        body += raw[start : start + size]
        position = start + size + 2


def _status_and_headers(head: bytes) -> tuple[int, Headers]:
    status_line, *lines = head.split(b"\r\n")
    headers = Headers()
    for line in lines:
        name, _, value = line.partition(b":")
        headers.addRawHeader(name.strip(), value.strip())
    return int(status_line.split()[1]), headers


def parse_response(raw: bytes) -> tuple[Response, bytes] | None:
    """The first complete response in `raw` and the bytes after it, or None while incomplete."""
    head, separator, rest = raw.partition(b"\r\n\r\n")
    if not separator:
        return None
    status, headers = _status_and_headers(head)
    if status in (204, 304):
        return Response(status, headers, b""), rest
    if _CHUNKED.search(head):
        parsed = _chunked_body(rest)
        return None if parsed is None else (Response(status, headers, parsed[0]), parsed[1])
    match = _LENGTH.search(head)
    length = int(match.group(1)) if match else 0
    if len(rest) < length:
        return None
    return Response(status, headers, rest[:length]), rest[length:]


class KeepAlive(Protocol):
    """Sends one request at a time and fires its Deferred with the response."""

    def __init__(self) -> None:
        self.open = True
        self._received = b""
        self._waiting: Deferred[Response] | None = None

    def exchange(self, request: bytes) -> Deferred[Response]:
        """Send `request` as it is; the Deferred fails when the connection is (or gets) closed."""
        assert self._waiting is None, "one request at a time"
        waiting: Deferred[Response] = Deferred()
        if not self.open:
            waiting.errback(ConnectionDone("the server closed the connection"))
            return waiting
        self._waiting = waiting
        assert self.transport is not None
        self.transport.write(request)
        return waiting.addTimeout(EXCHANGE_TIMEOUT, reactor)

    def dataReceived(self, data: bytes) -> None:
        self._received += data
        parsed = parse_response(self._received)
        if parsed is not None and self._waiting is not None:
            response, self._received = parsed
            waiting, self._waiting = self._waiting, None
            waiting.callback(response)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.open = False
        if self._waiting is not None:
            waiting, self._waiting = self._waiting, None
            waiting.errback(reason)

    def close(self) -> None:
        if self.open and self.transport is not None:
            self.transport.loseConnection()


async def open_keep_alive(url: str) -> KeepAlive:
    """A connection to the server at `url` (http://127.0.0.1:port)."""
    port = int(url.rsplit(":", 1)[1])
    connection = KeepAlive()
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), connection)
    return connection


def request_bytes(
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes = b"",
) -> bytes:
    """An HTTP/1.1 request with a Content-Length (also for an empty body)."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
