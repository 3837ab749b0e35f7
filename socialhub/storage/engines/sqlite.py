"""SQLite: one connection on one dedicated thread, so the reactor never waits on the disk.

Statements of a transaction run one by one on that thread; a lock keeps transactions from
interleaving on the single connection. WAL journal, synchronous=FULL: a commit that returned
is on disk, which is what an acknowledgement promises.

`sqlite::memory:` is a database in memory: no disk to wait on, so its statements run on the
calling thread. The fast test tier uses it, on a reactor that has no threads.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, DeferredLock
from twisted.internet.interfaces import IReactorThreads
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from socialhub.run_to_end import run_to_end
from socialhub.storage.database import (
    Args,
    DatabaseUnavailable,
    Row,
    Statement,
    Transaction,
    fetchone,
)
from socialhub.storage.engines.sqlite_message_rows import StepByStep

T = TypeVar("T")
# OperationalErrors that mean the file cannot be used right now, as opposed to a bad statement.
_UNREACHABLE = re.compile(r"locked|busy|disk I/O|unable to open|readonly|disk is full|closed")
# Migration statements that only inform PostgreSQL's planner.
# Statements SQLite has no form of: planner statistics, and dropping a table's constraint.
_POSTGRES_ONLY = ("CREATE STATISTICS ", "ANALYZE", "ALTER TABLE messages DROP CONSTRAINT ")
MEMORY = ":memory:"
_TABLES = (
    "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_'"
    " ORDER BY name"
)


class SqliteTransaction:
    """Statements of one transaction, each run on the database thread."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database

    async def fetch(self, sql: str, args: Args = ()) -> list[Row]:
        rows: list[Row] = await self._database.on_thread(_fetch, sql, args)
        return rows

    async def fetchone(self, sql: str, args: Args = ()) -> Row | None:
        return await fetchone(self, sql, args)

    async def run(self, sql: str, args: Args = ()) -> int:
        count: int = await self._database.on_thread(_run, sql, args)
        return count

    def relation(self, rows: Sequence[Sequence[object]], types: Sequence[str]) -> tuple[str, Args]:
        return relation(rows, types)

    async def lock(self, table: str, row_id: int) -> None:
        """Nothing to take: the database runs one transaction at a time (SqliteDatabase's
        lock), so no other can come between this one's read and its write. (An UPDATE of the
        row would cost a scan of every table whose foreign keys point at it.)"""


def relation(rows: Sequence[Sequence[object]], types: Sequence[str]) -> tuple[str, Args]:
    """Reader.relation as a VALUES list: sqlite3 binds its values natively, nothing is quoted."""
    row = f"({', '.join('?' for _ in types)})"
    return f"(VALUES {', '.join(row for _ in rows)})", [value for r in rows for value in r]


