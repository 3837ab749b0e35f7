"""Numbered schema migrations, applied at start in one transaction.

Files are `schema/NNNN_name.sql`, written in PostgreSQL's dialect; the engine adapts the few
phrases SQLite spells differently, and skips the statements that only inform PostgreSQL's
planner (CREATE STATISTICS, ANALYZE) or drop a constraint; those starting with SQLITE_ONLY
(copying a table to drop one in SQLite) PostgreSQL skips. Each file is applied once, in
order, and recorded in `schema_version`; a file that was missing when a later one was applied
is still applied.
A released file is never edited: the schema grows by adding files. PostgreSQL takes an
advisory lock first, so several processes may start at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from socialhub.storage.database import Database, Transaction

_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


def migration_files() -> list[tuple[int, str]]:
    """(version, SQL text) of every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("socialhub.storage").joinpath("schema").iterdir():
        match = _NAME.fullmatch(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


def statements(sql: str) -> list[str]:
    """Split a migration into statements (migrations keep `;` out of string literals)."""
    without_comments = re.sub(r"--[^\n]*", "", sql)
    return [part.strip() for part in without_comments.split(";") if part.strip()]


@dataclass(frozen=True)
class Migrated:
    """What a migration run did: the versions it applied (none when the schema was up to
    date), and the schema's version after it."""

    applied: tuple[int, ...]
    version: int


async def migrate(database: Database, up_to: int | None = None) -> Migrated:
    """Bring the schema up to date (or up to version `up_to`)."""

    async def apply(txn: Transaction) -> Migrated:
        await database.lock_for_migrations(txn)
        await txn.run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        applied = {row[0] for row in await txn.fetch("SELECT version FROM schema_version")}
        this_run: list[int] = []
        for version, sql in migration_files():
            if version in applied or (up_to is not None and version > up_to):
                continue
            for statement in statements(sql):
                translated = database.translate_ddl(statement)
                if translated is not None:
                    await txn.run(translated)
            await txn.run("INSERT INTO schema_version (version) VALUES (?)", (version,))
            applied.add(version)
            this_run.append(version)
        return Migrated(tuple(this_run), max(applied, default=0))

    return await database.interaction("migrate", apply)
