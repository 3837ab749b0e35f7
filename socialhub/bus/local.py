"""The in-process bus: the default when there is no --redis.

Every LocalBus attached to one LocalHub hears the others, so tests can run several "processes"
in one; in production each process has a hub of its own, and the bus only loops back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from twisted.internet.defer import Deferred, succeed

from socialhub.bus.interface import Changed, MessageHandler, Refreshed


class LocalHub:
    """Channel subscriptions of the buses attached to it, and who each of their processes
    holds (the roster)."""

    def __init__(self) -> None:
        self.subscribers: dict[bytes, set[LocalBus]] = {}
        self.held: dict[str, set[int]] = {}
        self.claims: dict[bytes, float] = {}  # key -> when its claim ends (time.monotonic)
        self.swept = 0.0  # when ended claims were last let go


class LocalBus:
    """A Bus whose messages never leave the process."""

    def __init__(self, hub: LocalHub | None = None) -> None:
        self._hub = hub or LocalHub()
        self._handler: MessageHandler | None = None

    def set_handler(self, handler: MessageHandler) -> None:
        self._handler = handler

    async def start(self) -> None:
        """Nothing to connect to."""

    async def stop(self) -> None:
        for subscribers in self._hub.subscribers.values():
            subscribers.discard(self)

    def subscribe(self, channel: bytes) -> Deferred[None]:
        self._hub.subscribers.setdefault(channel, set()).add(self)
        return succeed(None)

    def unsubscribe(self, channel: bytes) -> None:
        subscribers = self._hub.subscribers.get(channel)
        if subscribers is not None:
            subscribers.discard(self)
            if not subscribers:
                del self._hub.subscribers[channel]

    def publish(self, channel: bytes, message: bytes) -> None:
        for bus in list(self._hub.subscribers.get(channel, ())):
            if bus._handler is not None:
                bus._handler(channel, message)

    def on_reconnect(self, callback: Callable[[], object]) -> None:
        """The in-process bus is never away."""

    def state(self) -> str:
        return "disabled"

    def claim(self, key: bytes, seconds: float) -> Deferred[bool]:
        """Claims of every bus on the hub; ended ones are let go at most once a second."""
        hub, now = self._hub, time.monotonic()
        if hub.claims.get(key, now) > now:
            return succeed(False)
        if now - hub.swept >= 1.0:
            hub.claims = {k: until for k, until in hub.claims.items() if until > now}
            hub.swept = now
        hub.claims[key] = now + seconds
        return succeed(True)

    def buckets(self) -> None:
        """One process: its own buckets are the deployment's."""
        return None

    def roster(self, process_id: str, expiry: float) -> LocalRoster:
        """Processes in one Python process die together: `expiry` never applies."""
        return LocalRoster(self._hub, process_id)


class LocalRoster:
    """A Roster kept in the hub, so that the "processes" of one hub share it."""

    def __init__(self, hub: LocalHub, process_id: str) -> None:
        self._hub = hub
        self._process_id = process_id

    def _mine(self) -> set[int]:
        return self._hub.held.setdefault(self._process_id, set())

    def _elsewhere(self, user_id: int) -> bool:
        return any(
            user_id in held
            for process_id, held in self._hub.held.items()
            if process_id != self._process_id
        )

    async def change(self, arrived: Sequence[int], left: Sequence[int]) -> Changed:
        mine = self._mine()
        online = [user for user in arrived if user not in mine and not self._elsewhere(user)]
        mine.update(arrived)
        offline = [user for user in left if user in mine and not self._elsewhere(user)]
        mine.difference_update(left)
        return Changed(online, offline)

    async def replace(self, user_ids: Sequence[int]) -> Changed:
        return await self.change(user_ids, list(self._mine() - set(user_ids)))

    async def online(self, user_ids: Sequence[int]) -> set[int]:
        return {user for user in user_ids if any(user in held for held in self._hub.held.values())}

    async def refresh(self) -> Refreshed:
        return Refreshed(lost=False, offline=[])

    async def depart(self) -> list[int]:
        return (await self.change([], list(self._mine()))).offline
