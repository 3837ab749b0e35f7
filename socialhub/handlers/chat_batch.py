"""Group commit: chat messages that arrive within a couple of milliseconds share one transaction.

One INSERT per message costs several times the CPU of the rest of a relay, and every writing
transaction holds the stream counter until it commits. So messages are collected (for WINDOW
seconds, or while the batch before is being written; at most MAX_BATCH) and handed to
storage together (MessagesStore.store_batch): one transaction refuses what the private-message
rule forbids and stores each new client id once (on PostgreSQL a single round trip). Each
caller gets its own result (or refusal) only after the batch has committed, so an ack still
means "stored".

One batch is written at a time, so stream positions (and a sender's messages) keep the order
messages arrived in. When a write ends, what arrived meanwhile becomes the next batch at once,
and is written while the process answers the callers of the one before: each message waits
for at most one write before its own. Callers hear back in batch order.

The ordering invariant, held here and nowhere else: frames reach the sequencer before their
batch's tick. A caller delivers its new message in the callback that hands it over, before
returning control; once every caller of a batch has had its result, the Delivery is told the
batch's positions (`committed`: one tick per batch tells the other processes its frames were
published).

A batch's callers are answered inside the process's Cork (owned by delivery/cork.py, entered
here), so that the acks and deliveries each connection gets from one batch leave in one write.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from socialhub.delivery.cork import Cork
from socialhub.delivery.interface import Delivery
from socialhub.handlers.policy import message_refusal
from socialhub.storage.stores.message_rows import Draft, Refused
from socialhub.storage.stores.messages import Message, MessagesStore

WINDOW = 0.002
MAX_BATCH = 256
_log = Logger(namespace="socialhub.messages")

Outcome = tuple[Message, bool] | Refused  # what storage says of one draft
# A message waiting for its batch, and whom to tell how it went.
Waiting = tuple[Draft, Deferred[tuple[Message, bool]]]


class ChatBatch:
    """Collects messages for WINDOW seconds and stores each batch in one transaction."""

    def __init__(
        self, messages: MessagesStore, clock: IReactorTime, delivery: Delivery, cork: Cork
    ) -> None:
        self._messages = messages
        self._clock = clock
        self._delivery = delivery  # told each batch's positions once its callers heard back
        self._cork = cork  # entered while a batch's callers are answered
        self._waiting: list[Waiting] = []
        self._timer: IDelayedCall | None = None
        self._writing = False  # a batch is being written
        self._answered: Deferred[None] = succeed(None)  # the newest batch's callers heard back

    def store(
        self,
        sender_id: int,
        content: str,
        now: int,
        client_id: str | None,
        recipient_id: int | None = None,
        group_id: int | None = None,
        reply_to: int | None = None,
    ) -> Deferred[tuple[Message, bool]]:
        """Queue a message for the next batch; (message, True) once stored, or (the original,
        False) for a client id used in the last 24 hours. Fails with the rules' refusal for a
        private message they forbid, or a reply to no message of the conversation
        (handlers/policy.py's `message_refusal`).

        A Deferred, not a coroutine: this runs for every message, and a coroutine driven by a
        Deferred costs more than the rest of this method."""
        stored: Deferred[tuple[Message, bool]] = Deferred()
        draft = Draft(sender_id, content, now, client_id, recipient_id, group_id, reply_to)
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
        written = Deferred.fromCoroutine(self._write(batch, after_answers))
        written.addErrback(self._failed).chainDeferred(answered)

    def _failed(self, failure: Failure) -> None:
        _log.failure("answering a batch of messages", failure)

    async def _write(self, batch: list[Waiting], after_answers: Deferred[None]) -> None:
        """Write a batch, start the next one, then answer this one's callers once the batch
        before has answered its own."""
        outcomes: list[Outcome] | Exception
        try:
            outcomes = await self._messages.store_batch([draft for draft, _ in batch])
        except Exception as error:
            outcomes = error
        self._writing = False
        self._flush()  # what arrived meanwhile is written while these are answered
        await after_answers
        with self._cork:  # no await inside: nothing else runs while it is held
            self._answer(batch, outcomes)

    def _answer(self, batch: list[Waiting], outcomes: list[Outcome] | Exception) -> None:
        """Each caller in batch order (each delivers its new message as it hears back), then
        the batch's one tick."""
        if isinstance(outcomes, Exception):
            for _, stored in batch:
                stored.errback(outcomes)
            return
        fresh: list[int] = []
        for (_, stored), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Refused):
                stored.errback(message_refusal(outcome))
                continue
            message, new = outcome
            if new and message.stream_pos is not None:
                fresh.append(message.stream_pos)
            stored.callback(outcome)
        if fresh:
            self._delivery.committed(min(fresh), max(fresh))
