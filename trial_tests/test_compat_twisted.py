"""socialhub/_compat/twisted.py against the installed Twisted, on real loopback TCP: where a
TCP transport keeps the bytes it has not sent (`_tempDataBuffer`, then `dataBuffer`), which
transports are plain TCP, and where an HTTP channel keeps the path of a request whose body it
is reading. Fails if Twisted moves any of them."""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor, ssl
from twisted.internet.protocol import ClientFactory
from twisted.internet.task import deferLater
from twisted.internet.testing import StringTransport
from twisted.python.filepath import FilePath
from twisted.test import __file__ as twisted_tests
from twisted.trial.unittest import TestCase
from twisted.web.server import Request, Site
from twisted.web.static import Data

from socialhub._compat.twisted import nothing_queued, path_so_far, plain_socket
from trial_tests.test_direct_write import CHUNK, Sink, loopback

_reactor: Any = reactor


async def loopback_client(testcase: TestCase, port: int) -> tuple[Any, Sink]:
    """A client connection to `port`: its transport and what it receives."""
    sink = Sink()
    connector = _reactor.connectTCP("127.0.0.1", port, ClientFactory.forProtocol(lambda: sink))
    testcase.addCleanup(connector.disconnect)
    await sink.opened
    return sink.transport, sink


class QueuedTests(TestCase):
    async def test_nothing_queued_on_a_fresh_connection(self) -> None:
        transport, _ = await loopback(self)
        self.assertTrue(nothing_queued(transport))

    async def test_a_write_is_queued_until_the_reactor_sends_it(self) -> None:
        """transport.write only buffers (in `_tempDataBuffer`); once the reactor has written
        it all, nothing is queued again."""
        transport, sink = await loopback(self)
        transport.write(b"queued")
        self.assertEqual(transport._tempDataBuffer, [b"queued"])
        self.assertFalse(nothing_queued(transport))
        self.assertEqual(await sink.wait_for(6), b"queued")
        await deferLater(reactor, 0, lambda: None)  # the write event that emptied the buffer
        self.assertTrue(nothing_queued(transport))

    async def test_what_the_kernel_refused_stays_queued(self) -> None:
        """A reader that stops reading: after the reactor's write attempt, the rest sits in
        `dataBuffer` (`_tempDataBuffer` emptied into it), and counts as queued."""
        transport, sink = await loopback(self)
        reading = sink.transport
        assert reading is not None
        reading.pauseProducing()  # type: ignore[attr-defined]
        for _ in range(200):  # more than the kernel's buffers hold
            transport.write(CHUNK)
        await deferLater(reactor, 0.05, lambda: None)
        self.assertEqual(transport._tempDataBuffer, [])
        self.assertGreater(len(transport.dataBuffer), 0)
        self.assertFalse(nothing_queued(transport))
        reading.resumeProducing()  # type: ignore[attr-defined]
        await sink.wait_for(200 * len(CHUNK))


class PlainSocketTests(TestCase):
    async def test_a_tcp_transport_has_its_socket(self) -> None:
        transport, _ = await loopback(self)
        self.assertIs(plain_socket(transport), transport.socket)

    async def test_not_once_tls_has_started(self) -> None:
        """startTLS sets the transport's TLS flag: its socket carries TLS records then."""
        transport, _ = await loopback(self)
        pem = FilePath(twisted_tests).sibling("server.pem").getContent()
        transport.startTLS(ssl.PrivateCertificate.loadPEM(pem).options())
        self.assertIsNone(plain_socket(transport))

    def test_not_on_another_transport(self) -> None:
        self.assertIsNone(plain_socket(StringTransport()))


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
