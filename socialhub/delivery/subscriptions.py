"""Which bus channels this process subscribes, and why (Crossbar's observation idea).

A process hears the broadcast, tick and users channels always, a user's channel while that
user has a connection here, and a group's channel while one of the group's members has a
connection here. So it receives only what its own users need.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from twisted.internet.defer import Deferred, gatherResults

from socialhub.bus.interface import Bus
from socialhub.delivery.channels import BROADCAST, TICKS, USERS, group_channel, user_channel


class Subscriptions:
    """The channels of the users connected here and of their groups."""

    def __init__(self, bus: Bus, group_ids_of: Callable[[int], Awaitable[list[int]]]) -> None:
        self._bus = bus
        self._group_ids_of = group_ids_of
        self._groups_of_user: dict[int, set[int]] = {}  # users connected here -> their groups
        self._ready: dict[int, Deferred[None]] = {}  # fires once a user's channels are confirmed
        self._local_members: dict[int, set[int]] = {}  # group -> its members connected here

    def start(self) -> None:
        """The channels every process hears."""
        self._bus.subscribe(BROADCAST)
        self._bus.subscribe(TICKS)
        self._bus.subscribe(USERS)

    async def user_connected(self, user_id: int) -> None:
        """Subscribe the user's channels if this is their first connection here; in any case
        wait until the subscriptions are confirmed."""
        ready = self._ready.get(user_id)
        if ready is None:
            ready = Deferred.fromCoroutine(self._subscribe_user(user_id))
            self._ready[user_id] = ready
        await _shared(ready)

    def user_gone(self, user_id: int) -> None:
        """The user's last connection here closed: unsubscribe their channels."""
        self._ready.pop(user_id, None)
        self._bus.unsubscribe(user_channel(user_id))
        for group_id in self._groups_of_user.pop(user_id, set()):
            self._leave(user_id, group_id)

    def membership_changed(self, user_id: int, group_id: int, joined: bool) -> None:
        """A user joined or left a group: follow it if they are connected here."""
        if user_id not in self._groups_of_user:
            return
        if joined:
            self._join(user_id, group_id)
        else:
            self._leave(user_id, group_id)

    async def refresh_groups(self) -> None:
        """Join and leave group channels as the database says each local user's groups are (a
        membership change published while the bus was away never came)."""
        waiting: list[Deferred[None]] = []
        for user_id in list(self._groups_of_user):
            current = set(await self._group_ids_of(user_id))
            known = self._groups_of_user.get(user_id)
            if known is None:  # their last connection closed meanwhile
                continue
            for group_id in current - known:
                waiting.extend(self._join(user_id, group_id))
            for group_id in known - current:
                self._leave(user_id, group_id)
        await gatherResults(waiting)

    async def _subscribe_user(self, user_id: int) -> None:
        waiting = [self._bus.subscribe(user_channel(user_id))]
        self._groups_of_user[user_id] = set()
        for group_id in await self._group_ids_of(user_id):
            if user_id in self._groups_of_user:  # still connected after the lookup
                waiting.extend(self._join(user_id, group_id))
        await gatherResults(waiting)

    def _join(self, user_id: int, group_id: int) -> list[Deferred[None]]:
        self._groups_of_user[user_id].add(group_id)
        members = self._local_members.setdefault(group_id, set())
        members.add(user_id)
        return [self._bus.subscribe(group_channel(group_id))] if len(members) == 1 else []

    def _leave(self, user_id: int, group_id: int) -> None:
        self._groups_of_user.get(user_id, set()).discard(group_id)
        members = self._local_members.get(group_id)
        if members is None:
            return
        members.discard(user_id)
        if not members:
            del self._local_members[group_id]
            self._bus.unsubscribe(group_channel(group_id))


async def _shared(ready: Deferred[None]) -> None:
    """Wait for a Deferred that other waiters share, without taking its result from them."""
    waiter: Deferred[None] = Deferred()

    def passthrough(result: object) -> object:
        waiter.callback(None)
        return result

    ready.addBoth(passthrough)
    await waiter
