"""Group commit: messages that arrive within a couple of milliseconds share one transaction.

One INSERT per message costs several times the CPU of the rest of a relay, and every writing
transaction holds the stream counter until it commits. So the writer collects messages (for
WINDOW seconds, or while the batch before is being written; at most MAX_BATCH) and stores
them together: `vet` asks the private-message rule of them all (from facts it keeps, or one
read), then one transaction stores each new client id once (message_rows.py; on PostgreSQL a
single round trip). Each caller gets its own result (or refusal) only after the batch has
committed, so an ack still means "stored".

One batch is written at a time, so stream positions (and a sender's messages) keep the order
messages arrived in. When a write ends, what arrived meanwhile becomes the next batch at once,
and is vetted and written while the process answers the callers of the one before: each
message waits for at most one write before its own. Callers hear back in batch order. A
caller delivers a new message in the callback that hands it over, before returning control;
once every caller of a batch has had its result, `committed` is told the batch's positions
(one tick per batch tells the other processes its frames were published).

The vet's facts are from a moment before the write (read then, or kept since by reach.py's
ReachCache, which every change clears): a block committed in between lets through the
messages of that moment, as it would have a moment earlier.

A batch's callers are answered inside `answering`, a context manager the wiring hands in: the
server's socket cork (ws/direct_write.py), so that the acks and deliveries each connection gets
from one batch leave in one write. The writer only enters and leaves it: storage knows nothing
of sockets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from socialhub.storage.database import Database, Reader, SingleReads
from socialhub.storage.stores.message_rows import Draft, Stored, positions_of, store_rows
from socialhub.storage.stores.reach import Pair

WINDOW = 0.002
MAX_BATCH = 256
_log = Logger(namespace="socialhub.messages")

# Asked before a batch is written, with each draft's (sender, recipient), None for a group
# message: the refusal of each private message that may not be stored, by index.
Vet = Callable[[Reader, Sequence[Pair | None]], Awaitable[Mapping[int, Exception]]]
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
        """`columns`: the message columns each stored row is returned with."""
        self._db = database
        self._clock = clock
        self._store_rows = store_rows(database, columns)
        self._vet = vet
        self._committed = committed
        self._answering = answering  # entered while a batch's callers are answered
        self._waiting: list[tuple[Draft, Deferred[Stored]]] = []
        self._timer: IDelayedCall | None = None
        self._writing = False  # a batch is being vetted and written
        self._answered: Deferred[None] = succeed(None)  # the newest batch's callers heard back

    def write(self, draft: Draft) -> Deferred[Stored]:
        stored: Deferred[Stored] = Deferred()
        self._waiting.append((draft, stored))
        if self._writing:
            pass  # taken as soon as the write under way has ended
        elif len(self._waiting) >= MAX_BATCH:
            self._flush()
        elif self._timer is None:
            self._timer = self._clock.callLater(WINDOW, self._flush)
        return stored

    def _flush(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if not self._waiting or self._writing:
            return
        batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
        self._writing = True
        after_answers, answered = self._answered, Deferred[None]()
        self._answered = answered
        stored = Deferred.fromCoroutine(self._store(batch, after_answers))
        stored.addErrback(self._failed).chainDeferred(answered)

    def _failed(self, failure: Failure) -> None:
        _log.failure("answering a batch of messages", failure)

    async def _store(
        self,
        batch: list[tuple[Draft, Deferred[Stored]]],
        after_answers: Deferred[None],
    ) -> None:
        """Vet and write a batch, start the next one, then answer this one's callers once the
        batch before has answered its own."""
        drafts = [draft for draft, _ in batch]
        vetted: Mapping[int, Exception] | Exception
        try:
            reads = SingleReads(self._db, "vet_messages")
            vetted = await self._vet(reads, [draft.pair for draft in drafts])
        except Exception as error:
            vetted = error
        outcome: _Outcome | Exception
        try:
            outcome = vetted if isinstance(vetted, Exception) else await self._write(drafts, vetted)
        except Exception as error:
            outcome = error
        self._writing = False
        self._flush()  # what arrived meanwhile is vetted and written while these are answered
        await after_answers
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

    async def _write(self, drafts: list[Draft], refusals: Mapping[int, Exception]) -> _Outcome:
        """Store the drafts that passed `vet`, the first of each client id (a later one gets
        the first's row, not new); the others get their refusal."""
        first_of: dict[tuple[int, str], int] = {}
        sent: list[int] = []
        for index, draft in enumerate(drafts):
            key = draft.key
            if index in refusals or (key is not None and key in first_of):
                continue
            if key is not None:
                first_of[key] = index
            sent.append(index)
        stored = await self._store_rows([drafts[index] for index in sent]) if sent else []
        by_index = dict(zip(sent, stored, strict=True))
        results: list[Stored | Exception] = []
        for index, draft in enumerate(drafts):
            if index in refusals:
                results.append(refusals[index])
            elif index in by_index:
                results.append(by_index[index])
            else:  # the same client id earlier in this batch
                assert draft.key is not None
                results.append((by_index[first_of[draft.key]][0], False))
        return _Outcome(results, positions_of(stored))
