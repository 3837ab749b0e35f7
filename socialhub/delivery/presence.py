"""Presence: who is online, and the frames that tell a user's audience when that changes.

A user is online while any process holds one of their connections. This process tells the
roster (`bus/`: in-process, or Redis shared by every process) when it comes to hold a user and
when it stops; the roster answers whether that turned the user online or offline anywhere, so
exactly one process announces each turn. A user's last connection here is held a grace period
longer: a page reload, which closes a socket and opens another, turns nothing.

Every refresh interval the process tells the roster it lives; a process that stops doing so for
the expiry counts as dead, and the next refresh of a living process reaps it and announces its
users offline (docs/scaling.md). A frame goes to the user's whole audience, one query
(storage/stores/presence.py) and one send, however large it is.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from socialhub.bus.interface import Changed, Roster
from socialhub.storage.database import DatabaseUnavailable

ONLINE = "online"
OFFLINE = "offline"
_log = Logger(namespace="socialhub.presence")

Send = Callable[[Collection[int], Mapping[str, Any]], None]


class Audiences(Protocol):
    """Who sees a user's presence (storage/stores/presence.py's PresenceStore)."""

    async def audience(self, user_id: int, hidden_too: bool = False) -> list[int]:
        """The user's audience: empty while they hide their presence, unless `hidden_too`."""


@dataclass(frozen=True)
class PresenceTiming:
    """Seconds: how long a last connection is held after it closed, how often a process tells
    the roster it lives, and how long after its last refresh a silent process counts as dead.
    A dead process's users go offline within expiry + refresh."""

    grace: float = 5.0
    refresh: float = 10.0
    expiry: float = 30.0


class Presence:
    """This process's part of presence: the users it holds, and their announcements."""

    def __init__(
        self,
        roster: Roster,
        store: Audiences,
        send: Send,
        clock: IReactorTime,
        timing: PresenceTiming,
    ) -> None:
        self._roster = roster
        self._store = store
        self._send = send
        self._clock = clock
        self._timing = timing
        self._held: set[int] = set()  # users with a connection here, or in their grace
        self._leaving: dict[int, IDelayedCall] = {}  # users in their grace: the end of it
        self._refreshing = LoopingCall(self._refresh_logged)
        self._refreshing.clock = clock

    async def start(self) -> None:
        """Join the roster, then refresh every interval."""
        await self._refresh()
        self._refreshing.start(self._timing.refresh, now=False)

    async def stop(self) -> None:
        """Leave the roster: the users held only here go offline now, graces cut short."""
        if self._refreshing.running:
            self._refreshing.stop()
        for ending in self._leaving.values():
            ending.cancel()
        self._leaving.clear()
        self._held.clear()
        try:
            offline = await self._roster.depart()
        except Exception as error:
            _log.warn("presence: could not leave the roster: {error}", error=error)
            return
        await _logged(self._announce(offline, OFFLINE), "announcing presence at stop")

    def connected(self, user_id: int) -> None:
        """The user's first connection here opened."""
        ending = self._leaving.pop(user_id, None)
        if ending is not None:
            ending.cancel()  # a reload: nothing turned
            return
        self._held.add(user_id)
        _logged(self._change([user_id], []), "announcing presence")

    def disconnected(self, user_id: int) -> None:
        """The user's last connection here closed: they leave once the grace is over."""
        if user_id in self._held and user_id not in self._leaving:
            self._leaving[user_id] = self._clock.callLater(self._timing.grace, self._left, user_id)

    def _left(self, user_id: int) -> None:
        del self._leaving[user_id]
        self._held.discard(user_id)
        _logged(self._change([], [user_id]), "announcing presence")

    async def online(self, user_ids: Collection[int]) -> set[int]:
        """Those of these users who are online on any process."""
        try:
            return await self._roster.online(list(user_ids))
        except Exception as error:
            _log.warn("presence: the roster is away, answering for this process: {e}", e=error)
            return self._held.intersection(user_ids)

    async def visibility_changed(self, user_id: int, shown: bool) -> None:
        """The user hid or showed their presence: while online, their audience sees them go
        offline or come back."""
        if user_id in await self.online([user_id]):
            audience = await self._store.audience(user_id, hidden_too=True)
            self._send(audience, _frame(user_id, ONLINE if shown else OFFLINE))

    def bus_returned(self) -> None:
        """Redis is back: the changes meant for the roster while it was away never came."""
        _logged(self.resync(), "resyncing presence")

    async def resync(self) -> None:
        """Tell the roster again whom this process holds (after it lost track of us)."""
        try:
            changed = await self._roster.replace(sorted(self._held))
        except Exception as error:
            _log.warn("presence: could not resync the roster: {error}", error=error)
            return
        await self._announce_changed(changed)

    async def _change(self, arrived: list[int], left: list[int]) -> None:
        try:
            changed = await self._roster.change(arrived, left)
        except Exception as error:  # the roster is away: this process knows its own users
            _log.warn("presence: the roster is away: {error}", error=error)
            changed = Changed(arrived, left)
        await self._announce_changed(changed)

    def _refresh_logged(self) -> Deferred[None]:
        """A refresh whose failure is logged, so that the loop goes on."""
        return _logged(self._refresh(), "refreshing presence")

    async def _refresh(self) -> None:
        try:
            refreshed = await self._roster.refresh()
        except Exception as error:
            _log.warn("presence: could not refresh the roster: {error}", error=error)
            return
        if refreshed.lost and self._held:
            await self.resync()
        await self._announce(refreshed.offline, OFFLINE)

    async def _announce_changed(self, changed: Changed) -> None:
        await self._announce(changed.online, ONLINE)
        await self._announce(changed.offline, OFFLINE)

    async def _announce(self, user_ids: list[int], status: str) -> None:
        """One audience query and one send per user whose status turned."""
        for user_id in user_ids:
            audience = await self._store.audience(user_id)
            if audience:
                self._send(audience, _frame(user_id, status))


def _logged(work: Coroutine[Any, Any, None], what: str) -> Deferred[None]:
    """Run `work`; a failure is logged, not raised: a lost announcement is no reason to stop.
    An unreachable database is expected (and says so itself), so it is a warning."""

    def failed(failure: Failure) -> None:
        if failure.check(DatabaseUnavailable):
            _log.warn("{what}: the database is unavailable", what=what)
        else:
            _log.failure(what, failure)

    return Deferred.fromCoroutine(work).addErrback(failed)


def _frame(user_id: int, status: str) -> dict[str, Any]:
    return {"type": "presence", "user": user_id, "status": status}
