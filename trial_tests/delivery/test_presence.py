"""Presence bookkeeping on a fake clock: several "processes" in one Python process, sharing one
LocalHub's roster; what each announces to whom, and when."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from socialhub.bus.interface import Changed, Refreshed
from socialhub.bus.local import LocalBus, LocalHub, LocalRoster
from socialhub.delivery.presence import Presence, PresenceTiming

TIMING = PresenceTiming(grace=5.0, refresh=10.0, expiry=30.0)
ALICE, BOB, CAROL = 1, 2, 3


class Audiences:
    """Who follows whom, as the store would answer; `hidden` users show no presence."""

    def __init__(self, audiences: dict[int, list[int]]) -> None:
        self.audiences = audiences
        self.hidden: set[int] = set()

    async def audience(self, user_id: int, hidden_too: bool = False) -> list[int]:
        if user_id in self.hidden and not hidden_too:
            return []
        return self.audiences.get(user_id, [])


class AwayRoster:
    """A roster whose broker is unreachable: every call fails."""

    async def change(self, arrived: Sequence[int], left: Sequence[int]) -> Changed:
        raise ConnectionError("away")

    async def replace(self, user_ids: Sequence[int]) -> Changed:
        raise ConnectionError("away")

    async def online(self, user_ids: Sequence[int]) -> set[int]:
        raise ConnectionError("away")

    async def refresh(self) -> Refreshed:
        raise ConnectionError("away")

    async def depart(self) -> list[int]:
        raise ConnectionError("away")


class ReapingRoster(LocalRoster):
    """A LocalRoster whose next refresh answers what Redis's would after a reaping."""

    def __init__(self, hub: LocalHub, process_id: str) -> None:
        super().__init__(hub, process_id)
        self.next = Refreshed(lost=False, offline=[])

    def taken_for_dead(self) -> None:
        """Another process reaped this one: its users are gone from the roster."""
        self._mine().clear()
        self.next = Refreshed(lost=True, offline=[])

    async def refresh(self) -> Refreshed:
        refreshed, self.next = self.next, Refreshed(lost=False, offline=[])
        return refreshed


