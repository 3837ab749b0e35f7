"""socialhub/_compat/twisted.py against the installed Twisted, on real loopback TCP: where a
TCP transport keeps the bytes it has not sent (`_tempDataBuffer`, then `dataBuffer`), and which
transports are plain TCP. Fails if Twisted moves either."""

from __future__ import annotations

from twisted.internet import reactor, ssl
from twisted.internet.task import deferLater
from twisted.internet.testing import StringTransport
from twisted.python.filepath import FilePath
from twisted.test import __file__ as twisted_tests
from twisted.trial.unittest import TestCase

from socialhub._compat.twisted import nothing_queued, plain_socket
from trial_tests.test_direct_write import CHUNK, loopback


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
