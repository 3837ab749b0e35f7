"""The SQL of an account's export: every row stored about the user, section by section.

Each section is one SELECT of named columns, read into dicts by those names, all in one
transaction. Secrets are left out: the password's hash, the sessions' token hashes, and the
stored case-folded copies of names (they only repeat the names).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from socialhub.storage.database import Args, Database, Transaction, by_name
from socialhub.storage.stores.notifications import NOTIFICATION_COLUMNS, NOTIFICATION_FIELDS
from socialhub.storage.stores.users import USER_FIELDS

Record = dict[str, Any]


@dataclass(frozen=True)
class _Section:
    """A SELECT whose columns are `fields`, in order; `flags` are booleans SQLite gives as 0/1.
    Every `?` of `sql` is the user's id."""

    fields: tuple[str, ...]
    sql: str
    flags: tuple[str, ...] = ()


def _section(table: str, fields: tuple[str, ...], where: str, order: str = "id") -> _Section:
    """`fields` of `table`'s rows that meet `where`, in `order`."""
    columns = ", ".join(fields)
    return _Section(fields, f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {order}")


_FOLLOWS = ("id", "follower_id", "followee_id", "status", "created_at")
_MESSAGE = (
    "id",
    "sender_id",
    "recipient_id",
    "group_id",
    "content",
    "reply_to",
    "created_at",
    "edited_at",
    "deleted_at",
)
_MEDIA = (
    "id",
    "name",
    "content_type",
    "size",
    "width",
    "height",
    "post_id",
    "comment_id",
    "ordinal",
    "created_at",
)
# The account as the server reads it, and the upload its avatar is.
_PROFILE = (*USER_FIELDS, "avatar_media_id")
_GROUP = "SELECT name FROM groups g WHERE g.id = group_members.group_id"

SECTIONS: dict[str, _Section] = {
    "profile": _Section(
        _PROFILE,
        f"SELECT {', '.join(_PROFILE)} FROM users WHERE id = ?",
        ("is_private", "is_admin", "show_presence"),
    ),
    "posts": _section(
        "posts", ("id", "content", "privacy", "group_id", "created_at"), "author_id = ?"
    ),
    "post_readers": _section(
        "post_allowed_users",
        ("post_id", "user_id"),
        "post_id IN (SELECT id FROM posts WHERE author_id = ?)",
        "post_id, user_id",
    ),
    "comments": _section("comments", ("id", "post_id", "content", "created_at"), "author_id = ?"),
    "likes": _section("likes", ("post_id", "created_at"), "user_id = ?", "post_id"),
    "following": _section("follows", _FOLLOWS, "follower_id = ? AND status = 'accepted'"),
    "followers": _section("follows", _FOLLOWS, "followee_id = ? AND status = 'accepted'"),
    "follow_requests_sent": _section("follows", _FOLLOWS, "follower_id = ? AND status = 'pending'"),
    "follow_requests_received": _section(
        "follows", _FOLLOWS, "followee_id = ? AND status = 'pending'"
    ),
    "blocks": _section("blocks", ("id", "blocked_id", "created_at"), "blocker_id = ?"),
    "memberships": _Section(
        ("group_id", "group_name", "status", "created_at", "joined_at"),
        f"SELECT group_id, ({_GROUP}), status, created_at, joined_at FROM group_members"
        " WHERE user_id = ? ORDER BY group_id",
    ),
    "owned_groups": _section("groups", ("id", "name", "description", "created_at"), "owner_id = ?"),
    "events": _section(
        "events",
        ("id", "group_id", "title", "description", "starts_at", "created_at"),
        "creator_id = ?",
    ),
    "event_answers": _section(
        "event_rsvps", ("event_id", "response", "updated_at"), "user_id = ?", "event_id"
    ),
    "messages_sent": _section("messages", _MESSAGE, "sender_id = ?"),
    "messages_received": _section("messages", _MESSAGE, "recipient_id = ?"),
    "reactions": _section("reactions", ("message_id", "emoji"), "user_id = ?"),
    "read_markers": _section(
        "read_markers", ("peer_id", "group_id", "up_to"), "user_id = ?", "peer_id, group_id"
    ),
    "notifications": _Section(
        NOTIFICATION_FIELDS,
        f"SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE user_id = ? ORDER BY id",
        ("is_read",),
    ),
    "reports_filed": _section(
        "reports",
        ("id", "target_kind", "target_id", "reason", "created_at", "resolved_at", "note"),
        "reporter_id = ?",
    ),
    "sessions": _section("sessions", ("id", "created_at", "last_used_at", "client"), "user_id = ?"),
    "media": _section("media", _MEDIA, "owner_id = ?"),
}


async def _read(txn: Transaction, section: _Section, user_id: int) -> list[Record]:
    args: Args = (user_id,) * section.sql.count("?")
    records = [by_name(section.fields, row) for row in await txn.fetch(section.sql, args)]
    for record in records:
        for flag in section.flags:
            record[flag] = bool(record[flag])
    return records


class AccountExportStore:
    """Everything stored about one user, for their export."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def export(self, user_id: int) -> dict[str, list[Record]]:
        """Every section's records (`SECTIONS`), read in one transaction."""

        async def body(txn: Transaction) -> dict[str, list[Record]]:
            return {name: await _read(txn, section, user_id) for name, section in SECTIONS.items()}

        return await self._db.interaction("export_account", body)
