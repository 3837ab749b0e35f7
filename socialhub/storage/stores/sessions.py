"""The SQL of sessions: a token's hash, its user, when it was last used and by what client."""

from __future__ import annotations

from dataclasses import dataclass

from socialhub.storage.database import Database, Row, by_name, qualify, write
from socialhub.storage.stores.users import USER_COLUMNS, User

# Last use is written at most this often, so reading a session is usually a single SELECT.
TOUCH_INTERVAL = 3600
# What a user's list of their sessions shows of each (never the token's hash).
SESSION_FIELDS = ("id", "created_at", "last_used_at", "client")
SESSION_COLUMNS = ", ".join(SESSION_FIELDS)
# How many session ids one query of `live` asks about (SQLite allows 32,766 parameters).
LIVE_CHUNK = 1000


@dataclass(frozen=True)
class Session:
    """One of a user's sessions as they see it in their list."""

    id: int
    created_at: int
    last_used_at: int
    client: str  # a short description of the client that opened it ("Firefox on Linux")

    @classmethod
    def from_row(cls, row: Row) -> Session:
        return cls(**by_name(SESSION_FIELDS, row))


class SessionsStore:
    """Sessions live until they go unused for the TTL, or are revoked."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(self, user_id: int, token_hash: str, now: int, client: str) -> int:
        ((session_id,),) = await write(
            self._db,
            "create_session",
            "INSERT INTO sessions (token_hash, user_id, created_at, last_used_at, client)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (token_hash, user_id, now, now, client),
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
        """Which of these sessions still exist (the others were revoked): one query per
        `LIVE_CHUNK` ids, within every engine's limit of parameters."""
        live: set[int] = set()
        for start in range(0, len(session_ids), LIVE_CHUNK):
            chunk = session_ids[start : start + LIVE_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            sql = f"SELECT id FROM sessions WHERE id IN ({marks})"
            live.update(row[0] for row in await self._db.read("live_sessions", sql, chunk))
        return live

    async def of_user(self, user_id: int) -> list[Session]:
        """The user's sessions, newest first."""
        sql = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = ? ORDER BY id DESC"
        rows = await self._db.read("list_sessions", sql, (user_id,))
        return [Session.from_row(row) for row in rows]

    async def revoke_own(self, user_id: int, session_id: int) -> bool:
        """Revoke the session when it is one of the user's; whether it was."""
        sql = "DELETE FROM sessions WHERE id = ? AND user_id = ? RETURNING id"
        return bool(await write(self._db, "revoke_own_session", sql, (session_id, user_id)))

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
