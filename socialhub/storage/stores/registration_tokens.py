"""The SQL of registration tokens: what an administrator hands out when registration needs one.

Only a token's SHA-256 is stored. A use is counted by the transaction that creates the account
(`use_registration_token`), whose UPDATE takes the token's row lock: of two registrations racing
for the last use, the second waits, then (PostgreSQL re-reads the row it waited for) finds
none left.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from socialhub.storage.database import Database, Transaction, by_name
from socialhub.storage.stores.audit import AuditEntry, record

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
    """Making, listing and deleting registration tokens (an administrator's, or a CLI's); the
    making and the deleting are recorded in the audit log in their own transaction."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self,
        token_hash: str,
        uses_allowed: int | None,
        expires_at: int | None,
        now: int,
        entry: AuditEntry,
    ) -> RegistrationToken:
        """A token made by `entry`'s actor (its target id is the token's, known once written)."""

        async def create(txn: Transaction) -> RegistrationToken:
            row = await txn.fetchone(
                "INSERT INTO registration_tokens"
                " (token_hash, uses_allowed, expires_at, created_by, created_at)"
                f" VALUES (?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                (token_hash, uses_allowed, expires_at, entry.actor_id, now),
            )
            assert row is not None  # an INSERT without a condition writes its row
            token = RegistrationToken(**by_name(_FIELDS, row))
            await record(txn, replace(entry, target_id=token.id), now)
            return token

        return await self._db.interaction("create_registration_token", create)

    async def list(self) -> list[RegistrationToken]:
        sql = f"SELECT {_COLUMNS} FROM registration_tokens ORDER BY id"
        rows = await self._db.read("list_registration_tokens", sql)
        return [RegistrationToken(**by_name(_FIELDS, row)) for row in rows]

    async def delete(self, token_id: int, now: int, entry: AuditEntry) -> bool:
        """False when there was no such token (nothing recorded)."""

        async def delete(txn: Transaction) -> bool:
            sql = "DELETE FROM registration_tokens WHERE id = ? RETURNING id"
            if await txn.fetchone(sql, (token_id,)) is None:
                return False
            await record(txn, entry, now)
            return True

        return await self._db.interaction("delete_registration_token", delete)
