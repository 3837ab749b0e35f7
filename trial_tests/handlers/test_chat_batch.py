"""Group commit of chat messages (handlers/chat_batch.py) over the real MessagesStore, and the
private-message rule that the batch's write applies in its own SQL, on both engines."""

from __future__ import annotations

from typing import Any, cast

from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import Clock, deferLater
from twisted.trial.unittest import TestCase

from socialhub.delivery.cork import Cork
from socialhub.errors import Forbidden
from socialhub.handlers.chat_batch import WINDOW, ChatBatch
from socialhub.reactor import as_reactor
from socialhub.storage.database import Database, Transaction
from socialhub.storage.engines import open_database
from socialhub.storage.migrations import migrate
from socialhub.storage.stores.blocks import BlocksStore
from socialhub.storage.stores.messages import Message, MessagesStore
from trial_tests.support.counting import CountingDatabase
from trial_tests.support.database import admin_sql, insert_user
from trial_tests.support.harness import (
    PostgresEngine,
    SqliteEngine,
    database_url,
    postgres_base_url,
)
from trial_tests.support.mixins import EngineTestMixin

NOW = 1_800_000_000


class _Cork(Cork):
    """The process's cork, which also records, per outermost entry, how many events had
    happened as it was entered and as it was left."""

    def __init__(self, events: list[str], spans: list[tuple[int, int]]) -> None:
        super().__init__()
        self._events = events
        self._spans = spans
        self._entered = 0

    def __enter__(self) -> None:
        if not self.corked:
            self._entered = len(self._events)
        super().__enter__()

    def __exit__(self, *exc_info: Any) -> None:
        super().__exit__(*exc_info)
        if not self.corked:
            self._spans.append((self._entered, len(self._events)))


class _Delivery:
    """The Delivery as the batch sees it: only its ticks, logged."""

    def __init__(self, committed: Any) -> None:
        self.committed = committed


