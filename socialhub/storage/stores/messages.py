"""The SQL of messages: storing them exactly once per client id, and reading history pages."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from socialhub.storage.database import Database, Row, Statement, qualify
from socialhub.storage.stores.message_rows import Draft, Stored
from socialhub.storage.stores.message_writer import Committed, MessageWriter, Vet

_RETURNED = "id, sender_id, recipient_id, group_id, content, created_at, stream_pos"
MESSAGE_COLUMNS = qualify(_RETURNED, "m")


# Made for every message: slots and not frozen, whose __init__ costs 4x (2.7 against 0.6 us).
@dataclass(slots=True)
class Message:
    id: int
    sender_id: int
    recipient_id: int | None
    group_id: int | None
    content: str
    created_at: int
    stream_pos: int | None  # None only for messages stored before stream positions existed

    @classmethod
    def from_row(cls, row: Row) -> Message:
        return cls(*row[:7])


def _as_message(stored: Stored) -> tuple[Message, bool]:
    row, new = stored
    return Message.from_row(row), new


@dataclass(frozen=True)
class Page:
    """A history page: at most `limit` messages, skipping `offset`, older than `before`."""

    limit: int
    offset: int = 0
    before: int | None = None


def private_page(user_a: int, user_b: int, page: Page) -> Statement:
    """The SELECT of a page of the private conversation between two users."""
    low, high = sorted((user_a, user_b))
    return _page("m.pair_low = ? AND m.pair_high = ?", [low, high], page)


def group_page(group_id: int, page: Page) -> Statement:
    """The SELECT of a page of a group's messages."""
    return _page("m.group_id = ?", [group_id], page)


def _page(where: str, args: list[object], page: Page) -> Statement:
    """Newest first along the conversation's index (messages_by_pair or messages_by_group),
    which ends in `id`: a page is the next `limit` entries walking it backwards."""
    if page.before is not None:
        where += " AND m.id < ?"
        args.append(page.before)
    sql = f"SELECT {MESSAGE_COLUMNS} FROM messages m WHERE {where} ORDER BY m.id DESC"
    return sql + " LIMIT ? OFFSET ?", (*args, page.limit, page.offset)


class MessagesStore:
    """Private and group messages."""

    def __init__(
        self,
        database: Database,
        clock: IReactorTime,
        vet: Vet,
        committed: Committed,
        answering: AbstractContextManager[None],
    ) -> None:
        """`vet` refuses the private messages its rule forbids, just before they are stored;
        `committed` hears each batch's range of stream positions once its frames were handed
        to their callers; `answering` is entered while a batch's callers are answered (see
        MessageWriter)."""
        self._db = database
        self._writer = MessageWriter(database, clock, MESSAGE_COLUMNS, vet, committed, answering)

    def store(
        self,
        sender_id: int,
        content: str,
        now: int,
        client_id: str | None,
        recipient_id: int | None = None,
        group_id: int | None = None,
    ) -> Deferred[tuple[Message, bool]]:
        """Store a message (with others of the same moment, in one transaction); (message,
        True), or (the original, False) for a client id used in the last 24 hours. Fails with
        the refusal of `vet` for a private message it forbids.

        A Deferred with a callback, not a coroutine: this runs for every message, and a
        coroutine driven by a Deferred costs more than the rest of this method."""
        draft = Draft(sender_id, content, now, client_id, recipient_id, group_id)
        return self._writer.write(draft).addCallback(_as_message)

    # A history page is one read without BEGIN and COMMIT: one round trip.

    async def private_history(self, user_a: int, user_b: int, page: Page) -> list[Message]:
        """A page of the two users' conversation."""
        return await self._history(private_page(user_a, user_b, page))

    async def group_history(self, group_id: int, page: Page) -> list[Message]:
        """A page of the group's messages."""
        return await self._history(group_page(group_id, page))

    async def _history(self, statement: Statement) -> list[Message]:
        rows = await self._db.read("message_history", *statement)
        return [Message.from_row(row) for row in rows]
