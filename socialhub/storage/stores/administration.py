"""The SQL of the administrators' actions on users and content.

Each action is one transaction that checks its target, acts, and records itself in the audit
log (audit.record) before it commits. Accounts are listed with what an administrator needs of
them: whether they are active, and when their sessions were last used.

A rule that keeps the server administrable lives here, in the transaction it protects: the
last active administrator can neither lose the role nor be deactivated. Every administrator's
row is locked first, in id order, so that two administrators demoting each other at once
cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from socialhub.storage.database import Database, Row, Transaction, qualify
from socialhub.storage.stores.audit import AuditEntry, record
from socialhub.storage.stores.groups import delete_group, substring_pattern
from socialhub.storage.stores.posts import delete_comment, delete_post
from socialhub.storage.stores.users import (
    USER_COLUMNS,
    USER_WIDTH,
    NewAccount,
    User,
    insert_user,
    username_key,
)

T = TypeVar("T")

# How an action on an account ended, when it did not simply apply.
MISSING: Final = "missing"  # no such user
LAST_ADMIN: Final = "last_admin"  # it would leave the server without an active administrator

_LISTED = (
    f"SELECT {qualify(USER_COLUMNS, 'u')},"
    " (SELECT MAX(s.last_used_at) FROM sessions s WHERE s.user_id = u.id) FROM users u"
)
_SEARCH = (
    " WHERE u.username_key LIKE ? ESCAPE '\\' OR u.display_name_key LIKE ? ESCAPE '\\'"
    " OR u.email_key LIKE ? ESCAPE '\\'"
)


@dataclass(frozen=True)
class Account:
    """A user as an administrator lists them: with when a session of theirs was last used."""

    user: User
    last_seen: int | None

    @classmethod
    def from_row(cls, row: Row) -> Account:
        return cls(User.from_row(row[:USER_WIDTH]), row[USER_WIDTH])


@dataclass(frozen=True)
class AccountChange:
    """What an action on an account did: `refusal` (MISSING, LAST_ADMIN) or None when it
    applied, and the sessions it revoked, whose sockets are to be closed."""

    refusal: str | None
    revoked: tuple[int, ...] = ()


async def _exists(txn: Transaction, user_id: int) -> bool:
    return await txn.fetchone("SELECT 1 FROM users WHERE id = ?", (user_id,)) is not None


async def is_last_admin(txn: Transaction, user_id: int) -> bool:
    """Is `user_id` the only active administrator? Locks every administrator's row first."""
    rows = await txn.fetch("SELECT id FROM users WHERE is_admin ORDER BY id")
    for (admin_id,) in rows:
        await txn.lock("users", admin_id)
    active = await txn.fetch("SELECT id FROM users WHERE is_admin AND deactivated_at IS NULL")
    return [row[0] for row in active] == [user_id]


async def _revoke_sessions(txn: Transaction, user_id: int) -> tuple[int, ...]:
    rows = await txn.fetch("DELETE FROM sessions WHERE user_id = ? RETURNING id", (user_id,))
    return tuple(sorted(row[0] for row in rows))


