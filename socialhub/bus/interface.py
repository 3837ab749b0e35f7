"""The one small interface both buses implement: publish bytes to channels, subscribe to them.

A bus knows nothing of frames or users; `delivery/fanout.py` decides what goes on which channel.
Publishing is fire-and-forget: a bus that cannot reach its broker drops the message, counts it
and reports itself down, and the process keeps serving its own connections.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from twisted.internet.defer import Deferred

MessageHandler = Callable[[bytes, bytes], None]  # (channel, message)


class Bus(Protocol):
    """Pub/sub between the processes of one socialhub deployment."""

    def set_handler(self, handler: MessageHandler) -> None:
        """Where messages of subscribed channels go (set once, before start)."""

    async def start(self) -> None:
        """Connect (a bus that cannot connect yet keeps trying in the background)."""

    async def stop(self) -> None:
        """Disconnect and stop reconnecting."""

    def subscribe(self, channel: bytes) -> Deferred[None]:
        """Receive this channel's messages from now on (also after reconnecting); the Deferred
        fires once the broker has confirmed it (it never fails)."""

    def unsubscribe(self, channel: bytes) -> None:
        """Stop receiving this channel's messages."""

    def publish(self, channel: bytes, message: bytes) -> None:
        """Send a message to every subscriber of the channel, this process included. It may
        leave at the end of the reactor's turn, but messages of one bus arrive in the order
        they were published, across channels too."""

    def on_reconnect(self, callback: Callable[[], object]) -> None:
        """Call `callback` each time the bus is back after an outage."""

    def state(self) -> str:
        """ "ok", "down", or "disabled" (the in-process bus), as /healthz reports it."""

    def claim(self, key: bytes, seconds: float) -> Deferred[bool]:
        """True when no process claimed `key` within the last `seconds` (the claim is then
        this one's): a once-per-interval limit shared by the deployment. True while the bus
        is away: each process's own limit is all there is then."""

    def roster(self, process_id: str, expiry: float) -> Roster:
        """This process's view of who is connected where (presence), shared by every process
        on the bus. A process that stops refreshing for `expiry` seconds counts as dead."""

    def buckets(self) -> SharedBuckets | None:
        """Token buckets shared by every process on the bus (the rate limits), or None for the
        in-process bus: each process's own buckets are all there is then."""


@dataclass(frozen=True)
class Changed:
    """Users whose status a roster change turned: now held by some process, or by none."""

    online: list[int]
    offline: list[int]


@dataclass(frozen=True)
class Refreshed:
    """What a refresh found: whether this process had been taken for dead (its users were
    dropped, so it must register them again), and the users whose last process was a dead one
    that this refresh reaped."""

    lost: bool
    offline: list[int]


class SharedBuckets(Protocol):
    """Token buckets kept by the broker, by key, each with its refill per second and burst
    as (key, per_second, burst); every call fails when the broker is away."""

    def take(self, buckets: Sequence[tuple[bytes, float, float]]) -> Deferred[float]:
        """One token from each bucket, or from none: 0 when taken, else the seconds until each
        holds one."""

    def settle(
        self, buckets: Sequence[tuple[bytes, float, float]], spent: Sequence[int]
    ) -> Deferred[list[float]]:
        """Take what a process spent from each bucket since it last settled, however low that
        leaves it (down to minus its burst); the levels left."""


class Roster(Protocol):
    """Which users each living process of the deployment holds a connection of.

    A user is online while any living process holds them. Every change answers which users it
    turned, decided atomically across processes, so exactly one process announces a turn.
    """

    async def change(self, arrived: Sequence[int], left: Sequence[int]) -> Changed:
        """This process holds `arrived` now and no longer holds `left`."""

    async def replace(self, user_ids: Sequence[int]) -> Changed:
        """This process holds exactly these users (after it lost track: an outage, a reaping)."""

    async def online(self, user_ids: Sequence[int]) -> set[int]:
        """Those of these users some living process holds."""

    async def refresh(self) -> Refreshed:
        """Tell the others this process lives, and reap the processes that stopped living."""

    async def depart(self) -> list[int]:
        """This process stops: it holds no one; the users no other process holds."""
