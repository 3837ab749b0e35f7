"""Copying a whole SQLite database into an empty PostgreSQL one (`socialhub-admin copy-database`).

The target's schema is made by the migrations, then every table's rows are copied, parents
before children, and each identity sequence is set past the ids the source ever handed out,
all in one PostgreSQL transaction: a copy that fails leaves the target as empty as it was.
Tables, columns, foreign keys and sequences are read from PostgreSQL's catalog, so a table a
migration adds is copied without a list to keep up to date, and a table only one side has
stops the copy. Rows keep their ids and the stream counter row its position and epoch, so the
cursors clients hold and the media names in rows mean the same after the move.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

from socialhub.storage.database import Row, Transaction
from socialhub.storage.engines.postgres import PostgresDatabase
from socialhub.storage.engines.sqlite import SqliteDatabase
from socialhub.storage.migrations import apply_migrations, schema_state

BATCH = 500  # rows read and inserted at a time
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
# The columns a row is inserted with: generated ones are computed by PostgreSQL itself.
_COLUMNS = (
    "SELECT table_name, column_name, data_type FROM information_schema.columns"
    " WHERE table_schema = current_schema() AND is_generated = 'NEVER'"
    " AND table_name IN (SELECT table_name FROM information_schema.tables"
    " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE')"
    " ORDER BY table_name, ordinal_position"
)
_REFERENCES = (
    "SELECT child.relname, parent.relname FROM pg_constraint k"
    " JOIN pg_class child ON child.oid = k.conrelid"
    " JOIN pg_class parent ON parent.oid = k.confrelid"
    " WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace"
)
_SEQUENCES = (
    "SELECT table_name, column_name, sequence FROM (SELECT table_name, column_name,"
    " pg_get_serial_sequence(quote_ident(table_name), column_name) AS sequence"
    " FROM information_schema.columns WHERE table_schema = current_schema()) c"
    " WHERE sequence IS NOT NULL ORDER BY table_name"
)
# The last id SQLite handed out in each AUTOINCREMENT table, deleted rows' included.
_HANDED_OUT = "SELECT name, seq FROM sqlite_sequence"


class CopyRefused(Exception):
    """The copy cannot be made; the message says why. The target was not changed."""


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str  # PostgreSQL's name of the column's type


@dataclass(frozen=True)
class IdentitySequence:
    """An identity sequence and the column whose default takes from it."""

    table: str
    column: str
    name: str


@dataclass(frozen=True)
class Catalog:
    """What the migrations made in the target, as PostgreSQL's catalog describes it."""

    columns: dict[str, list[Column]]  # by table
    parents: dict[str, set[str]]  # the tables each table's foreign keys point at
    sequences: list[IdentitySequence]

    def dependency_order(self) -> list[str]:
        """Every table after the tables it references (alphabetical among equals)."""
        sorter = TopologicalSorter({table: self.parents[table] - {table} for table in self.columns})
        try:
            sorter.prepare()
        except CycleError as error:
            raise CopyRefused(f"foreign keys form a cycle: {error.args[1]}") from error
        order: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            order += ready
            sorter.done(*ready)
        return order


async def copy_database(source: SqliteDatabase, target: PostgresDatabase) -> list[tuple[str, int]]:
    """Copy every row of `source` into the empty `target`; (table, rows copied) in the order
    copied. Raises CopyRefused when the source's schema is not this package's or the target
    has tables. The source is held in one transaction, so a server still writing to it waits."""
    state = await schema_state(source)
    if not state.current:
        raise CopyRefused(f"the source database cannot be copied: {state.problem()}")
    existing = await target.tables()
    if existing:
        raise CopyRefused(
            f"the target database is not empty (it has the tables {', '.join(existing)}):"
            " copy into a newly created database"
        )
    source_tables = set(await source.tables())

    async def into_target(source_txn: Transaction) -> list[tuple[str, int]]:
        async def copy(txn: Transaction) -> list[tuple[str, int]]:
            await apply_migrations(target, txn)
            return await _copy_rows(source_txn, txn, source_tables)

        return await target.interaction("copy_database", copy)

    return await source.interaction("copy_database_source", into_target)


