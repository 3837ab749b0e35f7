"""The SQL of edits, deletions and reactions, and the rules of who may make them.

Each change is asked in one transaction that takes a stream position first (which locks the
stream counter, so it sees every message and change committed before it, by any process),
reads the message, applies the rules (`refusal`: the one place they live), and only when it
changes something updates the message or its reactions and stores the change as a row of
`message_changes` at that position, copying the message's conversation, so that a replay finds
it as it finds messages. A change that is refused or changes nothing gives its position back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

from socialhub.storage import positions
from socialhub.storage.database import Database, Row, Transaction, by_name
from socialhub.storage.stores.audit import AuditEntry, record
from socialhub.storage.stores.groups import accepted_member_ids
from socialhub.storage.stores.messages import MESSAGE_COLUMNS, Message
from socialhub.storage.stores.notifications import placeholders

EDIT: Final = "edit"
DELETE: Final = "delete"
REACTION: Final = "reaction"
# Why a change is refused, as `refusal` answers.
UNSEEN: Final = "unseen"  # no such message, one the actor cannot see, or (but to delete) deleted
NOT_YOURS: Final = "not_yours"  # the actor sees it but may not edit or delete it

CHANGE_FIELDS = (
    "id",
    "message_id",
    "kind",
    "actor_id",
    "sender_id",
    "recipient_id",
    "group_id",
    "content",
    "emoji",
    "is_on",
    "created_at",
    "stream_pos",
)
CHANGE_COLUMNS = ", ".join(CHANGE_FIELDS)

# Who can see a message, as an SQL condition of the message `m` and the viewer (the `?`): a
# private message its two users, a group message the group's accepted members.
VISIBLE = (
    "CASE WHEN m.group_id IS NULL THEN m.sender_id = CAST(? AS BIGINT)"
    " OR m.recipient_id = CAST(? AS BIGINT)"
    " ELSE EXISTS (SELECT 1 FROM group_members v WHERE v.group_id = m.group_id"
    " AND v.user_id = CAST(? AS BIGINT) AND v.is_accepted) END"
)
_TARGET = (
    f"SELECT {MESSAGE_COLUMNS}, g.owner_id, {VISIBLE} FROM messages m"
    " LEFT JOIN groups g ON g.id = m.group_id WHERE m.id = ?"
)


@dataclass(frozen=True)
class Asked:
    """A change as asked: of which kind, to which message, by whom, when, and what it says (an
    edit's content; a reaction's emoji and whether it is added). A `moderated` deletion is an
    administrator's: of any message, stored as if its sender had deleted it."""

    kind: str
    message_id: int
    actor_id: int | None  # None only for a moderated deletion from the command line
    now: int
    content: str | None = None
    emoji: str | None = None
    on: bool | None = None
    moderated: bool = False


@dataclass(frozen=True)
class Target:
    """What the rules read of the message a change is asked of, in the change's transaction:
    the message, whether the actor can see it, and its group's owner (for a group message)."""

    message: Message
    visible: bool
    group_owner_id: int | None


@dataclass(frozen=True)
class MessageChange:
    """A stored edit, deletion or reaction: a row of `message_changes`."""

    id: int
    message_id: int
    kind: str
    actor_id: int
    sender_id: int
    recipient_id: int | None
    group_id: int | None
    content: str | None
    emoji: str | None
    is_on: bool | None
    created_at: int
    stream_pos: int

    @classmethod
    def from_row(cls, row: Row) -> MessageChange:
        """A row of CHANGE_COLUMNS (SQLite gives a boolean as 0 or 1)."""
        values = by_name(CHANGE_FIELDS, row)
        if values["is_on"] is not None:
            values["is_on"] = bool(values["is_on"])
        return cls(**values)


@dataclass(frozen=True)
class Outcome:
    """What a change found and did: the rules' refusal (None: allowed), the message as it is
    after, and, when it changed something, the stored change and who is in the conversation
    (its two users, or the group's accepted members) to deliver it to."""

    refusal: str | None
    message: Message | None = None
    change: MessageChange | None = None
    audience: Sequence[int] = ()


@dataclass(frozen=True)
class ReactionCount:
    """One emoji on a message: how many reacted so, and whether the viewer did."""

    emoji: str
    count: int
    mine: bool


def refusal(target: Target | None, asked: Asked) -> str | None:
    """The rules of a change: anyone who can see a message may react to it; only its author may
    edit it; its author, or the group's owner for a group message, may delete it; an
    administrator may delete any (`moderated`). A deleted message can be deleted again (which
    changes nothing) and nothing else. None when allowed."""
    if asked.moderated and target is not None:
        return None
    if target is None or not target.visible:
        return UNSEEN
    message = target.message
    if message.deleted_at is not None and asked.kind != DELETE:
        return UNSEEN
    author = message.sender_id == asked.actor_id
    if asked.kind == EDIT and not author:
        return NOT_YOURS
    if asked.kind == DELETE and not (author or target.group_owner_id == asked.actor_id):
        return NOT_YOURS
    return None


