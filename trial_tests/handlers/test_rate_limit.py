"""The bucket maths on a task.Clock: bursts, refill, all-or-nothing takes, debts, and the budgets
the options give each class (per user, per address, off)."""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from socialhub.errors import RateLimited
from socialhub.handlers.buckets import Buckets, Rate
from socialhub.handlers.rate_limit import Cost, LimitSettings, RateLimits

TWO = Rate(per_second=2, burst=5)
ONE = Rate(per_second=1, burst=2)


class BucketTests(TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.buckets = Buckets(self.clock)

    def takes(self, count: int, *keyed: tuple[str, Rate]) -> list[float]:
        return [self.buckets.take(keyed) for _ in range(count)]

    def test_a_burst_then_the_rate(self) -> None:
        """A full bucket gives its burst at once, then one token per 1/rate seconds."""
        self.assertEqual(self.takes(5, ("a", TWO)), [0.0] * 5)
        self.assertEqual(self.buckets.take([("a", TWO)]), 0.5)
        self.clock.advance(0.5)
        self.assertEqual(self.takes(2, ("a", TWO)), [0.0, 0.5])
        self.clock.advance(10)
        self.assertEqual(self.buckets.level("a", TWO), 5)  # never more than the burst

    def test_keys_are_apart(self) -> None:
        self.takes(5, ("a", TWO))
        self.assertEqual(self.buckets.take([("b", TWO)]), 0.0)

    def test_all_or_nothing(self) -> None:
        """A refusal takes no token from the buckets that had one; the wait is the longest."""
        self.takes(2, ("narrow", ONE))
        self.assertEqual(self.buckets.take([("wide", TWO), ("narrow", ONE)]), 1.0)
        self.assertEqual(self.buckets.level("wide", TWO), 5)
        self.clock.advance(1)
        self.assertEqual(self.buckets.take([("wide", TWO), ("narrow", ONE)]), 0.0)
        self.assertEqual(self.buckets.level("wide", TWO), 4)

    def test_a_debt_is_repaid_first(self) -> None:
        """A level set below zero (others spent it) refuses until the refill repays it."""
        self.buckets.set("a", TWO, -2.0)
        self.assertEqual(self.buckets.take([("a", TWO)]), 1.5)
        self.clock.advance(1.5)
        self.assertEqual(self.buckets.take([("a", TWO)]), 0.0)

    def test_full_buckets_are_forgotten(self) -> None:
        """Pruning drops full buckets only: a partly spent one keeps its level."""
        self.buckets.take([("spent", ONE)])
        self.clock.advance(0.1)
        for n in range(4096):
            self.buckets.take([(n, TWO)])
        self.assertIn("spent", self.buckets._levels)  # pruned once: it is not full
        self.assertAlmostEqual(self.buckets.level("spent", ONE), 1.1)
        self.clock.advance(10)
        for n in range(4096):
            self.buckets.take([(n, TWO)])
        self.assertNotIn("spent", self.buckets._levels)  # pruned again: full by now


class RateLimitsTests(TestCase):
    def limits(self, frames: int, requests: int, address_users: int) -> RateLimits:
        self.clock = Clock()
        return RateLimits(self.clock, LimitSettings(frames, requests, address_users), None)

    def test_frames_per_user_and_per_address(self) -> None:
        """--rate-limit 2: five frames at once per user; --address-rate-limit 2: ten per address."""
        limits = self.limits(2, 0, 2)
        self.assertEqual([limits.allow_frame(1, "a") for _ in range(6)], [True] * 5 + [False])
        self.assertEqual([limits.allow_frame(2, "a") for _ in range(6)], [True] * 5 + [False])
        self.assertFalse(limits.allow_frame(3, "a"))  # the address spent ten
        self.assertTrue(limits.allow_frame(3, "b"))
        self.clock.advance(0.5)
        self.assertTrue(limits.allow_frame(1, "a"))

    def test_zero_turns_each_off(self) -> None:
        limits = self.limits(0, 0, 0)
        self.assertTrue(all(limits.allow_frame(1, "a") for _ in range(1000)))
        for _ in range(1000):
            self.successResultOf(limits.check_request(Cost.ACCOUNT, None, "a"))

    def budget(
        self, limits: RateLimits, cost: Cost, user_id: int | None, address: str
    ) -> tuple[int, int]:
        """How many requests pass at once, and the Retry-After of the one refused next."""
        for passed in range(1000):
            refusals: list[Failure] = []
            Deferred.fromCoroutine(limits.check_request(cost, user_id, address)).addErrback(
                refusals.append
            )
            if refusals:
                error = refusals[0].value
                assert isinstance(error, RateLimited), error
                return passed, error.retry_after
        raise AssertionError("never refused")

    def test_each_class_has_its_budget(self) -> None:
        """--rest-rate-limit 60: a minute's worth at once, then a token a second for writes;
        half that for what lands on others, a quarter for uploads, a tenth for accounts."""
        limits = self.limits(0, 60, 0)
        self.assertEqual(self.budget(limits, Cost.WRITE, 1, "a"), (60, 1))
        self.assertEqual(self.budget(limits, Cost.SOCIAL, 1, "a"), (30, 2))
        self.assertEqual(self.budget(limits, Cost.UPLOAD, 1, "a"), (15, 4))
        self.assertEqual(self.budget(limits, Cost.ACCOUNT, 1, "a"), (6, 10))
        self.assertEqual(self.budget(limits, Cost.WRITE, 2, "a"), (60, 1))  # its own user's

    def test_an_address_spends_several_users_worth(self) -> None:
        """--address-rate-limit 2: two users' worth from one address, however many users; an
        account action, which has no user, is a fifth of --rest-rate-limit per address."""
        limits = self.limits(0, 60, 2)
        self.assertEqual(self.budget(limits, Cost.WRITE, 1, "a")[0], 60)
        self.assertEqual(self.budget(limits, Cost.WRITE, 2, "a")[0], 60)
        self.assertEqual(self.budget(limits, Cost.WRITE, 3, "a"), (0, 1))
        self.assertEqual(self.budget(limits, Cost.WRITE, 3, "b")[0], 60)
        self.assertEqual(self.budget(limits, Cost.ACCOUNT, None, "c"), (12, 5))

    def test_a_request_waits_for_the_refill(self) -> None:
        limits = self.limits(0, 60, 0)
        self.budget(limits, Cost.SOCIAL, 1, "a")
        self.clock.advance(2)
        self.assertEqual(self.budget(limits, Cost.SOCIAL, 1, "a"), (1, 2))
