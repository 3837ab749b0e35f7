"""The SQL of the follow graph, and of profiles as one viewer sees them.

A follows row is `pending` (a request to a private profile) or `accepted` (a follow). Every
write that causes a notification stores it in the same transaction (NotificationsStore.add),
and writes are conditional on the row's current state, so two concurrent requests cannot both
succeed. A profile is read with its counts and the viewer's follow row in one statement, for one
user or for a whole page of them: no query per listed user.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from socialhub.storage.database import (
    Database,
    Row,
    Transaction,
    by_name,
    qualify,
    read_one,
    write,
)
from socialhub.storage.stores.blocks import Blocked, blocked_between
from socialhub.storage.stores.groups import substring_pattern
from socialhub.storage.stores.media import use_as_avatar
from socialhub.storage.stores.notifications import Notice, Notification, NotificationsStore
from socialhub.storage.stores.users import (
    USER_COLUMNS,
    USER_WIDTH,
    User,
    display_name_key,
    shown_to,
)

PENDING: Final = "pending"
ACCEPTED: Final = "accepted"

# The users columns a profile update may set (the handler maps request fields onto them).
EDITABLE_COLUMNS: Final = frozenset(
    {"display_name", "display_name_key", "about", "is_private", "avatar_media_id", "show_presence"}
)

# The user, the accepted follows to and from them, and the viewer's row to them (the first `?`),
# as USER_COLUMNS and then `_COUNT_FIELDS` name them.
_COUNT_FIELDS = ("followers_count", "following_count", "viewer_status")
_PROFILE_COLUMNS = (
    f"{qualify(USER_COLUMNS, 'u')},"
    " (SELECT COUNT(*) FROM follows c WHERE c.followee_id = u.id AND c.status = 'accepted'),"
    " (SELECT COUNT(*) FROM follows c WHERE c.follower_id = u.id AND c.status = 'accepted'),"
    " (SELECT v.status FROM follows v WHERE v.follower_id = ? AND v.followee_id = u.id)"
)
# The users on one side of a user's follows rows (joined as `f`), given that user's id.
_PROFILES = f"SELECT {_PROFILE_COLUMNS} FROM users u"
# A deactivated user is no profile but to administrators (users.shown_to): the viewer's id is
# the last `?` of each statement that lists or finds profiles.
_SHOWN = shown_to("?")
_PROFILE_BY_ID = f"{_PROFILES} WHERE u.id = ? AND {_SHOWN}"
_PROFILE_WIDTH = USER_WIDTH + len(_COUNT_FIELDS)  # where the columns after a profile start
_FOLLOWERS = "f.follower_id = u.id WHERE f.followee_id = ?"
_FOLLOWING = "f.followee_id = u.id WHERE f.follower_id = ?"
_STATUS = "SELECT status FROM follows WHERE follower_id = ? AND followee_id = ?"


@dataclass(frozen=True)
class Profile:
    """A user as one viewer sees them: their accepted follow counts and the viewer's row status
    towards them (`pending`, `accepted` or None). It must be shown to that viewer only."""

    user: User
    followers_count: int
    following_count: int
    viewer_status: str | None

    @classmethod
    def from_row(cls, row: Row) -> Profile:
        """A row of `_PROFILE_COLUMNS`."""
        return cls(User.from_row(row[:USER_WIDTH]), **by_name(_COUNT_FIELDS, row[USER_WIDTH:]))


@dataclass(frozen=True)
class Followed:
    """The outcome of a follow: the row's status, and the notifications of a new row."""

    status: str
    created: bool
    notifications: list[Notification]


async def _accept_pending(
    txn: Transaction, user_id: int, now: int, notice: Notice
) -> list[Notification]:
    """Accept every pending request to `user_id` and store `notice` for each requester."""
    rows = await txn.fetch(
        "UPDATE follows SET status = 'accepted' WHERE followee_id = ? AND status = 'pending'"
        " RETURNING follower_id",
        (user_id,),
    )
    if not rows:
        return []
    requesters = sorted(row[0] for row in rows)
    return await NotificationsStore.add(txn, dataclasses.replace(notice, user_ids=requesters), now)


