"""The SQL of groups and memberships.

A membership row is `member`, `invited` or `requested`. Every write that causes a notification
stores it in the same transaction (NotificationsStore.add), so an invitation never exists
without its notification, nor the other way round. Writes are conditional on the row's current
state and report whether they applied, so two concurrent requests cannot both succeed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from socialhub.storage.database import (
    Database,
    Reader,
    Row,
    Transaction,
    by_name,
    qualify,
    read_one,
)
from socialhub.storage.stores.blocks import Blocked, blocked_between
from socialhub.storage.stores.conversations import mark_joined
from socialhub.storage.stores.events import delete_group_events
from socialhub.storage.stores.notifications import (
    Notice,
    Notification,
    NotificationsStore,
    placeholders,
)
from socialhub.storage.stores.posts import delete_group_posts
from socialhub.storage.stores.users import SHOWN_USER, USER_COLUMNS, USER_WIDTH, User

MEMBER: Final = "member"
INVITED: Final = "invited"
REQUESTED: Final = "requested"
# Stands for the group's name in the messages of InviteNotices: the name as the invitation's
# own transaction reads it.
GROUP_NAME: Final = "{group}"
T = TypeVar("T")

# The groups columns of a Group, by name; then `_SELECT_GROUP` adds the accepted member count
# and the status of one viewer's row (the first `?`), as `_GROUP_FIELDS` names them.
_STORED_FIELDS = ("id", "name", "description", "owner_id", "created_at")
_GROUP_FIELDS = (*_STORED_FIELDS, "member_count", "viewer_status")
_SELECT_GROUP = (
    f"SELECT {qualify(', '.join(_STORED_FIELDS), 'g')},"
    " (SELECT COUNT(*) FROM group_members c WHERE c.group_id = g.id AND c.is_accepted),"
    " (SELECT v.status FROM group_members v WHERE v.group_id = g.id AND v.user_id = ?)"
    " FROM groups g"
)
_GROUP_BY_ID = f"{_SELECT_GROUP} WHERE g.id = ?"
_STATUS = "SELECT status FROM group_members WHERE group_id = ? AND user_id = ?"
_MEMBER_IDS = (
    "SELECT user_id FROM group_members WHERE group_id = ? AND is_accepted ORDER BY user_id"
)


@dataclass(frozen=True)
class Group:
    """A group as one viewer sees it: with its accepted member count and the viewer's row status."""

    id: int
    name: str
    description: str
    owner_id: int
    created_at: int
    member_count: int
    viewer_status: str | None

    @classmethod
    def from_row(cls, row: Row) -> Group:
        """A row of `_SELECT_GROUP`."""
        return cls(**by_name(_GROUP_FIELDS, row))


@dataclass(frozen=True)
class InviteNotices:
    """What an invitation tells the invitee: `invited` for a new invitation, `accepted` when it
    answers their join request instead. GROUP_NAME in a message stands for the group's name."""

    invited: Notice
    accepted: Notice


@dataclass(frozen=True)
class Invited:
    """What an invitation found, in the order its rules ask, and what it wrote.

    `group` as the inviter sees it (None: there is none); whether the invitee exists; the
    status of the invitee's row before (None: no row); the notifications the write stored, or
    None when nothing was written (one of the above refused it, or the row was taken or
    changed by another transaction meanwhile).
    """

    group: Group | None
    invitee_exists: bool = False
    status: str | None = None
    notifications: list[Notification] | None = None


@dataclass(frozen=True)
class Owned(Generic[T]):
    """What an action of a group's owner found and did, in one transaction: the group as the
    actor sees it (None: there is none), and the action's outcome, None when it was not taken
    because the actor does not own the group (or there is none)."""

    group: Group | None
    outcome: T | None = None


def name_key(name: str) -> str:
    """Group names are searched case-insensitively for all of Unicode, so they are case-folded."""
    return name.casefold()


def substring_pattern(query: str) -> str:
    """A `LIKE ... ESCAPE '\\'` pattern matching `query` anywhere, its `%` and `_` literally."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def select_group(txn: Reader, group_id: int, viewer_id: int) -> Group | None:
    """The group as the viewer sees it, read inside a write's own transaction."""
    row = await txn.fetchone(_GROUP_BY_ID, (viewer_id, group_id))
    return Group.from_row(row) if row else None


