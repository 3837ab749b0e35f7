"""The SQL of messages: storing batches of them exactly once per client id, and reading
history pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from socialhub.storage.database import Database, Row, Statement, qualify
from socialhub.storage.stores.message_rows import Draft, Refused, Stored, refusal


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
    reply_to: int | None  # the message it answers
    edited_at: int | None  # when its content was last edited
    deleted_at: int | None  # when it was deleted: a tombstone, its content gone

    @classmethod
    def from_row(cls, row: Row) -> Message:
        """A row of MESSAGE_COLUMNS, which are this class's fields by name, in order; a row of
        another width is refused rather than read shifted."""
        if len(row) != _WIDTH:
            raise ValueError(f"a message row has {_WIDTH} columns, not {len(row)}")
        return cls(*row)


# The columns a Message is read from are its fields' names, so the two cannot drift apart.
_FIELDS = tuple(field.name for field in fields(Message))
_WIDTH = len(_FIELDS)
MESSAGE_COLUMNS = qualify(", ".join(_FIELDS), "m")


# The private-message rule asked alone, of a sender and a recipient given as placeholders.
_REFUSAL_OF = (
    f"SELECT {refusal('p.sender_id', 'p.recipient_id')}"
    " FROM (SELECT CAST(? AS BIGINT) AS sender_id, CAST(? AS BIGINT) AS recipient_id) p"
)


def _as_message(stored: Stored | Refused) -> tuple[Message, bool] | Refused:
    if isinstance(stored, Refused):
        return stored
    row, new = stored
    return Message.from_row(row), new


def _again(first: tuple[Message, bool] | Refused) -> tuple[Message, bool] | Refused:
    """The outcome of a client id's second draft in a batch, given the first's."""
    return first if isinstance(first, Refused) else (first[0], False)


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

    def __init__(self, database: Database) -> None:
        self._db = database
        self._rows = database.message_rows(database, MESSAGE_COLUMNS)

    async def store_batch(self, drafts: Sequence[Draft]) -> list[tuple[Message, bool] | Refused]:
        """Store the drafts in one transaction, in their order; each one's outcome: (message,
        True), (the original, False) for a client id used in the last 24 hours, or the
        private-message rule's refusal (message_rows.py), nothing stored.

        A client id twice in one batch is sent once: the later draft gets the first's outcome
        (its message, not new, or its refusal)."""
        first_of: dict[tuple[int, str] | None, int] = {}  # a keyed draft's first index
        sent: list[int] = []
        for index, draft in enumerate(drafts):
            key = draft.key
            if key not in first_of:
                sent.append(index)
                if key is not None:
                    first_of[key] = index
        stored = await self._rows.store([drafts[index] for index in sent]) if sent else []
        outcomes = dict(zip(sent, map(_as_message, stored), strict=True))
        return [
            outcomes[index] if index in outcomes else _again(outcomes[first_of[draft.key]])
            for index, draft in enumerate(drafts)
        ]

    async def refusal_of(self, sender_id: int, recipient_id: int) -> Refused | None:
        """Why a private message from `sender_id` to `recipient_id` would be refused now, or
        None when it may go: the rule the batch write applies, for a frame that is not stored
        (a typing indicator)."""
        rows = await self._db.read("message_refusal", _REFUSAL_OF, (sender_id, recipient_id))
        reason = rows[0][0]
        return None if reason is None else Refused(reason)

    async def exchanged(self, user_a: int, user_b: int) -> bool:
        """Whether the two users' conversation holds any message (one probe of its index)."""
        low, high = sorted((user_a, user_b))
        sql = "SELECT 1 FROM messages m WHERE m.pair_low = ? AND m.pair_high = ? LIMIT 1"
        return bool(await self._db.read("conversation_exists", sql, (low, high)))

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
