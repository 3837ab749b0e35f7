"""SocketWriter over real loopback TCP: written at once when nothing is queued, otherwise
through Twisted's buffer, in order, with the transport's producer paused as before. These
tests also fail if Twisted renames the buffer attributes SocketWriter reads."""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import ClientFactory, Protocol, ServerFactory
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from socialhub.ws.direct_write import SocketWriter

CHUNK = b"x" * 65536
_reactor: Any = reactor  # listenTCP/connectTCP's stubs want factory types of their own


class _Sink(Protocol):
    """The reading end: collects bytes, and says when it has `expected` of them."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.expected = 0
        self.done: Deferred[bytes] = Deferred()
        self.opened: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        self.opened.callback(None)

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if self.expected and len(self.received) >= self.expected and not self.done.called:
            self.done.callback(bytes(self.received))

    def wait_for(self, size: int) -> Deferred[bytes]:
        self.expected = size
        self.dataReceived(b"")
        return self.done.addTimeout(10, reactor)


@implementer(IPushProducer)
class _Producer:
    paused = False

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False

    def stopProducing(self) -> None:
        pass


class SocketWriterTests(TestCase):
    async def connect(self) -> tuple[Any, _Sink]:
        """A server-side TCP transport and the client protocol reading from it."""
        accepted: Deferred[Any] = Deferred()

        class Server(Protocol):
            def connectionMade(self) -> None:
                accepted.callback(self.transport)

        port = _reactor.listenTCP(0, ServerFactory.forProtocol(Server), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        sink = _Sink()
        client = ClientFactory.forProtocol(lambda: sink)
        connector = _reactor.connectTCP("127.0.0.1", port.getHost().port, client)
        self.addCleanup(connector.disconnect)
        transport = await accepted
        await sink.opened
        self.addCleanup(transport.loseConnection)
        return transport, sink

    def buffered(self, transport: Any) -> int:
        return len(transport.dataBuffer) + sum(map(len, transport._tempDataBuffer))

    async def test_written_at_once_when_nothing_is_queued(self) -> None:
        transport, sink = await self.connect()
        SocketWriter(transport).write(b"frame")
        self.assertEqual(self.buffered(transport), 0)
        self.assertEqual(await sink.wait_for(5), b"frame")

    async def test_queued_bytes_go_first(self) -> None:
        transport, sink = await self.connect()
        transport.write(b"queued ")
        SocketWriter(transport).write(b"frame")
        self.assertEqual(self.buffered(transport), len(b"queued frame"))
        self.assertEqual(await sink.wait_for(12), b"queued frame")

    async def test_what_the_kernel_refuses_is_buffered_in_order(self) -> None:
        """A reader that stops reading: the rest of a write and every later write queue in
        Twisted's buffer, whose producer is paused past bufferSize, and all arrive in order."""
        transport, sink = await self.connect()
        producer = _Producer()
        transport.bufferSize = len(CHUNK)
        transport.registerProducer(producer, True)
        reading: Any = sink.transport
        reading.pauseProducing()
        writer = SocketWriter(transport)
        sent: list[bytes] = []
        while not producer.paused and len(sent) < 1000:  # the kernel holds a few MiB at most
            chunk = b"%08d" % len(sent) + CHUNK
            writer.write(chunk)
            sent.append(chunk)
        self.assertTrue(producer.paused)
        self.assertGreater(self.buffered(transport), len(CHUNK))
        reading.resumeProducing()
        expected = b"".join(sent)
        self.assertEqual(await sink.wait_for(len(expected)), expected)
