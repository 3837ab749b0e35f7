"""A conversation list's unread counts read the unread messages, never the history.

Three conversations of 20,000 messages each, with a few unread in each: the statements of the
list and of the unread total (the page, the spans, the counts) must read a few dozen message
rows in all (PostgreSQL's EXPLAIN ANALYZE counts them), and SQLite must search its indexes
rather than scan the table.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from socialhub.reactor import as_reactor
from socialhub.storage.database import Database, Statement, Transaction
from socialhub.storage.engines import open_database
from socialhub.storage.migrations import migrate
from socialhub.storage.stores.conversations import (
    ConversationsStore,
    Span,
    counts_statement,
    page_statement,
    spans_statement,
)
from trial_tests.support.harness import PostgresEngine, SqliteEngine, database_url
from trial_tests.support.mixins import EngineTestMixin

BIG = 20_000
READER = 1
# Conversations of the reader: with user 2 (BIG messages from 2, the reader's own third from
# the end, no stored marker), with user 3 (BIG from 3, marker 5 before the end), group 1 (BIG
# from users 4-23, marker 7 before the end), one message from each of users 24-30, and groups
# 2-5 without messages.
UNREAD = {("user", 2): 2, ("user", 3): 5, ("group", 1): 7} | {("user", u): 1 for u in range(24, 31)}
# The message rows the list and the total may read: each conversation's newest (its last
# message, twice), the unread ones, the stop at a marker or an own message.
MESSAGE_ROWS_BOUND = 200
SERIES = "WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < {last})"


async def fill(txn: Transaction) -> None:
    """The users, groups, memberships, messages and markers above, with integers only (both
    dialects)."""
    await txn.run(
        SERIES.format(last=30) + " INSERT INTO users (id, username, username_key, email,"
        " email_key, password_hash, display_name, display_name_key, created_at)"
        " SELECT g, 'u' || g, 'u' || g, 'u' || g || '@x.org', 'u' || g || '@x.org', 'x',"
        " 'u' || g, 'u' || g, 0 FROM n"
    )
    await txn.run(
        SERIES.format(last=5) + " INSERT INTO groups (id, name, name_key, owner_id, created_at)"
        " SELECT g, 'g' || g, 'g' || g, 1, 0 FROM n"
    )
    await txn.run(
        SERIES.format(last=5) + " INSERT INTO group_members (group_id, user_id, status,"
        " created_at, joined_at) SELECT g, 1, 'member', g, g FROM n"
    )
    # Message g: 1..BIG with user 2, BIG+1..2*BIG with user 3, then group 1, then one each.
    await txn.run(
        SERIES.format(last=3 * BIG) + " INSERT INTO messages (id, sender_id, recipient_id,"
        " group_id, pair_low, pair_high, content, created_at)"
        f" SELECT g, CASE WHEN g = {BIG - 2} THEN 1 WHEN g <= {BIG} THEN 2"
        f"  WHEN g <= {2 * BIG} THEN 3 ELSE 4 + g % 20 END,"
        f" CASE WHEN g = {BIG - 2} THEN 2 WHEN g <= {2 * BIG} THEN 1 END,"
        f" CASE WHEN g > {2 * BIG} THEN 1 END,"
        f" CASE WHEN g <= {2 * BIG} THEN 1 END,"
        f" CASE WHEN g <= {BIG} THEN 2 WHEN g <= {2 * BIG} THEN 3 END,"
        " 'message ' || g, g FROM n"
    )
    await txn.run(
        SERIES.format(last=7) + " INSERT INTO messages (id, sender_id, recipient_id,"
        f" pair_low, pair_high, content, created_at) SELECT {3 * BIG} + g, 23 + g, 1, 1,"
        " 23 + g, 'hi', 0 FROM n"
    )
    await txn.run(
        "INSERT INTO private_conversations (pair_low, pair_high)"
        " SELECT DISTINCT pair_low, pair_high FROM messages WHERE pair_low IS NOT NULL"
    )
    await txn.run(
        "INSERT INTO read_markers (user_id, peer_id, group_id, up_to)"
        f" VALUES (1, 3, NULL, {2 * BIG - 5}), (1, NULL, 1, {3 * BIG - 7})"
    )


def message_rows(node: dict[str, Any]) -> int:
    """The rows of `messages` a node of an EXPLAIN ANALYZE tree and its children read."""
    read = 0
    if node.get("Relation Name") == "messages":
        kept = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
        read = (kept + node.get("Rows Removed by Index Recheck", 0)) * node["Actual Loops"]
    return read + sum(message_rows(child) for child in node.get("Plans", []))


class ConversationPlanTests(EngineTestMixin):
    async def database(self) -> Database:
        database = open_database(as_reactor(reactor), database_url(self, self.engine))
        await database.open()
        self.addCleanup(database.close)
        await migrate(database)
        await database.interaction("fill", fill)
        if self.engine == "postgres":
            # This schema's tables only: a bare ANALYZE would lock every test's tables at once.
            tables = "messages, group_members, private_conversations, read_markers"
            await database.interaction("analyze", lambda txn: txn.run("ANALYZE " + tables))
        return database

    async def test_counts(self) -> None:
        """The page and the total count what UNREAD says."""
        store = ConversationsStore(await self.database())
        found = await store.page(READER, 100, 0)
        counts = {
            ("user", c.peer.id) if c.peer else ("group", c.group_id): c.unread_count for c in found
        }
        self.assertEqual({key: n for key, n in counts.items() if n}, UNREAD)
        self.assertEqual(len(found), 14)
        self.assertEqual(await store.unread(READER), (sum(UNREAD.values()), len(UNREAD)))


async def statements(database: Database) -> list[Statement]:
    """The page's statement, the spans' and the counts' of those spans."""
    spans = [Span(*row) for row in await database.read("spans", *spans_statement(READER))]
    return [page_statement(READER, 20, 0), spans_statement(READER), counts_statement(READER, spans)]


class ConversationPlanSqliteTests(SqliteEngine, ConversationPlanTests, TestCase):
    async def test_messages_are_searched_never_scanned(self) -> None:
        """Every access to messages searches an index (SEARCH), none walks a whole table or
        index (SCAN)."""
        database = await self.database()
        for sql, args in await statements(database):
            rows = await database.read("explain", "EXPLAIN QUERY PLAN " + sql, args)
            details = [str(row[-1]) for row in rows]
            self.assertTrue(any("SEARCH m USING" in d for d in details), details)
            self.assertFalse([d for d in details if d.startswith("SCAN m")], details)


class ConversationPlanPostgresTests(PostgresEngine, ConversationPlanTests, TestCase):
    async def message_rows_read(self, database: Database, statement: Statement) -> int:
        sql, args = statement
        rows = await database.read("explain", "EXPLAIN (ANALYZE, FORMAT JSON) " + sql, args)
        return message_rows(rows[0][0][0]["Plan"])

    async def test_reads_follow_the_unread_messages(self) -> None:
        """Of 60,007 messages, the statements read at most a few dozen in all."""
        database = await self.database()
        read = [await self.message_rows_read(database, s) for s in await statements(database)]
        self.assertLess(sum(read), MESSAGE_ROWS_BOUND, read)
        self.assertGreaterEqual(read[-1], sum(UNREAD.values()))
