"""The SQL of reports: a user tells the administrators about a post, comment, message or user.

A report is only stored when its reporter can see its target, by the target's own rule, read
in the insert itself: a post by post_visibility, a comment by its post's, a message by who is
in its conversation (message_changes.VISIBLE), a user by users.shown_to. An administrator
resolves a report once, with an optional note, recorded in the audit log in the same
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from socialhub.storage.database import Database, Row, Transaction, by_name, qualify, write
from socialhub.storage.stores.audit import AuditEntry, record
from socialhub.storage.stores.message_changes import VISIBLE
from socialhub.storage.stores.post_visibility import visible_to_each
from socialhub.storage.stores.users import SHOWN_USER, USER_COLUMNS, USER_WIDTH, User

POST: Final = "post"
COMMENT: Final = "comment"
MESSAGE: Final = "message"
USER: Final = "user"
KINDS: Final = (POST, COMMENT, MESSAGE, USER)
OPEN: Final = "open"
RESOLVED: Final = "resolved"
# How a resolution ended, when it did not apply.
MISSING: Final = "missing"
ALREADY_RESOLVED: Final = "already_resolved"

REPORT_FIELDS = (
    "id",
    "target_kind",
    "target_id",
    "reason",
    "created_at",
    "resolved_at",
    "resolved_by",
    "note",
)
_REPORT_COLUMNS = ", ".join(REPORT_FIELDS)
_SELECT = (
    f"SELECT {qualify(_REPORT_COLUMNS, 'r')}, {qualify(USER_COLUMNS, 'u')} FROM reports r"
    " JOIN users u ON u.id = r.reporter_id"
)
_STATUS = {OPEN: "r.resolved_at IS NULL", RESOLVED: "r.resolved_at IS NOT NULL"}


# Each kind's condition that the target (the first `?`) exists and the reporter (every other
# `?`) sees it.
_POST_SEEN = visible_to_each("?")
_TARGETS = {
    POST: (
        f"SELECT 1 FROM posts p JOIN users a ON a.id = p.author_id WHERE p.id = ? AND {_POST_SEEN}"
    ),
    COMMENT: (
        "SELECT 1 FROM comments c JOIN posts p ON p.id = c.post_id"
        f" JOIN users a ON a.id = p.author_id WHERE c.id = ? AND {_POST_SEEN}"
    ),
    MESSAGE: f"SELECT 1 FROM messages m WHERE m.id = ? AND m.deleted_at IS NULL AND {VISIBLE}",
    USER: SHOWN_USER,
}


@dataclass(frozen=True)
class Report:
    """A stored report, with its reporter."""

    id: int
    reporter: User
    target_kind: str
    target_id: int
    reason: str
    created_at: int
    resolved_at: int | None
    resolved_by: int | None
    note: str | None

    @classmethod
    def from_row(cls, row: Row) -> Report:
        width = len(REPORT_FIELDS)
        values = by_name(REPORT_FIELDS, row[:width])
        return cls(reporter=User.from_row(row[width : width + USER_WIDTH]), **values)


@dataclass(frozen=True)
class Resolution:
    """What resolving a report did: `refusal` (MISSING, ALREADY_RESOLVED) or None and the
    report as resolved."""

    refusal: str | None
    report: Report | None = None


class ReportsStore:
    """Reports, filed by users and resolved by administrators."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self, reporter_id: int, kind: str, target_id: int, reason: str, now: int
    ) -> int | None:
        """The new report's id, or None when the target does not exist or the reporter cannot
        see it (nothing is stored)."""
        target = _TARGETS[kind]
        seen_by = (reporter_id,) * (target.count("?") - 1)
        row = await write(
            self._db,
            "create_report",
            "INSERT INTO reports (reporter_id, target_kind, target_id, reason, created_at)"
            f" SELECT ?, ?, ?, ?, ? WHERE EXISTS ({target}) RETURNING id",
            (reporter_id, kind, target_id, reason, now, target_id, *seen_by),
        )
        return int(row[0][0]) if row else None

    async def page(self, status: str, limit: int, offset: int) -> list[Report]:
        """Open reports oldest first (the order to work through them), resolved ones newest
        resolved first."""
        order = "r.id" if status == OPEN else "r.resolved_at DESC, r.id DESC"
        rows = await self._db.read(
            "list_reports",
            f"{_SELECT} WHERE {_STATUS[status]} ORDER BY {order} LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [Report.from_row(row) for row in rows]

    async def resolve(
        self, report_id: int, note: str | None, now: int, entry: AuditEntry
    ) -> Resolution:
        """Resolve an open report, recording `entry` (whose actor resolves it)."""

        async def resolve(txn: Transaction) -> Resolution:
            changed = await txn.run(
                "UPDATE reports SET resolved_at = ?, resolved_by = ?, note = ?"
                " WHERE id = ? AND resolved_at IS NULL",
                (now, entry.actor_id, note, report_id),
            )
            found = await txn.fetchone(f"{_SELECT} WHERE r.id = ?", (report_id,))
            if found is None:
                return Resolution(MISSING)
            if not changed:
                return Resolution(ALREADY_RESOLVED)
            await record(txn, entry, now)
            return Resolution(None, Report.from_row(found))

        return await self._db.interaction("resolve_report", resolve)
