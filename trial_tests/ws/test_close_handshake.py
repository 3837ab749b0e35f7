"""The server's close waits for a slow client's answer: a client on a slow link reads the close
frame and its code (4001 here) instead of having its connection cut first."""

from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol, connectionDone
from twisted.internet.task import deferLater
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from trial_tests.support.chat import register
from trial_tests.support.harness import start_server
from trial_tests.support.raw_http import upgrade_request
from trial_tests.support.wsclient import client_frame

ANSWER_TIMEOUT = 10.0  # seconds to wait for a frame or the connection's end
SLOW_ANSWER = 1.5  # seconds this client takes to answer the close: more than Autobahn's default
CLOSE = 0x88  # FIN and the close opcode


class _SlowCloser(Protocol):
    """A WebSocket client written byte for byte: it upgrades, then waits to be closed."""

    def __init__(self, token: str) -> None:
        self._token = token
        self.received = b""
        self.opened: Deferred[None] = Deferred()
        self.close_frame: Deferred[bytes] = Deferred()
        self.lost: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(upgrade_request(self._token))

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        _, separator, frames = self.received.partition(b"\r\n\r\n")
        if separator and not self.opened.called:
            self.opened.callback(None)
        if not self.close_frame.called and frames[:1] == bytes([CLOSE]):
            self.close_frame.callback(frames[2 : 2 + frames[1]])  # unmasked, short

    def answer_close(self, payload: bytes) -> None:
        assert self.transport is not None
        self.transport.write(client_frame(payload, first=CLOSE))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.lost.callback(None)


class CloseHandshakeTests(TestCase):
    async def test_a_slow_client_reads_the_close_code(self) -> None:
        """alice's socket is closed by her logout (4001); she answers the close frame only
        after SLOW_ANSWER: the connection is still there until she does."""
        running = await start_server(self, "sqlite")
        alice = await register(running.url, "alice")
        port = int(running.url.rsplit(":", 1)[1])
        client = _SlowCloser(alice.token)
        await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), client)
        await client.opened.addTimeout(ANSWER_TIMEOUT, reactor)
        self.assertEqual((await alice.client.post("/api/auth/logout")).status, 204)
        payload = await client.close_frame.addTimeout(ANSWER_TIMEOUT, reactor)
        self.assertEqual(int.from_bytes(payload[:2], "big"), 4001)
        await deferLater(reactor, SLOW_ANSWER)
        self.assertFalse(client.lost.called, "cut before the client could answer the close")
        client.answer_close(payload[:2])
        await client.lost.addTimeout(ANSWER_TIMEOUT, reactor)
