"""The storage layer on both engines, used directly: transactions, migrations, placeholders.

PostgreSQL also gets its backends terminated under a live pool, which must then reconnect by
itself; end to end, the server answers 503 while the database is unreachable and recovers.
"""

from __future__ import annotations

import secrets
import sqlite3
from functools import partial
from typing import Any

import psycopg2
from twisted.internet import reactor
from twisted.internet.defer import CancelledError, Deferred, gatherResults
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from socialhub import __version__
from socialhub.reactor import as_reactor
from socialhub.storage.database import (
    Args,
    Database,
    DatabaseUnavailable,
    Prepared,
    Row,
    Transaction,
    by_name,
)
from socialhub.storage.engines import open_database
from socialhub.storage.engines.postgres import PostgresDatabase
from socialhub.storage.migrations import Migrated, migrate, migration_files
from socialhub.storage.stores.media import Media
from socialhub.storage.stores.notifications import NOTIFICATION_FIELDS, Notification
from socialhub.storage.stores.users import User
from trial_tests.support.database import (
    RETRIES,
    RETRY_DELAY,
    admin_sql,
    cut_off,
    database_of_its_own,
    insert_user,
    set_allowed,
)
from trial_tests.support.harness import (
    PostgresEngine,
    RunningServer,
    SqliteEngine,
    database_url,
    start_server,
)
from trial_tests.support.mixins import EngineTestMixin

LATEST = migration_files()[-1][0]


async def usernames(database: Database) -> list[str]:
    async def select(txn: Transaction) -> list[str]:
        return [row[0] for row in await txn.fetch("SELECT username FROM users ORDER BY id")]

    return await database.interaction("test", select)


async def schema_versions(database: Database) -> list[int]:
    async def select(txn: Transaction) -> list[int]:
        rows = await txn.fetch("SELECT version FROM schema_version ORDER BY version")
        return [int(row[0]) for row in rows]

    return await database.interaction("test", select)


USER_COUNT = Prepared("SELECT count(*) FROM users")

# Text that breaks naive quoting: quotes, backslashes, JSON syntax, non-ASCII, SQL.
TRICKY = ["plain", "it's", 'say "hi"', "back\\slash", '{"a": [1]}', "é 😀", "'); --"]


def terminate_backends(application_name: str) -> int:
    """Kill every server backend of connections named `application_name`; how many."""
    rows = admin_sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        f" WHERE application_name = '{application_name}' AND pid <> pg_backend_pid()"
    )
    return len(rows)


# A statement that takes a while (~0.2 s) on each engine.
SLOW_STATEMENT = {
    "postgres": "SELECT pg_sleep(0.2)",
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000)"
    " SELECT COUNT(*) FROM n",
}


