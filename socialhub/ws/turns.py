"""One connection's frames, one at a time, in arrival order (see ws/dispatch.py).

Twisted's DeferredLock does this too, but its `release` hands the lock to the next waiter by
calling it back there and then: when that waiter releases without waiting for anything (a
private frame only queues its message), the next one runs inside it, and so on. ~120 frames
queued behind one connection's registration or a group frame's membership lookup exceeded
Python's recursion limit, and the frames after that were never answered. `Turns` hands the turn
on from a loop instead: the stack stays flat however many frames wait.
"""

from __future__ import annotations

from collections import deque

from twisted.internet.defer import Deferred, succeed


class Turns:
    """A FIFO lock whose release never nests one holder's work inside another's."""

    __slots__ = ("_handing_on", "_held", "_waiting")

    def __init__(self) -> None:
        self._held = False
        self._handing_on = False  # a release further up the stack is handing the turn on
        # Made when a frame first has to wait: an empty deque is 0.6 KiB, on every connection.
        self._waiting: deque[Deferred[None]] | None = None

    @property
    def held(self) -> bool:
        return self._held

    def acquire(self) -> Deferred[None]:
        """Fires (at once when nobody holds the turn) once it is the caller's turn."""
        if not self._held:
            self._held = True
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        if self._waiting is None:
            self._waiting = deque()
        self._waiting.append(waiter)
        return waiter

    def release(self) -> None:
        """End the holder's turn and begin the next waiter's: from the loop below, or from the
        one of a release further up the stack when there is one (so the stack stays flat)."""
        self._held = False
        if self._handing_on:
            return
        self._handing_on = True
        try:
            while self._waiting and not self._held:
                self._held = True
                self._waiting.popleft().callback(None)
        finally:
            self._handing_on = False