async def _target(txn: Transaction, asked: Asked) -> Target | None:
    actor = asked.actor_id
    row = await txn.fetchone(_TARGET, (actor, actor, actor, asked.message_id))
    if row is None:
        return None
    *columns, owner_id, visible = row
    return Target(Message.from_row(tuple(columns)), bool(visible), owner_id)


async def _updated(txn: Transaction, sql: str, args: tuple[object, ...]) -> Message:
    row = await txn.fetchone(f"{sql} RETURNING {MESSAGE_COLUMNS.replace('m.', '')}", args)
    assert row is not None  # the row was read, and the counter's lock held, in this transaction
    return Message.from_row(row)


# Each kind's write: the message after it, or None when it changes nothing.


async def _edit(txn: Transaction, message: Message, asked: Asked) -> Message | None:
    """The same content again changes nothing: a resent edit is answered, not repeated."""
    if asked.content == message.content:
        return None
    sql = "UPDATE messages SET content = ?, edited_at = ? WHERE id = ?"
    return await _updated(txn, sql, (asked.content, asked.now, message.id))


async def _delete(txn: Transaction, message: Message, asked: Asked) -> Message | None:
    """The content goes with the message (a tombstone keeps none), and so do its reactions."""
    if message.deleted_at is not None:
        return None
    await txn.run("DELETE FROM reactions WHERE message_id = ?", (message.id,))
    sql = "UPDATE messages SET content = '', deleted_at = ? WHERE id = ?"
    return await _updated(txn, sql, (asked.now, message.id))


async def _react(txn: Transaction, message: Message, asked: Asked) -> Message | None:
    """Adding a reaction one has, or removing one one has not, changes nothing."""
    key = (message.id, asked.actor_id, asked.emoji)
    if asked.on:
        sql = (
            "INSERT INTO reactions (message_id, user_id, emoji) VALUES (?, ?, ?)"
            " ON CONFLICT (message_id, user_id, emoji) DO NOTHING RETURNING id"
        )
    else:
        sql = (
            "DELETE FROM reactions WHERE message_id = ? AND user_id = ? AND emoji = ? RETURNING id"
        )
    return message if await txn.fetch(sql, key) else None


_WRITES: dict[str, Callable[[Transaction, Message, Asked], Awaitable[Message | None]]] = {
    EDIT: _edit,
    DELETE: _delete,
    REACTION: _react,
}


async def _record(txn: Transaction, asked: Asked, message: Message, position: int) -> MessageChange:
    """The change as a stored frame, in its message's conversation."""
    row = await txn.fetchone(
        "INSERT INTO message_changes (message_id, kind, actor_id, sender_id, recipient_id,"
        " group_id, content, emoji, is_on, created_at, stream_pos)"
        f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {CHANGE_COLUMNS}",
        (
            message.id,
            asked.kind,
            message.sender_id if asked.moderated else asked.actor_id,
            message.sender_id,
            message.recipient_id,
            message.group_id,
            asked.content if asked.kind == EDIT else None,
            asked.emoji,
            asked.on,
            asked.now,
            position,
        ),
    )
    assert row is not None
    return MessageChange.from_row(row)


async def _audience(txn: Transaction, message: Message) -> list[int]:
    if message.group_id is not None:
        return await accepted_member_ids(txn, message.group_id)
    assert message.recipient_id is not None
    return [message.sender_id, message.recipient_id]


class MessageChangesStore:
    """Edits, deletions and reactions of messages."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def change(self, asked: Asked, audit: AuditEntry | None = None) -> Outcome:
        """Apply the change when the rules allow it and it changes something (see the module's
        docstring); what it found and did. An administrator's change records `audit` when the
        rules allow it."""

        async def body(txn: Transaction) -> Outcome:
            position = await positions.advance(txn, 1)
            target = await _target(txn, asked)
            refused = refusal(target, asked)
            if refused is not None or target is None:
                await positions.give_back(txn, 1)
                return Outcome(refused)
            if audit is not None:
                await record(txn, audit, asked.now)
            message = await _WRITES[asked.kind](txn, target.message, asked)
            if message is None:
                await positions.give_back(txn, 1)
                return Outcome(None, target.message)
            change = await _record(txn, asked, message, position)
            return Outcome(None, message, change, await _audience(txn, message))

        return await self._db.interaction(f"message_{asked.kind}", body)

    async def reactions(
        self, message_ids: Sequence[int], viewer_id: int
    ) -> dict[int, list[ReactionCount]]:
        """The reactions of these messages, by message id, each message's emojis in the order
        of their first use: one read for a whole history page."""
        if not message_ids:
            return {}
        rows = await self._db.read(
            "message_reactions",
            "SELECT r.message_id, r.emoji, COUNT(*),"
            " MAX(CASE WHEN r.user_id = ? THEN 1 ELSE 0 END) FROM reactions r"
            f" WHERE r.message_id IN ({placeholders(len(message_ids))})"
            " GROUP BY r.message_id, r.emoji ORDER BY MIN(r.id)",
            (viewer_id, *message_ids),
        )
        found: dict[int, list[ReactionCount]] = {}
        for message_id, emoji, count, mine in rows:
            found.setdefault(message_id, []).append(ReactionCount(emoji, int(count), bool(mine)))
        return found
