"""The facts the private-message rule decides on, for many (sender, recipient) pairs at once.

The rule itself is handlers/policy.py's. It is asked just before a batch of messages is stored
(storage/stores/message_writer.py): one statement answers it for the whole batch, and
ReachCache keeps the answers until a block, a follow or a profile's privacy changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from socialhub.run_to_end import run_to_end
from socialhub.storage.database import Prepared, Reader

Pair = tuple[int, int]  # (sender id, recipient id)
T = TypeVar("T")


@dataclass(frozen=True)
class Reach:
    """What the database says about one sender and one recipient."""

    recipient_exists: bool
    recipient_private: bool
    blocked: bool  # either of the two blocks the other
    connected: bool  # either of the two follows the other, accepted


async def reach_of(reads: Reader, pairs: Collection[Pair]) -> dict[Pair, Reach]:
    """The facts of each pair, read by one statement."""
    if not pairs:
        return {}
    given, args = reads.relation(list(pairs), ("bigint", "bigint"))
    rows = await reads.fetch(
        Prepared(
            # The recipient's is_private (NULL: no such user), probed by primary key: a join let
            # PostgreSQL hash all users for a batch's 200 pairs.
            "SELECT p.column1, p.column2,"
            " (SELECT u.is_private FROM users u WHERE u.id = p.column2),"
            " EXISTS (SELECT 1 FROM blocks b WHERE"
            "  (b.blocker_id = p.column1 AND b.blocked_id = p.column2)"
            "  OR (b.blocker_id = p.column2 AND b.blocked_id = p.column1)),"
            " EXISTS (SELECT 1 FROM follows f WHERE f.status = 'accepted' AND ("
            "  (f.follower_id = p.column1 AND f.followee_id = p.column2)"
            "  OR (f.follower_id = p.column2 AND f.followee_id = p.column1)))"
            f" FROM {given} AS p"
        ),
        args,
    )
    return {
        (row[0], row[1]): Reach(row[2] is not None, bool(row[2]), bool(row[3]), bool(row[4]))
        for row in rows
    }


class ReachCache:
    """The facts of pairs vetted lately, so that a sender's next messages are vetted without a
    read: the facts change only when a block, a follow or a profile's privacy does.

    Any such change clears the whole cache: the store that commits it runs it through
    `changing`, which also has every other process told (by the bus, which clears theirs, a few
    milliseconds later). Changes are rare next to messages, and a cleared cache costs one read.
    The bus may lose that news while a process's connection to it is down, so a process that
    gets it back has every other forget theirs too (the wiring calls `changed`); for a process
    stopped between a commit and its publish, facts are kept for at most TTL seconds. (All of
    them expire together: with 1 s the relay looked a tenth slower, every batch just after an
    expiry reading its pairs again.) A read that was under way when the cache was cleared is
    used for its own batch (it was vetted a moment before the change, as without a cache) but
    not kept. Unknown recipients are not kept (their id may be taken later)."""

    TTL = 60.0

    def __init__(
        self, published: Callable[[], None], clock: IReactorTime, limit: int = 100_000
    ) -> None:
        """`published` tells the other processes that something changed."""
        self._published = published
        self._clock = clock
        self._limit = limit
        self._facts: dict[Pair, Reach] = {}
        self._generation = 0  # how many times the cache was cleared
        self._expires = 0.0  # when the facts kept now are too old

    async def of(self, reads: Reader, pairs: Collection[Pair]) -> dict[Pair, Reach]:
        """The facts of each pair, read by one statement for those not known."""
        if self._facts and self._clock.seconds() >= self._expires:
            self.clear()
        known = {pair: self._facts[pair] for pair in pairs if pair in self._facts}
        missing = [pair for pair in pairs if pair not in known]
        if missing:
            generation = self._generation
            read = await reach_of(reads, missing)
            if generation == self._generation:
                self._keep(read)
            known.update(read)
        return known

    def _keep(self, read: dict[Pair, Reach]) -> None:
        """Keep what was read (until TTL seconds after the first of the facts kept now)."""
        if len(self._facts) + len(read) > self._limit:
            self.clear()
        if not self._facts:
            self._expires = self._clock.seconds() + self.TTL
        self._facts.update((pair, reach) for pair, reach in read.items() if reach.recipient_exists)

    async def changing(self, change: Awaitable[T]) -> T:
        """Await `change`, an interaction that may change such facts, then forget them all
        (`changed`), also when it failed. It runs to its end even if the caller stops waiting
        (a client that went away): the facts are forgotten once its commit is done."""

        async def run() -> T:
            try:
                return await change
            finally:
                self.changed()

        return await run_to_end(Deferred.fromCoroutine(run()))

    def changed(self) -> None:
        """A change of facts was committed here: forget them all, here and everywhere."""
        self.clear()
        self._published()

    def clear(self) -> None:
        """Forget every fact (another process changed some, or its news may have been lost)."""
        self._facts.clear()
        self._generation += 1
