"""Group commit of messages (storage/stores/message_writer.py) on both engines."""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults
from twisted.trial.unittest import TestCase

from socialhub.storage.database import Database, Transaction
from socialhub.storage.engines import open_database
from socialhub.storage.migrations import migrate
from socialhub.storage.stores.messages import Message, MessagesStore
from trial_tests.harness import PostgresEngine, SqliteEngine, database_url
from trial_tests.mixins import EngineTestMixin
from trial_tests.test_storage import insert_user

NOW = 1_800_000_000


class CountingDatabase:
    """A Database that counts its transactions by description (the real one does the work)."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.transactions: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._database, name)

    async def interaction(self, description: str, body: Any) -> Any:
        self.transactions.append(description)
        return await self._database.interaction(description, body)


class MessageWriterTests(EngineTestMixin):
    async def store(self) -> tuple[MessagesStore, CountingDatabase, list[int]]:
        database = open_database(reactor, database_url(self, self.engine))
        await database.open()
        self.addCleanup(database.close)
        await migrate(database)

        async def people(txn: Transaction) -> list[int]:
            return [await insert_user(txn, f"user{n}") for n in range(6)]

        users = await database.interaction("people", people)
        counting = CountingDatabase(database)
        return MessagesStore(counting, reactor), counting, users

    async def test_messages_of_one_moment_share_one_transaction(self) -> None:
        """Messages sent together are stored by one transaction, each with its own id and the
        next stream positions in the order they were sent."""
        store, counting, users = await self.store()
        sends = [
            store.store(users[n], f"m{n}", NOW, f"c{n}", recipient_id=users[n + 1])
            for n in range(5)
        ]
        results: list[tuple[Message, bool]] = await gatherResults(
            [_deferred(send) for send in sends]
        )
        self.assertEqual(counting.transactions, ["store_messages"])
        self.assertEqual([new for _, new in results], [True] * 5)
        positions = [message.stream_pos or 0 for message, _ in results]
        self.assertEqual(positions, list(range(positions[0], positions[0] + 5)))
        self.assertEqual([m.content for m, _ in results], [f"m{n}" for n in range(5)])

    async def test_a_client_id_twice_in_one_batch_is_stored_once(self) -> None:
        """The same client id twice in one batch: one message; the second gets it, not new."""
        store, _, users = await self.store()
        first, second = await gatherResults(
            [
                _deferred(store.store(users[0], "once", NOW, "same", recipient_id=users[1])),
                _deferred(store.store(users[0], "once", NOW, "same", recipient_id=users[1])),
            ]
        )
        self.assertEqual((first[1], second[1]), (True, False))
        self.assertEqual(first[0], second[0])
        again, new = await store.store(users[0], "once", NOW + 60, "same", recipient_id=users[1])
        self.assertEqual((again, new), (first[0], False))

    async def test_client_ids_are_per_user_and_expire(self) -> None:
        """Two users may use the same client id; after 24 hours a client id names a new message."""
        store, _, users = await self.store()
        mine, _ = await store.store(users[0], "a", NOW, "x", recipient_id=users[2])
        theirs, new = await store.store(users[1], "b", NOW, "x", recipient_id=users[2])
        self.assertTrue(new)
        self.assertNotEqual(mine.id, theirs.id)
        later, new = await store.store(users[0], "c", NOW + 86_401, "x", recipient_id=users[2])
        self.assertTrue(new)
        self.assertNotEqual(later.id, mine.id)


def _deferred(coroutine: Any) -> Any:
    return Deferred.fromCoroutine(coroutine)


class MessageWriterSqliteTests(SqliteEngine, MessageWriterTests, TestCase):
    pass


class MessageWriterPostgresTests(PostgresEngine, MessageWriterTests, TestCase):
    pass
