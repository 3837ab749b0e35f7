"""The Redis bus: pub/sub through txredisapi, one connection to subscribe and one to publish.

Replies are parsed by hiredis, in C: txredisapi uses it when it is installed, and socialhub
depends on it (txredisapi's own parser pauses the socket and schedules a call for each bulk
string followed by more data, that is for nearly every message a subscriber receives).

Both connections run under ClientService, which reconnects with backoff after Redis restarts.
txredisapi does not resubscribe by itself, so every new subscriber connection subscribes to all
current channels before it counts as connected. While Redis is away publishing drops messages
(counted) instead of queueing them: local delivery goes on, and the bus reports itself down.

Publishing is the costly side of a client in pure Python (a command built argument by argument,
a Deferred, a reply and a reply timer per command), and one stored message publishes several
envelopes (its users' channels, its tick). So the messages published during one turn of the
reactor leave together, at the end of the turn, as one command: PUBLISH for one message, else a
tiny Lua script that publishes each in order. Redis runs a script atomically, so subscribers see
them in the order they were published, as with separate commands. Messages still queued when
the publishing connection is lost are dropped and counted like any other; `stop` sends what is
queued and waits for Redis to answer before disconnecting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from twisted.application.internet import ClientService, backoffPolicy
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from socialhub._compat import txredisapi as compat
from socialhub.bus.interface import MessageHandler
from socialhub.bus.redis_buckets import RedisBuckets
from socialhub.bus.redis_roster import RedisRoster
from socialhub.metrics import Metrics
from socialhub.reactor import Reactor

REPLY_TIMEOUT = 5.0
# ARGV: channel, message, channel, message, ... published in that order.
PUBLISH_ALL = "for i = 1, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end"
CONNECT_TIMEOUT = 5.0
_log = Logger(namespace="socialhub.bus")


def parse_redis_url(url: str) -> tuple[str, int]:
    """(host, port) of a redis://host:port/db URL (pub/sub ignores the db number)."""
    parts = urlsplit(url)
    if parts.scheme != "redis" or not parts.hostname:
        raise ValueError(f"--redis must be redis://host:port/db, not {url!r}")
    return parts.hostname, parts.port or 6379


class _Subscriber(compat.Subscriber):
    bus: RedisBus

    def message(self, channel: bytes, payload: bytes) -> None:
        self.bus.received(channel, payload)

    def connectionLost(self, reason: Any) -> None:
        self.bus.lost(self)
        super().connectionLost(reason)


class _Publisher(compat.Publisher):
    bus: RedisBus

    def connectionLost(self, reason: Any) -> None:
        self.bus.lost(self)
        super().connectionLost(reason)


class _ProtocolFactory(compat.ProtocolFactory):
    """Builds the bus's protocols (see socialhub/_compat/txredisapi.py)."""

    def __init__(self, bus: RedisBus, protocol: type[_Subscriber | _Publisher]) -> None:
        super().__init__(protocol, REPLY_TIMEOUT)
        self._bus = bus

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.bus = self._bus
        return protocol


