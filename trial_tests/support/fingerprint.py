"""A cheap fingerprint of every table of a server's database, read on a second connection.

Two fingerprints are equal when no row was added, removed or changed in between: a refused
request wrote nothing. Each table is its row count and a hash of its rows, sorted so that the
order a scan returns them in does not matter. SQLite is read through a read-only connection to
the same file (WAL: it sees every committed transaction), PostgreSQL through psycopg2 on the
server's URL, in the server's schema; both in autocommit, so each read sees the latest commit.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

import psycopg2

Fingerprint = dict[str, tuple[int, str]]

_PG_TABLES = (
    "SELECT table_name FROM information_schema.tables"
    " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
)
_SQLITE_TABLES = (
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"
)


class Fingerprinter:
    """Reads fingerprints of the database at `url` (a socialhub `--database` URL)."""

    def __init__(self, url: str) -> None:
        self._postgres = not url.startswith("sqlite:")
        if self._postgres:
            self._connection: Any = psycopg2.connect(url)
            self._connection.autocommit = True
        else:
            path = url.removeprefix("sqlite:")
            self._connection = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
            )

    def take(self) -> Fingerprint:
        """Every table's (row count, hash of its rows)."""
        tables = self._rows(_PG_TABLES if self._postgres else _SQLITE_TABLES)
        if self._postgres:
            return self._postgres_tables([row[0] for row in tables])
        return {row[0]: self._sqlite_table(row[0]) for row in tables}

    def close(self) -> None:
        self._connection.close()

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _postgres_tables(self, tables: list[str]) -> Fingerprint:
        """One statement for every table: PostgreSQL hashes its own rows, nothing is copied."""
        parts = [
            f"SELECT '{table}', count(*),"
            " md5(coalesce(string_agg(t::text, chr(10) ORDER BY t::text), ''))"
            f' FROM "{table}" t'
            for table in tables
        ]
        return {
            table: (int(count), str(digest))
            for table, count, digest in self._rows(" UNION ALL ".join(parts))
        }

    def _sqlite_table(self, table: str) -> tuple[int, str]:
        rows = sorted(repr(row) for row in self._rows(f'SELECT * FROM "{table}"'))
        return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()


def differences(before: Fingerprint, after: Fingerprint) -> list[str]:
    """The tables whose rows differ, with their counts, for an assertion's message."""
    return [
        f"{table}: {before.get(table)} -> {after.get(table)}"
        for table in sorted(set(before) | set(after))
        if before.get(table) != after.get(table)
    ]
