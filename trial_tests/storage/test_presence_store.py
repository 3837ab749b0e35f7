"""PresenceStore on both engines: the audience is follows both ways (accepted) and private
conversations, less blocks either way, and empty while the user hides their presence.

The conversation rows are written here directly: the message write fills that table, and this
test is about the audience's SQL alone."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from socialhub.storage.database import Transaction, write
from socialhub.storage.stores.presence import PresenceStore
from trial_tests.support.follows import FollowTestMixin
from trial_tests.support.harness import PostgresEngine, SqliteEngine


class PresenceStoreTests(FollowTestMixin):
    async def test_audience_and_visible(self) -> None:
        names = ("alice", "follower", "followee", "pending", "partner", "blocked", "stranger")
        alice, follower, followee, pending, partner, blocked, stranger = await self.start(*names)
        await self.follows(follower, alice)
        await self.follows(alice, followee)
        await self.make_private(alice)
        await self.asks(pending, alice)
        database = self.running.server.database

        async def converse(txn: Transaction) -> None:
            for other in (partner, blocked):
                pair = sorted((alice.id, other.id))
                await txn.run(
                    "INSERT INTO private_conversations (pair_low, pair_high) VALUES (?, ?)", pair
                )

        await database.interaction("converse", converse)
        self.expect(await blocked.client.post(f"/api/users/{alice.id}/block"), 204)
        store = PresenceStore(database)
        audience = {follower.id, followee.id, partner.id}
        self.assertEqual(set(await store.audience(alice.id)), audience)
        everyone = [person.id for person in (alice, follower, followee, pending, partner, blocked)]
        for person in (follower, followee, partner):
            self.assertEqual(await store.visible(person.id, everyone), {alice.id})
        for person in (pending, blocked, stranger):
            self.assertEqual(await store.visible(person.id, everyone), set())
        self.assertEqual(await store.visible(alice.id, everyone), audience)

        await write(database, "hide", "UPDATE users SET show_presence = ? WHERE id = ?",
                    (False, alice.id))  # fmt: skip
        self.assertEqual(await store.audience(alice.id), [])
        self.assertEqual(set(await store.audience(alice.id, hidden_too=True)), audience)
        self.assertEqual(await store.visible(follower.id, [alice.id]), set())


class PresenceStoreSqliteTests(SqliteEngine, PresenceStoreTests, TestCase):
    pass


class PresenceStorePostgresTests(PostgresEngine, PresenceStoreTests, TestCase):
    pass
