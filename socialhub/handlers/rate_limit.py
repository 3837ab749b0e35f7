"""The rate limits of every state-changing request and every frame, per user and per address.

Each is a token bucket (handlers/buckets.py). A frame takes a token from its user's bucket and
from its client address's; a state-changing REST request from its user's (when signed in) and
its address's, in the buckets of its class of cost (`SHARES`). Refused, a request is 429 with
Retry-After, a frame the `rate_limited` error frame.

When the bus shares buckets (Redis), the deployment keeps one budget per user and address:
- a REST request takes its tokens in Redis, one script per request (a request already reads its
  session from the database: one more round trip is in proportion);
- a frame is decided at once by this process's buckets, as a Redis round trip per frame would
  cost more than the frame; what the process spent is settled with Redis every
  `SETTLE_SECONDS` in one script for all its keys, after which each bucket holds what the
  deployment left (below zero when other processes spent it: a debt the refill repays before
  more frames pass). Between settlements each process may run ahead by what it refills alone.
When Redis cannot be reached, this process's own buckets decide alone until it is back.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from enum import StrEnum

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from socialhub.bus.interface import SharedBuckets
from socialhub.errors import RateLimited
from socialhub.handlers.buckets import Buckets, Keyed, Rate

FRAME_BURST = 2.5  # a user's frame bucket holds 2.5 seconds' worth
SETTLE_SECONDS = 0.25
_FRAME_KEYS_KEPT = 65536
_log = Logger(namespace="socialhub.rate_limit")


class Cost(StrEnum):
    """The classes of state-changing REST requests (http/costs.py sorts the routes)."""

    WRITE = "write"  # anything else that changes state: posts, comments, likes, settings
    SOCIAL = "social"  # what lands on another user: follow, block, join, leave, invite
    UPLOAD = "upload"  # an image to decode and re-encode
    ACCOUNT = "account"  # register, log in, passwords, mailed links: hashing or mail


@dataclass(frozen=True)
class Share:
    """A class's share of --rest-rate-limit a user may spend, and what an address may: its own
    share of it when set, else --address-rate-limit users' worth."""

    user: float
    address: float | None = None


SHARES = {
    Cost.WRITE: Share(1.0),
    Cost.SOCIAL: Share(0.5),
    Cost.UPLOAD: Share(0.25),
    # No user yet: the address's budget is the limit, so it is not several users' worth.
    Cost.ACCOUNT: Share(0.1, address=0.2),
}


@dataclass(frozen=True)
class LimitSettings:
    """The options: frames a second per user (--rate-limit), state-changing requests a minute
    per user (--rest-rate-limit), and how many users' worth one address may spend
    (--address-rate-limit); 0 turns each off."""

    frames_per_second: int
    requests_per_minute: int
    address_users: int


Pair = tuple[Rate | None, Rate | None]  # a user's rate, an address's rate


def _frame_rates(settings: LimitSettings) -> Pair:
    rate = settings.frames_per_second
    if rate <= 0:
        return None, None
    user = Rate(rate, rate * FRAME_BURST)
    users = settings.address_users
    return user, Rate(rate * users, rate * FRAME_BURST * users) if users > 0 else None


def _request_rates(settings: LimitSettings, share: Share) -> Pair:
    """A minute's worth refilled over a minute, and a minute's worth of burst."""
    per_minute = settings.requests_per_minute
    if per_minute <= 0:
        return None, None
    user = Rate(per_minute * share.user / 60, per_minute * share.user)
    if settings.address_users <= 0:
        return user, None
    address = share.user * settings.address_users if share.address is None else share.address
    return user, Rate(per_minute * address / 60, per_minute * address)


def _keyed(kind: str, rates: Pair, user_id: int | None, address: str) -> Keyed:
    user, by_address = rates
    keyed: list[tuple[Hashable, Rate]] = []
    if user is not None and user_id is not None:
        keyed.append(((kind, "user", user_id), user))
    if by_address is not None:
        keyed.append(((kind, "address", address), by_address))
    return keyed


def redis_key(key: Hashable) -> bytes:
    """`socialhub:limit:<kind>:user:<id>` or `socialhub:limit:<kind>:address:<address>`."""
    assert isinstance(key, tuple)
    return ":".join(("socialhub:limit", *map(str, key))).encode()