class SqliteDatabase:
    """The SQLite engine of the Database interface."""

    message_rows = StepByStep

    def __init__(self, reactor: IReactorThreads, path: str) -> None:
        self._reactor = reactor
        self._path = path
        self._pool = (
            None if path == MEMORY else ThreadPool(minthreads=1, maxthreads=1, name="sqlite")
        )
        self._lock = DeferredLock()
        self._connection: sqlite3.Connection | None = None

    async def open(self) -> None:
        if self._pool is not None:
            self._pool.start()
        self._connection = await self.on_thread(_connect, self._path)

    async def close(self) -> None:
        await self._lock.acquire()
        try:
            if self._connection is not None:
                await self.on_thread(lambda connection: connection.close())
                self._connection = None
        finally:
            self._lock.release()
            if self._pool is not None:
                self._pool.stop()

    async def on_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Run `function(connection, *args)` on the database thread (in memory: at once)."""
        connection = self._connection
        try:
            if self._pool is None:
                result: T = function(connection, *args)
            else:
                result = await deferToThreadPool(
                    self._reactor, self._pool, function, connection, *args
                )
        except sqlite3.OperationalError as error:
            if _UNREACHABLE.search(str(error)):
                raise DatabaseUnavailable(str(error)) from error
            raise
        return result

    async def interaction(self, description: str, body: Callable[[Transaction], Awaitable[T]]) -> T:
        """The transaction runs to its end even when its caller is cancelled (run_to_end.py)."""
        return await run_to_end(Deferred.fromCoroutine(self._transaction(body)))

    async def _transaction(self, body: Callable[[Transaction], Awaitable[T]]) -> T:
        async def begin_and_commit() -> T:
            await self.on_thread(_run, "BEGIN IMMEDIATE", ())
            try:
                result = await body(SqliteTransaction(self))
                await self.on_thread(_run, "COMMIT", ())
            except BaseException:
                await self.on_thread(_rollback)
                raise
            return result

        return await self._alone(begin_and_commit)

    async def read(self, description: str, sql: str, args: Args = ()) -> list[Row]:
        """One hop to the database thread: outside BEGIN, SQLite runs the statement as a
        transaction of its own (the lock still keeps it out of other transactions)."""
        rows: list[Row] = await self._alone(lambda: self.on_thread(_fetch, sql, args))
        return rows

    async def at_once(self, description: str, statements: Sequence[Statement]) -> list[Row]:
        """One hop to the database thread for the whole transaction."""
        rows: list[Row] = await self._alone(lambda: self.on_thread(_together, statements))
        return rows

    def relation(self, rows: Sequence[Sequence[object]], types: Sequence[str]) -> tuple[str, Args]:
        return relation(rows, types)

    async def _alone(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` holding the lock that keeps transactions and reads apart; the database
        must be open, also once the lock is taken (`close` takes it too)."""
        if self._connection is None:
            raise DatabaseUnavailable("the database is closed")
        await self._lock.acquire()
        try:
            if self._connection is None:  # closed while this waited for the lock
                raise DatabaseUnavailable("the database is closed")
            return await work()
        finally:
            self._lock.release()

    async def lock_for_migrations(self, txn: Transaction) -> None:
        """BEGIN IMMEDIATE already holds the database's write lock."""

    async def tables(self) -> list[str]:
        """sqlite_master's tables but SQLite's own (sqlite_sequence, sqlite_stat1)."""
        rows = await self.read("tables", _TABLES)
        return [str(name) for (name,) in rows]

    def translate_ddl(self, sql: str) -> str | None:
        """SQLite spells an auto-incrementing key differently, and skips planner statistics
        and the dropping of foreign keys.

        It has no CREATE STATISTICS, and its plans for socialhub's queries use the indexes
        without sqlite_stat1; an ANALYZE run once by a migration would leave a sqlite_stat1
        that nothing refreshes as the data grows. A constraint can only leave an SQLite table
        with a copy of the whole table: the statements marked SQLITE_ONLY make that copy
        (schema/0016 rebuilds messages without the foreign keys 0012 dropped in PostgreSQL).
        """
        if sql.startswith(_POSTGRES_ONLY):
            return None
        return sql.replace("BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT")


def _connect(_: None, path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=5000"):
        connection.execute("PRAGMA " + pragma)
    return connection


def _fetch(connection: sqlite3.Connection, sql: str, args: Args) -> list[Row]:
    return connection.execute(sql, tuple(args)).fetchall()


def _run(connection: sqlite3.Connection, sql: str, args: Args) -> int:
    return connection.execute(sql, tuple(args)).rowcount


def _together(connection: sqlite3.Connection, statements: Sequence[Statement]) -> list[Row]:
    """`statements` as one transaction; the rows of the last."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        rows: list[Row] = []
        for sql, args in statements:
            rows = _fetch(connection, sql, args)
        connection.execute("COMMIT")
    except BaseException:
        _rollback(connection)
        raise
    return rows


def _rollback(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        connection.execute("ROLLBACK")
