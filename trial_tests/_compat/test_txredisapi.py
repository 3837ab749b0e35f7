"""socialhub/_compat/txredisapi.py against the installed txredisapi, on a private Redis:
protocols built with the keywords txredisapi takes, raw replies, messages handed to
`message`, commands built by our `_build_command`, and the factory attributes txredisapi reads
when a connection fails to set up. Fails if txredisapi moves what they override or read."""

from __future__ import annotations

from typing import Any

import txredisapi
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.trial.unittest import TestCase

from socialhub._compat import txredisapi as compat
from trial_tests.support.redis_server import start_redis

_reactor: Any = reactor


class _Subscriber(compat.Subscriber):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.messages: list[tuple[bytes, bytes]] = []
        self.arrived: Deferred[None] = Deferred()

    def message(self, channel: bytes, payload: bytes) -> None:
        self.messages.append((channel, payload))
        self.arrived.callback(None)


class _Factory(compat.ProtocolFactory):
    """Records the errors txredisapi reports; gives its protocols a password when told."""

    password: str | None = None

    def __init__(self, protocol: Any) -> None:
        super().__init__(protocol, reply_timeout=5.0)
        self.errors: list[str] = []
        self.error: Deferred[None] = Deferred()

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.password = self.password
        return protocol

    def connectionError(self, message: str) -> None:
        self.errors.append(message)
        self.error.callback(None)


class ProtocolTests(TestCase):
    async def connect(self, factory: _Factory) -> Any:
        """A protocol of `factory`'s, connected to this test's Redis (started once)."""
        if not hasattr(self, "redis"):
            self.redis = await start_redis(self)
        endpoint = TCP4ClientEndpoint(_reactor, "127.0.0.1", self.redis.port)
        protocol: Any = await endpoint.connect(factory)
        self.addCleanup(protocol.transport.loseConnection)
        return protocol

    async def connected(self, protocol: Any) -> Any:
        built = await self.connect(_Factory(protocol))
        await built.whenConnected()
        return built

    async def test_messages_reach_message_and_replies_stay_raw(self) -> None:
        """A subscriber's messages arrive at `message` as bytes; a numeric reply to the
        publisher stays bytes too (no charset, no number conversion)."""
        subscriber = await self.connected(_Subscriber)
        publisher = await self.connected(compat.Publisher)
        await subscriber.subscribe([b"room"])
        self.assertEqual(await publisher.execute_command("PUBLISH", b"room", "12"), 1)
        await subscriber.arrived.addTimeout(5, _reactor)
        self.assertEqual(subscriber.messages, [(b"room", b"12")])
        self.assertEqual(await publisher.execute_command("ECHO", "12"), b"12")

    async def test_commands_are_built_by_build_command(self) -> None:
        """execute_command writes what `_build_command` returns, the same bytes as
        txredisapi's own."""
        publisher = await self.connected(compat.Publisher)
        built: list[bytes] = []
        ours = publisher._build_command

        def recorded(*args: Any, **kwargs: Any) -> bytes:
            built.append(ours(*args, **kwargs))
            return built[-1]

        publisher._build_command = recorded
        self.assertEqual(await publisher.execute_command("ECHO", b"x"), b"x")
        self.assertEqual(built, [b"*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n"])
        for args in [("PUBLISH", b"c", b"m"), ("EVAL", "return 1", 0, "a", b"\xff")]:
            theirs = txredisapi.BaseRedisProtocol._build_command(publisher, *args)
            self.assertEqual(publisher._build_command(*args), theirs)

    async def test_a_failed_setup_is_reported_to_the_factory(self) -> None:
        """A refused AUTH: txredisapi reads the factory's isLazy and calls its stopTrying and
        connectionError."""
        factory = _Factory(compat.Publisher)
        factory.password = "wrong"
        await self.connect(factory)
        await factory.error.addTimeout(5, _reactor)
        self.assertIn("could not auth", factory.errors[0])

    def test_replies_are_parsed_by_hiredis(self) -> None:
        """hiredis is installed with socialhub and txredisapi parses with it, in C. Its own
        parser, in Python, also pauses the socket and schedules a call for every bulk string
        followed by more data: every message a subscriber receives."""
        self.assertTrue(issubclass(compat.Subscriber, txredisapi.HiredisProtocol))
        self.assertTrue(issubclass(compat.Publisher, txredisapi.HiredisProtocol))
