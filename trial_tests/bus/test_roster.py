"""The presence roster's contract, run against both: in-process (LocalRoster) and Redis (a
private redis-server). Redis's alone can lose a process, so its reaping is tested there."""

from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from socialhub.bus.interface import Changed, Roster
from socialhub.bus.local import LocalBus, LocalHub
from socialhub.bus.redis import RedisBus
from socialhub.metrics import Metrics
from socialhub.reactor import as_reactor
from trial_tests.support.mixins import EngineTestMixin
from trial_tests.support.redis_server import RedisServer, start_redis

EXPIRY = 30.0
# A process that stops refreshing is dead this long after its last command: long enough that a
# loaded machine's next few commands never outlast it, so "still alive" holds.
SHORT_EXPIRY = 2.0
POLL = 0.05


class RosterContract(EngineTestMixin):
    """What every roster must do; `rosters` gives the rosters of several "processes"."""

    async def rosters(self, *process_ids: str) -> list[Roster]:
        raise NotImplementedError

    async def test_a_user_turns_online_with_the_first_process_and_offline_with_the_last(
        self,
    ) -> None:
        """Only the first process to hold a user turns them online, only the last to let them
        go turns them offline."""
        one, two = await self.rosters("one", "two")
        self.assertEqual(await one.change([1, 2], []), Changed([1, 2], []))
        self.assertEqual(await two.change([2, 3], []), Changed([3], []))
        self.assertEqual(await one.change([2], []), Changed([], []))  # held already
        self.assertEqual(await two.online([1, 2, 3, 4]), {1, 2, 3})
        self.assertEqual(await one.change([], [1, 2]), Changed([], [1]))
        self.assertEqual(await two.change([], [2, 4]), Changed([], [2]))
        self.assertEqual(await one.online([1, 2, 3]), {3})

    async def test_replace_names_what_turned(self) -> None:
        one, two = await self.rosters("one", "two")
        await one.change([1, 2], [])
        await two.change([2], [])
        self.assertEqual(await one.replace([2, 3]), Changed([3], [1]))
        self.assertEqual(await one.online([1, 2, 3]), {2, 3})

    async def test_a_departing_process_turns_offline_whom_it_alone_held(self) -> None:
        one, two = await self.rosters("one", "two")
        await one.change([1, 2], [])
        await two.change([2], [])
        self.assertEqual(sorted(await one.depart()), [1])
        self.assertEqual(await two.online([1, 2]), {2})


class LocalRosterTests(RosterContract, TestCase):
    async def rosters(self, *process_ids: str) -> list[Roster]:
        hub = LocalHub()
        return [LocalBus(hub).roster(process_id, EXPIRY) for process_id in process_ids]

    async def test_refresh_never_loses_nor_reaps(self) -> None:
        (one,) = await self.rosters("one")
        await one.change([1], [])
        refreshed = await one.refresh()
        self.assertEqual((refreshed.lost, refreshed.offline), (False, []))


class RedisRosterTests(RosterContract, TestCase):
    redis: RedisServer | None = None

    async def roster(self, process_id: str, expiry: float = EXPIRY) -> Roster:
        if self.redis is None:
            self.redis = await start_redis(self)
        bus = RedisBus(as_reactor(reactor), self.redis.url, Metrics())
        await bus.start()
        self.addCleanup(bus.stop)
        roster = bus.roster(process_id, expiry)
        await roster.refresh()  # joins
        return roster

    async def rosters(self, *process_ids: str) -> list[Roster]:
        return [await self.roster(process_id) for process_id in process_ids]

    async def test_exactly_one_living_process_reaps_a_dead_one(self) -> None:
        """A process that stops refreshing counts as dead after its expiry: the next refresh
        of another takes its users offline (those no one else holds), and only that one."""
        dying = await self.roster("dying", expiry=SHORT_EXPIRY)
        one, two = await self.rosters("one", "two")
        await dying.change([1, 2], [])
        await one.change([2], [])
        self.assertEqual((await one.refresh()).offline, [])  # still alive
        await self.until_dead(one, [1, 2], {2})  # a dead process holds no one
        reaped = await one.refresh()
        self.assertEqual((reaped.lost, reaped.offline), (False, [1]))
        self.assertEqual((await two.refresh()).offline, [])

    async def test_a_process_taken_for_dead_learns_it_and_registers_again(self) -> None:
        slow = await self.roster("slow", expiry=0.3)
        (other,) = await self.rosters("other")
        await slow.change([1], [])
        await deferLater(reactor, 0.5, lambda: None)
        self.assertEqual((await other.refresh()).offline, [1])
        self.assertTrue((await slow.refresh()).lost)
        self.assertEqual(await slow.replace([1]), Changed([1], []))
        self.assertEqual(await other.online([1]), {1})

    async def until_dead(self, asking: Roster, users: list[int], online: set[int]) -> None:
        """Poll until `asking` sees just `online` of `users`, as it does once a process
        holding the others is past its expiry; fail after ten expiries."""
        for _ in range(int(10 * SHORT_EXPIRY / POLL)):
            if await asking.online(users) == online:
                return
            await deferLater(reactor, POLL, lambda: None)
        self.assertEqual(await asking.online(users), online)

    async def test_a_refresh_is_one_command_however_many_users(self) -> None:
        (one,) = await self.rosters("one")
        await one.change(list(range(1, 2001)), [])
        assert self.redis is not None
        before = (await self.redis.command_calls()).get("eval", 0)
        await one.refresh()
        self.assertEqual((await self.redis.command_calls())["eval"], before + 1)
