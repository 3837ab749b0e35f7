"""The SQL of the audit log: what each administrator did, to what, and when.

An entry is written by the store of the action, in the action's own transaction (`record`):
an action that committed is in the log, and one that did not is not. The actor is the
administrator's user id, or None for the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from socialhub.storage.database import Database, Row, Transaction, by_name

AUDIT_FIELDS = ("id", "actor_id", "action", "target_kind", "target_id", "detail", "created_at")
_AUDIT_COLUMNS = ", ".join(AUDIT_FIELDS)


@dataclass(frozen=True)
class AuditEntry:
    """An action to record: who (None: the command line), what, on which target, and its
    particulars (a JSON object)."""

    actor_id: int | None
    action: str
    target_kind: str
    target_id: int
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class AuditRecord:
    """A recorded action."""

    id: int
    actor_id: int | None
    action: str
    target_kind: str
    target_id: int
    detail: dict[str, Any]
    created_at: int

    @classmethod
    def from_row(cls, row: Row) -> AuditRecord:
        values = by_name(AUDIT_FIELDS, row)
        values["detail"] = orjson.loads(values["detail"])
        return cls(**values)


async def record(txn: Transaction, entry: AuditEntry, now: int) -> None:
    """Write `entry` inside the transaction of the action it records."""
    await txn.run(
        "INSERT INTO audit_log (actor_id, action, target_kind, target_id, detail, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            entry.actor_id,
            entry.action,
            entry.target_kind,
            entry.target_id,
            orjson.dumps(dict(entry.detail)).decode(),
            now,
        ),
    )


class AuditStore:
    """Reading the audit log."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def page(self, limit: int, before: int | None) -> list[AuditRecord]:
        """The newest entries first, those older than the entry `before` when given."""
        where = "" if before is None else "WHERE id < ? "
        args: tuple[object, ...] = (limit,) if before is None else (before, limit)
        rows = await self._db.read(
            "audit_page",
            f"SELECT {_AUDIT_COLUMNS} FROM audit_log {where}ORDER BY id DESC LIMIT ?",
            args,
        )
        return [AuditRecord.from_row(row) for row in rows]
