"""Turns (ws/turns.py): one connection's frames in order, however many wait."""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase

from socialhub.ws.turns import Turns


class TurnsTests(SynchronousTestCase):
    def take_turn(
        self, turns: Turns, log: list[int], number: int, wait: Deferred[None] | None = None
    ) -> Deferred[None]:
        """A frame: wait for the turn, note its number, (maybe wait for a lookup), hand on."""

        async def frame() -> None:
            await turns.acquire()
            try:
                log.append(number)
                if wait is not None:
                    await wait
            finally:
                turns.release()

        return Deferred.fromCoroutine(frame())

    def test_a_free_turn_is_taken_at_once(self) -> None:
        turns = Turns()
        self.successResultOf(turns.acquire())
        self.assertTrue(turns.held)
        turns.release()
        self.assertFalse(turns.held)

    def test_thousands_waiting_are_all_served_in_order(self) -> None:
        """Frames that wait behind a held turn and release it without waiting for anything
        each run in order once it is released; the stack does not grow with their number
        (Twisted's DeferredLock stopped answering after ~120 of them)."""
        turns, log = Turns(), list[int]()
        self.successResultOf(turns.acquire())  # a registration in progress
        frames = [self.take_turn(turns, log, number) for number in range(5000)]
        self.assertEqual(log, [])
        turns.release()
        self.assertEqual(log, list(range(5000)))
        for frame in frames:
            self.successResultOf(frame)
        self.assertFalse(turns.held)

    def test_a_waiting_holder_keeps_the_turn(self) -> None:
        """A frame that waits during its turn (a group frame's membership lookup) keeps later
        frames waiting until it releases, then they run in order."""
        turns, log = Turns(), list[int]()
        lookup: Deferred[None] = Deferred()
        first = self.take_turn(turns, log, 0, wait=lookup)
        later = [self.take_turn(turns, log, number) for number in range(1, 4)]
        self.assertEqual(log, [0])
        self.assertNoResult(first)
        lookup.callback(None)
        self.assertEqual(log, [0, 1, 2, 3])
        for frame in [first, *later]:
            self.successResultOf(frame)
