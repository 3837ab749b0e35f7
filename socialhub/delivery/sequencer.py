"""Puts stored frames back into stream order before they reach any socket.

Positions follow commit order in the database, but frames travel from several processes over
the bus, and a later position can arrive before an earlier one. Every writing transaction
publishes its frames and then a tick naming the range of positions it used; the sequencer holds
frames until every position up to theirs is accounted for by a tick, then releases them in
order. A gap that stays open (a process died between commit and publish, the bus lost a message)
is reported after GAP_SECONDS so the caller can fill it from the database.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Collection
from dataclasses import dataclass

from twisted.internet.interfaces import IDelayedCall, IReactorTime

GAP_SECONDS = 1.0


@dataclass(slots=True)
class Held:
    """A stored frame waiting for its position to be resolved: for these users' connections
    here, but `exclude`."""

    position: int
    user_ids: Collection[int]
    payload: bytes
    exclude: str | None


class Sequencer:
    """Releases held frames in position order once every earlier position is resolved."""

    def __init__(
        self,
        clock: IReactorTime,
        release: Callable[[Held], None],
        stuck: Callable[[], None],
    ) -> None:
        self._clock = clock
        self._release = release
        self._stuck = stuck
        self._resolved = 0
        self._paused = False
        self._ticks: dict[int, int] = {}  # first position -> last position of a committed range
        # (position, arrival serial, frame): tuples compare in C, a dataclass's order methods
        # in Python, and a batch's ~400 frames each take ~17 comparisons in and out.
        self._held: list[tuple[int, int, Held]] = []
        self._serial = itertools.count()
        self._gap_timer: IDelayedCall | None = None

    @property
    def resolved(self) -> int:
        """Every position up to this one is accounted for (its frames released or skipped)."""
        return self._resolved

    @property
    def paused(self) -> bool:
        return self._paused

    def start_at(self, position: int) -> None:
        """The stream's position when the process starts: nothing before it is waited for."""
        self._resolved = position

    def hold(self, held: Held) -> None:
        if held.position <= self._resolved:
            return  # already delivered, or filled in from the database
        heapq.heappush(self._held, (held.position, next(self._serial), held))
        self._watch_gap()

    def tick(self, first: int, last: int) -> None:
        """Positions first..last are committed and their frames were all published."""
        if last <= self._resolved:
            return
        self._ticks[first] = max(last, self._ticks.get(first, last))
        self._advance()

    def resolve_up_to(self, position: int) -> None:
        """Everything up to `position` is known (filled in from the database): move past it."""
        self._resolved = max(self._resolved, position)
        self._advance()

    def pause(self) -> None:
        """Release nothing and report no gap until `resume` (while the database fills a gap)."""
        self._paused = True

    def resume(self) -> None:
        """Release again after `pause`."""
        self._paused = False
        self._advance()

    def _advance(self) -> None:
        for first in sorted(self._ticks):
            if first > self._resolved + 1:
                break
            self._resolved = max(self._resolved, self._ticks.pop(first))
        if not self._paused:
            while self._held and self._held[0][0] <= self._resolved:
                self._release(heapq.heappop(self._held)[2])
        self._watch_gap()

    def _watch_gap(self) -> None:
        waiting = bool(self._held or self._ticks)
        if waiting and self._gap_timer is None:
            self._gap_timer = self._clock.callLater(GAP_SECONDS, self._check_gap, self._resolved)
        elif not waiting and self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None

    def _check_gap(self, resolved_then: int) -> None:
        self._gap_timer = None
        if (self._held or self._ticks) and self._resolved == resolved_then and not self._paused:
            self._stuck()
        self._watch_gap()

    def stop(self) -> None:
        if self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None