class PresenceTests(TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.hub = LocalHub()
        self.audiences = Audiences({ALICE: [BOB, CAROL], BOB: [ALICE]})
        self.sent: list[tuple[list[int], dict[str, Any]]] = []

    def process(self, name: str, roster: Any = None) -> Presence:
        presence = Presence(
            roster or LocalBus(self.hub).roster(name, TIMING.expiry),
            self.audiences,
            self.send,
            self.clock,
            TIMING,
        )
        Deferred.fromCoroutine(presence.start())
        return presence

    def send(self, user_ids: Collection[int], frame: Mapping[str, Any]) -> None:
        self.sent.append((sorted(user_ids), dict(frame)))

    def announced(self) -> list[tuple[int, str, list[int]]]:
        """(user, status, to whom) of each frame sent so far, and forget them."""
        sent, self.sent = self.sent, []
        return [(frame["user"], frame["status"], to) for to, frame in sent]

    def test_first_connection_online_last_offline_after_the_grace(self) -> None:
        here = self.process("here")
        here.connected(ALICE)
        self.assertEqual(self.announced(), [(ALICE, "online", [BOB, CAROL])])
        here.disconnected(ALICE)
        self.clock.advance(TIMING.grace - 0.1)
        self.assertEqual(self.announced(), [])
        self.clock.advance(0.1)
        self.assertEqual(self.announced(), [(ALICE, "offline", [BOB, CAROL])])

    def test_frame_is_the_contracts(self) -> None:
        self.process("here").connected(BOB)
        self.assertEqual(
            self.sent, [([ALICE], {"type": "presence", "user": BOB, "status": "online"})]
        )

    def test_a_reload_within_the_grace_turns_nothing(self) -> None:
        here = self.process("here")
        here.connected(ALICE)
        self.announced()
        here.disconnected(ALICE)
        self.clock.advance(TIMING.grace - 1)
        here.connected(ALICE)
        self.clock.advance(TIMING.grace * 3)
        self.assertEqual(self.announced(), [])

    def test_a_reload_onto_another_process_turns_nothing(self) -> None:
        one, two = self.process("one"), self.process("two")
        one.connected(ALICE)
        self.announced()
        one.disconnected(ALICE)
        two.connected(ALICE)
        self.clock.advance(TIMING.grace * 3)
        self.assertEqual(self.announced(), [])
        two.disconnected(ALICE)
        self.clock.advance(TIMING.grace)
        self.assertEqual(self.announced(), [(ALICE, "offline", [BOB, CAROL])])

    def test_online_counts_every_process(self) -> None:
        one, two = self.process("one"), self.process("two")
        two.connected(BOB)
        answered = Deferred.fromCoroutine(one.online([ALICE, BOB]))
        self.assertEqual(self.successResultOf(answered), {BOB})

    def test_hiding_and_showing_while_online(self) -> None:
        here = self.process("here")
        here.connected(ALICE)
        self.announced()
        self.audiences.hidden.add(ALICE)
        Deferred.fromCoroutine(here.visibility_changed(ALICE, False))
        self.assertEqual(self.announced(), [(ALICE, "offline", [BOB, CAROL])])
        here.disconnected(ALICE)
        self.clock.advance(TIMING.grace)
        self.assertEqual(self.announced(), [])  # hidden: already offline to everyone
        Deferred.fromCoroutine(here.visibility_changed(ALICE, True))
        self.assertEqual(self.announced(), [])  # not online: nothing to show

    def test_a_hidden_user_coming_online_is_not_announced(self) -> None:
        self.audiences.hidden.add(ALICE)
        self.process("here").connected(ALICE)
        self.assertEqual(self.announced(), [])

    def test_stopping_takes_its_users_offline_at_once(self) -> None:
        one, two = self.process("one"), self.process("two")
        one.connected(ALICE)
        one.connected(BOB)
        two.connected(BOB)
        one.disconnected(ALICE)  # in its grace
        self.announced()
        Deferred.fromCoroutine(one.stop())
        self.assertEqual(self.announced(), [(ALICE, "offline", [BOB, CAROL])])
        self.clock.advance(TIMING.grace * 3)
        self.assertEqual(self.announced(), [])

    def test_without_the_roster_a_process_answers_for_its_own_users(self) -> None:
        here = self.process("here", AwayRoster())
        here.connected(ALICE)
        self.assertEqual(self.announced(), [(ALICE, "online", [BOB, CAROL])])
        answered = Deferred.fromCoroutine(here.online([ALICE, BOB]))
        self.assertEqual(self.successResultOf(answered), {ALICE})
        here.disconnected(ALICE)
        self.clock.advance(TIMING.grace)
        self.assertEqual(self.announced(), [(ALICE, "offline", [BOB, CAROL])])
        self.clock.advance(TIMING.refresh * 2)  # failing refreshes keep the loop going
        self.flushLoggedErrors()

    def test_the_users_of_a_reaped_process_are_announced_offline(self) -> None:
        roster = ReapingRoster(self.hub, "reaper")
        self.process("reaper", roster)
        roster.next = Refreshed(lost=False, offline=[ALICE])
        self.clock.advance(TIMING.refresh)
        self.assertEqual(self.announced(), [(ALICE, "offline", [BOB, CAROL])])

    def test_a_process_taken_for_dead_registers_its_users_again(self) -> None:
        roster = ReapingRoster(self.hub, "slow")
        slow = self.process("slow", roster)
        slow.connected(ALICE)
        self.announced()
        roster.taken_for_dead()
        self.clock.advance(TIMING.refresh)
        self.assertEqual(self.announced(), [(ALICE, "online", [BOB, CAROL])])
        answered = Deferred.fromCoroutine(slow.online([ALICE]))
        self.assertEqual(self.successResultOf(answered), {ALICE})