class FollowsStore:
    """Who follows whom, follow requests, and profiles with their follow counts."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def profile(self, viewer_id: int, user_id: int) -> Profile | None:
        args = (viewer_id, user_id, viewer_id)
        row = await read_one(self._db, "get_profile", _PROFILE_BY_ID, args)
        return Profile.from_row(row) if row else None

    async def search(self, viewer_id: int, query: str, limit: int, offset: int) -> list[Profile]:
        """Users whose username or display name contains `query` (any case), newest first."""
        pattern = substring_pattern(display_name_key(query))
        where = (
            "WHERE (u.username_key LIKE ? ESCAPE '\\' OR u.display_name_key LIKE ? ESCAPE '\\')"
            f" AND {_SHOWN} ORDER BY u.id DESC LIMIT ? OFFSET ?"
        )
        args = (viewer_id, pattern, pattern, viewer_id, limit, offset)
        rows = await self._db.read("search_users", f"{_PROFILES} {where}", args)
        return [Profile.from_row(row) for row in rows]

    async def followers(
        self, viewer_id: int, user_id: int, limit: int, offset: int
    ) -> list[Profile]:
        """The accepted followers of `user_id`, most recent follow first."""
        found = await self._related(viewer_id, _FOLLOWERS, user_id, ACCEPTED, limit, offset)
        return [profile for profile, _ in found]

    async def following(
        self, viewer_id: int, user_id: int, limit: int, offset: int
    ) -> list[Profile]:
        """Whom `user_id` follows (accepted), most recent follow first."""
        found = await self._related(viewer_id, _FOLLOWING, user_id, ACCEPTED, limit, offset)
        return [profile for profile, _ in found]

    async def requests(self, user_id: int, limit: int, offset: int) -> list[tuple[Profile, int]]:
        """Pending requests to follow `user_id`: (requester, requested at), most recent first."""
        return await self._related(user_id, _FOLLOWERS, user_id, PENDING, limit, offset)

    async def _related(
        self, viewer_id: int, join: str, user_id: int, status: str, limit: int, offset: int
    ) -> list[tuple[Profile, int]]:
        """(profile, row created_at) of the users on one side of `user_id`'s rows."""
        rows = await self._db.read(
            "list_follows",
            f"SELECT {_PROFILE_COLUMNS}, f.created_at FROM follows f JOIN users u ON {join}"
            f" AND f.status = ? AND {_SHOWN} ORDER BY f.id DESC LIMIT ? OFFSET ?",
            (viewer_id, user_id, status, viewer_id, limit, offset),
        )
        return [(Profile.from_row(row[:_PROFILE_WIDTH]), row[_PROFILE_WIDTH]) for row in rows]

    async def status(self, follower_id: int, followee_id: int) -> str | None:
        """The status of the row from `follower_id` to `followee_id`, or None."""
        row = await read_one(self._db, "get_follow", _STATUS, (follower_id, followee_id))
        return row[0] if row else None

    async def follow(
        self, follower_id: int, followee_id: int, now: int, notices: Mapping[str, Notice]
    ) -> Followed | None:
        """Follow (public followee) or ask to (private one), storing `notices[status]` for a new
        row; an existing row is left as it is. None when the followee does not exist (or is
        deactivated: hidden as if it did not).

        Raises Blocked, storing nothing, when either of the two blocks the other: read in this
        transaction, so a block committed before it cannot be followed across.
        """

        async def insert(txn: Transaction) -> Followed | None:
            if await blocked_between(txn, follower_id, followee_id):
                raise Blocked()
            # The status comes from the followee's privacy as this very statement reads it.
            row = await txn.fetchone(
                "INSERT INTO follows (follower_id, followee_id, status, created_at)"
                " SELECT ?, id, CASE WHEN is_private THEN 'pending' ELSE 'accepted' END, ?"
                " FROM users WHERE id = ? AND deactivated_at IS NULL"
                " ON CONFLICT DO NOTHING RETURNING status",
                (follower_id, now, followee_id),
            )
            if row is not None:
                stored = await NotificationsStore.add(txn, notices[row[0]], now)
                return Followed(row[0], True, stored)
            row = await txn.fetchone(_STATUS, (follower_id, followee_id))
            return Followed(row[0], False, []) if row else None

        return await self._db.interaction("follow", insert)

    async def unfollow(self, follower_id: int, followee_id: int) -> None:
        """Delete the row from `follower_id` to `followee_id`, a follow or a request, if any."""

        await write(
            self._db,
            "unfollow",
            "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?",
            (follower_id, followee_id),
        )

    async def accept(
        self, followee_id: int, follower_id: int, now: int, notice: Notice
    ) -> list[Notification] | None:
        """Accept a pending request and store `notice`; None when there is no such request."""

        async def update(txn: Transaction) -> list[Notification] | None:
            changed = await txn.run(
                "UPDATE follows SET status = 'accepted'"
                " WHERE follower_id = ? AND followee_id = ? AND status = 'pending'",
                (follower_id, followee_id),
            )
            return await NotificationsStore.add(txn, notice, now) if changed else None

        return await self._db.interaction("accept_follow_request", update)

    async def decline(self, followee_id: int, follower_id: int) -> bool:
        """Delete a pending request; False when there is no such request."""

        deleted = await write(
            self._db,
            "decline_follow_request",
            "DELETE FROM follows"
            " WHERE follower_id = ? AND followee_id = ? AND status = 'pending' RETURNING 1",
            (follower_id, followee_id),
        )
        return bool(deleted)

    async def update_profile(
        self, user_id: int, columns: Mapping[str, object], now: int, accepted: Notice
    ) -> tuple[Profile, list[Notification]]:
        """Set `columns` of the user and return their profile. A profile made public accepts the
        requests pending to it, storing `accepted` for the requesters (its `user_ids` are not
        used). A new avatar must be an unattached upload of the user (MediaNotClaimable
        otherwise: nothing changes)."""
        unknown = set(columns) - EDITABLE_COLUMNS
        assert not unknown, f"not editable: {unknown}"
        assignments = ", ".join(f"{column} = ?" for column in columns)

        async def update(txn: Transaction) -> tuple[Profile, list[Notification]]:
            if columns:
                await txn.run(
                    f"UPDATE users SET {assignments} WHERE id = ?", (*columns.values(), user_id)
                )
            if "avatar_media_id" in columns:
                await use_as_avatar(txn, user_id)
            stored: list[Notification] = []
            if columns.get("is_private") is False:
                stored = await _accept_pending(txn, user_id, now, accepted)
            row = await txn.fetchone(_PROFILE_BY_ID, (user_id, user_id, user_id))
            assert row is not None
            return Profile.from_row(row), stored

        return await self._db.interaction("update_profile", update)