class StorageTests(EngineTestMixin):
    """The Database interface, the same on both engines."""

    async def _database(self, url: str | None = None, migrated: bool = True) -> Database:
        database = open_database(as_reactor(reactor), url or database_url(self, self.engine))
        await database.open()
        self.addCleanup(database.close)
        if migrated:
            await migrate(database)
        return database

    async def test_interaction_results(self) -> None:
        """An interaction returns its body's result; fetch, fetchone and run report rows."""
        database = await self._database()

        async def body(txn: Transaction) -> tuple[Any, ...]:
            first = await insert_user(txn, "alice")
            await insert_user(txn, "bob")
            changed = await txn.run("UPDATE users SET about = 'hi'")
            unchanged = await txn.run("UPDATE users SET about = 'no' WHERE id = ?", (0,))
            rows = await txn.fetch("SELECT username, about FROM users ORDER BY id")
            missing = await txn.fetchone("SELECT id FROM users WHERE username = ?", ("carol",))
            return first, changed, unchanged, rows, missing

        first, changed, unchanged, rows, missing = await database.interaction("test", body)
        self.assertIsInstance(first, int)
        self.assertEqual((changed, unchanged), (2, 0))
        self.assertEqual([tuple(row) for row in rows], [("alice", "hi"), ("bob", "hi")])
        self.assertIsNone(missing)

    async def test_raising_interaction_rolls_back(self) -> None:
        """A body that raises after writing leaves nothing behind, and its error propagates."""
        database = await self._database()

        async def body(txn: Transaction) -> None:
            await insert_user(txn, "alice")
            await insert_user(txn, "bob")
            raise RuntimeError("changed my mind")

        with self.assertRaises(RuntimeError):
            await database.interaction("test", body)
        self.assertEqual(await usernames(database), [])

    async def test_failing_statement_rolls_back(self) -> None:
        """A statement that fails (a unique violation) undoes the earlier ones of the
        transaction, and is not mistaken for an unreachable database."""
        database = await self._database()

        async def body(txn: Transaction) -> None:
            await insert_user(txn, "alice")
            await insert_user(txn, "alice")

        with self.assertRaises((sqlite3.IntegrityError, psycopg2.IntegrityError)):
            await database.interaction("test", body)
        self.assertEqual(await usernames(database), [])
        await database.interaction("test", lambda txn: insert_user(txn, "alice"))
        self.assertEqual(await usernames(database), ["alice"])

    async def test_failing_first_statement_leaves_connections_usable(self) -> None:
        """A transaction whose first statement fails (PostgreSQL: sent with its BEGIN) is rolled
        back, so the pooled connection it ran on takes the next transaction cleanly; a body that
        runs no statement still returns its result."""
        database = await self._database()

        async def bad(txn: Transaction) -> None:
            await txn.fetch("SELECT no_such_column FROM users")

        for _ in range(6):  # more than the pool's connections
            with self.assertRaises((sqlite3.OperationalError, psycopg2.ProgrammingError)):
                await database.interaction("test", bad)
        names = [f"u{index}" for index in range(6)]
        for name in names:
            await database.interaction("test", partial(insert_user, name=name))
        self.assertEqual(sorted(await usernames(database)), names)

        async def nothing(txn: Transaction) -> str:
            return "done"

        self.assertEqual(await database.interaction("test", nothing), "done")

    async def test_relation_feeds_an_insert(self) -> None:
        """An INSERT from a relation stores every row as given (NULLs, quotes, backslashes,
        JSON syntax, non-ASCII), in the order given (ids follow it), and returns the asked
        columns (SQLite stores a batch of messages so)."""
        database = await self._database()

        async def body(txn: Transaction) -> list[Row]:
            rows = [
                (f"u{n}", f"u{n}", f"u{n}@x", f"u{n}@x", "h", name, n)
                for n, name in enumerate(TRICKY)
            ]
            given, args = txn.relation(rows, ("text",) * 6 + ("bigint",))
            return await txn.fetch(
                "INSERT INTO users (username, username_key, email, email_key, password_hash,"
                f" display_name, created_at) SELECT * FROM {given} AS g"
                " RETURNING id, display_name",
                args,
            )

        returned = sorted(await database.interaction("test", body))
        self.assertEqual([name for _, name in returned], TRICKY)
        stored = await database.read("test", "SELECT display_name, about FROM users ORDER BY id")
        self.assertEqual([tuple(row) for row in stored], [(name, "") for name in TRICKY])

    async def test_relation(self) -> None:
        """A relation reads back every row as given, typed (big integers, NULLs, tricky
        text), and joins like a table, with placeholders before and after it."""
        database = await self._database()
        rows = [(2**40 + n, text) for n, text in enumerate(TRICKY)] + [(7, None)]

        async def body(txn: Transaction) -> list[Row]:
            given, args = txn.relation(rows, ("bigint", "text"))
            return await txn.fetch(
                f"SELECT r.column1 + ?, r.column2 FROM {given} AS r WHERE r.column1 > ?"
                " ORDER BY r.column1",
                (1, *args, 6),
            )

        selected = await database.interaction("test", body)
        self.assertEqual([tuple(row) for row in selected], [(n + 1, t) for n, t in sorted(rows)])

    async def test_relation_outside_a_transaction(self) -> None:
        """Single reads take a relation too (a batch of messages is vetted by one)."""
        database = await self._database()
        given, args = database.relation([(1, "a"), (2, None)], ("bigint", "text"))
        sql = f"SELECT r.column2 FROM {given} AS r ORDER BY r.column1"
        rows = await database.read("test", sql, args)
        self.assertEqual([row[0] for row in rows], ["a", None])

    async def test_at_once_is_one_transaction(self) -> None:
        """Statements run at once return the last one's rows, see the ones before (prepared
        or not, with placeholders), and are undone together when one fails."""
        database = await self._database()
        insert = (
            "INSERT INTO users (username, username_key, email, email_key, password_hash,"
            " display_name, created_at) VALUES (?, ?, ?, ?, 'x', ?, 0)"
        )

        def user(name: str) -> tuple[str, Args]:
            return insert, (name, name, f"{name}@x", f"{name}@x", "100%")

        count = Prepared("SELECT count(*), min(display_name) FROM users WHERE username <> ?")
        rows = await database.at_once("test", [user("alice"), user("bob"), (count, ("x",))])
        self.assertEqual([tuple(row) for row in rows], [(2, "100%")])
        with self.assertRaises((psycopg2.IntegrityError, sqlite3.IntegrityError)):
            await database.at_once("test", [user("carol"), user("alice")])
        self.assertEqual(await usernames(database), ["alice", "bob"])
        rows = await database.at_once("test", [(count, ("bob",))])  # prepared before: reused
        self.assertEqual([tuple(row) for row in rows], [(1, "100%")])

    async def test_concurrent_interactions_all_commit(self) -> None:
        """Interactions started together each run as one transaction, and all commit."""
        database = await self._database()

        async def add(name: str) -> int:
            return await database.interaction("test", lambda txn: insert_user(txn, name))

        names = [f"user{index}" for index in range(12)]
        await gatherResults([Deferred.fromCoroutine(add(name)) for name in names])
        self.assertEqual(sorted(await usernames(database)), sorted(names))

    async def test_migrate_is_idempotent(self) -> None:
        """Migrating twice changes nothing and records each version once."""
        database = await self._database(migrated=False)
        expected = [version for version, _ in migration_files()]
        self.assertEqual(await migrate(database), Migrated(tuple(expected), LATEST))
        self.assertEqual(await migrate(database), Migrated((), LATEST))
        self.assertEqual(await schema_versions(database), expected)

    async def test_migrate_up_to(self) -> None:
        """migrate(up_to=N) stops at version N; a later migrate() goes the rest of the way."""
        database = await self._database(migrated=False)
        self.assertEqual(await migrate(database, up_to=0), Migrated((), 0))
        self.assertEqual(await schema_versions(database), [])
        with self.assertRaises((sqlite3.OperationalError, psycopg2.ProgrammingError)):
            await usernames(database)  # no users table yet
        self.assertEqual(await migrate(database, up_to=1), Migrated((1,), 1))
        self.assertEqual(await schema_versions(database), [1])
        self.assertEqual(await usernames(database), [])
        rest = tuple(version for version, _ in migration_files() if version > 1)
        self.assertEqual(await migrate(database), Migrated(rest, LATEST))
        self.assertEqual((await schema_versions(database))[-1:], [LATEST])

    async def test_concurrent_migrations(self) -> None:
        """Two processes migrating one fresh database at once both succeed, each version once."""
        url = database_url(self, self.engine)
        first = await self._database(url, migrated=False)
        second = await self._database(url, migrated=False)
        reached = await gatherResults(
            [Deferred.fromCoroutine(migrate(first)), Deferred.fromCoroutine(migrate(second))]
        )
        expected = [version for version, _ in migration_files()]
        self.assertEqual(
            sorted(reached, key=lambda migrated: len(migrated.applied)),
            [Migrated((), LATEST), Migrated(tuple(expected), LATEST)],
        )
        self.assertEqual(await schema_versions(first), expected)

    async def test_literal_percent_and_placeholders(self) -> None:
        """A literal '%' survives the `?` placeholder conversion, with and without arguments."""
        database = await self._database()

        async def body(txn: Transaction) -> list[Any]:
            return [
                await txn.fetchone("SELECT '100%' || ?", ("x",)),
                await txn.fetchone("SELECT '100%'"),
                await txn.fetchone("SELECT ? || '%s' || ?", ("a", "b")),
                await txn.fetchone("SELECT CASE WHEN 'abc' LIKE ? THEN 1 ELSE 0 END", ("a%",)),
            ]

        rows = await database.interaction("test", body)
        self.assertEqual([row[0] for row in rows], ["100%x", "100%", "a%sb", 1])

    async def test_prepared_statements(self) -> None:
        """A Prepared statement gives each use's own answer (literal '%', several
        placeholders, no argument), also after a transaction that used it first rolled back."""
        database = await self._database()
        both = Prepared("SELECT '100%' || ? || CAST(? AS TEXT)")
        bare = Prepared("SELECT 'no arguments'")

        async def failing(txn: Transaction) -> None:
            await txn.fetchone(both, ("x", 1))
            raise ValueError("rolled back")

        with self.assertRaises(ValueError):
            await database.interaction("test", failing)
        for n in range(3):  # beyond the first use on each pooled connection

            async def body(txn: Transaction, n: int = n) -> list[Any]:
                return [await txn.fetchone(both, (f"v{n}", n)), await txn.fetchone(bare)]

            rows = await database.interaction("test", body)
            self.assertEqual([row[0] for row in rows], [f"100%v{n}{n}", "no arguments"])

    async def test_read_sees_committed_rows_between_transactions(self) -> None:
        """A single read returns a SELECT's rows, with placeholders, and may run while other
        interactions are queued: the engines order it among them."""
        database = await self._database()
        await database.interaction("add", lambda txn: insert_user(txn, "alice"))
        adding = Deferred.fromCoroutine(
            database.interaction("add", lambda txn: insert_user(txn, "bob"))
        )
        rows = await database.read("test", "SELECT username FROM users WHERE username <> ?", ("x",))
        await adding
        self.assertIn([row[0] for row in rows], (["alice"], ["alice", "bob"]))
        self.assertEqual(await usernames(database), ["alice", "bob"])
        missing = await database.read("test", "SELECT id FROM users WHERE id = ?", (0,))
        self.assertEqual(missing, [])

    async def test_a_cancelled_caller_leaves_its_transaction_to_finish(self) -> None:
        """A caller that stops waiting (Klein cancels a request whose client went away) does not
        cut its transaction short: it commits, and the next transaction on the same (only)
        connection runs cleanly instead of finding a query still underway."""
        url = database_url(self, self.engine)
        one = PostgresDatabase(reactor, url, connections=1) if self.engine == "postgres" else None
        database = one or open_database(as_reactor(reactor), url)
        await database.open()
        self.addCleanup(database.close)
        await migrate(database)

        async def slow(txn: Transaction) -> None:
            await insert_user(txn, "alice")
            await txn.fetch(SLOW_STATEMENT[self.engine])

        waiting = Deferred.fromCoroutine(database.interaction("slow", slow))
        await deferLater(reactor, 0.05, lambda: None)  # the transaction is under way
        waiting.cancel()
        self.failureResultOf(waiting, CancelledError)
        await database.interaction("next", lambda txn: insert_user(txn, "bob"))
        self.assertEqual(await usernames(database), ["alice", "bob"])

    async def test_closed_database_is_unavailable(self) -> None:
        """An interaction or a read on a closed database raises DatabaseUnavailable."""
        database = open_database(as_reactor(reactor), database_url(self, self.engine))
        await database.open()
        await database.close()
        with self.assertRaises(DatabaseUnavailable):
            await database.interaction("test", lambda txn: txn.fetch("SELECT 1"))
        with self.assertRaises(DatabaseUnavailable):
            await database.read("test", "SELECT 1")


