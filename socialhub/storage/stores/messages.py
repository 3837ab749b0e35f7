"""The SQL of messages: storing them exactly once per client id, and reading history pages."""

from __future__ import annotations

from dataclasses import dataclass

from socialhub.storage.database import Database, Row, Transaction, qualify
from socialhub.storage.positions import advance

CLIENT_ID_TTL = 24 * 3600
_RETURNED = "id, sender_id, recipient_id, group_id, content, created_at, stream_pos"
MESSAGE_COLUMNS = qualify(_RETURNED, "m")


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Page:
    """A history page: at most `limit` messages, skipping `offset`, older than `before`."""

    limit: int
    offset: int = 0
    before: int | None = None


class MessagesStore:
    """Private and group messages."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def store(
        self,
        sender_id: int,
        content: str,
        now: int,
        client_id: str | None,
        recipient_id: int | None = None,
        group_id: int | None = None,
    ) -> tuple[Message, bool]:
        """Store a message; (message, True), or (the original, False) for a resent client id."""

        async def insert(txn: Transaction) -> tuple[Message, bool]:
            if client_id is not None and not await _claim_client_id(txn, sender_id, client_id, now):
                original = await _message_of_client_id(txn, sender_id, client_id)
                if original is not None:
                    return original, False
            pair = sorted((sender_id, recipient_id)) if recipient_id is not None else [None, None]
            position = await advance(txn, 1)
            row = await txn.fetchone(
                "INSERT INTO messages (sender_id, recipient_id, group_id, pair_low,"
                " pair_high, content, created_at, stream_pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                f" RETURNING {_RETURNED}",
                (sender_id, recipient_id, group_id, pair[0], pair[1], content, now, position),
            )
            assert row is not None
            message = Message.from_row(row)
            if client_id is not None:
                await txn.run(
                    "UPDATE client_message_ids SET message_id = ?, acked_at = ?"
                    " WHERE user_id = ? AND client_id = ?",
                    (message.id, now, sender_id, client_id),
                )
            return message, True

        return await self._db.interaction("store_message", insert)

    async def private_history(self, user_a: int, user_b: int, page: Page) -> list[Message]:
        low, high = sorted((user_a, user_b))
        return await self._history("m.pair_low = ? AND m.pair_high = ?", [low, high], page)

    async def group_history(self, group_id: int, page: Page) -> list[Message]:
        return await self._history("m.group_id = ?", [group_id], page)

    async def _history(self, where: str, args: list[object], page: Page) -> list[Message]:
        if page.before is not None:
            where += " AND m.id < ?"
            args.append(page.before)

        async def select(txn: Transaction) -> list[Message]:
            rows = await txn.fetch(
                f"SELECT {MESSAGE_COLUMNS} FROM messages m WHERE {where}"
                " ORDER BY m.id DESC LIMIT ? OFFSET ?",
                (*args, page.limit, page.offset),
            )
            return [Message.from_row(row) for row in rows]

        return await self._db.interaction("message_history", select)

    async def forget_client_ids(self, now: int) -> int:
        """Drop client ids older than 24 hours; returns how many went."""

        async def delete(txn: Transaction) -> int:
            return await txn.run(
                "DELETE FROM client_message_ids WHERE acked_at <= ?", (now - CLIENT_ID_TTL,)
            )

        return await self._db.interaction("forget_client_ids", delete)


async def _claim_client_id(txn: Transaction, user_id: int, client_id: str, now: int) -> bool:
    """Record a client id; False when it was already used in the last 24 hours."""
    row = await txn.fetchone(
        "INSERT INTO client_message_ids (user_id, client_id, message_id, acked_at)"
        " VALUES (?, ?, NULL, ?) ON CONFLICT (user_id, client_id) DO UPDATE"
        " SET message_id = NULL, acked_at = excluded.acked_at"
        " WHERE client_message_ids.acked_at <= ? RETURNING user_id",
        (user_id, client_id, now, now - CLIENT_ID_TTL),
    )
    return row is not None


async def _message_of_client_id(txn: Transaction, user_id: int, client_id: str) -> Message | None:
    row = await txn.fetchone(
        f"SELECT {MESSAGE_COLUMNS} FROM client_message_ids c JOIN messages m ON m.id = c.message_id"
        " WHERE c.user_id = ? AND c.client_id = ?",
        (user_id, client_id),
    )
    return Message.from_row(row) if row else None
