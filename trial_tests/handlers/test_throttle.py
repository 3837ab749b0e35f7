"""The throttle of forwarded indicators, on a clock the test moves."""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from socialhub.handlers.throttle import Throttle


class ThrottleTests(TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.throttle = Throttle(self.clock)

    def test_once_a_second_per_key(self) -> None:
        """A key passes, is refused for a second, then passes again; other keys are not held."""
        self.assertTrue(self.throttle.allow((1, 2)))
        self.clock.advance(0.5)
        self.assertFalse(self.throttle.allow((1, 2)))
        self.assertTrue(self.throttle.allow((1, 3)))
        self.assertTrue(self.throttle.allow((2, 2)))
        self.clock.advance(0.5)
        self.assertTrue(self.throttle.allow((1, 2)))
        self.assertFalse(self.throttle.allow((1, 2)))

    def test_a_refused_key_does_not_extend_its_wait(self) -> None:
        """The second counts from the last key let through, not from the last one refused."""
        self.assertTrue(self.throttle.allow("k"))
        self.clock.advance(0.9)
        self.assertFalse(self.throttle.allow("k"))
        self.clock.advance(0.1)
        self.assertTrue(self.throttle.allow("k"))

    def test_keys_older_than_a_second_are_forgotten(self) -> None:
        """Memory holds the last second's keys only, however many came before."""
        for key in range(1000):
            self.throttle.allow(key)
        self.assertEqual(len(self.throttle), 1000)
        self.clock.advance(1.5)
        self.throttle.allow("new")
        self.assertEqual(len(self.throttle), 1)

    def test_holds_says_what_allow_would_refuse_without_starting_an_interval(self) -> None:
        """`holds` is true exactly while `allow` would refuse; asking it lets nothing through."""
        self.assertFalse(self.throttle.holds("k"))
        self.assertFalse(self.throttle.holds("k"))
        self.assertTrue(self.throttle.allow("k"))
        self.clock.advance(0.9)
        self.assertTrue(self.throttle.holds("k"))
        self.clock.advance(0.1)
        self.assertFalse(self.throttle.holds("k"))
        self.assertTrue(self.throttle.allow("k"))
