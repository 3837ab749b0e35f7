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
VERSION_TABLE = "schema_version"


@dataclass(frozen=True)
class SchemaState:
    """How a database's applied migrations compare with the ones this package ships."""

    missing: list[int]  # shipped but not applied: the server migrates them at start
    unknown: list[int]  # applied but not shipped: written by a newer socialhub

    @property
    def current(self) -> bool:
        return not (self.missing or self.unknown)

    def problem(self) -> str:
        """Why the schema is not current, in a sentence for an operator."""
        if self.unknown:
            return f"its schema has migrations unknown to this socialhub: {_listed(self.unknown)}"
        return f"its schema lacks migrations {_listed(self.missing)}: start the server once on it"


def _listed(versions: list[int]) -> str:
    return ", ".join(f"{version:04d}" for version in versions)


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
    return await database.interaction("migrate", lambda txn: apply_migrations(database, txn, up_to))


async def apply_migrations(
    database: Database, txn: Transaction, up_to: int | None = None
) -> Migrated:
    """`migrate`'s work inside a transaction of the caller's (which may go on writing)."""
    await database.lock_for_migrations(txn)
    await txn.run(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)")
    applied = {row[0] for row in await txn.fetch(f"SELECT version FROM {VERSION_TABLE}")}
    this_run: list[int] = []
    for version, sql in migration_files():
        if version in applied or (up_to is not None and version > up_to):
            continue
        for statement in statements(sql):
            translated = database.translate_ddl(statement)
            if translated is not None:
                await txn.run(translated)
        await txn.run(f"INSERT INTO {VERSION_TABLE} (version) VALUES (?)", (version,))
        applied.add(version)
        this_run.append(version)
    return Migrated(tuple(this_run), max(applied, default=0))


async def schema_state(database: Database) -> SchemaState:
    """Which migrations the database lacks, or has beyond this package's, without changing it."""
    applied: set[int] = set()
    if VERSION_TABLE in await database.tables():
        rows = await database.read("schema_version", f"SELECT version FROM {VERSION_TABLE}")
        applied = {int(version) for (version,) in rows}
    shipped = {version for version, _ in migration_files()}
    return SchemaState(missing=sorted(shipped - applied), unknown=sorted(applied - shipped))
