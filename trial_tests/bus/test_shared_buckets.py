"""Token buckets in a real Redis, shared by two buses (two processes): a take is all or nothing
across processes, frames settle what each process spent into one budget, and while Redis is
away each process's own buckets go on deciding."""

from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from socialhub.bus.redis import RedisBus
from socialhub.handlers.rate_limit import LimitSettings, RateLimits
from socialhub.metrics import Metrics
from socialhub.reactor import as_reactor
from trial_tests.support.redis_server import RedisServer, start_redis

# --rate-limit 1: a token a second, bursts of 2.5; its refill is slow beside a Redis round trip.
ONE_A_SECOND = LimitSettings(frames_per_second=1, requests_per_minute=0, address_users=0)


class SharedBucketTests(TestCase):
    redis: RedisServer | None = None

    async def bus(self) -> RedisBus:
        """A bus of its own (a process) on the test's Redis."""
        if self.redis is None:
            self.redis = await start_redis(self)
        bus = RedisBus(as_reactor(reactor), self.redis.url, Metrics())
        await bus.start()
        self.addCleanup(bus.stop)
        return bus

    async def test_a_take_is_all_or_nothing_across_processes(self) -> None:
        """Two buses take from one bucket; a refused take leaves the others' tokens alone."""
        one, two = (await self.bus()).buckets(), (await self.bus()).buckets()
        narrow, wide = (
            (b"socialhub:limit:test:narrow", 1.0, 2.0),
            (b"socialhub:limit:test:wide", 1.0, 2.0),
        )
        self.assertEqual(await one.take([narrow]), 0.0)
        self.assertEqual(await two.take([narrow]), 0.0)
        self.assertGreater(await one.take([wide, narrow]), 0.0)
        self.assertEqual(await two.take([wide]), 0.0)
        self.assertEqual(await one.take([wide]), 0.0)
        self.assertGreater(await two.take([wide]), 0.0)

    async def test_frames_settle_into_one_budget(self) -> None:
        """Each process decides a frame by its own buckets; once they settle with Redis, what
        one spent is gone for the other (here a debt), so together they keep to one burst."""
        one = RateLimits(Clock(), ONE_A_SECOND, (await self.bus()).buckets())
        two = RateLimits(Clock(), ONE_A_SECOND, (await self.bus()).buckets())
        self.assertEqual([one.allow_frame(7, "a") for _ in range(3)], [True, True, False])
        await one.settle()
        self.assertTrue(two.allow_frame(7, "a"))  # not settled yet: its own full bucket
        await two.settle()
        self.assertFalse(two.allow_frame(7, "a"))  # 2.5 - 2 - 1: below zero
        self.assertTrue(two.allow_frame(8, "a"))  # another user's budget is whole

    async def test_without_redis_each_process_limits_alone(self) -> None:
        """Redis away: settling fails quietly and the process's own buckets go on refusing."""
        one = RateLimits(Clock(), ONE_A_SECOND, (await self.bus()).buckets())
        assert self.redis is not None
        await self.redis.stop()
        self.assertEqual([one.allow_frame(7, "a") for _ in range(3)], [True, True, False])
        await one.settle()
        self.assertFalse(one.allow_frame(7, "a"))