async def accepted_member_ids(txn: Reader, group_id: int) -> list[int]:
    """The ids of the group's accepted members, read inside a write's own transaction."""
    return [row[0] for row in await txn.fetch(_MEMBER_IDS, (group_id,))]


async def _notify(txn: Transaction, notice: Notice | None, now: int) -> list[Notification]:
    return await NotificationsStore.add(txn, notice, now) if notice else []


async def _add(
    txn: Transaction, group_id: int, user_id: int, status: str, now: int, notice: Notice | None
) -> list[Notification] | None:
    """GroupsStore.add inside the caller's transaction."""
    row = await txn.fetchone(
        "INSERT INTO group_members (group_id, user_id, status, created_at)"
        " SELECT id, ?, ?, ? FROM groups WHERE id = ?"
        " ON CONFLICT DO NOTHING RETURNING user_id",
        (user_id, status, now, group_id),
    )
    return await _notify(txn, notice, now) if row else None


async def _accept(
    txn: Transaction, group_id: int, user_id: int, from_status: str, now: int, notice: Notice | None
) -> list[Notification] | None:
    """GroupsStore.accept inside the caller's transaction: every way of becoming a member
    but creating the group comes here."""
    changed = await txn.run(
        "UPDATE group_members SET status = ? WHERE group_id = ? AND user_id = ? AND status = ?",
        (MEMBER, group_id, user_id, from_status),
    )
    if not changed:
        return None
    await mark_joined(txn, group_id, user_id, now)
    return await _notify(txn, notice, now)


async def _remove(txn: Transaction, group_id: int, user_id: int, statuses: Collection[str]) -> bool:
    """Delete the user's row when its status is one of `statuses`, never the owner's; False
    when there is none. The caller holds the group's row."""
    deleted = await txn.fetch(
        "DELETE FROM group_members WHERE group_id = ? AND user_id = ?"
        f" AND status IN ({placeholders(len(statuses))})"
        " AND user_id <> (SELECT owner_id FROM groups WHERE id = ?) RETURNING user_id",
        (group_id, user_id, *statuses, group_id),
    )
    return bool(deleted)


async def delete_group(txn: Transaction, group_id: int) -> tuple[list[int], list[str]]:
    """Delete the group inside the caller's `txn`: its memberships, messages and notifications
    cascade, and its events and posts go with every notification about them. Who were its
    accepted members, and the file names of the posts' media, to remove once `txn` commits."""
    members = await accepted_member_ids(txn, group_id)
    await delete_group_events(txn, group_id)
    names = await delete_group_posts(txn, group_id)
    await txn.run("DELETE FROM groups WHERE id = ?", (group_id,))
    return members, names


def _naming(notice: Notice, group: Group) -> Notice:
    """The notice with GROUP_NAME in its message replaced by the group's name."""
    return dataclasses.replace(notice, message=notice.message.replace(GROUP_NAME, group.name))