class RowsByNameTests(TestCase):
    """Records are built from rows by column name: a column added to a SELECT but not to its
    names is refused instead of shifting every field after it."""

    def test_values_go_to_the_fields_their_columns_name(self) -> None:
        values = {name: f"value of {name}" for name in NOTIFICATION_FIELDS}
        notification = Notification.from_row(tuple(values.values()))
        for name, value in values.items():
            expected = bool(value) if name == "is_read" else value
            self.assertEqual(getattr(notification, name), expected)

    def test_a_row_of_another_width_is_refused(self) -> None:
        user = (1, "ann", "ann@example.org", "Ann", "", False, False, 0, None, True, None)
        self.assertEqual(User.from_row(user).created_at, 0)
        for row in ((*user[:4], "extra", *user[4:]), user[:-1]):
            with self.assertRaises(ValueError):
                User.from_row(row)
        media = (1, 2, "a.png", "image/png", 3, 4, 5, 6, None, None)
        self.assertEqual(Media.from_row(media).created_at, 6)
        with self.assertRaises(ValueError):
            Media.from_row((*media[:2], "extra", *media[2:]))

    def test_by_name(self) -> None:
        self.assertEqual(by_name(("a", "b"), (1, 2)), {"a": 1, "b": 2})
        with self.assertRaises(ValueError):
            by_name(("a", "b"), (1, 2, 3))


