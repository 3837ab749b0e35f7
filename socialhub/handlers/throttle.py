"""At most one event per key per second: what is forwarded of frames that only say "now"."""

from __future__ import annotations

from collections.abc import Hashable

from twisted.internet.interfaces import IReactorTime

INTERVAL = 1.0


class Throttle:
    """Lets a key through once per INTERVAL seconds of the clock, and refuses it in between.

    A key let through more than INTERVAL ago is the same as one never seen, so the keys are
    swept (at most once per INTERVAL, lazily) and memory holds only the last second's."""

    def __init__(self, clock: IReactorTime) -> None:
        self._clock = clock
        self._passed: dict[Hashable, float] = {}  # key -> when it was last let through
        self._swept = clock.seconds()

    def allow(self, key: Hashable) -> bool:
        """True, and the key's interval starts, when it was not let through within INTERVAL."""
        now = self._clock.seconds()
        if now - self._swept >= INTERVAL:
            self._sweep(now)
        last = self._passed.get(key)
        if last is not None and now - last < INTERVAL:
            return False
        self._passed[key] = now
        return True

    def holds(self, key: Hashable) -> bool:
        """Whether the key was let through within INTERVAL (so `allow` would refuse it now)."""
        last = self._passed.get(key)
        return last is not None and self._clock.seconds() - last < INTERVAL

    def __len__(self) -> int:
        """How many keys are remembered."""
        return len(self._passed)

    def _sweep(self, now: float) -> None:
        self._passed = {key: when for key, when in self._passed.items() if now - when < INTERVAL}
        self._swept = now