class ChatBatchTests(EngineTestMixin):
    async def store(
        self, clock: IReactorTime = reactor
    ) -> tuple[ChatBatch, CountingDatabase, list[int]]:
        self.url = database_url(self, self.engine)
        database = await self.open()
        await migrate(database)

        async def people(txn: Transaction) -> list[int]:
            return [await insert_user(txn, f"user{n}") for n in range(6)]

        users = await database.interaction("people", people)
        self.blocks = BlocksStore(database)
        self.committed: list[tuple[int, int]] = []
        self.events: list[str] = []
        self.cork_spans: list[tuple[int, int]] = []  # see _Cork

        def committed(first: int, last: int) -> None:
            self.committed.append((first, last))
            self.events.append("committed")

        counting = CountingDatabase(database)
        return self.chat_batch(counting, committed, clock), counting, users

    async def open(self) -> Database:
        """A connection to the test's database (each call another one, as another process's)."""
        database = open_database(as_reactor(reactor), self.url)
        await database.open()
        self.addCleanup(database.close)
        return database

    def chat_batch(self, database: Any, committed: Any, clock: IReactorTime = reactor) -> ChatBatch:
        cork = _Cork(self.events, self.cork_spans)
        return ChatBatch(MessagesStore(database), clock, cast(Any, _Delivery(committed)), cork)

    def send(self, store: ChatBatch, sender: int, recipient: int, client_id: str) -> Any:
        """Store a private message; its Deferred logs its outcome in self.events when it fires
        (as a caller delivers in that callback)."""
        stored = store.store(sender, client_id, NOW, client_id, recipient_id=recipient)

        def log(result: Any) -> Any:
            self.events.append(client_id if isinstance(result, tuple) else f"{client_id}!")
            return result

        return stored.addBoth(log)

    async def test_messages_of_one_moment_share_one_transaction(self) -> None:
        """Messages sent together are stored by one transaction, each with its own id and the
        next stream positions in the order they were sent."""
        store, counting, users = await self.store()
        sends = [
            store.store(users[n], f"m{n}", NOW, f"c{n}", recipient_id=users[n + 1])
            for n in range(5)
        ]
        results: list[tuple[Message, bool]] = await gatherResults(sends)
        self.assertEqual(counting.transactions, ["store_messages"])
        self.assertEqual([new for _, new in results], [True] * 5)
        positions = [message.stream_pos or 0 for message, _ in results]
        self.assertEqual(positions, list(range(positions[0], positions[0] + 5)))
        self.assertEqual([m.content for m, _ in results], [f"m{n}" for n in range(5)])

    async def test_a_batch_is_answered_inside_the_cork(self) -> None:
        """Every caller of a batch hears back, and `committed` is told, inside one entry of
        the cork, entered once per batch."""
        store, _, users = await self.store()
        await gatherResults([self.send(store, users[0], users[1], f"a{n}") for n in range(3)])
        await deferLater(reactor, 0)  # the test resumed in the last caller's callback
        self.assertEqual(self.events, ["a0", "a1", "a2", "committed"])
        self.assertEqual(self.cork_spans, [(0, 4)])

    async def test_one_batch_at_a_time(self) -> None:
        """Messages that arrive while a batch is being written wait, then go together as the
        next batch once that write has ended: two writes at once could take their positions
        in either order. Callers hear back batch by batch.

        The batch's clock is the test's: once it has run past any window the batch could
        have set, a second write would have been asked for already."""
        clock = Clock()
        store, counting, users = await self.store(clock)
        gate: Deferred[None] = Deferred()
        counting.gate = gate
        self.addCleanup(_release, gate)  # if an assertion failed
        first = [self.send(store, users[0], users[1], f"a{n}") for n in range(2)]
        clock.advance(WINDOW)
        await counting.at_gate  # the first batch waits to be written
        counting.gate = None
        second = [self.send(store, users[2], users[3], f"b{n}") for n in range(3)]
        clock.advance(3600)
        self.assertEqual((counting.reads, counting.transactions), ([], ["store_messages"]))
        self.assertEqual(self.events, [])
        gate.callback(None)
        results = await gatherResults(first + second)
        self.assertEqual(counting.transactions, ["store_messages"] * 2)
        positions = [message.stream_pos or 0 for message, _ in results]
        self.assertEqual(positions, sorted(positions))
        await deferLater(reactor, 0)  # the test resumed in the last caller's callback
        self.assertEqual(self.events, ["a0", "a1", "committed", "b0", "b1", "b2", "committed"])

    async def test_a_client_id_twice_in_one_batch_is_stored_once(self) -> None:
        """The same client id twice in one batch: one message; the second gets it, not new."""
        store, _, users = await self.store()
        first, second = await gatherResults(
            [
                store.store(users[0], "once", NOW, "same", recipient_id=users[1]),
                store.store(users[0], "once", NOW, "same", recipient_id=users[1]),
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

    async def test_one_tick_per_batch_after_its_callers(self) -> None:
        """`committed` hears a batch's range of new positions once, after every caller of the
        batch has had its message (so frames are published before their tick); a batch that
        stores nothing new is not announced."""
        store, _, users = await self.store()
        results = await gatherResults(
            [self.send(store, users[n], users[n + 1], f"c{n}") for n in range(3)]
        )
        await deferLater(reactor, 0)  # the test resumed in the last caller's callback
        positions = [message.stream_pos for message, _ in results]
        self.assertEqual(self.committed, [(positions[0], positions[2])])
        self.assertEqual(self.events, ["c0", "c1", "c2", "committed"])
        await self.send(store, users[0], users[1], "c0")  # a resend: nothing new
        self.assertEqual(len(self.committed), 1)

    async def test_refused_messages_leave_the_rest_of_their_batch(self) -> None:
        """In one batch, messages to oneself, to nobody and across a block get their refusal;
        the others are stored, in one transaction; a refused client id stays free."""
        store, counting, users = await self.store()
        await self.blocks.block(users[3], users[0], NOW)
        sends = [
            self.send(store, users[0], users[1], "ok"),
            self.send(store, users[0], users[0], "self"),
            self.send(store, users[0], 999_999, "nobody"),
            self.send(store, users[0], users[3], "blocked"),
            self.send(store, users[1], users[0], "ok too"),
        ]
        outcomes = await gatherResults([send.addErrback(lambda f: f.value) for send in sends])
        await deferLater(reactor, 0)  # the test resumed in the last caller's callback
        self.assertEqual(counting.transactions, ["store_messages"])
        self.assertEqual(
            [type(o).__name__ for o in outcomes[1:4]], ["InvalidRequest", "NotFound", "Forbidden"]
        )
        self.assertEqual([outcomes[0][1], outcomes[4][1]], [True, True])
        self.assertEqual(self.events, ["ok", "self!", "nobody!", "blocked!", "ok too", "committed"])
        await self.blocks.unblock(users[3], users[0])
        message, new = await self.send(store, users[0], users[3], "blocked")
        self.assertTrue(new)
        self.assertEqual(message.recipient_id, users[3])

    async def test_a_block_committed_elsewhere_refuses_the_very_next_message(self) -> None:
        """A block committed through another connection (as by another process) refuses the
        next message at once: the rule is asked in the write itself, and nothing is read or
        kept before it. The unblock lets the next one through as promptly."""
        store, counting, users = await self.store()
        await self.send(store, users[0], users[1], "before")
        elsewhere = BlocksStore(await self.open())
        await elsewhere.block(users[1], users[0], NOW)
        with self.assertRaises(Forbidden):
            await self.send(store, users[0], users[1], "blocked")
        await elsewhere.unblock(users[1], users[0])
        message, new = await self.send(store, users[0], users[1], "after")
        self.assertEqual((message.content, new), ("after", True))
        self.assertEqual(counting.reads, [])
        self.assertEqual(counting.transactions, ["store_messages"] * 3)

    async def test_a_client_id_stored_meanwhile_by_another_process(self) -> None:
        """Two processes store the same client id while a third transaction holds the stream
        counter: the one that gets the counter second finds the first's message and stores
        nothing (a look-up in a snapshot taken before the counter was free would miss it)."""
        store, counting, users = await self.store()
        holder = await self.open()
        gate: Deferred[None] = Deferred()
        self.addCleanup(_release, gate)  # if an assertion failed
        holding: Deferred[None] = Deferred()

        async def hold(txn: Transaction) -> None:
            await txn.run("UPDATE stream_position SET position = position WHERE id = 1")
            holding.callback(None)
            await gate

        held = Deferred.fromCoroutine(holder.interaction("hold", hold))
        await holding
        other = CountingDatabase(await self.open())
        elsewhere = self.chat_batch(other, lambda first, last: None)
        here = store.store(users[0], "sent", NOW, "resent", recipient_id=users[1])
        await self.waiting_for_the_counter(counting, 1)
        there = elsewhere.store(users[0], "sent", NOW, "resent", recipient_id=users[1])
        await self.waiting_for_the_counter(other, 2)
        gate.callback(None)
        await held
        (mine, new), (theirs, new_there) = await gatherResults([here, there])
        self.assertEqual(sorted([new, new_there]), [False, True])
        self.assertEqual(mine, theirs)
        rows = await holder.read("count", "SELECT count(*) FROM messages")
        self.assertEqual(rows[0][0], 1)

    async def waiting_for_the_counter(self, store: CountingDatabase, waiting: int) -> None:
        """Until the store's batch is written and `waiting` writes wait for the locked counter."""
        while store.transactions != ["store_messages"]:
            await deferLater(reactor, 0.01)
        if self.engine != "postgres":  # SQLite's BEGIN IMMEDIATE waits out of sight
            await deferLater(reactor, 0.05)
            return
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()"  # this test runner's own database
        )
        while admin_sql(query, postgres_base_url())[0][0] < waiting:
            await deferLater(reactor, 0.01)


def _release(gate: Deferred[None]) -> None:
    if not gate.called:
        gate.callback(None)


class ChatBatchSqliteTests(SqliteEngine, ChatBatchTests, TestCase):
    pass


class ChatBatchPostgresTests(PostgresEngine, ChatBatchTests, TestCase):
    pass