class GroupsStore:
    """Groups, and who is a member of, invited to or asking to join each."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(self, name: str, description: str, owner_id: int, now: int) -> Group:
        """A new group whose owner is its first accepted member."""

        async def insert(txn: Transaction) -> Group:
            row = await txn.fetchone(
                "INSERT INTO groups (name, name_key, description, owner_id, created_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (name, name_key(name), description, owner_id, now),
            )
            assert row is not None
            await txn.run(
                "INSERT INTO group_members (group_id, user_id, status, created_at)"
                " VALUES (?, ?, ?, ?)",
                (row[0], owner_id, MEMBER, now),
            )
            await mark_joined(txn, row[0], owner_id, now)
            return Group(row[0], name, description, owner_id, now, 1, MEMBER)

        return await self._db.interaction("create_group", insert)

    async def get(self, group_id: int, viewer_id: int) -> Group | None:
        row = await read_one(self._db, "get_group", _GROUP_BY_ID, (viewer_id, group_id))
        return Group.from_row(row) if row else None

    async def search(self, query: str, viewer_id: int, limit: int, offset: int) -> list[Group]:
        """Groups whose name contains `query` (any case), newest first."""
        rows = await self._db.read(
            "search_groups",
            f"{_SELECT_GROUP} WHERE g.name_key LIKE ? ESCAPE '\\'"
            " ORDER BY g.id DESC LIMIT ? OFFSET ?",
            (viewer_id, substring_pattern(name_key(query)), limit, offset),
        )
        return [Group.from_row(row) for row in rows]

    async def member_ids(self, group_id: int) -> list[int]:
        """Every accepted member's id (the recipients of a group message)."""
        rows = await self._db.read("get_member_ids", _MEMBER_IDS, (group_id,))
        return [row[0] for row in rows]

    async def group_ids_of(self, user_id: int) -> list[int]:
        """The groups the user is an accepted member of (whose channels their process hears)."""
        rows = await self._db.read(
            "get_group_ids_of_user",
            "SELECT group_id FROM group_members WHERE user_id = ? AND is_accepted",
            (user_id,),
        )
        return [row[0] for row in rows]

    async def users_with_status(
        self, group_id: int, status: str, limit: int, offset: int
    ) -> list[tuple[User, int]]:
        """(user, row created_at) for rows with `status`, most recent first."""
        rows = await self._db.read(
            "list_group_users",
            f"SELECT {USER_COLUMNS}, since FROM users JOIN"
            " (SELECT user_id, created_at AS since FROM group_members"
            "  WHERE group_id = ? AND status = ?) m ON m.user_id = users.id"
            " ORDER BY since DESC, id DESC LIMIT ? OFFSET ?",
            (group_id, status, limit, offset),
        )
        return [(User.from_row(row[:USER_WIDTH]), row[USER_WIDTH]) for row in rows]

    async def add(
        self, group_id: int, user_id: int, status: str, now: int, notice: Notice | None
    ) -> list[Notification] | None:
        """Create the user's row with `status`, and store `notice`; None when a row exists
        (or the group was just deleted)."""

        async def insert(txn: Transaction) -> list[Notification] | None:
            return await _add(txn, group_id, user_id, status, now, notice)

        return await self._db.interaction("add_membership", insert)

    async def accept(
        self, group_id: int, user_id: int, from_status: str, now: int, notice: Notice | None
    ) -> list[Notification] | None:
        """Make a `from_status` row an accepted membership, and store `notice`; None when the
        user has no such row."""

        async def update(txn: Transaction) -> list[Notification] | None:
            return await _accept(txn, group_id, user_id, from_status, now, notice)

        return await self._db.interaction("accept_membership", update)

    async def invite(
        self, group_id: int, inviter_id: int, user_id: int, now: int, notices: InviteNotices
    ) -> Invited:
        """Invite the user on behalf of `inviter_id`, or, when they own the group, accept the
        user's pending join request (another member's invitation of a requester writes nothing).

        One transaction reads what the rules ask, in their order, and stops at the first that
        refuses: the group, the invitee, the inviter's accepted membership, a block between the
        two (Blocked is raised), the invitee's row; only then does it write. It holds the
        group's row first, as every change of a membership or of the group does (`remove`,
        `_as_owner`), and the pair's (`blocked_between`), so nothing committed meanwhile can
        slip through: a block, the inviter leaving or removed, the group deleted.
        """

        async def invite(txn: Transaction) -> Invited:
            await txn.lock("groups", group_id)
            group = await select_group(txn, group_id, inviter_id)
            if group is None:
                return Invited(None)
            if await txn.fetchone(SHOWN_USER, (user_id, inviter_id)) is None:
                return Invited(group)
            if group.viewer_status != MEMBER:
                return Invited(group, invitee_exists=True)
            if await blocked_between(txn, inviter_id, user_id):
                raise Blocked()
            row = await txn.fetchone(_STATUS, (group_id, user_id))
            status = row[0] if row else None
            stored = None
            if status == REQUESTED and group.owner_id == inviter_id:
                accepted = _naming(notices.accepted, group)
                stored = await _accept(txn, group_id, user_id, REQUESTED, now, accepted)
            elif status is None:
                invited = _naming(notices.invited, group)
                stored = await _add(txn, group_id, user_id, INVITED, now, invited)
            return Invited(group, True, status, stored)

        return await self._db.interaction("invite_to_group", invite)

    async def remove(self, group_id: int, user_id: int, statuses: Collection[str]) -> bool:
        """Delete the user's row when its status is one of `statuses`; False when there is none.

        The owner's row is never deleted: a group always has its owner as a member. The group's
        row is held first, so an invitation by this user under way finishes first or sees them
        gone (`invite`).
        """

        async def remove(txn: Transaction) -> bool:
            await txn.lock("groups", group_id)
            return await _remove(txn, group_id, user_id, statuses)

        return await self._db.interaction("remove_membership", remove)

    async def update(
        self,
        group_id: int,
        acting_id: int,
        name: str | None = None,
        description: str | None = None,
        owner_id: int | None = None,
    ) -> Owned[Group | None]:
        """The owner `acting_id` changes the given fields; the outcome is the group as they see
        it then, or None (nothing changed) when `owner_id` is not an accepted member."""
        assignments: list[str] = []
        args: list[object] = []
        if name is not None:
            assignments.append("name = ?, name_key = ?")
            args += [name, name_key(name)]
        if description is not None:
            assignments.append("description = ?")
            args.append(description)
        if owner_id is not None:
            assignments.append("owner_id = ?")
            args.append(owner_id)
        sql = f"UPDATE groups SET {', '.join(assignments)} WHERE id = ?"
        args.append(group_id)
        if owner_id is not None:
            sql += (
                " AND EXISTS (SELECT 1 FROM group_members"
                " WHERE group_id = ? AND user_id = ? AND is_accepted)"
            )
            args += [group_id, owner_id]

        async def change(txn: Transaction, group: Group) -> Group | None:
            if not assignments:
                return group
            if not await txn.run(sql, args):
                return None
            return await select_group(txn, group_id, acting_id)

        return await self._as_owner("update_group", group_id, acting_id, change)

    async def accept_request(
        self, group_id: int, owner_id: int, user_id: int, now: int, notice: Notice
    ) -> Owned[list[Notification] | None]:
        """The owner accepts the user's join request, storing `notice` (GROUP_NAME in its
        message names the group); its outcome is None when there is no such request."""

        async def accept(txn: Transaction, group: Group) -> list[Notification] | None:
            accepted = _naming(notice, group)
            return await _accept(txn, group_id, user_id, REQUESTED, now, accepted)

        return await self._as_owner("accept_join_request", group_id, owner_id, accept)

    async def remove_by_owner(
        self, group_id: int, owner_id: int, user_id: int, statuses: Collection[str]
    ) -> Owned[bool]:
        """The owner deletes the user's row when its status is one of `statuses` (`remove`)."""

        async def remove(txn: Transaction, group: Group) -> bool:
            return await _remove(txn, group_id, user_id, statuses)

        return await self._as_owner("remove_membership", group_id, owner_id, remove)

    async def delete(self, group_id: int, owner_id: int) -> Owned[tuple[list[int], list[str]]]:
        """The owner deletes the group (`delete_group`)."""

        async def delete(txn: Transaction, group: Group) -> tuple[list[int], list[str]]:
            return await delete_group(txn, group_id)

        return await self._as_owner("delete_group", group_id, owner_id, delete)

    async def _as_owner(
        self,
        description: str,
        group_id: int,
        owner_id: int,
        action: Callable[[Transaction, Group], Awaitable[T]],
    ) -> Owned[T]:
        """Run `action` in the transaction that reads the group, once it finds `owner_id`
        owns it. The group's row is locked first, so an ownership handed over meanwhile (which
        writes that row) is seen: the former owner cannot act."""

        async def body(txn: Transaction) -> Owned[T]:
            await txn.lock("groups", group_id)
            group = await select_group(txn, group_id, owner_id)
            if group is None or group.owner_id != owner_id:
                return Owned(group)
            return Owned(group, await action(txn, group))

        return await self._db.interaction(description, body)
