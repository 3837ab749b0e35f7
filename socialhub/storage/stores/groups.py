"""The SQL of groups and memberships.

A membership row is `member`, `invited` or `requested`. Every write that causes a notification
stores it in the same transaction (NotificationsStore.add), so an invitation never exists
without its notification, nor the other way round. Writes are conditional on the row's current
state and report whether they applied, so two concurrent requests cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from socialhub.storage.database import Database, Row, Transaction
from socialhub.storage.stores.events import delete_group_events
from socialhub.storage.stores.notifications import (
    Notice,
    Notification,
    NotificationsStore,
    placeholders,
)
from socialhub.storage.stores.posts import delete_group_posts
from socialhub.storage.stores.users import USER_COLUMNS, User

MEMBER: Final = "member"
INVITED: Final = "invited"
REQUESTED: Final = "requested"

# The group, its accepted member count, and the status of one viewer's row (the first `?`).
_SELECT_GROUP = (
    "SELECT g.id, g.name, g.description, g.owner_id, g.created_at,"
    " (SELECT COUNT(*) FROM group_members c WHERE c.group_id = g.id AND c.is_accepted),"
    " (SELECT v.status FROM group_members v WHERE v.group_id = g.id AND v.user_id = ?)"
    " FROM groups g"
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
        return cls(
            id=row[0],
            name=row[1],
            description=row[2],
            owner_id=row[3],
            created_at=row[4],
            member_count=int(row[5]),
            viewer_status=row[6],
        )


def name_key(name: str) -> str:
    """Group names are searched case-insensitively for all of Unicode, so they are case-folded."""
    return name.casefold()


def substring_pattern(query: str) -> str:
    """A `LIKE ... ESCAPE '\\'` pattern matching `query` anywhere, its `%` and `_` literally."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def _notify(txn: Transaction, notice: Notice | None, now: int) -> list[Notification]:
    return await NotificationsStore.add(txn, notice, now) if notice else []


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
            return Group(row[0], name, description, owner_id, now, 1, MEMBER)

        return await self._db.interaction("create_group", insert)

    async def get(self, group_id: int, viewer_id: int) -> Group | None:
        """The group as the viewer sees it: one SELECT without BEGIN and COMMIT, one round trip."""
        sql = f"{_SELECT_GROUP} WHERE g.id = ?"
        rows = await self._db.read("get_group", sql, (viewer_id, group_id))
        return Group.from_row(rows[0]) if rows else None

    async def search(self, query: str, viewer_id: int, limit: int, offset: int) -> list[Group]:
        """Groups whose name contains `query` (any case), newest first."""

        async def select(txn: Transaction) -> list[Group]:
            rows = await txn.fetch(
                f"{_SELECT_GROUP} WHERE g.name_key LIKE ? ESCAPE '\\'"
                " ORDER BY g.id DESC LIMIT ? OFFSET ?",
                (viewer_id, substring_pattern(name_key(query)), limit, offset),
            )
            return [Group.from_row(row) for row in rows]

        return await self._db.interaction("search_groups", select)

    async def status(self, group_id: int, user_id: int) -> str | None:
        """The status of the user's row in the group, or None when there is none."""

        async def select(txn: Transaction) -> str | None:
            row = await txn.fetchone(
                "SELECT status FROM group_members WHERE group_id = ? AND user_id = ?",
                (group_id, user_id),
            )
            return row[0] if row else None

        return await self._db.interaction("get_membership", select)

    async def member_ids(self, group_id: int) -> list[int]:
        """Every accepted member's id (the recipients of a group message)."""

        async def select(txn: Transaction) -> list[int]:
            rows = await txn.fetch(
                "SELECT user_id FROM group_members WHERE group_id = ? AND is_accepted"
                " ORDER BY user_id",
                (group_id,),
            )
            return [row[0] for row in rows]

        return await self._db.interaction("get_member_ids", select)

    async def group_ids_of(self, user_id: int) -> list[int]:
        """The groups the user is an accepted member of (whose channels their process hears)."""

        async def select(txn: Transaction) -> list[int]:
            rows = await txn.fetch(
                "SELECT group_id FROM group_members WHERE user_id = ? AND is_accepted",
                (user_id,),
            )
            return [row[0] for row in rows]

        return await self._db.interaction("get_group_ids_of_user", select)

    async def users_with_status(
        self, group_id: int, status: str, limit: int, offset: int
    ) -> list[tuple[User, int]]:
        """(user, row created_at) for rows with `status`, most recent first."""

        async def select(txn: Transaction) -> list[tuple[User, int]]:
            rows = await txn.fetch(
                f"SELECT {USER_COLUMNS}, since FROM users JOIN"
                " (SELECT user_id, created_at AS since FROM group_members"
                "  WHERE group_id = ? AND status = ?) m ON m.user_id = users.id"
                " ORDER BY since DESC, id DESC LIMIT ? OFFSET ?",
                (group_id, status, limit, offset),
            )
            return [(User.from_row(row), row[-1]) for row in rows]

        return await self._db.interaction("list_group_users", select)

    async def add(
        self, group_id: int, user_id: int, status: str, now: int, notice: Notice | None
    ) -> list[Notification] | None:
        """Create the user's row with `status`, and store `notice`; None when a row exists
        (or the group was just deleted)."""

        async def insert(txn: Transaction) -> list[Notification] | None:
            row = await txn.fetchone(
                "INSERT INTO group_members (group_id, user_id, status, created_at)"
                " SELECT id, ?, ?, ? FROM groups WHERE id = ?"
                " ON CONFLICT DO NOTHING RETURNING user_id",
                (user_id, status, now, group_id),
            )
            return await _notify(txn, notice, now) if row else None

        return await self._db.interaction("add_membership", insert)

    async def accept(
        self, group_id: int, user_id: int, from_status: str, now: int, notice: Notice | None
    ) -> list[Notification] | None:
        """Make a `from_status` row an accepted membership, and store `notice`; None when the
        user has no such row."""

        async def update(txn: Transaction) -> list[Notification] | None:
            changed = await txn.run(
                "UPDATE group_members SET status = ?"
                " WHERE group_id = ? AND user_id = ? AND status = ?",
                (MEMBER, group_id, user_id, from_status),
            )
            return await _notify(txn, notice, now) if changed else None

        return await self._db.interaction("accept_membership", update)

    async def remove(self, group_id: int, user_id: int, statuses: Collection[str]) -> bool:
        """Delete the user's row when its status is one of `statuses`; False when there is none.

        The owner's row is never deleted: a group always has its owner as a member.
        """

        async def delete(txn: Transaction) -> bool:
            changed = await txn.run(
                "DELETE FROM group_members WHERE group_id = ? AND user_id = ?"
                f" AND status IN ({placeholders(len(statuses))})"
                " AND user_id <> (SELECT owner_id FROM groups WHERE id = ?)",
                (group_id, user_id, *statuses, group_id),
            )
            return changed > 0

        return await self._db.interaction("remove_membership", delete)

    async def update(
        self,
        group_id: int,
        name: str | None = None,
        description: str | None = None,
        owner_id: int | None = None,
    ) -> bool:
        """Change the given fields; False when `owner_id` is not (or no longer) a member."""
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
        if not assignments:
            return True
        sql = f"UPDATE groups SET {', '.join(assignments)} WHERE id = ?"
        args.append(group_id)
        if owner_id is not None:
            sql += (
                " AND EXISTS (SELECT 1 FROM group_members"
                " WHERE group_id = ? AND user_id = ? AND is_accepted)"
            )
            args += [group_id, owner_id]

        async def write(txn: Transaction) -> bool:
            return await txn.run(sql, args) > 0

        return await self._db.interaction("update_group", write)

    async def delete(self, group_id: int) -> list[str]:
        """Delete the group; its memberships, messages and notifications cascade, and its events
        and posts go with every notification about them. Returns the file names of the posts'
        media, to remove once this has committed."""

        async def delete(txn: Transaction) -> list[str]:
            await delete_group_events(txn, group_id)
            names = await delete_group_posts(txn, group_id)
            await txn.run("DELETE FROM groups WHERE id = ?", (group_id,))
            return names

        return await self._db.interaction("delete_group", delete)