class RedisBus:
    """A Bus over Redis pub/sub."""

    def __init__(self, reactor: Reactor, url: str, metrics: Metrics) -> None:
        host, port = parse_redis_url(url)
        endpoint = TCP4ClientEndpoint(reactor, host, port, timeout=CONNECT_TIMEOUT)
        retry = backoffPolicy(initialDelay=0.2, maxDelay=5.0)
        self._metrics = metrics
        self._channels: set[bytes] = set()
        self._handler: MessageHandler | None = None
        self._subscriber: _Subscriber | None = None
        self._publisher: _Publisher | None = None
        self.reconnected: list[Callable[[], object]] = []
        self._services = [
            ClientService(
                endpoint,
                _ProtocolFactory(self, protocol),
                retryPolicy=retry,
                prepareConnection=ready,
                clock=reactor,
            )
            for protocol, ready in (
                (_Subscriber, self._ready_subscriber),
                (_Publisher, self._ready_publisher),
            )
        ]
        self._reactor = reactor
        self._was_down = False
        self._outgoing: list[bytes] = []  # channel, message, channel, message, ...
        self._flushing: IDelayedCall | None = None
        self._last_sent: Deferred[None] = succeed(None)

    def set_handler(self, handler: MessageHandler) -> None:
        self._handler = handler

    async def start(self) -> None:
        for service in self._services:
            service.startService()
        waiting = [service.whenConnected() for service in self._services]
        for connected in waiting:
            try:
                await connected.addTimeout(CONNECT_TIMEOUT, self._reactor)
            except Exception:
                _log.warn("Redis is not reachable yet; serving local connections meanwhile")
                return

    async def stop(self) -> None:
        """Send what this turn queued, wait for Redis to answer it, then disconnect."""
        if self._flushing is not None:
            self._flushing.cancel()
            self._flush()
        await self._last_sent  # replies come in order: the last one answers them all
        for service in self._services:
            await service.stopService()

    def subscribe(self, channel: bytes) -> Deferred[None]:
        """Subscribe now if connected; a reconnecting subscriber subscribes every channel."""
        if channel in self._channels or self._subscriber is None:
            self._channels.add(channel)
            return succeed(None)
        self._channels.add(channel)
        confirmed: Deferred[None] = self._subscriber.subscribe([channel])
        confirmed.addCallbacks(lambda _: None, self._failed, errbackArgs=("subscribe",))
        return confirmed

    def unsubscribe(self, channel: bytes) -> None:
        if channel not in self._channels:
            return
        self._channels.discard(channel)
        if self._subscriber is not None:
            self._subscriber.unsubscribe([channel]).addErrback(self._failed, "unsubscribe")

    def publish(self, channel: bytes, message: bytes) -> None:
        """Queue the message for the end of this reactor turn (see the module's docstring)."""
        if self._publisher is None:
            self._metrics.bus_dropped.inc()
            return
        self._outgoing += (channel, message)
        if self._flushing is None:
            self._flushing = self._reactor.callLater(0, self._flush)

    def _flush(self) -> None:
        """Send the messages queued this turn, in one command."""
        self._flushing = None
        outgoing, self._outgoing = self._outgoing, []
        count = len(outgoing) // 2
        if self._publisher is None:  # lost since they were queued
            self._metrics.bus_dropped.inc(count)
            return
        try:
            if count == 1:
                sent = self._publisher.execute_command("PUBLISH", *outgoing)
            else:
                sent = self._publisher.execute_command("EVAL", PUBLISH_ALL, 0, *outgoing)
        except Exception as error:  # txredisapi raises at once on a connection it knows lost
            self._failed(Failure(error), "publish", count)
            return
        self._metrics.bus_published.inc(count)
        self._last_sent = sent.addCallbacks(
            lambda _: None, self._failed, errbackArgs=("publish", count)
        )

    def on_reconnect(self, callback: Callable[[], object]) -> None:
        self.reconnected.append(callback)

    def roster(self, process_id: str, expiry: float) -> RedisRoster:
        return RedisRoster(self, process_id, expiry)

    def buckets(self) -> RedisBuckets:
        return RedisBuckets(self)

    def claim(self, key: bytes, seconds: float) -> Deferred[bool]:
        """SET NX with an expiry: the key exists only while a claim holds."""
        if self._publisher is None:
            return succeed(True)
        claimed = self.command("SET", key, b"1", "PX", max(1, int(seconds * 1000)), "NX")
        return claimed.addCallbacks(lambda reply: reply is not None, lambda _: True)

    def command(self, *args: bytes | str | int | float) -> Deferred[Any]:
        """One command on the publishing connection, at once (the roster's scripts); it fails
        when Redis is away."""
        if self._publisher is None:
            raise ConnectionError("Redis is not connected")
        result: Deferred[Any] = self._publisher.execute_command(*args)
        return result

    def state(self) -> str:
        return "ok" if self._subscriber is not None and self._publisher is not None else "down"

    def received(self, channel: bytes, message: bytes) -> None:
        if self._handler is not None:
            self._handler(channel, message)

    def lost(self, protocol: Any) -> None:
        if protocol is self._subscriber:
            self._subscriber = None
        if protocol is self._publisher:
            self._publisher = None
        if not self._was_down:
            _log.warn("lost the connection to Redis; reconnecting")
        self._was_down = True

    def _ready_subscriber(self, protocol: Any) -> Deferred[None]:
        return Deferred.fromCoroutine(self._subscribe_all(protocol))

    async def _subscribe_all(self, proxy: Any) -> None:
        # ClientService hands over a proxy; whenConnected gives the protocol itself.
        protocol = await proxy.whenConnected()
        if self._channels:
            await protocol.subscribe(sorted(self._channels))
        self._subscriber = protocol
        self._maybe_recovered()

    def _ready_publisher(self, protocol: Any) -> Deferred[None]:
        return Deferred.fromCoroutine(self._publish_ready(protocol))

    async def _publish_ready(self, proxy: Any) -> None:
        self._publisher = await proxy.whenConnected()
        self._maybe_recovered()

    def _maybe_recovered(self) -> None:
        if self._was_down and self.state() == "ok":
            self._was_down = False
            _log.info("reconnected to Redis")
            for callback in self.reconnected:
                callback()

    def _failed(self, failure: Any, what: str, count: int = 1) -> None:
        self._metrics.bus_dropped.inc(count)
        _log.warn("Redis {what} failed: {error}", what=what, error=failure.getErrorMessage())
