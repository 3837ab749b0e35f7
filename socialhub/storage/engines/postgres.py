"""PostgreSQL through txpostgres: asynchronous sockets on the reactor, no threads.

Each pooled connection carries a dead-connection detector, so after PostgreSQL restarts (or
terminates our backends) the pool reconnects by itself instead of failing forever. Until it
has, interactions raise DatabaseUnavailable and the callers answer 503 / `unavailable`. The
subclasses of txpostgres' cursor, detector, connection and pool are socialhub/_compat's.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import orjson
import psycopg2
from twisted.internet.defer import Deferred, FirstError
from twisted.internet.interfaces import IReactorCore, IReactorTime
from twisted.internet.task import Cooperator
from txpostgres import reconnection, txpostgres

from socialhub._compat import txpostgres as compat
from socialhub.in_flight import InFlight
from socialhub.run_to_end import run_to_end
from socialhub.storage.database import (
    SQLITE_ONLY,
    Args,
    DatabaseUnavailable,
    Prepared,
    Row,
    Statement,
    Transaction,
    fetchone,
)
from socialhub.storage.engines.postgres_message_rows import OneStatement

T = TypeVar("T")
_MIGRATION_LOCK = 0x50C1A1  # pg_advisory_xact_lock key shared by every socialhub process
_TABLES = (
    "SELECT table_name FROM information_schema.tables"
    " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
)
_UNREACHABLE = (psycopg2.OperationalError, psycopg2.InterfaceError, reconnection.ConnectionDead)


def convert_placeholders(sql: str) -> str:
    """`?` placeholders to psycopg2's `%s` (a literal `%` must be doubled for psycopg2)."""
    return sql.replace("%", "%%").replace("?", "%s")


def numbered_placeholders(sql: str) -> str:
    """`?` placeholders to PREPARE's `$1`, `$2`, ..."""
    numbers = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(numbers)}", sql)


def relation(rows: Sequence[Sequence[object]], types: Sequence[str]) -> tuple[str, Args]:
    """Reader.relation as one JSON parameter: psycopg2 quotes each value of a VALUES list in
    Python (~2 µs a value, 0.8 ms for a batch's 380 user ids) and PostgreSQL parses each;
    orjson writes the whole batch in ~20 µs."""
    columns = ", ".join(f"(e->>{n})::{kind} AS column{n + 1}" for n, kind in enumerate(types))
    return f"(SELECT {columns} FROM json_array_elements(?) AS e)", (orjson.dumps(rows).decode(),)


class _Statements:
    """Statements sent on one txpostgres cursor, outside BEGIN: psycopg2's asynchronous
    connections are in autocommit mode, so what one query string holds is one transaction.
    Each round trip costs the process ~100 µs of CPU (a send, the poll cycle, four epoll
    registrations), about what a small statement costs PostgreSQL."""

    def __init__(self, cursor: Any, prepared: dict[str, str]) -> None:
        self._cursor = cursor
        self._prepared = prepared  # the connection's: Prepared text -> its statement's name

    async def together(self, statements: Sequence[Statement]) -> list[Row]:
        """Send the statements in one query string; the rows of the last one."""
        texts: list[str] = []
        values: list[object] = []
        for sql, args in statements:
            text = await self._text(sql, args)
            texts.append(text)
            values.extend(args)
        await self._send("; ".join(texts), values)
        if self._cursor.description is None:
            return []
        rows: list[Row] = self._cursor.fetchall()
        return rows

    async def _text(self, sql: str, args: Args) -> str:
        """The statement as sent, with psycopg2's `%s` placeholders."""
        if not isinstance(sql, Prepared):
            return convert_placeholders(sql)
        name = await self._prepare(sql)
        return f"EXECUTE {name}({', '.join('%s' for _ in args)})" if args else f"EXECUTE {name}"

    async def _prepare(self, sql: Prepared) -> str:
        """The name of the statement on this connection, PREPAREd the first time (a round trip
        of its own, so that it is known prepared only once PostgreSQL said so; a PREPARE is
        not undone by a rollback)."""
        name = self._prepared.get(sql)
        if name is None:
            name = f"socialhub_{len(self._prepared) + 1}"
            await self._send(f"PREPARE {name} AS {numbered_placeholders(sql)}", None)
            self._prepared[sql] = name
        return name

    async def _send(self, query: str, args: Args | None) -> None:
        """One round trip; None: `query` is sent as it is, not interpolated by psycopg2."""
        await self._cursor.execute(query, None if args is None else tuple(args))


