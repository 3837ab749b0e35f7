"""The SQL of sessions: a token's hash, its user, and when it was last used."""

from __future__ import annotations

from socialhub.storage.database import Args, Database, Transaction, qualify
from socialhub.storage.stores.users import USER_COLUMNS, User

# Last use is written at most this often, so reading a session is usually a single SELECT.
TOUCH_INTERVAL = 3600


class SessionsStore:
    """Sessions live until they go unused for the TTL, or are revoked."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(self, user_id: int, token_hash: str, now: int) -> int:
        async def insert(txn: Transaction) -> int:
            row = await txn.fetchone(
                "INSERT INTO sessions (token_hash, user_id, created_at, last_used_at)"
                " VALUES (?, ?, ?, ?) RETURNING id",
                (token_hash, user_id, now, now),
            )
            assert row is not None
            return int(row[0])

        return await self._db.interaction("create_session", insert)

    async def lookup(self, token_hash: str, now: int, ttl: int) -> tuple[int, User] | None:
        """(session id, user) for a live session; an expired one is deleted and not returned.

        Every authenticated request asks, so the usual answer is one SELECT without BEGIN and
        COMMIT around it; only an expiry or the hourly touch takes a transaction of its own.
        """
        columns = qualify(USER_COLUMNS, "u")
        rows = await self._db.read(
            "lookup_session",
            f"SELECT s.id, s.last_used_at, {columns} FROM sessions s"
            " JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
            (token_hash,),
        )
        if not rows:
            return None
        session_id, last_used = rows[0][0], rows[0][1]
        if now - last_used >= ttl:
            await self._write("expire_session", "DELETE FROM sessions WHERE id = ?", (session_id,))
            return None
        if now - last_used >= TOUCH_INTERVAL:
            touch = "UPDATE sessions SET last_used_at = ? WHERE id = ?"
            await self._write("touch_session", touch, (now, session_id))
        return session_id, User.from_row(rows[0][2:])

    async def _write(self, description: str, sql: str, args: Args) -> None:
        async def run(txn: Transaction) -> None:
            await txn.run(sql, args)

        await self._db.interaction(description, run)

    async def live(self, session_ids: list[int]) -> set[int]:
        """Which of these sessions still exist (the others were revoked)."""
        if not session_ids:
            return set()
        marks = ", ".join("?" for _ in session_ids)

        async def select(txn: Transaction) -> set[int]:
            rows = await txn.fetch(f"SELECT id FROM sessions WHERE id IN ({marks})", session_ids)
            return {row[0] for row in rows}

        return await self._db.interaction("live_sessions", select)

    async def revoke(self, session_id: int) -> None:
        async def delete(txn: Transaction) -> None:
            await txn.run("DELETE FROM sessions WHERE id = ?", (session_id,))

        await self._db.interaction("revoke_session", delete)

    async def revoke_others(self, user_id: int, keep_session_id: int) -> list[int]:
        """Revoke every session of the user but one; returns the revoked ids."""

        async def delete(txn: Transaction) -> list[int]:
            rows = await txn.fetch(
                "DELETE FROM sessions WHERE user_id = ? AND id <> ? RETURNING id",
                (user_id, keep_session_id),
            )
            return [row[0] for row in rows]

        return await self._db.interaction("revoke_other_sessions", delete)
