"""The per-user frame rate limit: a token bucket per user, per process."""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime

BURST_FACTOR = 2.5
_PRUNE_EVERY = 4096


class RateLimiter:
    """`rate` frames per second per user, with bursts up to 2.5 x rate; rate 0 turns it off."""

    def __init__(self, clock: IReactorTime, rate: int) -> None:
        self._clock = clock
        self._rate = float(rate)
        self._burst = rate * BURST_FACTOR
        self._buckets: dict[int, tuple[float, float]] = {}  # user id -> (tokens, when)
        self._calls = 0

    def allow(self, user_id: int) -> bool:
        """Take one token for this user's frame; False when the bucket is empty."""
        if self._rate <= 0:
            return True
        now = self._clock.seconds()
        tokens = self._tokens(user_id, now)
        self._calls += 1
        if self._calls % _PRUNE_EVERY == 0:
            self._prune(now)
        if tokens < 1:
            self._buckets[user_id] = (tokens, now)
            return False
        self._buckets[user_id] = (tokens - 1, now)
        return True

    def _tokens(self, user_id: int, now: float) -> float:
        tokens, when = self._buckets.get(user_id, (self._burst, now))
        return min(self._burst, tokens + (now - when) * self._rate)

    def _prune(self, now: float) -> None:
        """Forget full buckets: a full bucket is the same as none."""
        for user_id in list(self._buckets):
            if self._tokens(user_id, now) >= self._burst:
                del self._buckets[user_id]
