"""Token buckets of one process, by key: the maths of every rate limit (handlers/rate_limit.py).

A bucket holds up to `burst` tokens and refills at `per_second`; each request or frame takes
one. A bucket is kept as (tokens, when it was last counted) and refilled only when looked at,
so an idle key costs nothing; a full bucket is the same as none and is forgotten now and then.
A level may be below zero: what other processes spent, learnt from Redis, is owed and repaid
by the refill before this process lets anything through again.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from twisted.internet.interfaces import IReactorTime

_PRUNE_EVERY = 4096


@dataclass(frozen=True, slots=True)
class Rate:
    """A bucket's refill (tokens a second) and its size."""

    per_second: float
    burst: float


Keyed = Sequence[tuple[Hashable, Rate]]


class Buckets:
    """Token buckets by key, refilled by the clock's time."""

    def __init__(self, clock: IReactorTime) -> None:
        self._clock = clock
        self._levels: dict[Hashable, tuple[float, float, Rate]] = {}  # key -> tokens, when, rate
        self._calls = 0

    def level(self, key: Hashable, rate: Rate) -> float:
        """The tokens in the key's bucket now."""
        return self._level(key, rate, self._clock.seconds())

    def take(self, keyed: Keyed) -> float:
        """Take one token from each bucket, or from none: 0 when taken, else the seconds until
        every one of them holds a token again. (Written out: every frame comes through here.)"""
        now = self._clock.seconds()
        self._calls += 1
        if self._calls % _PRUNE_EVERY == 0:
            self._prune(now)
        saved_levels = self._levels
        levels = []
        wait = 0.0
        for key, rate in keyed:
            saved = saved_levels.get(key)
            if saved is None:
                level = rate.burst
            else:
                level = min(rate.burst, saved[0] + (now - saved[1]) * rate.per_second)
            if level < 1:
                wait = max(wait, (1 - level) / rate.per_second)
            levels.append(level)
        if wait > 0:
            return wait
        for (key, rate), level in zip(keyed, levels, strict=True):
            saved_levels[key] = (level - 1, now, rate)
        return 0.0

    def set(self, key: Hashable, rate: Rate, level: float) -> None:
        """The key's bucket holds `level` tokens now (what the deployment as a whole left)."""
        self._levels[key] = (min(rate.burst, level), self._clock.seconds(), rate)

    def _level(self, key: Hashable, rate: Rate, now: float) -> float:
        saved = self._levels.get(key)
        if saved is None:
            return rate.burst
        tokens, when, _ = saved
        return min(rate.burst, tokens + (now - when) * rate.per_second)

    def _prune(self, now: float) -> None:
        """Forget full buckets: a full bucket is the same as none."""
        for key, (_, _, rate) in list(self._levels.items()):
            if self._level(key, rate, now) >= rate.burst:
                del self._levels[key]
