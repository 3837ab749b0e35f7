"""The SQL of notifications: storing them for many users at once, listing and marking them read.

Every notification is stored through `_insert`, which leaves out the recipients who block the
notice's actor, and those who have it already, unread: that is the one place both rules live.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from socialhub.storage import positions
from socialhub.storage.database import Args, Database, Row, Transaction, by_name, read_one, write

# The columns a Notification is read from, by name (its fields, in this order).
NOTIFICATION_FIELDS = (
    "id",
    "user_id",
    "type",
    "message",
    "is_read",
    "created_at",
    "actor_id",
    "group_id",
    "post_id",
    "event_id",
    "stream_pos",
)
NOTIFICATION_COLUMNS = ", ".join(NOTIFICATION_FIELDS)
# Recipients per INSERT: one statement per chunk keeps far below SQLite's limit on parameters.
CHUNK = 1000
# Blocking: nobody is told of what a user they block did. One condition in the one
# INSERT every notification goes through, so every path that notifies, now or later, obeys it.
# `r` is the recipients row; the `?` is the notice's actor (NULL matches no block).
_NOT_BLOCKING_ACTOR = (
    "NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = r.user_id"
    " AND b.blocked_id = CAST(? AS BIGINT))"
)
# Repeats: nobody gets a notification while the same one (type, actor, group, post, event and
# message) waits unread for them, so a follow/unfollow loop notifies once; a comment is always
# news. Left out here, before the rows are numbered, so positions keep no gaps; the stream
# counter every insert locks first orders two writers, so the second sees the first's row
# (schema/0018's unique index, on the same key, enforces it). The `?`s: type, actor (NULL
# never repeats), group, post, event, message.
_NOT_UNREAD_ALREADY = (
    "NOT EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = r.user_id AND NOT n.is_read"
    " AND n.type = ? AND n.actor_id = CAST(? AS BIGINT)"
    " AND COALESCE(n.group_id, 0) = COALESCE(CAST(? AS BIGINT), 0)"
    " AND COALESCE(n.post_id, 0) = COALESCE(CAST(? AS BIGINT), 0)"
    " AND COALESCE(n.event_id, 0) = COALESCE(CAST(? AS BIGINT), 0)"
    " AND n.message = ? AND n.type <> 'post_comment')"
)


@dataclass(frozen=True)
class Notice:
    """A notification to store for some users: what the rules decide, before it has ids."""

    user_ids: Sequence[int]
    subtype: str
    message: str
    actor_id: int | None = None
    group_id: int | None = None
    post_id: int | None = None
    event_id: int | None = None


@dataclass(frozen=True)
class Notification:
    """One stored notification of one user."""

    id: int
    user_id: int
    type: str
    message: str
    is_read: bool
    created_at: int
    actor_id: int | None
    group_id: int | None
    post_id: int | None
    event_id: int | None
    stream_pos: int | None  # None only for notifications stored before stream positions existed

    @classmethod
    def from_row(cls, row: Row) -> Notification:
        """A row of NOTIFICATION_COLUMNS."""
        values = by_name(NOTIFICATION_FIELDS, row)
        values["is_read"] = bool(values["is_read"])
        return cls(**values)

    def references(self) -> dict[str, int]:
        """The ids it refers to that are set: the REST object and the frame omit nulls."""
        named = {
            "actor_id": self.actor_id,
            "group_id": self.group_id,
            "post_id": self.post_id,
            "event_id": self.event_id,
        }
        return {name: value for name, value in named.items() if value is not None}


def placeholders(count: int, each: str = "?") -> str:
    """`?, ?, ?` for an IN list or VALUES rows (both engines take `?`)."""
    return ", ".join([each] * count)


async def _insert(
    txn: Transaction, notice: Notice, recipients: str, args: Args, now: int, count: int | None
) -> list[Notification]:
    """One INSERT of `notice` for each user id that `recipients` (VALUES or a SELECT) yields,
    except those who block its actor or have it unread already.

    Each row takes the next stream position, numbered from the counter: when the number of
    recipients is known (`count`) the positions are taken first (and those of recipients left
    out for a block given back), otherwise the counter is locked, the rows inserted, and the
    counter moved past them. Either way the positions stay without gaps.
    """
    last = await positions.base(txn) if count is None else await positions.advance(txn, count) - 1
    rows = await txn.fetch(
        f"WITH recipients (user_id) AS ({recipients})"
        " INSERT INTO notifications (user_id, type, message, created_at,"
        " actor_id, group_id, post_id, event_id, stream_pos)"
        " SELECT user_id, ?, ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT),"
        " CAST(? AS BIGINT), CAST(? AS BIGINT),"
        " CAST(? AS BIGINT) + ROW_NUMBER() OVER (ORDER BY user_id) FROM recipients r"
        f" WHERE {_NOT_BLOCKING_ACTOR} AND {_NOT_UNREAD_ALREADY} RETURNING {NOTIFICATION_COLUMNS}",
        (
            *args,
            notice.subtype,
            notice.message,
            now,
            notice.actor_id,
            notice.group_id,
            notice.post_id,
            notice.event_id,
            last,
            notice.actor_id,
            notice.subtype,
            notice.actor_id,
            notice.group_id,
            notice.post_id,
            notice.event_id,
            notice.message,
        ),
    )
    if rows and count is None:
        await positions.advance(txn, len(rows))
    elif count is not None and len(rows) < count:
        await positions.give_back(txn, count - len(rows))
    return [Notification.from_row(row) for row in rows]


class NotificationsStore:
    """A user's notifications, newest first; `add` also runs inside other stores' transactions."""

    def __init__(self, database: Database) -> None:
        self._db = database

    @staticmethod
    async def add(txn: Transaction, notice: Notice, now: int) -> list[Notification]:
        """Store `notice` for each of its users (but those who block its actor or have it
        unread already) inside `txn`, so it commits with the action.

        Set-based: one multi-row INSERT per CHUNK recipients, never one statement per recipient.
        """
        stored: list[Notification] = []
        user_ids = list(notice.user_ids)
        for start in range(0, len(user_ids), CHUNK):
            chunk = user_ids[start : start + CHUNK]
            values = f"VALUES {placeholders(len(chunk), '(?)')}"
            stored.extend(await _insert(txn, notice, values, chunk, now, len(chunk)))
        return sorted(stored, key=lambda notification: notification.id)

    @staticmethod
    async def add_selected(
        txn: Transaction, notice: Notice, recipients: str, args: Args, now: int
    ) -> list[Notification]:
        """Store `notice` inside `txn` for every user id the SELECT `recipients` yields (e.g. a
        group's members), instead of `notice.user_ids`: one statement, however many there are,
        and nobody who stopped qualifying since the caller last looked."""
        stored = await _insert(txn, notice, recipients, args, now, None)
        return sorted(stored, key=lambda notification: notification.id)

    async def page(self, user_id: int, limit: int, offset: int) -> list[Notification]:
        rows = await self._db.read(
            "list_notifications",
            f"SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE user_id = ?"
            " ORDER BY id DESC LIMIT ? OFFSET ?",
            (user_id, limit, offset),
        )
        return [Notification.from_row(row) for row in rows]

    async def unread_count(self, user_id: int) -> int:
        sql = "SELECT COUNT(*) FROM notifications WHERE user_id = ? AND NOT is_read"
        row = await read_one(self._db, "count_unread_notifications", sql, (user_id,))
        return int(row[0]) if row else 0

    async def mark_read(self, user_id: int, ids: Sequence[int] | None) -> None:
        """Mark the user's notifications read: all, or those of `ids` that are theirs."""
        if ids is not None and not ids:
            return
        sql = "UPDATE notifications SET is_read = TRUE WHERE user_id = ? AND NOT is_read"
        args: list[object] = [user_id]
        if ids is not None:
            sql += f" AND id IN ({placeholders(len(ids))})"
            args.extend(ids)
        await write(self._db, "mark_notifications_read", sql, args)
