"""Counting work under way, to wait until none is (the frames a shutdown drains, the
transactions a database finishes before it disconnects)."""

from __future__ import annotations

from twisted.internet.defer import Deferred, succeed


class InFlight:
    """How many operations are under way, and a wait for the moment there are none."""

    __slots__ = ("_count", "_waiters")

    def __init__(self) -> None:
        self._count = 0
        self._waiters: list[Deferred[None]] = []

    def started(self) -> None:
        self._count += 1

    def finished(self) -> None:
        self._count -= 1
        if not self._count:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                waiter.callback(None)

    def none(self) -> Deferred[None]:
        """Fires once no operation is under way (at once if none is)."""
        if not self._count:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        self._waiters.append(waiter)
        return waiter
