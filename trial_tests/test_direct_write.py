"""SocketWriter over real loopback TCP: written at once when nothing is queued, otherwise
through Twisted's buffer, in order, with the transport's producer paused as before; while
corked, kept and written in one piece when the cork comes out. (What SocketWriter reads of
Twisted's transports is checked by test_compat_twisted.py.)"""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import ClientFactory, Protocol, ServerFactory
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from socialhub.delivery.cork import Cork
from socialhub.ws.direct_write import SocketWriter

CHUNK = b"x" * 65536
_reactor: Any = reactor  # listenTCP/connectTCP's stubs want factory types of their own


class Sink(Protocol):
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
class Producer:
    paused = False

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False

    def stopProducing(self) -> None:
        pass


class CountingSocket:
    """A socket that records what each `send` call was given (one entry per syscall)."""

    def __init__(self, socket: Any) -> None:
        self._socket = socket
        self.sends: list[bytes] = []

    def send(self, data: bytes) -> int:
        self.sends.append(bytes(data))
        sent: int = self._socket.send(data)
        return sent

    def __getattr__(self, name: str) -> Any:
        return getattr(self._socket, name)


async def loopback(testcase: TestCase) -> tuple[Any, Sink]:
    """A server-side TCP transport and the client protocol reading from it."""
    accepted: Deferred[Any] = Deferred()

    class Server(Protocol):
        def connectionMade(self) -> None:
            accepted.callback(self.transport)

    port = _reactor.listenTCP(0, ServerFactory.forProtocol(Server), interface="127.0.0.1")
    testcase.addCleanup(port.stopListening)
    sink = Sink()
    client = ClientFactory.forProtocol(lambda: sink)
    connector = _reactor.connectTCP("127.0.0.1", port.getHost().port, client)
    testcase.addCleanup(connector.disconnect)
    transport = await accepted
    await sink.opened
    testcase.addCleanup(transport.loseConnection)
    return transport, sink


async def counted(testcase: TestCase) -> tuple[Any, Sink, CountingSocket]:
    """A loopback connection whose socket counts its sends (SocketWriter's and the
    transport's)."""
    transport, sink = await loopback(testcase)
    counting = CountingSocket(transport.socket)
    transport.socket = counting
    testcase.addCleanup(setattr, transport, "socket", counting._socket)
    return transport, sink, counting


class SocketWriterTests(TestCase):
    async def test_written_at_once_when_nothing_is_queued(self) -> None:
        transport, sink, counting = await counted(self)
        SocketWriter(transport, Cork()).write(b"frame")
        self.assertEqual(counting.sends, [b"frame"])
        self.assertEqual(await sink.wait_for(5), b"frame")

    async def test_queued_bytes_go_first(self) -> None:
        transport, sink, counting = await counted(self)
        transport.write(b"queued ")
        SocketWriter(transport, Cork()).write(b"frame")
        self.assertEqual(counting.sends, [], "behind the transport's queue, not at once")
        self.assertEqual(await sink.wait_for(12), b"queued frame")

    async def test_what_the_kernel_refuses_is_buffered_in_order(self) -> None:
        """A reader that stops reading: the rest of a write and every later write queue in
        Twisted's buffer, whose producer is paused past bufferSize, and all arrive in order."""
        transport, sink = await loopback(self)
        producer = Producer()
        transport.bufferSize = len(CHUNK)
        transport.registerProducer(producer, True)
        reading: Any = sink.transport
        reading.pauseProducing()
        writer = SocketWriter(transport, Cork())
        sent: list[bytes] = []
        while not producer.paused and len(sent) < 1000:  # the kernel holds a few MiB at most
            chunk = b"%08d" % len(sent) + CHUNK
            writer.write(chunk)
            sent.append(chunk)
        self.assertTrue(producer.paused)  # Twisted's buffer holds more than bufferSize
        reading.resumeProducing()
        expected = b"".join(sent)
        self.assertEqual(await sink.wait_for(len(expected)), expected)

    async def test_corked_writes_leave_in_one_send(self) -> None:
        """While corked, a connection's writes are kept (re-entrantly), then sent in one piece
        when the outermost cork comes out."""
        transport, sink, counting = await counted(self)
        cork = Cork()
        writer = SocketWriter(transport, cork)
        with cork:
            writer.write(b"one ")
            with cork:
                writer.write(b"two ")
            writer.write(b"three")
            self.assertEqual(counting.sends, [])
        self.assertEqual(counting.sends, [b"one two three"])
        self.assertEqual(await sink.wait_for(13), b"one two three")

    async def test_flush_keeps_order_with_transport_writes(self) -> None:
        """Bytes written to the transport directly (as Autobahn's close frame is) after a
        `flush` come after what was kept before it, and before what is written after it."""
        transport, sink, counting = await counted(self)
        cork = Cork()
        writer = SocketWriter(transport, cork)
        with cork:
            writer.write(b"kept ")
            writer.flush()
            transport.write(b"close ")
            writer.write(b"after")
        self.assertEqual(await sink.wait_for(16), b"kept close after")
        self.assertEqual(counting.sends[0], b"kept ")

    async def test_uncorked_when_the_body_raises(self) -> None:
        """An exception inside the corked block still sends what was kept, and later writes
        go out at once again."""
        transport, sink, counting = await counted(self)
        cork = Cork()
        writer = SocketWriter(transport, cork)
        with self.assertRaises(ValueError), cork:
            writer.write(b"kept")
            raise ValueError("the batch loop failed")
        self.assertFalse(cork.corked)
        writer.write(b" later")
        self.assertEqual(counting.sends, [b"kept", b" later"])
        self.assertEqual(await sink.wait_for(10), b"kept later")
