"""Loopback TCP helpers for tests that watch what reaches a socket: a receiving end (`Sink`),
a socket that counts its `send` calls, and a connected pair built on them (`counted`)."""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import ClientFactory, Protocol, ServerFactory
from twisted.trial.unittest import TestCase
from zope.interface import implementer

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
