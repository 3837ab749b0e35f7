"""SessionsStore.live on both engines: which of many sessions still exist, asked in chunks
that keep within every engine's limit of parameters."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from socialhub.storage.database import Transaction
from socialhub.storage.stores.sessions import LIVE_CHUNK, SessionsStore
from trial_tests.support.counting import CountingDatabase
from trial_tests.support.groups import SocialTestMixin
from trial_tests.support.harness import PostgresEngine, SqliteEngine

SESSIONS = 2 * LIVE_CHUNK + 500  # three chunks, the last a partial one


class SessionsStoreTests(SocialTestMixin):
    async def test_live_among_thousands(self) -> None:
        """Of thousands of ids, the existing ones; one query per chunk of them."""
        (alice,) = await self.start("alice")
        database = self.running.server.database

        async def sessions(txn: Transaction) -> list[int]:
            await txn.run(
                "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
                " INSERT INTO sessions (token_hash, user_id, created_at, last_used_at, client)"
                " SELECT 'seeded-' || CAST(i AS TEXT), ?, 0, 0, 'test' FROM n",
                (SESSIONS, alice.id),
            )
            return [row[0] for row in await txn.fetch("SELECT id FROM sessions ORDER BY id")]

        ids = await database.interaction("seed_sessions", sessions)
        self.assertGreater(len(ids), SESSIONS)  # and alice's own
        revoked = set(ids[:: LIVE_CHUNK // 3])  # some in each chunk
        for session_id in revoked:
            await self.running.server.stores.sessions.revoke(session_id)
        asked = [*ids, ids[-1] + 1, ids[-1] + 2]  # and two that never existed
        counting = CountingDatabase(database)
        live = await SessionsStore(counting).live(asked)
        self.assertEqual(live, set(ids) - revoked)
        chunks = -(-len(asked) // LIVE_CHUNK)
        self.assertEqual(counting.reads, ["live_sessions"] * chunks)
        self.assertEqual(await SessionsStore(counting).live([]), set())
        self.assertEqual(len(counting.reads), chunks)


class SessionsStoreSqliteTests(SqliteEngine, SessionsStoreTests, TestCase):
    pass


class SessionsStorePostgresTests(PostgresEngine, SessionsStoreTests, TestCase):
    pass