async def _copy_rows(
    source: Transaction, target: Transaction, source_tables: set[str]
) -> list[tuple[str, int]]:
    catalog = await _catalog(target)
    if set(catalog.columns) != source_tables:
        only_source = ", ".join(sorted(source_tables - set(catalog.columns))) or "none"
        only_target = ", ".join(sorted(set(catalog.columns) - source_tables)) or "none"
        raise CopyRefused(
            f"the two schemas differ: tables only in the source: {only_source};"
            f" only in the target: {only_target}"
        )
    order = catalog.dependency_order()
    for table in reversed(order):  # the rows the migrations wrote (the stream counter, versions)
        await target.run(f"DELETE FROM {_quoted(table)}")
    counts = [
        (table, await _copy_table(source, target, table, catalog.columns[table])) for table in order
    ]
    await _advance_sequences(source, target, catalog.sequences)
    return counts


async def _catalog(txn: Transaction) -> Catalog:
    columns: dict[str, list[Column]] = defaultdict(list)
    for table, column, data_type in await txn.fetch(_COLUMNS):
        columns[str(table)].append(Column(_checked(column), str(data_type)))
    parents: dict[str, set[str]] = {table: set() for table in columns}
    for child, parent in await txn.fetch(_REFERENCES):
        parents[str(child)].add(str(parent))
    sequences = [IdentitySequence(*map(str, row)) for row in await txn.fetch(_SEQUENCES)]
    return Catalog(dict(columns), parents, sequences)


async def _copy_table(
    source: Transaction, target: Transaction, table: str, columns: list[Column]
) -> int:
    """Copy the table's rows in batches, in the order they were inserted (rowid order), so a
    row that points at an earlier row of its own table (a reply) comes after it."""
    names = ", ".join(_quoted(column.name) for column in columns)
    select = f"SELECT rowid, {names} FROM {_quoted(table)} WHERE rowid > ? ORDER BY rowid LIMIT ?"
    convert = [_converter(column.data_type) for column in columns]
    copied, after = 0, -(2**63)
    while True:
        rows = await source.fetch(select, (after, BATCH))
        if not rows:
            return copied
        after = rows[-1][0]
        await _insert(target, table, names, [_converted(row[1:], convert) for row in rows])
        copied += len(rows)


async def _insert(txn: Transaction, table: str, names: str, rows: list[Row]) -> None:
    row = f"({', '.join('?' for _ in rows[0])})"
    values = ", ".join(row for _ in rows)
    await txn.run(
        f"INSERT INTO {_quoted(table)} ({names}) VALUES {values}",
        [value for each in rows for value in each],
    )


def _converter(data_type: str) -> Callable[[object], object]:
    """SQLite keeps booleans as 0 and 1; PostgreSQL takes no integer for a boolean."""
    if data_type == "boolean":
        return lambda value: None if value is None else bool(value)
    return lambda value: value


def _converted(row: Sequence[object], convert: list[Callable[[object], object]]) -> Row:
    return tuple(change(value) for change, value in zip(convert, row, strict=True))


async def _advance_sequences(
    source: Transaction, target: Transaction, sequences: list[IdentitySequence]
) -> None:
    """Set each sequence past the largest id copied and past the last id SQLite ever handed
    out for the table (AUTOINCREMENT's sqlite_sequence): the id of a deleted row is never
    given to a new one, as on SQLite."""
    handed_out = {str(name): int(seq) for name, seq in await source.fetch(_HANDED_OUT)}
    for sequence in sequences:
        row = await target.fetchone(
            f"SELECT MAX({_quoted(sequence.column)}) FROM {_quoted(sequence.table)}"
        )
        last = max(int(row[0] or 0) if row else 0, handed_out.get(sequence.table, 0))
        await target.fetch("SELECT setval(?, ?, ?)", (sequence.name, max(last, 1), last > 0))


def _checked(name: object) -> str:
    """A table or column name from the catalog, refused unless it is a plain identifier (the
    names are spliced into statements)."""
    text = str(name)
    if not _IDENTIFIER.fullmatch(text):
        raise CopyRefused(f"cannot copy a table or column named {text!r}")
    return text


def _quoted(name: str) -> str:
    return f'"{_checked(name)}"'