class PostgresTransaction(_Statements):
    """Statements on the txpostgres cursor of one interaction.

    BEGIN is sent in the same query string as the first statement, and no COMMIT follows an
    interaction that ran none.
    """

    def __init__(self, cursor: Any, prepared: dict[str, str]) -> None:
        super().__init__(cursor, prepared)
        self._begin = "BEGIN; "  # sent with the first statement, then empty

    async def fetch(self, sql: str, args: Args = ()) -> list[Row]:
        return await self.together([(sql, args)])

    async def fetchone(self, sql: str, args: Args = ()) -> Row | None:
        return await fetchone(self, sql, args)

    async def run(self, sql: str, args: Args = ()) -> int:
        await self._send(await self._text(sql, args), args)
        count: int = self._cursor.rowcount
        return count

    def relation(self, rows: Sequence[Sequence[object]], types: Sequence[str]) -> tuple[str, Args]:
        return relation(rows, types)

    async def lock(self, table: str, row_id: int) -> None:
        """FOR NO KEY UPDATE: what an UPDATE of the row's other columns takes, so foreign keys'
        key-share checks (a follow inserted for the user) do not wait for it."""
        await self.fetch(f"SELECT 1 FROM {table} WHERE id = ? FOR NO KEY UPDATE", (row_id,))

    async def _send(self, query: str, args: Args | None) -> None:
        begin, self._begin = self._begin, ""
        await super()._send(begin + query, args)

    async def within(self, body: Callable[[Transaction], Awaitable[T]]) -> T:
        """Run `body` as one transaction: committed when it returns, rolled back when it raises
        (RollbackFailed if even that fails: the connection may hold an open transaction)."""
        try:
            result = await body(self)
            if not self._begin:
                await self._cursor.execute("COMMIT")
        except BaseException:
            if not self._begin:
                await self._roll_back()
            raise
        return result

    async def _roll_back(self) -> None:
        try:
            await self._cursor.execute("ROLLBACK")
        except Exception as error:
            raise txpostgres.RollbackFailed(self._cursor, error) from error


class _Connection(compat.Connection):
    """Interactions as PostgresTransaction runs them, batches as _Statements sends them, with
    the statements this session has prepared."""

    def __init__(
        self, reactor: IReactorTime | None = None, cooperator: Cooperator | None = None
    ) -> None:
        super().__init__(reactor, cooperator)
        self.prepared: dict[str, str] = {}  # see PostgresTransaction._prepare

    def connect(self, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """(Re)connect: a new session has none of the old one's prepared statements."""
        self.prepared = {}
        connecting: Deferred[Any] = super().connect(*args, **kwargs)
        return connecting

    def interaction(
        self, cursor: compat.Cursor, body: Callable[[Transaction], Awaitable[T]]
    ) -> Deferred[T]:
        transaction = PostgresTransaction(cursor, self.prepared)
        return Deferred.fromCoroutine(transaction.within(body))

    def query(self, cursor: compat.Cursor, statements: Sequence[Statement]) -> Deferred[list[Row]]:
        """Statements sent together, outside BEGIN (PostgresDatabase.at_once)."""
        return Deferred.fromCoroutine(_Statements(cursor, self.prepared).together(statements))


class _Pool(compat.Pool):
    connectionFactory = _Connection


class PostgresDatabase:
    """The PostgreSQL engine of the Database interface."""

    message_rows = OneStatement

    def __init__(self, reactor: IReactorCore, dsn: str, connections: int = 4) -> None:
        self._pool = _Pool(reactor, dsn, connections)
        self._closed = False
        self._in_flight = InFlight()

    async def open(self) -> None:
        try:
            await self._pool.start()
        except Exception as error:  # DeferredList wraps the first connection's failure
            cause = error.subFailure.value if isinstance(error, FirstError) else error
            reason = " ".join(str(cause).split())  # libpq's message, on one line
            raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {reason}") from error

    async def close(self) -> None:
        """Disconnect once the transactions in flight have finished.

        Their callers may have promised the write, and a query whose socket is closed under it
        never finishes.
        """
        self._closed = True
        await self._in_flight.none()
        self._pool.close()

    async def interaction(self, description: str, body: Callable[[Transaction], Awaitable[T]]) -> T:
        return await self._on_pool(description, lambda: self._pool.runInteraction(body))

    async def read(self, description: str, sql: str, args: Args = ()) -> list[Row]:
        """One round trip: a statement sent without BEGIN is a transaction of its own."""
        return await self.at_once(description, [(sql, args)])

    async def at_once(self, description: str, statements: Sequence[Statement]) -> list[Row]:
        rows: list[Row] = await self._on_pool(description, lambda: self._pool.runQuery(statements))
        return rows

    def relation(self, rows: Sequence[Sequence[object]], types: Sequence[str]) -> tuple[str, Args]:
        return relation(rows, types)

    async def _on_pool(self, description: str, start: Callable[[], Deferred[T]]) -> T:
        """Run a pool operation, mapping an unreachable database to DatabaseUnavailable and
        counting it in flight for `close`.

        It runs to its end even when its caller is cancelled (socialhub/run_to_end.py):
        cancelled inside txpostgres, an interaction gave its connection back with its query
        still running, and the next transaction on it failed ("async query underway")."""
        if self._closed:  # a closed connection would look dead and start reconnecting
            raise DatabaseUnavailable(f"{description}: the database is closed")
        self._in_flight.started()
        running = start()
        running.addBoth(self._finished)
        try:
            result: T = await run_to_end(running)
        except _UNREACHABLE as error:
            raise DatabaseUnavailable(f"{description}: {error}") from error
        except txpostgres.RollbackFailed as error:
            raise DatabaseUnavailable(f"{description}: rollback failed") from error
        return result

    def _finished(self, result: object) -> object:
        """One pool operation fewer in flight; `close` goes on once there are none."""
        self._in_flight.finished()
        return result

    async def lock_for_migrations(self, txn: Transaction) -> None:
        await txn.fetch("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))

    def translate_ddl(self, sql: str) -> str | None:
        return None if sql.startswith(SQLITE_ONLY) else sql

    async def tables(self) -> list[str]:
        """The tables of the schema the connection's search_path puts first."""
        rows = await self.read("tables", _TABLES)
        return [str(name) for (name,) in rows]