class StorageSqliteTests(SqliteEngine, StorageTests, TestCase):
    pass


class StoragePostgresTests(PostgresEngine, StorageTests, TestCase):
    pass


class PostgresRecoveryTests(TestCase):
    """The txpostgres pool after PostgreSQL has dropped its connections."""

    def _named_url(self) -> tuple[str, str]:
        """A fresh database URL whose connections carry a name of their own, to kill them."""
        name = "socialhub_test_" + secrets.token_hex(4)
        return database_url(self, "postgres") + f"&application_name={name}", name

    async def _until_ok(self, database: Database) -> int:
        """Retry an interaction until it succeeds; the number of DatabaseUnavailable first."""
        unavailable = 0
        for _ in range(RETRIES):
            try:
                await database.interaction("test", lambda txn: txn.fetch("SELECT 1"))
                return unavailable
            except DatabaseUnavailable:
                unavailable += 1
            await deferLater(reactor, RETRY_DELAY, lambda: None)
        self.fail(f"the pool did not recover within {RETRIES * RETRY_DELAY} s")

    async def test_pool_reconnects_after_backends_are_terminated(self) -> None:
        """After every backend is killed, interactions fail only with DatabaseUnavailable, then
        succeed again on every pooled connection, and the data is still there."""
        url, name = self._named_url()
        database = open_database(as_reactor(reactor), url)
        await database.open()
        self.addCleanup(database.close)
        await migrate(database)
        await database.interaction("test", lambda txn: insert_user(txn, "alice"))
        # A prepared statement on every connection: a new session must prepare it again.
        await gatherResults([Deferred.fromCoroutine(self._try(database)) for _ in range(8)])
        self.assertEqual(terminate_backends(name), 4)
        await self._until_ok(database)
        for _ in range(RETRIES):  # every connection of the pool, not just one, comes back
            results = await gatherResults(
                [
                    Deferred.fromCoroutine(self._try(database))
                    for _ in range(8)  # twice the pool's size
                ]
            )
            if all(results):
                break
            await deferLater(reactor, RETRY_DELAY, lambda: None)
        else:
            self.fail("some pooled connections never came back")
        self.assertEqual(await usernames(database), ["alice"])
        self.flushLoggedErrors(psycopg2.OperationalError, psycopg2.InterfaceError)

    async def test_close_while_reconnecting(self) -> None:
        """Closing the pool while its connections are trying to reconnect stops them: nothing
        is left running (trial fails the test on a leftover timer or socket)."""
        url, name = database_of_its_own(self)
        database = open_database(as_reactor(reactor), url)
        await database.open()
        await migrate(database)
        cut_off(name)
        for _ in range(8):
            with self.assertRaises(DatabaseUnavailable):
                await usernames(database)
        await database.close()
        with self.assertRaises(DatabaseUnavailable):
            await usernames(database)
        self.flushLoggedErrors(psycopg2.OperationalError, psycopg2.InterfaceError)

    async def _try(self, database: Database) -> bool:
        try:
            await usernames(database)
            await database.interaction("test", lambda txn: txn.fetch(USER_COUNT))
        except DatabaseUnavailable:
            return False
        return True


