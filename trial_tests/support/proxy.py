"""A loopback TCP proxy that a test can cut: a real network drop between a client and a server.

Offline emulation in a browser only tells the page it is offline; cutting the proxy closes the
client's TCP connections and refuses new ones until it listens again, as a lost network does
from the client's side while the server stays up for everyone else.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import IListeningPort, ITCPTransport
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

_reactor: Any = reactor  # listenTCP's stubs want factory types of their own


def _port_number(listening: IListeningPort) -> int:
    address: Any = listening.getHost()
    return int(address.port)


async def _stop_listening(listening: IListeningPort) -> None:
    stopped: Any = listening.stopListening()
    await stopped


class _Half(Protocol):
    """One side of a proxied connection: what it reads, its peer writes."""

    def __init__(self) -> None:
        self.peer: _Half | None = None
        self.closed: Deferred[None] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        if self.peer is not None:
            self.peer.transport.write(data)  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self.peer is not None:
            self.peer.transport.loseConnection()  # type: ignore[union-attr]
        self.closed.callback(None)

    def abort(self) -> None:
        """Close at once, without flushing: a cable pulled."""
        transport: ITCPTransport = self.transport  # type: ignore[assignment]
        transport.abortConnection()


class _Accepted(_Half):
    """The client's side: reads nothing until the server's side is connected."""

    def __init__(self, proxy: LoopbackProxy) -> None:
        super().__init__()
        self.proxy = proxy

    def connectionMade(self) -> None:
        self.transport.pauseProducing()  # type: ignore[union-attr]
        self.proxy.halves.add(self)
        self.closed.addBoth(lambda _: self.proxy.halves.discard(self))
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.proxy.target_port)
        upstream = _Half()
        connectProtocol(endpoint, upstream).addCallbacks(
            lambda _: self._joined(upstream), lambda _: self.abort()
        )

    def _joined(self, upstream: _Half) -> None:
        if self.closed.called:  # cut while the server's side was connecting
            upstream.transport.loseConnection()  # type: ignore[union-attr]
            return
        self.peer, upstream.peer = upstream, self
        self.proxy.halves.add(upstream)
        upstream.closed.addBoth(lambda _: self.proxy.halves.discard(upstream))
        self.transport.resumeProducing()  # type: ignore[union-attr]


class LoopbackProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target_port`; `cut` and `listen` again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.halves: set[_Half] = set()
        self._listening: IListeningPort | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def listen(self) -> None:
        """Accept connections (on the same port as before, once it has one)."""
        factory = ServerFactory.forProtocol(lambda: _Accepted(self))
        self._listening = _reactor.listenTCP(self.port, factory, interface="127.0.0.1")
        self.port = _port_number(self._listening)

    async def cut(self) -> None:
        """Stop listening and abort every connection, both sides: the network is gone."""
        if self._listening is not None:
            await _stop_listening(self._listening)
            self._listening = None
        halves = list(self.halves)
        for half in halves:
            half.abort()
        await gatherResults([half.closed for half in halves])


def start_proxy(testcase: TestCase, running: Any) -> LoopbackProxy:
    """A listening proxy to the test's server (a RunningServer), cut when the test ends."""
    proxy = LoopbackProxy(int(running.url.rsplit(":", 1)[1]))
    proxy.listen()
    testcase.addCleanup(proxy.cut)
    return proxy
