"""What administrators do to accounts and content, and the reports and audit log they read.

Every action takes its actor: an administrator's user id, or None for the command line. Who
may call these is decided before: the REST edge lets only administrators reach /api/admin
(policy.require_admin), and the command line is the operator. Each action is recorded in the
audit log by its store, in the action's own transaction.

Deactivating an account, or revoking its sessions, closes the sockets of the revoked sessions
with 4001 on every process, as a logout does (`Delivery.close_sessions`); a socket whose
closing the bus lost, or that socialhub-admin (without a bus) could not reach, is closed by
`Accounts.close_revoked_sessions`, which the server runs every few seconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from twisted.internet.interfaces import IReactorTime

from socialhub.auth.passwords import PasswordHasher
from socialhub.delivery.interface import Delivery
from socialhub.errors import Conflict, NotFound
from socialhub.handlers.accounts import SESSION_REVOKED
from socialhub.handlers.commands import CreateAccount
from socialhub.handlers.media import MediaUploads
from socialhub.handlers.message_changes import MessageChanges
from socialhub.storage.stores.administration import (
    LAST_ADMIN,
    MISSING,
    Account,
    AccountChange,
    AdministrationStore,
)
from socialhub.storage.stores.audit import AuditEntry, AuditRecord, AuditStore
from socialhub.storage.stores.reports import ALREADY_RESOLVED, Report, ReportsStore
from socialhub.storage.stores.users import NewAccount, User

USER = "user"
# A store's deletion of a post or a comment: the file names of its images, or None.
DeleteWithMedia = Callable[[int, int, AuditEntry], Awaitable[list[str] | None]]


class Administration:
    """The administrators' actions, each audited."""

    def __init__(
        self,
        clock: IReactorTime,
        store: AdministrationStore,
        audit: AuditStore,
        reports: ReportsStore,
        hasher: PasswordHasher,
        delivery: Delivery,
        message_changes: MessageChanges,
        media: MediaUploads,
    ) -> None:
        self._clock = clock
        self._store = store
        self._audit = audit
        self._reports = reports
        self._hasher = hasher
        self._delivery = delivery
        self._message_changes = message_changes
        self._media = media

    def _now(self) -> int:
        return int(self._clock.seconds())

    # Accounts.

    async def accounts(self, query: str, limit: int, offset: int) -> list[Account]:
        return await self._store.accounts(query, limit, offset)

    async def create_account(self, actor_id: int | None, new: CreateAccount) -> User:
        """Create an account (409 when its username or email is taken); no session opens."""
        account = new.account
        password_hash = await self._hasher.hash(account.password)
        new_user = NewAccount(
            account.username, account.email, password_hash, account.display_name, new.is_admin
        )
        detail = {"username": account.username, "is_admin": new.is_admin}
        entry = AuditEntry(actor_id, "create_user", USER, 0, detail)  # the store sets the id
        user = await self._store.create_account(new_user, self._now(), entry)
        if user is None:
            raise Conflict("username or email is already taken")
        return user

    async def deactivate(self, actor_id: int | None, user_id: int) -> None:
        """Deactivate an account: its sessions are revoked and their sockets closed (409 for
        the last active administrator)."""
        entry = AuditEntry(actor_id, "deactivate_user", USER, user_id, {})
        change = await self._store.deactivate(user_id, self._now(), entry)
        self._closed(user_id, change)

    async def reactivate(self, actor_id: int | None, user_id: int) -> None:
        entry = AuditEntry(actor_id, "reactivate_user", USER, user_id, {})
        self._closed(user_id, await self._store.reactivate(user_id, self._now(), entry))

    async def revoke_sessions(self, actor_id: int | None, user_id: int) -> None:
        entry = AuditEntry(actor_id, "revoke_sessions", USER, user_id, {})
        self._closed(user_id, await self._store.revoke_sessions(user_id, self._now(), entry))

    async def set_admin(self, actor_id: int | None, user_id: int, is_admin: bool) -> None:
        """Grant or revoke the administrator role (409 for the last active administrator)."""
        action = "grant_admin" if is_admin else "revoke_admin"
        entry = AuditEntry(actor_id, action, USER, user_id, {})
        change = await self._store.set_admin(user_id, is_admin, self._now(), entry)
        self._closed(user_id, change)

    async def grant_admins(self, usernames: frozenset[str]) -> None:
        """The --admin list at start: each named account that exists becomes an administrator
        (recorded as the command line's); no one loses the role."""
        entry = AuditEntry(None, "grant_admin", USER, 0, {"via": "--admin"})  # id set per user
        await self._store.grant_admins(usernames, self._now(), entry)

    def _closed(self, user_id: int, change: AccountChange) -> None:
        """Raise the refusal of an action on an account, or close the sessions it revoked."""
        if change.refusal == MISSING:
            raise NotFound("no such user")
        if change.refusal == LAST_ADMIN:
            raise Conflict("the last active administrator must stay one")
        if change.revoked:
            self._delivery.close_sessions(user_id, change.revoked, *SESSION_REVOKED)

    # Content.

    async def delete_post(self, actor_id: int | None, post_id: int) -> None:
        await self._delete_with_media("post", actor_id, post_id, self._store.delete_post)

    async def delete_comment(self, actor_id: int | None, comment_id: int) -> None:
        await self._delete_with_media("comment", actor_id, comment_id, self._store.delete_comment)

    async def _delete_with_media(
        self, kind: str, actor_id: int | None, target_id: int, delete: DeleteWithMedia
    ) -> None:
        """Delete a post or a comment (404 when there is none), then its images' files."""
        entry = AuditEntry(actor_id, f"delete_{kind}", kind, target_id, {})
        names = await delete(target_id, self._now(), entry)
        if names is None:
            raise NotFound(f"no such {kind}")
        await self._media.discard(names)

    async def delete_message(self, actor_id: int | None, message_id: int) -> None:
        """The message becomes a tombstone, delivered live as its sender's deletion is."""
        entry = AuditEntry(actor_id, "delete_message", "message", message_id, {})
        await self._message_changes.moderate(actor_id, message_id, entry)

    async def delete_group(self, actor_id: int | None, group_id: int) -> None:
        """Delete a group with everything in it, as its owner's deletion does."""
        entry = AuditEntry(actor_id, "delete_group", "group", group_id, {})
        deleted = await self._store.delete_group(group_id, self._now(), entry)
        if deleted is None:
            raise NotFound("no such group")
        members, names = deleted
        for user_id in members:
            self._delivery.membership_changed(user_id, group_id, False)
        await self._media.discard(names)

    # Reports and the audit log.

    async def reports(self, status: str, limit: int, offset: int) -> list[Report]:
        return await self._reports.page(status, limit, offset)

    async def resolve_report(
        self, actor_id: int | None, report_id: int, note: str | None
    ) -> Report:
        """Resolve an open report (404 when there is none, 409 when it is resolved already)."""
        detail: Mapping[str, Any] = {} if note is None else {"note": note}
        entry = AuditEntry(actor_id, "resolve_report", "report", report_id, detail)
        resolution = await self._reports.resolve(report_id, note, self._now(), entry)
        if resolution.refusal == ALREADY_RESOLVED:
            raise Conflict("this report is resolved already")
        if resolution.report is None:
            raise NotFound("no such report")
        return resolution.report

    async def audit_log(self, limit: int, before: int | None) -> list[AuditRecord]:
        return await self._audit.page(limit, before)
