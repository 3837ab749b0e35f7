"""socialhub/_compat/txpostgres.py against the installed txpostgres, on a real PostgreSQL:
the pool's runInteraction and runQuery reach a Connection's hooks with a Cursor, whose
results are handed over through its `reactor` at once, and the detector's reconnection
attempts run, recover (one recovery hurrying the others), and stop with the pool. Fails if
txpostgres moves what they override."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg2
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from socialhub._compat import txpostgres as compat
from trial_tests.support.harness import PG_ADMIN_DSN

_reactor: Any = reactor


class _Counting(compat.Connection):
    """Runs an interaction as a call of `body` with the cursor, and a query by executing it;
    counts the zero-delay calls its cursors make."""

    handed_over = 0

    def interaction(self, cursor: compat.Cursor, body: Any) -> Deferred[Any]:
        self._count(cursor)
        result: Deferred[Any] = body(cursor)
        return result

    def query(self, cursor: compat.Cursor, statements: Any) -> Deferred[Any]:
        self._count(cursor)
        executed: Deferred[Any] = cursor.execute(statements)
        return executed.addCallback(lambda done: done.fetchall())

    def _count(self, cursor: compat.Cursor) -> None:
        call_later = cursor.reactor.callLater

        def counted(delay: float, function: Callable[..., object], *args: object) -> None:
            _Counting.handed_over += 1
            call_later(delay, function, *args)

        cursor.reactor.callLater = counted  # type: ignore[method-assign]


class _Pool(compat.Pool):
    connectionFactory = _Counting


class PoolTests(TestCase):
    async def pool(self) -> _Pool:
        pool = _Pool(_reactor, PG_ADMIN_DSN, 2)
        await pool.start()
        self.addCleanup(pool.close)
        _Counting.handed_over = 0
        return pool

    async def test_run_query_reaches_query_with_a_cursor(self) -> None:
        """Its result is handed over through the cursor's reactor (at once)."""
        pool = await self.pool()
        self.assertEqual(await pool.runQuery("SELECT 1 + 1"), [(2,)])
        self.assertEqual(_Counting.handed_over, 1)

    async def test_run_interaction_reaches_interaction_with_a_cursor(self) -> None:
        pool = await self.pool()

        async def body(cursor: compat.Cursor) -> Any:
            await cursor.execute("SELECT 41 + 1")
            return cursor.fetchall()

        def run(cursor: compat.Cursor) -> Deferred[Any]:
            self.assertIsInstance(cursor, compat.Cursor)
            return Deferred.fromCoroutine(body(cursor))

        self.assertEqual(await pool.runInteraction(run), [(42,)])
        self.assertEqual(_Counting.handed_over, 1)

    async def test_errors_are_handed_over_at_once_too(self) -> None:
        pool = await self.pool()
        with self.assertRaises(psycopg2.ProgrammingError):
            await pool.runQuery("SELECT no_such_column")
        self.assertEqual(_Counting.handed_over, 1)

    async def test_the_pool_holds_connections_with_detectors(self) -> None:
        pool = await self.pool()
        self.assertEqual(len(pool.connections), 2)
        for connection in pool.connections:
            self.assertIsInstance(connection, _Counting)
            self.assertIsInstance(connection.detector, compat.Detector)
            self.assertIs(connection.reactor, _reactor)


def believed_dead(connection: compat.Connection, delay: float) -> Deferred[None]:
    """Make its detector believe the connection dead, its attempts `delay` seconds apart
    (the first one too); fires when it has recovered."""
    recovered: Deferred[None] = Deferred()
    connection.detector.addRecoveryHandler(lambda: recovered.callback(None))
    connection.detector.reconnectionIterator = lambda: iter([delay, delay])
    connection.detector.checkForDeadConnection(Failure(psycopg2.OperationalError("gone")))
    assert connection.detector.connectionIsDead
    return recovered


class DetectorTests(TestCase):
    async def pool(self, size: int) -> _Pool:
        pool = _Pool(_reactor, PG_ADMIN_DSN, size)
        await pool.start()
        self.addCleanup(pool.close)
        return pool

    async def dead(self) -> tuple[_Pool, compat.Connection, Deferred[None]]:
        """A pool whose one connection its detector believes dead: reconnecting starts."""
        pool = await self.pool(1)
        (connection,) = pool.connections
        return pool, connection, believed_dead(connection, 0.0)

    async def assert_recovered(self, connection: compat.Connection) -> None:
        self.assertFalse(connection.detector.connectionIsDead)
        cursor = connection.cursor()
        await cursor.execute("SELECT 1")
        self.assertEqual(cursor.fetchall(), [(1,)])

    async def test_reconnects_and_recovers(self) -> None:
        _, connection, recovered = await self.dead()
        await recovered.addTimeout(10, _reactor)
        await self.assert_recovered(connection)

    async def test_a_recovery_hurries_the_others(self) -> None:
        """Once one connection of the pool got through again, another one whose next attempt
        is an hour away tries at once, and recovers too."""
        slow, fast = (await self.pool(2)).connections
        slow_recovered = believed_dead(slow, 3600.0)
        await believed_dead(fast, 0.0).addTimeout(10, _reactor)
        await slow_recovered.addTimeout(10, _reactor)
        await self.assert_recovered(slow)

    async def test_closing_the_pool_stops_reconnecting(self) -> None:
        pool, connection, _ = await self.dead()
        attempts: list[object] = []
        connection.detector.reconnect = lambda: attempts.append(1)
        pool.close()
        for _ in range(3):  # turns in which the zero-delay attempt would have run
            await deferLater(_reactor, 0, lambda: None)
        self.assertEqual(attempts, [])