class AdministrationStore:
    """Accounts and content as administrators act on them, each action audited."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def accounts(self, query: str, limit: int, offset: int) -> list[Account]:
        """Every account (deactivated ones too) whose username, display name or email contains
        `query`, any case; newest first."""
        if query:
            pattern = substring_pattern(query.casefold())
            sql, args = _LISTED + _SEARCH, [pattern, pattern, pattern]
        else:
            sql, args = _LISTED, []
        rows = await self._db.read(
            "admin_accounts", f"{sql} ORDER BY u.id DESC LIMIT ? OFFSET ?", [*args, limit, offset]
        )
        return [Account.from_row(row) for row in rows]

    async def create_account(self, account: NewAccount, now: int, entry: AuditEntry) -> User | None:
        """The new account, or None when its username or email is taken (nothing recorded)."""

        async def create(txn: Transaction) -> User | None:
            row = await txn.fetchone(*insert_user(account, now))
            if row is None:
                return None
            user = User.from_row(row)
            await record(txn, _about(entry, user.id), now)
            return user

        return await self._db.interaction("admin_create_account", create)

    async def deactivate(self, user_id: int, now: int, entry: AuditEntry) -> AccountChange:
        """Deactivate the account and revoke its sessions (a repeat revokes what is left)."""

        async def deactivate(txn: Transaction) -> AccountChange:
            if not await _exists(txn, user_id):
                return AccountChange(MISSING)
            if await is_last_admin(txn, user_id):
                return AccountChange(LAST_ADMIN)
            await txn.run(
                "UPDATE users SET deactivated_at = COALESCE(deactivated_at, ?) WHERE id = ?",
                (now, user_id),
            )
            return AccountChange(None, await _revoke_sessions(txn, user_id))

        return await self._audited("admin_deactivate", entry, now, deactivate, _applied)

    async def reactivate(self, user_id: int, now: int, entry: AuditEntry) -> AccountChange:
        async def reactivate(txn: Transaction) -> AccountChange:
            changed = await txn.run(
                "UPDATE users SET deactivated_at = NULL WHERE id = ?", (user_id,)
            )
            return AccountChange(None if changed else MISSING)

        return await self._audited("admin_reactivate", entry, now, reactivate, _applied)

    async def revoke_sessions(self, user_id: int, now: int, entry: AuditEntry) -> AccountChange:
        async def revoke(txn: Transaction) -> AccountChange:
            if not await _exists(txn, user_id):
                return AccountChange(MISSING)
            return AccountChange(None, await _revoke_sessions(txn, user_id))

        return await self._audited("admin_revoke_sessions", entry, now, revoke, _applied)

    async def set_admin(
        self, user_id: int, is_admin: bool, now: int, entry: AuditEntry
    ) -> AccountChange:
        """Grant or revoke the administrator role (never the last active administrator's)."""

        async def change(txn: Transaction) -> AccountChange:
            if not await _exists(txn, user_id):
                return AccountChange(MISSING)
            if not is_admin and await is_last_admin(txn, user_id):
                return AccountChange(LAST_ADMIN)
            await txn.run("UPDATE users SET is_admin = ? WHERE id = ?", (is_admin, user_id))
            return AccountChange(None)

        return await self._audited("admin_set_role", entry, now, change, _applied)

    async def grant_admins(self, usernames: frozenset[str], now: int, actor: AuditEntry) -> None:
        """The --admin list at start: grant each existing account that is not an administrator
        yet the role, recorded as `actor` (the command line) for each."""
        keys = sorted(username_key(name) for name in usernames)
        if not keys:
            return

        async def grant(txn: Transaction) -> None:
            for key in keys:
                rows = await txn.fetch(
                    "UPDATE users SET is_admin = TRUE WHERE username_key = ? AND NOT is_admin"
                    " RETURNING id",
                    (key,),
                )
                for (user_id,) in rows:
                    await record(txn, _about(actor, user_id), now)

        await self._db.interaction("grant_admins", grant)

    async def delete_post(self, post_id: int, now: int, entry: AuditEntry) -> list[str] | None:
        """Delete any post (posts.delete_posts): the media file names to remove, or None."""

        async def delete(txn: Transaction) -> list[str] | None:
            return await delete_post(txn, post_id)

        return await self._audited("admin_delete_post", entry, now, delete, _found)

    async def delete_comment(
        self, comment_id: int, now: int, entry: AuditEntry
    ) -> list[str] | None:
        async def delete(txn: Transaction) -> list[str] | None:
            return await delete_comment(txn, comment_id)

        return await self._audited("admin_delete_comment", entry, now, delete, _found)

    async def delete_group(
        self, group_id: int, now: int, entry: AuditEntry
    ) -> tuple[list[int], list[str]] | None:
        """Delete any group (groups.delete_group): its former members and media file names."""

        async def delete(txn: Transaction) -> tuple[list[int], list[str]] | None:
            await txn.lock("groups", group_id)
            if await txn.fetchone("SELECT 1 FROM groups WHERE id = ?", (group_id,)) is None:
                return None
            return await delete_group(txn, group_id)

        return await self._audited("admin_delete_group", entry, now, delete, _found)

    async def _audited(
        self,
        description: str,
        entry: AuditEntry,
        now: int,
        action: Callable[[Transaction], Awaitable[T]],
        applied: Callable[[T], bool],
    ) -> T:
        """Run `action` in one transaction, recording `entry` in it when the action `applied`."""

        async def body(txn: Transaction) -> T:
            outcome = await action(txn)
            if applied(outcome):
                await record(txn, entry, now)
            return outcome

        return await self._db.interaction(description, body)


def _applied(change: AccountChange) -> bool:
    return change.refusal is None


def _found(deleted: object | None) -> bool:
    return deleted is not None


def _about(entry: AuditEntry, user_id: int) -> AuditEntry:
    """`entry` about the account `user_id`, known only once it is written."""
    return AuditEntry(entry.actor_id, entry.action, "user", user_id, entry.detail)
