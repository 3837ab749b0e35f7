"""The SQL of the stream as readers see it: its position and epoch, and what someone missed.

Writers take positions with storage/positions.py inside their own transactions.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from socialhub.storage.database import Database, Transaction, qualify
from socialhub.storage.stores.message_changes import CHANGE_COLUMNS, MessageChange
from socialhub.storage.stores.messages import MESSAGE_COLUMNS, Message
from socialhub.storage.stores.notifications import NOTIFICATION_COLUMNS, Notification


@dataclass(frozen=True)
class Missed:
    """What a user missed: messages, notifications and changes of messages, each with its
    stream position."""

    messages: list[Message]
    notifications: list[Notification]
    changes: list[MessageChange]


# The rows of a user's conversations (private ones by either side, groups by their accepted
# membership) with stream positions in a window: messages and their changes alike, along the
# same kind of index. The placeholders: the window, the user twice, the user, the window.
def _in_conversations(columns: str, table: str) -> str:
    return (
        f"SELECT {columns} FROM {table} m"
        " WHERE m.stream_pos > ? AND m.stream_pos <= ? AND m.group_id IS NULL"
        " AND (m.recipient_id = ? OR m.sender_id = ?)"
        " UNION ALL"
        f" SELECT {columns} FROM {table} m JOIN group_members g"
        " ON g.group_id = m.group_id AND g.user_id = ? AND g.is_accepted"
        " WHERE m.stream_pos > ? AND m.stream_pos <= ?"
        " ORDER BY stream_pos LIMIT ?"
    )


_MISSED_MESSAGES = _in_conversations(MESSAGE_COLUMNS, "messages")
_MISSED_CHANGES = _in_conversations(qualify(CHANGE_COLUMNS, "m"), "message_changes")


class StreamStore:
    """The stream's current position, its epoch, and replays."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def position(self) -> tuple[str, int]:
        """(epoch, last committed position); the epoch is created on first use."""

        name_epoch = "UPDATE stream_position SET epoch = ? WHERE id = 1 AND epoch IS NULL"
        ((epoch, position),) = await self._db.at_once(
            "stream_position",
            [
                (name_epoch, (secrets.token_hex(4),)),
                ("SELECT epoch, position FROM stream_position WHERE id = 1", ()),
            ],
        )
        return str(epoch), int(position)

    async def missed(self, user_id: int, after: int, up_to: int, limit: int) -> Missed:
        """The user's frames with positions in (after, up_to], at most `limit` of each kind."""
        window = (after, up_to)
        conversations = (*window, user_id, user_id, user_id, *window, limit)

        async def select(txn: Transaction) -> Missed:
            messages = await txn.fetch(_MISSED_MESSAGES, conversations)
            changes = await txn.fetch(_MISSED_CHANGES, conversations)
            notifications = await txn.fetch(
                f"SELECT {NOTIFICATION_COLUMNS} FROM notifications"
                " WHERE user_id = ? AND stream_pos > ? AND stream_pos <= ?"
                " ORDER BY stream_pos LIMIT ?",
                (user_id, *window, limit),
            )
            return Missed(
                [Message.from_row(row) for row in messages],
                [Notification.from_row(row) for row in notifications],
                [MessageChange.from_row(row) for row in changes],
            )

        return await self._db.interaction("missed_frames", select)
