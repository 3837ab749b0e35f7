"""Deleting an account, by its user (who confirms with their password) or by an operator.

`AccountDeletion.delete_account` is the one way an account goes, whoever asks: the REST route of
the user themself, and the administrators' route or a command-line tool on top of it. The store
deletes everything in one transaction (storage/stores/account_deletion.py); once that has
committed, the user's sockets are closed with 4001 on every process, their memberships are
dropped from delivery's subscriptions, and their media files are removed.
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from socialhub.delivery.interface import Delivery
from socialhub.errors import Conflict, NotFound
from socialhub.handlers.accounts import SESSION_REVOKED, Accounts, Viewer
from socialhub.handlers.commands import ConfirmPassword
from socialhub.handlers.groups import DiscardMedia
from socialhub.storage.stores.account_deletion import AccountDeletionStore, LastAdministrator
from socialhub.storage.stores.audit import AuditEntry

log = Logger(namespace="socialhub.accounts")


class AccountDeletion:
    """The rules of deleting an account."""

    def __init__(
        self,
        clock: IReactorTime,
        store: AccountDeletionStore,
        accounts: Accounts,
        delivery: Delivery,
        discard_media: DiscardMedia,
    ) -> None:
        self._clock = clock
        self._store = store
        self._accounts = accounts
        self._delivery = delivery
        self._discard_media = discard_media

    async def delete_own(self, viewer: Viewer, confirm: ConfirmPassword) -> None:
        """The viewer deletes their own account: 403 and nothing deleted on a wrong password."""
        await self._accounts.confirm_password(viewer.user.id, confirm.password, "password")
        await self._delete(viewer.user.id, viewer.user.id, None)

    async def delete_account(self, user_id: int, actor: int | None) -> None:
        """An administrator (`actor`) or the operator's tool (None) deletes the account; the
        deletion goes to the audit log."""
        entry = AuditEntry(actor, "delete_user", "user", user_id, {})
        await self._delete(user_id, actor, entry)

    async def _delete(self, user_id: int, actor: int | None, audit: AuditEntry | None) -> None:
        """Delete the user and everything of theirs: 404 when there is no such user, 409 when
        they are the last active administrator (the server would have none)."""
        try:
            deleted = await self._store.delete(user_id, int(self._clock.seconds()), audit)
        except LastAdministrator:
            raise Conflict("the last active administrator must stay one") from None
        if deleted is None:
            raise NotFound("no such user")
        log.info("account {user_id} deleted by {actor}", user_id=user_id, actor=actor)
        self._delivery.close_sessions(user_id, deleted.session_ids, *SESSION_REVOKED)
        for group_id in deleted.group_ids:
            self._delivery.membership_changed(user_id, group_id, joined=False)
        await self._discard_media(deleted.media_names)
