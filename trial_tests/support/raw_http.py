"""HTTP requests written byte for byte on a bare TCP connection, for what no agent sends."""

from __future__ import annotations

import re

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol, connectionDone
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers

from trial_tests.support.harness import Response, RunningServer

RAW_TIMEOUT = 10.0  # seconds; the server answers a refused body at once, or drains it for 2 s
TRICKLE_SECONDS = 0.05  # between the bytes of a trickling client


class _RawExchange(Protocol):
    """Writes one request as given and collects the answer until the connection closes.

    With `hang_up`, the client closes as soon as a whole response has arrived, so a server
    that answers before reading the body is told apart from one that waits for it.
    """

    def __init__(self, request: bytes, hang_up: bool) -> None:
        self._request = request
        self._hang_up = hang_up
        self._received = b""
        self.done: Deferred[bytes] = Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(self._request)

    def dataReceived(self, data: bytes) -> None:
        self._received += data
        if self._hang_up and _response_complete(self._received):
            assert self.transport is not None
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.done.callback(self._received)


class _Trickle(_RawExchange):
    """Writes `request`, then one more byte of `then` every `every` seconds, for as long as
    the connection stays open: a client too slow to finish, which only the server ends."""

    def __init__(self, request: bytes, then: bytes, every: float) -> None:
        super().__init__(request, hang_up=False)
        self._then = then
        self._drip = LoopingCall(self._one_more)
        self._every = every

    def connectionMade(self) -> None:
        super().connectionMade()
        self._drip.start(self._every, now=False)

    def _one_more(self) -> None:
        assert self.transport is not None
        byte, self._then = self._then[:1], self._then[1:] + self._then[:1]
        self.transport.write(byte)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._drip.stop()
        super().connectionLost(reason)


class _Leaving(_RawExchange):
    """Writes one request and hangs up at once: a client gone before its answer."""

    def connectionMade(self) -> None:
        super().connectionMade()
        assert self.transport is not None
        self.transport.loseConnection()


def upgrade_request(token: str) -> bytes:
    """A browser's WebSocket upgrade of /ws with this session token."""
    return (
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Cookie: socialhub_session={token}\r\n\r\n"
    ).encode()


async def raw_bytes(running: RunningServer, request: bytes, leave: bool = False) -> bytes:
    """What the server sends back to `request`, however little, until it closes; with
    `leave`, the client hangs up right after sending it."""
    exchange = _Leaving(request, False) if leave else _RawExchange(request, False)
    await _connect(running, exchange)
    return await exchange.done.addTimeout(RAW_TIMEOUT, reactor)


async def _connect(running: RunningServer, exchange: Protocol) -> None:
    port = int(running.url.rsplit(":", 1)[1])
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), exchange)


def _response_complete(raw: bytes) -> bool:
    head, separator, content = raw.partition(b"\r\n\r\n")
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return bool(separator and match and len(content) >= int(match.group(1)))


async def raw_post(
    running: RunningServer,
    path: str,
    body: bytes,
    chunked: bool = False,
    declared_length: int | None = None,
) -> Response:
    """POST over a bare TCP connection and read until the server closes it.

    A refused body is answered 413 before the client finished sending, so waiting for the
    server to close (after it drained the rest) leaves no connection behind, unlike an agent.
    With `declared_length`, Content-Length says that much but only `body` is sent, and the
    client hangs up once the answer is in.
    """
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    if chunked:
        chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
        payload += b"0\r\n\r\n"
        head += "Transfer-Encoding: chunked\r\n\r\n"
    else:
        payload = body
        head += f"Content-Length: {declared_length or len(body)}\r\n\r\n"
    return await _exchange(running, head.encode() + payload, declared_length is not None)


async def raw_get(running: RunningServer, path: str) -> Response:
    """GET with no Accept-Encoding, the headers as sent: an agent hides Content-Length."""
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    return await _exchange(running, head.encode(), hang_up=False)


async def raw_request(running: RunningServer, request: bytes) -> Response:
    """Send `request` as it is, however malformed, and read the answer: the client hangs up
    once it is in (a refusal keeps the connection open a moment to drain)."""
    return await _exchange(running, request, hang_up=True)


async def trickle(running: RunningServer, request: bytes, then: bytes) -> Response:
    """Send `request`, then `then` a byte at a time (over and over) until the server closes
    the connection, and read its answer."""
    return await _answer(running, _Trickle(request, then, TRICKLE_SECONDS))


async def _exchange(running: RunningServer, request: bytes, hang_up: bool) -> Response:
    return await _answer(running, _RawExchange(request, hang_up))


async def _answer(running: RunningServer, exchange: _RawExchange) -> Response:
    await _connect(running, exchange)
    raw = await exchange.done.addTimeout(RAW_TIMEOUT, reactor)
    status_line, _, rest = raw.partition(b"\r\n")
    header_block, _, content = rest.partition(b"\r\n\r\n")
    headers = Headers()
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        headers.addRawHeader(name.strip(), value.strip())
    if headers.getRawHeaders(b"transfer-encoding") == [b"chunked"]:
        content = _dechunked(content)
    return Response(int(status_line.split()[1]), headers, content)


def _dechunked(content: bytes) -> bytes:
    """The body of a chunked response (its chunks' sizes and the last chunk left out)."""
    body = b""
    while content:
        size, _, content = content.partition(b"\r\n")
        length = int(size.split(b";")[0], 16)
        body, content = body + content[:length], content[length + 2 :]
    return body
