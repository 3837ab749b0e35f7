"""socialhub/_compat/twisted.py against the installed Twisted, on real loopback TCP: where a
TCP transport keeps the bytes it has not sent (`_tempDataBuffer`, then `dataBuffer`), which
transports are plain TCP (`TLS`), where an HTTP channel keeps the path of a request whose
body it is reading, how it refuses a malformed or oversized request, and the wrapper a Site
makes each connection's channel in. Fails if Twisted moves any of them."""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor, ssl
from twisted.internet.address import IPv4Address
from twisted.internet.protocol import ClientFactory
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import StringTransport
from twisted.python.filepath import FilePath
from twisted.test import __file__ as twisted_tests
from twisted.trial.unittest import TestCase
from twisted.web.server import Request, Site
from twisted.web.static import Data

from socialhub._compat.twisted import (
    AtOnceWriter,
    RefusingChannel,
    channel_protocol,
    path_so_far,
)
from trial_tests.support.sockets import CHUNK, Sink, counted

_reactor: Any = reactor


async def loopback_client(testcase: TestCase, port: int) -> tuple[Any, Sink]:
    """A client connection to `port`: its transport and what it receives."""
    sink = Sink()
    connector = _reactor.connectTCP("127.0.0.1", port, ClientFactory.forProtocol(lambda: sink))
    testcase.addCleanup(connector.disconnect)
    await sink.opened
    return sink.transport, sink


class AtOnceWriterTests(TestCase):
    """Where a TCP transport keeps what it has not sent, read directly (these tests are the
    tripwire), and what AtOnceWriter does about it."""

    async def test_at_once_when_nothing_is_queued(self) -> None:
        transport, sink, counting = await counted(self)
        self.assertEqual((transport._tempDataBuffer, transport.dataBuffer), ([], b""))
        AtOnceWriter(transport).send(b"frame")
        self.assertEqual(counting.sends, [b"frame"])
        self.assertEqual(await sink.wait_for(5), b"frame")

    async def test_behind_a_write_the_reactor_has_not_sent(self) -> None:
        """transport.write only buffers (in `_tempDataBuffer`): what comes next joins it."""
        transport, sink, counting = await counted(self)
        transport.write(b"queued ")
        AtOnceWriter(transport).send(b"frame")
        self.assertEqual(transport._tempDataBuffer, [b"queued ", b"frame"])
        self.assertEqual(counting.sends, [])
        self.assertEqual(await sink.wait_for(12), b"queued frame")
        await deferLater(reactor, 0, lambda: None)  # the write event that emptied the buffer
        self.assertEqual((transport._tempDataBuffer, transport.dataBuffer), ([], b""))

    async def test_behind_what_the_kernel_refused(self) -> None:
        """A reader that stops reading: after the reactor's write attempt, the rest sits in
        `dataBuffer` (`_tempDataBuffer` emptied into it), and the next send goes behind it."""
        transport, sink, counting = await counted(self)
        reading = sink.transport
        assert reading is not None
        reading.pauseProducing()  # type: ignore[attr-defined]
        for _ in range(200):  # more than the kernel's buffers hold
            transport.write(CHUNK)
        await deferLater(reactor, 0.05, lambda: None)
        self.assertEqual(transport._tempDataBuffer, [])
        self.assertGreater(len(transport.dataBuffer), 0)
        sends = len(counting.sends)
        AtOnceWriter(transport).send(b"last")
        self.assertEqual(len(counting.sends), sends)
        reading.resumeProducing()  # type: ignore[attr-defined]
        received = await sink.wait_for(200 * len(CHUNK) + 4)
        self.assertTrue(received.endswith(b"last"))

    async def test_through_the_transport_once_tls_has_started(self) -> None:
        """startTLS sets the transport's TLS flag: its socket carries TLS records then."""
        transport, _, counting = await counted(self)
        pem = FilePath(twisted_tests).sibling("server.pem").getContent()
        transport.startTLS(ssl.PrivateCertificate.loadPEM(pem).options())
        AtOnceWriter(transport).send(b"frame")
        self.assertEqual(counting.sends, [])

    def test_through_any_other_transport(self) -> None:
        transport = StringTransport()
        AtOnceWriter(transport).send(b"frame")
        self.assertEqual(transport.value(), b"frame")


class _Recording(Request):
    """Records the path the channel has at each step of reading the body."""

    paths: list[bytes] = []

    def gotLength(self, length: int | None) -> None:
        self.paths.append(path_so_far(self.channel))
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        self.paths.append(path_so_far(self.channel))
        super().handleContentChunk(data)


class PathSoFarTests(TestCase):
    async def test_the_path_while_the_body_is_read(self) -> None:
        """From the declared length through every chunk of the body."""
        site = Site(Data(b"ok", "text/plain"), requestFactory=_Recording, reactor=reactor)
        port = _reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        _Recording.paths = []
        transport, sink = await loopback_client(self, port.getHost().port)
        transport.write(b"POST /api/media?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab")
        await deferLater(reactor, 0.05, lambda: None)
        transport.write(b"cd")
        answer = await sink.wait_for(1)
        self.assertTrue(answer.startswith(b"HTTP/1.1 "), answer)  # the request was made
        self.assertEqual(_Recording.paths, [b"/api/media?x=1"] * 3)

    def test_empty_without_a_request(self) -> None:
        self.assertEqual(path_so_far(None), b"")


class _Refusals(RefusingChannel):
    """Records each refusal, and stops reading as a refusing channel must."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []

    def refuse(self, message: str) -> None:
        self.refused.append(message)
        self.clearLineBuffer()


class RefusingChannelTests(TestCase):
    """Twisted's own refusals reach `refuse`, with nothing of Twisted's written, through the
    wrapper a Site makes each connection's protocol in."""

    def _serve(self, data: bytes) -> tuple[list[str], bytes]:
        """What the channel refused, and what went out, for `data` sent on one connection."""
        channel = _Refusals()
        site = Site(Data(b"ok", "text/plain"), reactor=Clock())
        site.protocol = lambda: channel_protocol(channel)  # type: ignore[method-assign]
        protocol = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        transport = StringTransport()
        assert protocol is not None
        protocol.makeConnection(transport)
        protocol.dataReceived(data)
        return channel.refused, transport.value()

    def test_a_request_is_served(self) -> None:
        refused, sent = self._serve(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(refused, [])
        self.assertTrue(sent.startswith(b"HTTP/1.1 "), sent)  # answered by the resource

    def test_a_line_too_long(self) -> None:
        refused, sent = self._serve(b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\n\r\n")
        self.assertEqual((len(refused), sent), (1, b""))
        self.assertIn("longer than", refused[0])

    def test_headers_too_large(self) -> None:
        headers = b"".join(b"X-%d: %s\r\n" % (n, b"b" * 6000) for n in range(3))
        refused, sent = self._serve(b"GET / HTTP/1.1\r\n" + headers + b"\r\n")
        self.assertEqual((len(refused), sent), (1, b""))

    def test_a_malformed_request_line(self) -> None:
        refused, sent = self._serve(b"NONSENSE\r\nHost: h\r\n\r\n")
        self.assertEqual((len(refused), sent), (1, b""))
