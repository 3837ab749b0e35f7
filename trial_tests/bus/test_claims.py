"""Claims (Bus.claim): the first claim of a key within its interval wins, on every bus of the
deployment; run against both buses, with a private redis-server for Redis."""

from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from socialhub.bus.interface import Bus
from socialhub.bus.local import LocalBus, LocalHub
from socialhub.bus.redis import RedisBus
from socialhub.metrics import Metrics
from socialhub.reactor import as_reactor
from trial_tests.support.mixins import EngineTestMixin
from trial_tests.support.redis_server import start_redis

INTERVAL = 0.2


class ClaimContract(EngineTestMixin):
    """What every bus's claims must do; `buses` gives the buses of two "processes"."""

    async def buses(self) -> tuple[Bus, Bus]:
        raise NotImplementedError

    async def test_the_first_claim_in_an_interval_wins_on_every_bus(self) -> None:
        """One claim of a key per interval across the buses; other keys are apart; once the
        interval is over the key can be claimed again."""
        one, two = await self.buses()
        self.assertTrue(await one.claim(b"k", INTERVAL))
        self.assertFalse(await one.claim(b"k", INTERVAL))
        self.assertFalse(await two.claim(b"k", INTERVAL))
        self.assertTrue(await two.claim(b"other", INTERVAL))
        await deferLater(reactor, INTERVAL * 1.5, lambda: None)
        self.assertTrue(await two.claim(b"k", INTERVAL))
        self.assertFalse(await one.claim(b"k", INTERVAL))


class LocalClaimTests(ClaimContract, TestCase):
    async def buses(self) -> tuple[Bus, Bus]:
        hub = LocalHub()
        return LocalBus(hub), LocalBus(hub)


class RedisClaimTests(ClaimContract, TestCase):
    async def buses(self) -> tuple[Bus, Bus]:
        redis = await start_redis(self)
        found = []
        for _ in range(2):
            bus = RedisBus(as_reactor(reactor), redis.url, Metrics())
            await bus.start()
            self.addCleanup(bus.stop)
            found.append(bus)
        return found[0], found[1]

    async def test_a_claim_is_granted_while_redis_is_away(self) -> None:
        """Without Redis each process's own limit is all there is: claims are granted."""
        one, _ = await self.buses()
        await one.stop()
        self.assertTrue(await one.claim(b"k", INTERVAL))
        self.assertTrue(await one.claim(b"k", INTERVAL))
