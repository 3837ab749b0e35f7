"""Group commit: messages that arrive within a couple of milliseconds share one transaction.

One INSERT per message costs several times the CPU of the rest of a relay, and every writing
transaction holds the stream counter until it commits. So the writer collects messages (for
WINDOW seconds, or while the previous batch is being written; at most MAX_BATCH) and stores them
together: one statement to vet them (the private-message rule, asked by `vet`), one to take
their stream positions, one to find the client ids already used, one multi-row INSERT. Each
caller gets its own result (or refusal) only after the batch has committed, so an ack still
means "stored".

Two batches may be in flight, so that the database works on one while the process answers the
other's callers, but a batch starts only once the previous one holds its stream positions: the
stream counter's row lock then makes it wait for that commit before taking its own, so
positions (and a sender's messages) keep the order messages arrived in. Callers hear back in
batch order. A caller delivers a new message in the callback that hands it over, before
returning control; once every caller of a batch has had its result, `committed` is told the
batch's positions (one tick per batch tells the other processes its frames were published).

A batch's callers are answered inside `answering`, a context manager the wiring hands in: the
server's socket cork (ws/direct_write.py), so that the acks and deliveries each connection gets
from one batch leave in one write. The writer only enters and leaves it: storage knows nothing
of sockets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from socialhub.storage.database import Database, Prepared, Transaction
from socialhub.storage.positions import advance, give_back
from socialhub.storage.stores.reach import Pair

WINDOW = 0.002
MAX_BATCH = 256
MAX_IN_FLIGHT = 2
CLIENT_ID_TTL = 24 * 3600
_COLUMNS = (
    "sender_id",
    "recipient_id",
    "group_id",
    "pair_low",
    "pair_high",
    "content",
    "created_at",
    "stream_pos",
    "client_id",
)
_log = Logger(namespace="socialhub.messages")


# Made for every message: slots and not frozen, whose __init__ costs 4x (2.7 against 0.6 us).
@dataclass(slots=True)
class Draft:
    """A message to store: who, to whom (a user or a group), what, when, with which client id."""

    sender_id: int
    content: str
    now: int
    client_id: str | None
    recipient_id: int | None
    group_id: int | None

    @property
    def pair(self) -> Pair | None:
        return None if self.recipient_id is None else (self.sender_id, self.recipient_id)

    @property
    def key(self) -> tuple[int, str] | None:
        return None if self.client_id is None else (self.sender_id, self.client_id)

    def values(self, position: int) -> tuple[object, ...]:
        """The values of a stored row's _COLUMNS."""
        low, high = (None, None)
        if self.recipient_id is not None:
            low, high = sorted((self.sender_id, self.recipient_id))
        return (
            self.sender_id,
            self.recipient_id,
            self.group_id,
            low,
            high,
            self.content,
            self.now,
            position,
            self.client_id,
        )


# What the writer hands back per draft: the stored row (or the original one) and whether new.
Stored = tuple[tuple[Any, ...], bool]
# Asked in a batch's transaction with each draft's (sender, recipient), None for a group message:
# the refusal of each private message that may not be stored, by index.
Vet = Callable[[Transaction, Sequence[Pair | None]], Awaitable[Mapping[int, Exception]]]
# Told after a batch's callers have had their results: its first and last stream position.
Committed = Callable[[int, int], None]


@dataclass(frozen=True)
class _Outcome:
    """A batch's result per draft (a stored row or a refusal) and its range of new positions."""

    results: list[Stored | Exception]
    positions: tuple[int, int] | None


