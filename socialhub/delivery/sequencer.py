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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime

GAP_SECONDS = 1.0


@dataclass(slots=True)
class Held:
    """A frame waiting for its position to be resolved."""

    position: int
    channel: bytes
    payload: bytes
    fields: dict[str, Any]


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
        self.resolved = 0
        self.paused = False
        self._ticks: dict[int, int] = {}  # first position -> last position of a committed range
        # (position, arrival serial, frame): tuples compare in C, a dataclass's order methods
        # in Python, and a batch's ~400 frames each take ~17 comparisons in and out.
        self._held: list[tuple[int, int, Held]] = []
        self._serial = itertools.count()
        self._gap_timer: IDelayedCall | None = None

    def hold(self, position: int, channel: bytes, payload: bytes, fields: dict[str, Any]) -> None:
        if position <= self.resolved:
            return  # already delivered, or filled in from the database
        entry = Held(position, channel, payload, fields)
        heapq.heappush(self._held, (position, next(self._serial), entry))
        self._watch_gap()

    def tick(self, first: int, last: int) -> None:
        """Positions first..last are committed and their frames were all published."""
        if last <= self.resolved:
            return
        self._ticks[first] = max(last, self._ticks.get(first, last))
        self._advance()

    def resolve_up_to(self, position: int) -> None:
        """Everything up to `position` is known (filled in from the database): move past it."""
        self.resolved = max(self.resolved, position)
        self._advance()

    def resume(self) -> None:
        """Release again after `paused` (set while the database fills a gap)."""
        self.paused = False
        self._advance()

    def _advance(self) -> None:
        for first in sorted(self._ticks):
            if first > self.resolved + 1:
                break
            self.resolved = max(self.resolved, self._ticks.pop(first))
        if not self.paused:
            while self._held and self._held[0][0] <= self.resolved:
                self._release(heapq.heappop(self._held)[2])
        self._watch_gap()

    def _watch_gap(self) -> None:
        waiting = bool(self._held or self._ticks)
        if waiting and self._gap_timer is None:
            self._gap_timer = self._clock.callLater(GAP_SECONDS, self._check_gap, self.resolved)
        elif not waiting and self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None

    def _check_gap(self, resolved_then: int) -> None:
        self._gap_timer = None
        if (self._held or self._ticks) and self.resolved == resolved_then and not self.paused:
            self._stuck()
        self._watch_gap()

    def stop(self) -> None:
        if self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None
