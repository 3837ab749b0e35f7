"""The SQL of one-time account tokens: a mailed password reset or email verification.

Only a token's SHA-256 is stored, and a token is deleted by the transaction that uses it, so
it works once: using one deletes every token of its user for the same purpose. Expired tokens
are deleted whenever another is issued.
"""

from __future__ import annotations

from dataclasses import dataclass

from socialhub.storage.database import Database, Transaction
from socialhub.storage.stores.audit import AuditEntry, record

PASSWORD_RESET = "password_reset"  # noqa: S105 (a purpose, not a password)
VERIFY_EMAIL = "verify_email"


@dataclass(frozen=True)
class AccountToken:
    """A token to store: whose, what for, and until when (Unix seconds)."""

    token_hash: str
    user_id: int
    purpose: str  # PASSWORD_RESET or VERIFY_EMAIL
    expires_at: int


async def insert_account_token(txn: Transaction, token: AccountToken, now: int) -> None:
    """Store `token` in the caller's transaction (an account's creation, or `issue`)."""
    await txn.run("DELETE FROM account_tokens WHERE expires_at <= ?", (now,))
    await txn.run(
        "INSERT INTO account_tokens (token_hash, user_id, purpose, expires_at, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (token.token_hash, token.user_id, token.purpose, token.expires_at, now),
    )


async def _redeem(txn: Transaction, token_hash: str, purpose: str, now: int) -> int | None:
    """Use a live token of `purpose`: the user it was for, or None. Every token of that
    user for that purpose goes with it (an older reset link does not outlive a reset)."""
    row = await txn.fetchone(
        "DELETE FROM account_tokens WHERE token_hash = ? AND purpose = ? AND expires_at > ?"
        " RETURNING user_id",
        (token_hash, purpose, now),
    )
    if row is None:
        return None
    user_id = int(row[0])
    sql = "DELETE FROM account_tokens WHERE user_id = ? AND purpose = ?"
    await txn.run(sql, (user_id, purpose))
    return user_id


@dataclass(frozen=True)
class Reset:
    """A password reset done: whose, and the sessions it revoked."""

    user_id: int
    revoked_sessions: list[int]


class AccountTokensStore:
    """Issuing and using password-reset and verification tokens."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def issue(self, token: AccountToken, now: int, audit: AuditEntry | None) -> list[int]:
        """Store `token`; with `audit` (an administrator's reset), revoke every session of its
        user and record the entry, in the same transaction. The revoked session ids."""

        async def body(txn: Transaction) -> list[int]:
            await insert_account_token(txn, token, now)
            if audit is None:
                return []
            await record(txn, audit, now)
            return await revoke_all_sessions(txn, token.user_id)

        return await self._db.interaction("issue_account_token", body)

    async def reset_password(self, token_hash: str, password_hash: str, now: int) -> Reset | None:
        """Use a reset token: set the password, mark the email verified (the link was mailed
        to it) and revoke every session, in one transaction; None when the token is unknown,
        used or expired (nothing is written)."""

        async def body(txn: Transaction) -> Reset | None:
            user_id = await _redeem(txn, token_hash, PASSWORD_RESET, now)
            if user_id is None:
                return None
            sql = "UPDATE users SET password_hash = ?, awaiting_verification = FALSE WHERE id = ?"
            await txn.run(sql, (password_hash, user_id))
            return Reset(user_id, await revoke_all_sessions(txn, user_id))

        return await self._db.interaction("reset_password", body)

    async def verify_email(self, token_hash: str, now: int) -> int | None:
        """Use a verification token: the user it verified, or None."""

        async def body(txn: Transaction) -> int | None:
            user_id = await _redeem(txn, token_hash, VERIFY_EMAIL, now)
            if user_id is not None:
                sql = "UPDATE users SET awaiting_verification = FALSE WHERE id = ?"
                await txn.run(sql, (user_id,))
            return user_id

        return await self._db.interaction("verify_email", body)


async def revoke_all_sessions(txn: Transaction, user_id: int) -> list[int]:
    """Delete every session of the user in the caller's transaction; the revoked ids."""
    rows = await txn.fetch("DELETE FROM sessions WHERE user_id = ? RETURNING id", (user_id,))
    return [int(row[0]) for row in rows]
