"""The SQL of sessions: a token's hash, its user, and when it was last used."""

from __future__ import annotations

from socialhub.storage.database import Database, qualify, write
from socialhub.storage.stores.users import USER_COLUMNS, User

# Last use is written at most this often, so reading a session is usually a single SELECT.
TOUCH_INTERVAL = 3600


class SessionsStore:
    """Sessions live until they go unused for the TTL, or are revoked."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(self, user_id: int, token_hash: str, now: int) -> int:
        ((session_id,),) = await write(
            self._db,
            "create_session",
            "INSERT INTO sessions (token_hash, user_id, created_at, last_used_at)"
            " VALUES (?, ?, ?, ?) RETURNING id",
            (token_hash, user_id, now, now),
        )
        return int(session_id)

    async def lookup(self, token_hash: str, now: int, ttl: int) -> tuple[int, User] | None:
        """(session id, user) for a live session of an active account; an expired one is
        deleted and not returned.

        Every authenticated request asks, so the usual answer is one SELECT without BEGIN and
        COMMIT around it; only an expiry or the hourly touch takes a transaction of its own.
        """
        columns = qualify(USER_COLUMNS, "u")
        rows = await self._db.read(
            "lookup_session",
            f"SELECT s.id, s.last_used_at, {columns} FROM sessions s"
            " JOIN users u ON u.id = s.user_id"
            " WHERE s.token_hash = ? AND u.deactivated_at IS NULL",
            (token_hash,),
        )
        if not rows:
            return None
        session_id, last_used = rows[0][:2]
        if now - last_used >= ttl:
            expire = "DELETE FROM sessions WHERE id = ?"
            await write(self._db, "expire_session", expire, (session_id,))
            return None
        if now - last_used >= TOUCH_INTERVAL:
            touch = "UPDATE sessions SET last_used_at = ? WHERE id = ?"
            await write(self._db, "touch_session", touch, (now, session_id))
        return session_id, User.from_row(rows[0][2:])

    async def live(self, session_ids: list[int]) -> set[int]:
        """Which of these sessions still exist (the others were revoked)."""
        if not session_ids:
            return set()
        marks = ", ".join("?" for _ in session_ids)
        sql = f"SELECT id FROM sessions WHERE id IN ({marks})"
        return {row[0] for row in await self._db.read("live_sessions", sql, session_ids)}

    async def revoke(self, session_id: int) -> None:
        await write(self._db, "revoke_session", "DELETE FROM sessions WHERE id = ?", (session_id,))

    async def revoke_others(self, user_id: int, keep_session_id: int) -> list[int]:
        """Revoke every session of the user but one; returns the revoked ids."""
        rows = await write(
            self._db,
            "revoke_other_sessions",
            "DELETE FROM sessions WHERE user_id = ? AND id <> ? RETURNING id",
            (user_id, keep_session_id),
        )
        return [row[0] for row in rows]
