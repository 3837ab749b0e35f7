"""The bus contract, run against both buses: in-process and Redis (a private redis-server)."""

from __future__ import annotations

import itertools

from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredQueue
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from socialhub.bus.interface import Bus
from socialhub.bus.local import LocalBus, LocalHub
from socialhub.bus.redis import RedisBus
from socialhub.metrics import Metrics
from socialhub.reactor import as_reactor
from trial_tests.support.mixins import EngineTestMixin
from trial_tests.support.redis_server import start_redis

TIMEOUT = 5.0
_SETTLED = itertools.count()  # a channel never subscribed before, for each settle


class Listener:
    """A bus with a queue of what it receives."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.received: DeferredQueue[tuple[bytes, bytes]] = DeferredQueue()
        bus.set_handler(lambda channel, message: self.received.put((channel, message)))

    async def next(self) -> tuple[bytes, bytes]:
        got: Deferred[tuple[bytes, bytes]] = self.received.get()
        return await got.addTimeout(TIMEOUT, reactor)


class BusContract(EngineTestMixin):
    """What every bus must do. `make_pair` gives two buses of two "processes"."""

    async def make_pair(self) -> tuple[Bus, Bus]:
        raise NotImplementedError

    async def settle(self, *listeners: Listener) -> None:
        """Until the broker has taken every subscription and unsubscription asked so far: each
        bus subscribes a channel of its own last, and the broker answers a connection's
        commands in order (Redis answers SUBSCRIBE asynchronously)."""
        for listener in listeners:
            await listener.bus.subscribe(b"settled-%d" % next(_SETTLED))

    async def pair(self) -> tuple[Listener, Listener]:
        first, second = await self.make_pair()
        for bus in (first, second):
            await bus.start()
            self.addCleanup(bus.stop)
        return Listener(first), Listener(second)

    async def test_publish_reaches_subscribers_including_self(self) -> None:
        """A message reaches every subscriber of its channel, the publisher's own bus too."""
        a, b = await self.pair()
        a.bus.subscribe(b"c1")
        b.bus.subscribe(b"c1")
        await self.settle(a, b)
        a.bus.publish(b"c1", b"hello\nbytes")
        self.assertEqual(await a.next(), (b"c1", b"hello\nbytes"))
        self.assertEqual(await b.next(), (b"c1", b"hello\nbytes"))

    async def test_only_subscribed_channels_arrive(self) -> None:
        """A bus hears nothing of channels it did not subscribe to, or unsubscribed from."""
        a, b = await self.pair()
        b.bus.subscribe(b"wanted")
        b.bus.subscribe(b"dropped")
        await self.settle(a, b)
        b.bus.unsubscribe(b"dropped")
        await self.settle(a, b)
        a.bus.publish(b"other", b"1")
        a.bus.publish(b"dropped", b"2")
        a.bus.publish(b"wanted", b"3")
        self.assertEqual(await b.next(), (b"wanted", b"3"))
        self.assertEqual(b.received.pending, [])

    async def test_messages_keep_their_order(self) -> None:
        """Messages of one publisher on one channel arrive in the order published."""
        a, b = await self.pair()
        b.bus.subscribe(b"seq")
        await self.settle(a, b)
        for n in range(100):
            a.bus.publish(b"seq", b"%d" % n)
        got = [(await b.next())[1] for _ in range(100)]
        self.assertEqual(got, [b"%d" % n for n in range(100)])

    async def test_order_is_kept_across_channels(self) -> None:
        """Messages of one publisher on several channels reach a subscriber of all of them in
        the order published (a frame on a user's channel, then the tick that releases it)."""
        a, b = await self.pair()
        for channel in (b"x", b"y", b"z"):
            b.bus.subscribe(channel)
        await self.settle(a, b)
        sent = [(b"xyz"[n % 3 : n % 3 + 1], b"%d" % n) for n in range(30)]
        for channel, message in sent:
            a.bus.publish(channel, message)
        self.assertEqual([await b.next() for _ in sent], sent)


