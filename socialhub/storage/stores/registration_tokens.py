"""The SQL of registration tokens: what an administrator hands out when registration needs one.

Only a token's SHA-256 is stored. A use is counted by the transaction that creates the account
(`use_registration_token`), whose UPDATE takes the token's row lock: of two registrations racing
for the last use, the second waits, then (PostgreSQL re-reads the row it waited for) finds
none left.
"""

from __future__ import annotations

from dataclasses import dataclass

from socialhub.storage.database import Database, Transaction, by_name, write

_FIELDS = ("id", "uses_allowed", "uses", "expires_at", "created_by", "created_at")
_COLUMNS = ", ".join(_FIELDS)


class RegistrationTokenRefused(Exception):
    """The registration token is unknown, expired or used up: no account was created."""


@dataclass(frozen=True)
class RegistrationToken:
    """A registration token as administrators list it (never with its secret)."""

    id: int
    uses_allowed: int | None  # None: unlimited
    uses: int
    expires_at: int | None  # Unix seconds; None: never
    created_by: int | None
    created_at: int


async def use_registration_token(txn: Transaction, token_hash: str, now: int) -> None:
    """Count one use of a live token with a use left, inside the account's transaction."""
    used = await txn.fetch(
        "UPDATE registration_tokens SET uses = uses + 1 WHERE token_hash = ?"
        " AND (uses_allowed IS NULL OR uses < uses_allowed)"
        " AND (expires_at IS NULL OR expires_at > ?) RETURNING id",
        (token_hash, now),
    )
    if not used:
        raise RegistrationTokenRefused


class RegistrationTokensStore:
    """Making, listing and deleting registration tokens (an administrator's, or a CLI's)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self,
        token_hash: str,
        uses_allowed: int | None,
        expires_at: int | None,
        created_by: int | None,
        now: int,
    ) -> RegistrationToken:
        ((row),) = await write(
            self._db,
            "create_registration_token",
            "INSERT INTO registration_tokens"
            " (token_hash, uses_allowed, expires_at, created_by, created_at)"
            f" VALUES (?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
            (token_hash, uses_allowed, expires_at, created_by, now),
        )
        return RegistrationToken(**by_name(_FIELDS, row))

    async def list(self) -> list[RegistrationToken]:
        sql = f"SELECT {_COLUMNS} FROM registration_tokens ORDER BY id"
        rows = await self._db.read("list_registration_tokens", sql)
        return [RegistrationToken(**by_name(_FIELDS, row)) for row in rows]

    async def delete(self, token_id: int) -> bool:
        """False when there was no such token."""
        sql = "DELETE FROM registration_tokens WHERE id = ? RETURNING id"
        return bool(await write(self._db, "delete_registration_token", sql, (token_id,)))
