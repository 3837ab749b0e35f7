"""The one transaction API that the stores are written against.

A store method hands `Database.interaction` an async function; the function gets a
`Transaction` and awaits its statements. The whole function is one database transaction:
committed when it returns, rolled back when it raises. SQL is written once with `?`
placeholders; each engine converts it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from socialhub.storage.stores.message_rows import MessageRowsFactory

T = TypeVar("T")
Row = tuple[Any, ...]
Args = Sequence[object]
Statement = tuple[str, Args]  # SQL with `?` placeholders, and their arguments


class Prepared(str):
    """A statement run many times a second with other values (a batch of messages' statements):
    an engine may plan it once per connection and reuse the plan. PostgreSQL PREPAREs it, which
    saves a third of its CPU on a small batch; sqlite3 already keeps the plans of recent
    statements. Only for fixed texts: each distinct text stays prepared on every connection."""


class Reader(Protocol):
    """Statements that read, inside a transaction."""

    async def fetch(self, sql: str, args: Args = ()) -> list[Row]:
        """Run a statement and return its rows (SELECT, or anything with RETURNING)."""

    async def fetchone(self, sql: str, args: Args = ()) -> Row | None:
        """Run a statement and return its first row, or None."""

    def relation(self, rows: Sequence[Sequence[object]], types: Sequence[str]) -> tuple[str, Args]:
        """A table of `rows` for a FROM clause, in parentheses, with columns column1, column2,
        ... of the SQL `types`, and the arguments of its placeholders, in order: a batch's
        many small values (e.g. a pair of user ids per message) reach each engine the way it
        takes them cheapest. `rows` must not be empty."""


class Transaction(Reader, Protocol):
    """Statements inside one open transaction."""

    async def run(self, sql: str, args: Args = ()) -> int:
        """Run a statement for its effect; returns the number of rows it changed."""

    async def lock(self, table: str, row_id: int) -> None:
        """Hold the row of `table` whose `id` is `row_id` until the transaction ends: another
        transaction that locks it waits, and then (PostgreSQL, READ COMMITTED: each statement
        sees what was committed before it began) sees what this one committed. PostgreSQL
        takes a row lock that foreign keys' checks do not wait for; SQLite nothing, as it runs
        one transaction at a time. `table` is a constant of the caller's, never a client's."""


class Database(Protocol):
    """A connection (pool) to one database, SQLite or PostgreSQL."""

    @property
    def message_rows(self) -> MessageRowsFactory:
        """How this engine stores a batch of messages (storage/stores/message_rows.py): its SQL
        differs most there, so the engine supplies it and the store never asks which engine."""

    async def open(self) -> None:
        """Connect; raises DatabaseUnavailable when the database cannot be reached."""

    async def close(self) -> None:
        """Release connections and threads."""

    async def interaction(self, description: str, body: Callable[[Transaction], Awaitable[T]]) -> T:
        """Run `body` in one transaction and return what it returns.

        Raises DatabaseUnavailable when the database cannot be reached (nothing was written).
        """

    async def read(self, description: str, sql: str, args: Args = ()) -> list[Row]:
        """The rows of one SELECT run as a transaction of its own, without BEGIN and COMMIT.

        For a hot read that needs no other statement with it (a session, on every request):
        one round trip instead of three. Raises DatabaseUnavailable as `interaction` does.
        """

    async def at_once(self, description: str, statements: Sequence[Statement]) -> list[Row]:
        """Run `statements` in order as one transaction and return the last one's rows.

        They are sent together: one round trip on PostgreSQL, where each statement still takes
        its own snapshot, so a statement that waited for a lock is followed by one that sees
        what the lock's holder committed. For a write whose steps need no answer in between
        (a batch of messages). Raises DatabaseUnavailable as `interaction` does.
        """

    def relation(self, rows: Sequence[Sequence[object]], types: Sequence[str]) -> tuple[str, Args]:
        """Reader.relation, for statements outside a transaction (`read`, `at_once`)."""

    async def lock_for_migrations(self, txn: Transaction) -> None:
        """Serialise schema migrations between processes starting at once."""

    async def tables(self) -> list[str]:
        """The names of the tables in the database's schema, sorted (the engine's own
        catalog tables left out): what the migrations made, found rather than listed."""

    def translate_ddl(self, sql: str) -> str | None:
        """Adapt a migration statement, written for PostgreSQL, to this engine; None when the
        statement only informs PostgreSQL's planner and this engine has no counterpart, or
        starts with SQLITE_ONLY and this engine is PostgreSQL."""


# Starts a migration statement that only SQLite runs: a step PostgreSQL took another way (a
# table rebuilt to drop a constraint, which PostgreSQL drops in place).
SQLITE_ONLY = "/* sqlite only */"


class DatabaseUnavailable(Exception):
    """The database could not be reached or failed underneath us; the transaction did not commit."""


def qualify(columns: str, alias: str) -> str:
    """Prefix each column of a list with a table alias, for joins (RETURNING takes it bare)."""
    return ", ".join(f"{alias}.{column.strip()}" for column in columns.split(","))


async def fetchone(txn: Reader, sql: str, args: Args) -> Row | None:
    """The first row of a statement's result, shared by both engines' `fetchone`."""
    rows = await txn.fetch(sql, args)
    return rows[0] if rows else None


async def read_one(database: Database, description: str, sql: str, args: Args = ()) -> Row | None:
    """The first row of one SELECT run as `Database.read` runs it, or None."""
    rows = await database.read(description, sql, args)
    return rows[0] if rows else None


async def write(database: Database, description: str, sql: str, args: Args = ()) -> list[Row]:
    """One statement that writes, as a transaction of its own (`Database.at_once`): one round
    trip, no BEGIN and COMMIT of their own. Its RETURNING rows, so ask for one per changed row
    to count them."""
    return await database.at_once(description, [(sql, args)])


def by_name(names: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    """The row's values by the names of its columns, in the order they were selected.

    A row of another width raises ValueError instead of shifting every field after a column
    that was added to (or dropped from) the SELECT but not to its names.
    """
    return dict(zip(names, row, strict=True))