class RateLimits:
    """Every rate limit of one process: its own buckets, and Redis's when the bus has them."""

    def __init__(
        self, clock: IReactorTime, settings: LimitSettings, shared: SharedBuckets | None
    ) -> None:
        self._clock = clock
        self._shared = shared
        self._local = Buckets(clock)
        self._frames = _frame_rates(settings)
        self._requests = {cost: _request_rates(settings, share) for cost, share in SHARES.items()}
        # The keys of each sender's frames, made once rather than for every frame.
        self._frame_keys: dict[tuple[int, str], Keyed] = {}
        self._spent: dict[Hashable, tuple[Rate, int]] = {}  # since the last settlement
        self._settling: IDelayedCall | None = None
        self._shared_down = False

    def allow_frame(self, user_id: int, address: str) -> bool:
        """Take a token for a frame from its user's bucket and its address's; False when
        either is empty."""
        keyed = self._frame_keys.get((user_id, address))
        if keyed is None:
            if len(self._frame_keys) >= _FRAME_KEYS_KEPT:
                self._frame_keys.clear()
            keyed = self._frame_keys[user_id, address] = _keyed(
                "frame", self._frames, user_id, address
            )
        if self._local.take(keyed) > 0:
            return False
        if self._shared is not None and keyed:
            self._spend(keyed)
        return True

    async def check_request(self, cost: Cost, user_id: int | None, address: str) -> None:
        """Take a token for a request of this class from its user's bucket (when signed in)
        and its address's; raise RateLimited with the seconds to wait when either is empty."""
        keyed = _keyed(cost.value, self._requests[cost], user_id, address)
        if not keyed:
            return
        wait = await self._take(keyed)
        if wait > 0:
            raise RateLimited("too many requests; slow down", max(1, math.ceil(wait)))

    def stop(self) -> None:
        """Cancel the settlement due (the process stops: what it spent since goes unsettled;
        the next frame let through schedules one again)."""
        if self._settling is not None and self._settling.active():
            self._settling.cancel()
        self._settling = None

    async def _take(self, keyed: Keyed) -> float:
        if self._shared is None:
            return self._local.take(keyed)
        buckets = [(redis_key(key), rate.per_second, rate.burst) for key, rate in keyed]
        try:
            wait = await self._shared.take(buckets)
        except Exception as error:
            self._unshared(error)
            return self._local.take(keyed)
        self._shared_down = False
        return wait

    def _spend(self, keyed: Keyed) -> None:
        for key, rate in keyed:
            _, count = self._spent.get(key, (rate, 0))
            self._spent[key] = (rate, count + 1)
        if self._settling is None:
            self._settling = self._clock.callLater(SETTLE_SECONDS, self.settle)

    def settle(self) -> Deferred[None]:
        """Tell Redis what this process spent since it last did (the timer's call); each bucket
        then holds what the deployment left, less what was spent here while the answer was on
        its way. Fires once that is done or has failed (never fails)."""
        self.stop()
        spent, self._spent = self._spent, {}
        if self._shared is None or not spent:
            return succeed(None)
        buckets = [
            (redis_key(key), rate.per_second, rate.burst) for key, (rate, _) in spent.items()
        ]
        try:
            settled = self._shared.settle(buckets, [count for _, count in spent.values()])
        except Exception as error:  # the connection is known to be lost
            self._unshared(error)
            return succeed(None)
        return settled.addCallbacks(
            self._settled, lambda failure: self._unshared(failure.value), callbackArgs=(spent,)
        )

    def _settled(self, levels: list[float], spent: dict[Hashable, tuple[Rate, int]]) -> None:
        self._shared_down = False
        for (key, (rate, _)), level in zip(spent.items(), levels, strict=True):
            _, since = self._spent.get(key, (rate, 0))
            self._local.set(key, rate, level - since)

    def _unshared(self, error: object) -> None:
        """Redis failed: this process's buckets decide alone (logged once per outage)."""
        if not self._shared_down:
            _log.warn("rate limits are per process until Redis answers again: {error}", error=error)
        self._shared_down = True
