"""How a batch of messages is written: the private-message rule in the write's own SQL, and a
resend's original, on both engines (MessagesStore.store_batch over each engine's way)."""

from __future__ import annotations

from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from socialhub.reactor import as_reactor
from socialhub.storage.database import Database, Transaction
from socialhub.storage.engines import open_database
from socialhub.storage.migrations import migrate
from socialhub.storage.stores.message_rows import (
    BLOCKED,
    NO_REPLY,
    NO_SUCH_USER,
    PRIVATE,
    TO_SELF,
    Draft,
    Refused,
)
from socialhub.storage.stores.messages import MessagesStore
from trial_tests.support.database import insert_user
from trial_tests.support.harness import PostgresEngine, SqliteEngine, database_url
from trial_tests.support.mixins import EngineTestMixin

NOW = 1_800_000_000


class MessageRuleTests(EngineTestMixin):
    """The private-message rule as the write's SQL applies it (MessagesStore.store_batch)."""

    async def people(self, count: int) -> tuple[Database, list[int]]:
        database = open_database(as_reactor(reactor), database_url(self, self.engine))
        await database.open()
        self.addCleanup(database.close)
        await migrate(database)

        async def insert(txn: Transaction) -> list[int]:
            return [await insert_user(txn, f"user{n}") for n in range(count)]

        return database, await database.interaction("people", insert)

    async def test_each_refusal_reason(self) -> None:
        """In one batch: oneself, an unknown recipient, a block either way, a private recipient
        with no follow or only a pending one are refused with their reason; a private
        recipient followed by the sender, or following the sender, accepted, is written to.
        The rule asked alone, with nothing stored (MessagesStore.refusal_of), answers the same."""
        database, (me, friend, blocker, blocked, closed, asked, followed, fan) = await self.people(
            8
        )

        async def facts(txn: Transaction) -> None:
            await txn.run(
                "UPDATE users SET is_private = ? WHERE id IN (?, ?, ?, ?, ?)",
                (True, blocker, closed, asked, followed, fan),
            )
            for blocking, target in ((blocker, me), (me, blocked)):
                await txn.run(
                    "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, 0)",
                    (blocking, target),
                )
            for follower, followee, status in (
                (me, asked, "pending"),
                (me, followed, "accepted"),
                (fan, me, "accepted"),
            ):
                await txn.run(
                    "INSERT INTO follows (follower_id, followee_id, status, created_at)"
                    " VALUES (?, ?, ?, 0)",
                    (follower, followee, status),
                )

        await database.interaction("facts", facts)
        recipients = [friend, me, 999_999, blocker, blocked, closed, asked, followed, fan]
        drafts = [Draft(me, "hi", NOW, f"c{to}", to, None) for to in recipients]
        drafts.append(Draft(999_998, "hi", NOW, None, 999_998, None))  # nobody, to themselves
        store = MessagesStore(database)
        alone = [
            await store.refusal_of(draft.sender_id, to)
            for draft, to in zip(drafts, [*recipients, 999_998], strict=True)
        ]
        outcomes = await store.store_batch(drafts)
        refusals = [o.reason if isinstance(o, Refused) else None for o in outcomes]
        self.assertEqual([None if r is None else r.reason for r in alone], refusals)
        self.assertEqual(
            refusals,
            [None, TO_SELF, NO_SUCH_USER, BLOCKED, BLOCKED, PRIVATE, PRIVATE, None, None, TO_SELF],
        )
        stored = [o for o in outcomes if not isinstance(o, Refused)]
        self.assertEqual([m.recipient_id for m, new in stored if new], [friend, followed, fan])
        rows = await database.read("count", "SELECT count(*) FROM messages")
        self.assertEqual(rows[0][0], 3)

    async def test_a_refused_client_id_twice_in_a_batch_is_refused_twice(self) -> None:
        """The second draft of a client id in one batch shares the first's refusal."""
        database, (me,) = await self.people(1)
        drafts = [Draft(me, "hi", NOW, "same", me, None) for _ in range(2)]
        outcomes = await MessagesStore(database).store_batch(drafts)
        self.assertEqual(outcomes, [Refused(TO_SELF), Refused(TO_SELF)])

    async def test_a_resend_after_a_block_gets_its_original(self) -> None:
        """A message stored, then a block: resending its client id (within 24 hours) is
        answered with the original, not refused (it was stored and delivered before the
        block); a new client id to the same recipient is refused."""
        database, (me, other) = await self.people(2)
        store = MessagesStore(database)
        [first] = await store.store_batch([Draft(me, "hi", NOW, "c1", other, None)])
        assert not isinstance(first, Refused)
        await database.interaction(
            "block",
            lambda txn: txn.run(
                "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, 0)",
                (other, me),
            ),
        )
        again, fresh = await store.store_batch(
            [
                Draft(me, "hi", NOW + 1, "c1", other, None),
                Draft(me, "hi", NOW + 1, "c2", other, None),
            ]
        )
        self.assertEqual(again, (first[0], False))
        self.assertEqual(fresh, Refused(BLOCKED))

    async def test_a_reply_names_a_message_of_its_conversation_not_deleted(self) -> None:
        """In one batch: replies to a message of the same two users (either direction) or of
        the same group are stored with it; to another pair's, to another group's, to a private
        one from a group, to a deleted or an unknown message are refused (NO_REPLY); the
        private-message rule is asked first."""
        database, (me, you, third) = await self.people(3)

        async def group(txn: Transaction, name: str) -> int:
            row = await txn.fetchone(
                "INSERT INTO groups (name, name_key, owner_id, created_at)"
                " VALUES (?, ?, ?, 0) RETURNING id",
                (name, name, me),
            )
            assert row is not None
            return int(row[0])

        ours = await database.interaction("groups", lambda txn: group(txn, "a"))
        theirs = await database.interaction("groups", lambda txn: group(txn, "b"))
        store = MessagesStore(database)
        first = [
            Draft(me, "to you", NOW, None, you, None),
            Draft(you, "to me", NOW, None, me, None),
            Draft(you, "to third", NOW, None, third, None),
            Draft(me, "in ours", NOW, None, None, ours),
            Draft(me, "in theirs", NOW, None, None, theirs),
            Draft(me, "deleted", NOW, None, you, None),
        ]
        ids = []
        for outcome in await store.store_batch(first):
            assert not isinstance(outcome, Refused), outcome
            ids.append(outcome[0].id)
        mine, yours, elsewhere, in_ours, in_theirs, gone = ids
        await database.interaction(
            "delete",
            lambda txn: txn.run("UPDATE messages SET deleted_at = 1 WHERE id = ?", (gone,)),
        )
        replies = [
            Draft(you, "re", NOW, None, me, None, mine),
            Draft(you, "re", NOW, None, me, None, yours),
            Draft(me, "re", NOW, None, None, ours, in_ours),
            Draft(me, "re", NOW, None, you, None, elsewhere),
            Draft(me, "re", NOW, None, you, None, in_ours),
            Draft(me, "re", NOW, None, None, ours, mine),
            Draft(me, "re", NOW, None, None, ours, in_theirs),
            Draft(me, "re", NOW, None, you, None, gone),
            Draft(me, "re", NOW, None, you, None, gone + 1000),
            Draft(me, "re", NOW, None, me, None, mine),
        ]
        outcomes = await store.store_batch(replies)
        refusals = [o.reason if isinstance(o, Refused) else None for o in outcomes]
        self.assertEqual(refusals, [None, None, None, *[NO_REPLY] * 6, TO_SELF])
        stored = [o[0].reply_to for o in outcomes if not isinstance(o, Refused)]
        self.assertEqual(stored, [mine, yours, in_ours])

    async def test_a_pair_is_recorded_once_by_its_first_stored_message(self) -> None:
        """private_conversations holds each pair that has a stored message, smaller id first,
        once (two messages of a pair in one batch, then another batch); a refused message and
        a group message record nothing."""
        database, (me, other, third) = await self.people(3)
        group = await database.interaction(
            "group",
            lambda txn: txn.fetchone(
                "INSERT INTO groups (name, name_key, owner_id, created_at)"
                " VALUES ('g', 'g', ?, 0) RETURNING id",
                (me,),
            ),
        )
        assert group is not None
        store = MessagesStore(database)
        await store.store_batch(
            [
                Draft(other, "a", NOW, None, me, None),
                Draft(me, "b", NOW, None, other, None),
                Draft(me, "self", NOW, None, me, None),
                Draft(me, "group", NOW, None, None, group[0]),
            ]
        )
        await store.store_batch([Draft(third, "c", NOW, None, me, None)])
        await store.store_batch([Draft(me, "d", NOW, None, other, None)])
        rows = await database.read(
            "pairs", "SELECT pair_low, pair_high FROM private_conversations ORDER BY 1, 2"
        )
        self.assertEqual([tuple(row) for row in rows], sorted([(me, other), (me, third)]))


class MessageRuleSqliteTests(SqliteEngine, MessageRuleTests, TestCase):
    pass


class MessageRulePostgresTests(PostgresEngine, MessageRuleTests, TestCase):
    pass