class DatabaseOutageTests(TestCase):
    """End to end: the server while its PostgreSQL database refuses connections, and after."""

    async def _until_healthy(self, running: RunningServer) -> None:
        client = running.client()
        for _ in range(RETRIES):
            health = await client.get("/healthz")
            if health.status == 200:
                self.assertEqual(health.json["database"], "ok")
                return
            self.assertEqual(health.status, 503, health.raw)
            await deferLater(reactor, RETRY_DELAY, lambda: None)
        self.fail("/healthz never came back to 200")

    async def test_unavailable_then_recovered(self) -> None:
        """While PostgreSQL refuses connections: /healthz and API calls answer 503 with the
        `unavailable` body. Once it accepts them again, both recover, sessions intact."""
        url, name = database_of_its_own(self)
        running = await start_server(self, "postgres", database=url)
        client = running.client()
        await client.register("alice")
        cut_off(name)
        for _ in range(3):
            me = await client.get("/api/auth/me")
            self.assertEqual(me.status, 503, me.raw)
            self.assertEqual(me.json["error"], "unavailable")
            self.assertEqual(set(me.json), {"error", "message"})
        register = await running.client().post(
            "/api/auth/register",
            {"username": "bob", "email": "bob@example.org", "password": "correct horse"},
        )
        self.assertEqual(register.status, 503, register.raw)
        health = await client.get("/healthz")
        self.assertEqual(health.status, 503)
        self.assertEqual(
            {key: value for key, value in health.json.items() if key != "message"},
            {
                "error": "unavailable",
                "status": "unavailable",
                "version": __version__,
                "database": "down",
                "bus": "disabled",
            },
        )
        set_allowed(name, True)
        await self._until_healthy(running)
        for _ in range(RETRIES):
            statuses = [(await client.get("/api/auth/me")).status for _ in range(8)]
            if statuses == [200] * 8:
                break
            self.assertEqual(set(statuses) - {200, 503}, set())
            await deferLater(reactor, RETRY_DELAY, lambda: None)
        else:
            self.fail("API calls never all succeeded again")
        self.flushLoggedErrors(psycopg2.OperationalError, psycopg2.InterfaceError)