class MessageWriter:
    """Collects drafts for WINDOW seconds and stores each batch in one transaction."""

    def __init__(
        self,
        database: Database,
        clock: IReactorTime,
        columns: str,
        vet: Vet,
        committed: Committed,
        answering: AbstractContextManager[None],
    ) -> None:
        self._db = database
        self._clock = clock
        self._columns = columns  # the message columns each stored row is returned with
        self._vet = vet
        self._committed = committed
        self._answering = answering  # entered while a batch's callers are answered
        self._waiting: list[tuple[Draft, Deferred[Stored]]] = []
        self._timer: IDelayedCall | None = None
        self._in_flight = 0
        self._positioning = False  # the newest batch in flight has not taken its positions yet
        self._answered: Deferred[None] = succeed(None)  # the newest batch's callers heard back

    def write(self, draft: Draft) -> Deferred[Stored]:
        stored: Deferred[Stored] = Deferred()
        self._waiting.append((draft, stored))
        if not self._may_start():
            pass  # taken as soon as a batch in flight lets the next one start
        elif len(self._waiting) >= MAX_BATCH:
            self._flush()
        elif self._timer is None:
            self._timer = self._clock.callLater(WINDOW, self._flush)
        return stored

    def _may_start(self) -> bool:
        return self._in_flight < MAX_IN_FLIGHT and not self._positioning

    def _flush(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if not (self._waiting and self._may_start()):
            return
        batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
        self._in_flight += 1
        self._positioning = True
        previous, answered = self._answered, Deferred[None]()
        self._answered = answered
        stored = Deferred.fromCoroutine(self._store(batch, previous))
        stored.addBoth(self._written).chainDeferred(answered)

    def _positioned(self) -> None:
        """The newest batch holds its stream positions (or will take none): the next may start."""
        self._positioning = False
        self._flush()

    def _written(self, result: Failure | None) -> None:
        self._in_flight -= 1
        if isinstance(result, Failure):
            _log.failure("answering a batch of messages", result)
        self._flush()

    async def _store(
        self, batch: list[tuple[Draft, Deferred[Stored]]], previous: Deferred[None]
    ) -> None:
        """Store a batch, then answer its callers once the previous batch's have been."""
        drafts = [draft for draft, _ in batch]
        positioned = _Once(self._positioned)

        async def body(txn: Transaction) -> _Outcome:
            return await self._vetted(txn, drafts, positioned)

        outcome: _Outcome | Exception
        try:
            outcome = await self._db.interaction("store_messages", body)
        except Exception as error:
            outcome = error
        positioned()
        await previous
        with self._answering:  # no await inside: nothing else runs while it is held
            if isinstance(outcome, Exception):
                for _, stored in batch:
                    stored.errback(outcome)
                return
            for (_, stored), result in zip(batch, outcome.results, strict=True):
                if isinstance(result, Exception):
                    stored.errback(result)
                else:
                    stored.callback(result)
            if outcome.positions is not None:
                self._committed(*outcome.positions)

    async def _vetted(
        self, txn: Transaction, drafts: list[Draft], positioned: Callable[[], None]
    ) -> _Outcome:
        """Store the drafts that pass `vet`; the others get their refusal."""
        refusals = await self._vet(txn, [draft.pair for draft in drafts])
        accepted = [index for index in range(len(drafts)) if index not in refusals]
        stored = await self._insert(txn, [drafts[index] for index in accepted], positioned)
        in_order = iter(stored)
        results = [refusals.get(index) or next(in_order) for index in range(len(drafts))]
        fresh = [row[6] for row, new in stored if new]  # stream_pos is the 7th column
        return _Outcome(results, (min(fresh), max(fresh)) if fresh else None)

    async def _insert(
        self, txn: Transaction, drafts: list[Draft], positioned: Callable[[], None]
    ) -> list[Stored]:
        """Store the drafts whose client id is new (once each); find the others' originals.

        The client ids are looked up after taking the stream positions: the counter's lock
        is held by every transaction that stores a message until it commits, so the lookup
        sees any message stored with the same id by another batch or process. A client id
        already used costs its position back (given back: the lock is still held)."""
        first_of: dict[tuple[int, str], int] = {}
        for index, draft in enumerate(drafts):
            if draft.key is not None:
                first_of.setdefault(draft.key, index)
        candidates = [
            index
            for index, draft in enumerate(drafts)
            if draft.key is None or first_of[draft.key] == index
        ]
        if not candidates:
            return []
        first = await advance(txn, len(candidates))
        positioned()
        originals = await self._originals(txn, list(first_of), drafts[0].now)
        fresh = [index for index in candidates if drafts[index].key not in originals]
        if len(fresh) < len(candidates):
            await give_back(txn, len(candidates) - len(fresh))
        rows = await self._insert_rows(txn, [drafts[index] for index in fresh], first)
        results: list[Stored | None] = [None] * len(drafts)
        for index, row in zip(fresh, rows, strict=True):
            results[index] = (row, True)
        for index, draft in enumerate(drafts):
            if results[index] is None:
                assert draft.key is not None
                original = originals.get(draft.key)
                if original is None:  # the same client id twice in this batch: the first's
                    first_stored = results[first_of[draft.key]]
                    assert first_stored is not None
                    original = first_stored[0]
                results[index] = (original, False)
        return [result for result in results if result is not None]

    async def _originals(
        self, txn: Transaction, keys: list[tuple[int, str]], now: int
    ) -> dict[tuple[int, str], tuple[Any, ...]]:
        """The stored messages of client ids used within the last 24 hours: one probe of
        messages_by_client_id per key, in one statement; the rare originals are then read."""
        if not keys:
            return {}
        given, args = txn.relation(keys, ("bigint", "text"))
        found = await txn.fetch(
            Prepared(
                "SELECT (SELECT max(m.id) FROM messages m WHERE m.sender_id = k.column1"
                " AND m.client_id = k.column2 AND m.client_id IS NOT NULL AND m.created_at > ?)"
                f" FROM {given} AS k"
            ),
            (now - CLIENT_ID_TTL, *args),
        )
        ids = [row[0] for row in found if row[0] is not None]
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        rows = await txn.fetch(
            f"SELECT m.client_id, {self._columns} FROM messages m WHERE m.id IN ({marks})", ids
        )
        return {(row[2], row[0]): row[1:] for row in rows}  # (sender_id, client_id)

    async def _insert_rows(
        self, txn: Transaction, drafts: list[Draft], first: int
    ) -> list[tuple[Any, ...]]:
        """One multi-row INSERT, the drafts taking positions first, first + 1, ... in order."""
        if not drafts:
            return []
        rows = await txn.insert_many(
            "messages",
            _COLUMNS,
            [draft.values(first + n) for n, draft in enumerate(drafts)],
            self._columns.replace("m.", ""),
        )
        by_position = {row[6]: row for row in rows}  # stream_pos is the 7th column
        return [by_position[first + n] for n in range(len(drafts))]


class _Once:
    """Calls a function the first time it is called, and never again."""

    def __init__(self, function: Callable[[], None]) -> None:
        self._function: Callable[[], None] | None = function

    def __call__(self) -> None:
        function, self._function = self._function, None
        if function is not None:
            function()
