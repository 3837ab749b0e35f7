"""The SQL of deleting an account: everything of the user, in one transaction.

Most of it cascades from the users row (follows, blocks, memberships and invitations, likes,
comments, RSVPs, reactions, read markers, sessions, the notifications they received and those
they caused). What does not is done first, in this order: the groups they own pass to their
oldest other member or are deleted with everything in them; their posts go with their comments'
and their own media and every notification about them; their events go with the notifications
about them; their remaining uploads are deleted; their messages become tombstones (content
cleared, `deleted_at` set) so that other users' histories keep their shape, and the changes
recorded of them (edits, reactions) are deleted; their private conversations leave the other
users' lists.
"""

from __future__ import annotations

from dataclasses import dataclass

from socialhub.storage.database import Database, Transaction
from socialhub.storage.stores.administration import is_last_admin
from socialhub.storage.stores.audit import AuditEntry, record
from socialhub.storage.stores.groups import delete_group
from socialhub.storage.stores.posts import delete_posts

# The other accepted member who has been one longest inherits a group (the lower id on a tie).
_HEIR = (
    "SELECT user_id FROM group_members WHERE group_id = ? AND user_id <> ? AND is_accepted"
    " ORDER BY COALESCE(joined_at, created_at), user_id LIMIT 1"
)
_TOMBSTONES = (
    "UPDATE messages SET content = '', client_id = NULL, edited_at = NULL,"
    " deleted_at = COALESCE(deleted_at, ?) WHERE sender_id = ?"
)


class LastAdministrator(Exception):
    """The account is the last active administrator's: deleting it is refused (rolled back)."""


@dataclass(frozen=True)
class DeletedAccount:
    """What the deletion did that others must hear of once it has committed."""

    session_ids: list[int]  # to close their sockets
    group_ids: list[int]  # the groups the user was an accepted member of
    media_names: list[str]  # the files to remove


async def _pass_on_groups(txn: Transaction, user_id: int) -> list[str]:
    """Each group the user owns passes to its heir, or is deleted when it has none; the file
    names of the deleted groups' media."""
    names: list[str] = []
    owned = await txn.fetch("SELECT id FROM groups WHERE owner_id = ? ORDER BY id", (user_id,))
    for (group_id,) in owned:
        await txn.lock("groups", group_id)
        heir = await txn.fetchone(_HEIR, (group_id, user_id))
        if heir is None:
            names += (await delete_group(txn, group_id))[1]
        else:
            await txn.run("UPDATE groups SET owner_id = ? WHERE id = ?", (heir[0], group_id))
    return names


async def _delete_content(txn: Transaction, user_id: int) -> list[str]:
    """Posts, events and uploads, with the notifications about them; the files to remove."""
    names = await delete_posts(txn, "SELECT id FROM posts WHERE author_id = ?", (user_id,))
    await txn.run(
        "DELETE FROM notifications WHERE event_id IN (SELECT id FROM events WHERE creator_id = ?)",
        (user_id,),
    )
    await txn.run("DELETE FROM events WHERE creator_id = ?", (user_id,))
    uploads = await txn.fetch("DELETE FROM media WHERE owner_id = ? RETURNING name", (user_id,))
    return names + [row[0] for row in uploads]


async def _tombstone_messages(txn: Transaction, user_id: int, now: int) -> None:
    """The user's messages keep their place in every history, as tombstones; what was
    recorded of them and of the user's own changes goes."""
    mine = "SELECT id FROM messages WHERE sender_id = ?"
    await txn.run(f"DELETE FROM reactions WHERE message_id IN ({mine})", (user_id,))
    await txn.run(
        "DELETE FROM message_changes WHERE sender_id = ? OR actor_id = ?", (user_id, user_id)
    )
    await txn.run(_TOMBSTONES, (now, user_id))
    await txn.run(
        "DELETE FROM private_conversations WHERE pair_low = ? OR pair_high = ?", (user_id, user_id)
    )


class AccountDeletionStore:
    """Deleting a user and everything of theirs."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def delete(
        self, user_id: int, now: int, audit: AuditEntry | None = None
    ) -> DeletedAccount | None:
        """Delete the user in one transaction, recording `audit` in it when an administrator
        or the operator deletes it; None when there is no such user."""

        async def body(txn: Transaction) -> DeletedAccount | None:
            await txn.lock("users", user_id)
            if await txn.fetchone("SELECT 1 FROM users WHERE id = ?", (user_id,)) is None:
                return None
            if await is_last_admin(txn, user_id):
                raise LastAdministrator
            groups = await txn.fetch(
                "SELECT group_id FROM group_members WHERE user_id = ? AND is_accepted ORDER BY 1",
                (user_id,),
            )
            names = await _pass_on_groups(txn, user_id)
            names += await _delete_content(txn, user_id)
            await _tombstone_messages(txn, user_id, now)
            sessions = await txn.fetch(
                "DELETE FROM sessions WHERE user_id = ? RETURNING id", (user_id,)
            )
            await txn.run("DELETE FROM users WHERE id = ?", (user_id,))
            if audit is not None:
                await record(txn, audit, now)
            return DeletedAccount(
                session_ids=[row[0] for row in sessions],
                group_ids=[row[0] for row in groups],
                media_names=names,
            )

        return await self._db.interaction("delete_account", body)