class LocalBusTests(BusContract, TestCase):
    async def make_pair(self) -> tuple[Bus, Bus]:
        hub = LocalHub()
        return LocalBus(hub), LocalBus(hub)

    def test_state_is_disabled(self) -> None:
        """/healthz reports the in-process bus as disabled."""
        self.assertEqual(LocalBus().state(), "disabled")


class RedisBusTests(BusContract, TestCase):
    async def make_pair(self) -> tuple[Bus, Bus]:
        redis = await start_redis(self)
        self.redis = redis
        self.metrics = Metrics()  # the first bus's
        return RedisBus(as_reactor(reactor), redis.url, self.metrics), RedisBus(
            as_reactor(reactor), redis.url, Metrics()
        )

    def counted(self, name: str) -> float | None:
        return self.metrics.registry.get_sample_value(f"socialhub_bus_{name}_total")

    async def test_publishes_of_one_turn_leave_as_one_command(self) -> None:
        """What one turn of the reactor publishes reaches Redis as one command (a script that
        publishes each message in order); a lone message as a plain PUBLISH."""
        a, b = await self.pair()
        b.bus.subscribe(b"x")
        b.bus.subscribe(b"y")
        await self.settle(a, b)
        before = await self.redis.command_calls()
        sent = [(b"x", b"1"), (b"y", b"2"), (b"x", b"3")]
        for channel, message in sent:
            a.bus.publish(channel, message)
        self.assertEqual([await b.next() for _ in sent], sent)
        a.bus.publish(b"y", b"alone")
        self.assertEqual(await b.next(), (b"y", b"alone"))
        after = await self.redis.command_calls()
        self.assertEqual(after.get("eval", 0) - before.get("eval", 0), 1)
        self.assertEqual(self.counted("published"), 4)

    async def test_stop_sends_what_this_turn_published(self) -> None:
        """Messages published in the turn that stops the bus still go out, and Redis answers
        them before the bus disconnects: none counts as dropped."""
        a, b = await self.pair()
        b.bus.subscribe(b"last")
        await self.settle(a, b)
        a.bus.publish(b"last", b"1")
        a.bus.publish(b"last", b"2")
        await a.bus.stop()
        self.assertEqual([await b.next() for _ in range(2)], [(b"last", b"1"), (b"last", b"2")])
        self.assertEqual((self.counted("published"), self.counted("dropped")), (2, 0))

    async def test_queued_messages_are_dropped_when_the_connection_is_lost(self) -> None:
        """Messages queued in the turn the publishing connection is lost are dropped and
        counted, every one of them, and never sent on the next connection."""
        a, b = await self.pair()
        b.bus.subscribe(b"gone")
        await self.settle(a, b)
        for n in range(3):
            a.bus.publish(b"gone", b"%d" % n)
        a.bus._publisher.transport.abortConnection()  # type: ignore[attr-defined]
        await self.until(lambda: self.counted("dropped") == 3)
        await self.until(lambda: a.bus.state() == "ok")
        a.bus.publish(b"gone", b"after")
        self.assertEqual(await b.next(), (b"gone", b"after"))
        self.assertEqual(self.counted("dropped"), 3)

    async def test_resubscribes_after_redis_restarts(self) -> None:
        """Redis going away makes the bus report down and drop publishes; once Redis is back
        the bus reconnects, resubscribes its channels by itself, and reports ok."""
        a, b = await self.pair()
        b.bus.subscribe(b"kept")
        await self.settle(a, b)
        self.assertEqual(b.bus.state(), "ok")
        await self.redis.stop()
        await self.until(lambda: a.bus.state() == "down" and b.bus.state() == "down")
        a.bus.publish(b"kept", b"lost")  # dropped, not queued
        await self.redis.start()
        await self.until(lambda: a.bus.state() == "ok" and b.bus.state() == "ok")
        a.bus.publish(b"kept", b"after")
        self.assertEqual(await b.next(), (b"kept", b"after"))

    async def until(self, condition: object, seconds: float = 15.0) -> None:
        for _ in range(int(seconds * 20)):
            if callable(condition) and condition():
                return
            await deferLater(reactor, 0.05, lambda: None)
        self.fail("condition not reached in time")
