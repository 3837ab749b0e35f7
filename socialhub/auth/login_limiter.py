"""The login failure limit: 10 failures for one username from one address in 15 minutes.

Kept in memory, per process: it slows a guesser down without a database write per failure.
"""

from __future__ import annotations

import math
from collections import deque

from twisted.internet.interfaces import IReactorTime

MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60
_PRUNE_EVERY = 1024


class LoginLimiter:
    """Counts recent failures per (username, address) key; an attempt counts as one until it
    succeeds."""

    def __init__(self, clock: IReactorTime) -> None:
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._recorded = 0

    def attempt(self, key: tuple[str, str]) -> int | None:
        """Count an attempt as a failure before its password is weighed, so attempts in
        flight together count too; the seconds until the key may try again when it may not
        (that refusal is not counted), None when this attempt may go on."""
        failures = self._recent(key)
        if len(failures) >= MAX_FAILURES:
            return max(1, math.ceil(failures[0] + WINDOW_SECONDS - self._clock.seconds()))
        self._failures.setdefault(key, deque()).append(self._clock.seconds())
        self._recorded += 1
        if self._recorded % _PRUNE_EVERY == 0:
            for stale in list(self._failures):
                self._recent(stale)
        return None

    def reset(self, key: tuple[str, str]) -> None:
        """A successful login: the key's failures, and its attempt, no longer count."""
        self._failures.pop(key, None)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures.get(key, deque())
        horizon = self._clock.seconds() - WINDOW_SECONDS
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures
