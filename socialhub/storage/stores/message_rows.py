"""A batch of messages made rows: each new client id stored once, at the next stream positions,
and each private message the rule refuses not stored at all.

The private-message rule is decided by `REFUSAL`'s SQL, inside the write's own transaction (in
the statement that inserts, on PostgreSQL): a block, a follow or a privacy committed before the
batch's write began applies to it, in every process, with nothing kept in between. A refused
draft gets its reason; the others are stored.

The drafts come with distinct (sender, client id) keys (MessagesStore.store_batch sends the
first of each). A draft whose client id its sender used within the last 24 hours is not
stored again: it gets the stored original, marked not new. The others take stream positions
in the batch's order, with no gaps (positions.py), and become rows of `messages`.

The originals are looked up after the stream counter is locked: every transaction that
stores a message holds that lock until it commits, so the look-up sees a message stored with
the same client id by another batch or another process.

Each engine supplies its way of doing it (`Database.message_rows`): PostgreSQL one round
trip (storage/engines/postgres_message_rows.py), SQLite statements of one transaction on its
thread (storage/engines/sqlite_message_rows.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from socialhub.storage.database import Database

CLIENT_ID_TTL = 24 * 3600
COLUMNS = (
    "sender_id",
    "recipient_id",
    "group_id",
    "pair_low",
    "pair_high",
    "content",
    "created_at",
    "stream_pos",
    "client_id",
    "reply_to",
)
TYPES = tuple("text" if name in ("content", "client_id") else "bigint" for name in COLUMNS)

# Why a private message is refused, as REFUSAL answers.
TO_SELF: Final = "self"
NO_SUCH_USER: Final = "no_user"
BLOCKED: Final = "blocked"
PRIVATE: Final = "private"
NO_REPLY: Final = "no_reply"  # the message replied to is not one of the conversation's, or deleted


def refusal(sender_id: str, recipient_id: str) -> str:
    """The private-message rule, an SQL expression of two id columns: NULL when the message may
    go (a group message, recipient NULL, always may), else the reason it is refused.

    Anyone may write to a public profile; to a private one only when either of the two follows
    the other (accepted), so a private user can also answer their own followers; never when
    either blocks the other. Oneself never; an unknown or deactivated recipient is not found.

    The recipient is probed once, by primary key, and the rest asked of its row ('' when it
    may be written to, no row when there is no such user): EXISTS on users was hashed whole by
    PostgreSQL (10,000 rows for a batch of 100), and two probes cost twice one."""
    s, r = sender_id, recipient_id
    return (
        f"CASE WHEN {r} IS NULL THEN NULL WHEN {s} = {r} THEN '{TO_SELF}'"
        " ELSE NULLIF(COALESCE((SELECT CASE"
        f"  WHEN u.deactivated_at IS NOT NULL THEN '{NO_SUCH_USER}'"
        "  WHEN EXISTS (SELECT 1 FROM blocks b WHERE"
        f"   (b.blocker_id = {s} AND b.blocked_id = {r})"
        f"   OR (b.blocker_id = {r} AND b.blocked_id = {s}))"
        f"  THEN '{BLOCKED}'"
        "  WHEN u.is_private AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.status = 'accepted'"
        f"   AND ((f.follower_id = {s} AND f.followee_id = {r})"
        f"   OR (f.follower_id = {r} AND f.followee_id = {s})))"
        f"  THEN '{PRIVATE}'"
        "  ELSE '' END"
        f" FROM users u WHERE u.id = {r}), '{NO_SUCH_USER}'), '') END"
    )


def reply_refusal(sender_id: str, recipient_id: str, group_id: str, reply_to: str) -> str:
    """The reply rule, an SQL expression of four id columns: NULL when the draft answers no
    message or one of its own conversation (the group's, or the two users') that is not
    deleted; else NO_REPLY. A draft without a reply pays one IS NULL test; a reply, one probe
    of messages by primary key."""
    s, r, g, m = sender_id, recipient_id, group_id, reply_to
    return (
        f"CASE WHEN {m} IS NULL THEN NULL WHEN EXISTS (SELECT 1 FROM messages o"
        f" WHERE o.id = {m} AND o.deleted_at IS NULL AND (o.group_id = {g}"
        f" OR (o.sender_id = {s} AND o.recipient_id = {r})"
        f" OR (o.sender_id = {r} AND o.recipient_id = {s})))"
        f" THEN NULL ELSE '{NO_REPLY}' END"
    )


def draft_refusal(sender_id: str, recipient_id: str, group_id: str, reply_to: str) -> str:
    """Why the batch write refuses a draft, as an SQL expression (NULL: it is stored): the
    private-message rule first, then the reply rule."""
    return (
        f"COALESCE({refusal(sender_id, recipient_id)},"
        f" {reply_refusal(sender_id, recipient_id, group_id, reply_to)})"
    )


# Made for every message: slots and not frozen, whose __init__ costs 4x (2.7 against 0.6 us).
@dataclass(slots=True)
class Draft:
    """A message to store: who, to whom (a user or a group), what, when, with which client id,
    in reply to which message."""

    sender_id: int
    content: str
    now: int
    client_id: str | None
    recipient_id: int | None
    group_id: int | None
    reply_to: int | None = None

    @property
    def key(self) -> tuple[int, str] | None:
        return None if self.client_id is None else (self.sender_id, self.client_id)

    def values(self, position: int | None) -> tuple[object, ...]:
        """The values of a stored row's COLUMNS."""
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
            self.reply_to,
        )


@dataclass(frozen=True, slots=True)
class Refused:
    """A draft the rules refused: why (TO_SELF, NO_SUCH_USER, BLOCKED, PRIVATE or NO_REPLY)."""

    reason: str


# What a batch store hands back per draft: the stored row (or the original one) and whether new.
Stored = tuple[tuple[Any, ...], bool]


class MessageRows(Protocol):
    """An engine's way of storing a batch of drafts of distinct keys in one transaction."""

    async def store(self, drafts: list[Draft]) -> list[Stored | Refused]:
        """Each draft's outcome, in the drafts' order; rows come with the message columns."""


# Given the database and the message columns each stored row is returned with.
MessageRowsFactory = Callable[["Database", str], MessageRows]


def original_id(sender_id: str, client_id: str) -> str:
    """The subquery of the id of a sender's message with a client id, stored within the last
    24 hours (its one placeholder: the cutoff), one probe of messages_by_client_id."""
    return (
        f"(SELECT max(m.id) FROM messages m WHERE m.sender_id = {sender_id}"
        f" AND m.client_id = {client_id} AND m.client_id IS NOT NULL AND m.created_at > ?)"
    )
