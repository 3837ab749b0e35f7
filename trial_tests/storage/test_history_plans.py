"""History pages read their conversation's index backwards, on a database upgraded with data.

Migration 0011 gives PostgreSQL the statistics that tie `pair_low` to `pair_high`; without them
it expected a handful of rows for a private conversation of hundreds, read all of them with a
bitmap heap scan and sorted them. SQLite walks the index without statistics and gets none.
"""

from __future__ import annotations

from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from socialhub.reactor import as_reactor
from socialhub.storage.database import Database, Statement, Transaction
from socialhub.storage.engines import open_database
from socialhub.storage.migrations import migrate
from socialhub.storage.stores.messages import (
    MESSAGE_COLUMNS,
    Page,
    group_page,
    private_page,
)
from trial_tests.support.harness import PostgresEngine, SqliteEngine, database_url
from trial_tests.support.mixins import EngineTestMixin

BEFORE_STATISTICS = 10
MESSAGES = 20_000
# Message g (id g + 1) is in conversation g % 150: 0-99 are private between user 1 + c % 20
# and user 21 + c (so the larger id decides the smaller, as in the benchmark), 100-149 are
# groups 1-50. Each conversation holds about 133 messages, interleaved with all the others.
CONVERSATIONS = 150
PRIVATE = 100
READER, PARTNER, GROUP = 4, 24, 7  # conversation 3 (private), conversation 106 (group 7)
SERIES = "WITH RECURSIVE n(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM n WHERE g < {last})"


async def fill(txn: Transaction) -> None:
    """120 users, 50 groups and MESSAGES messages, with integers only (both dialects)."""
    await txn.run(
        SERIES.format(last=120) + " INSERT INTO users (id, username, username_key, email,"
        " email_key, password_hash, display_name, display_name_key, created_at)"
        " SELECT g, 'u' || g, 'u' || g, 'u' || g || '@x.org', 'u' || g || '@x.org', 'x',"
        " 'u' || g, 'u' || g, 0 FROM n WHERE g > 0"
    )
    await txn.run(
        SERIES.format(last=50) + " INSERT INTO groups (id, name, name_key, owner_id, created_at)"
        " SELECT g, 'g' || g, 'g' || g, 1, 0 FROM n WHERE g > 0"
    )
    await txn.run(
        SERIES.format(last=MESSAGES - 1) + f", s(g, c) AS (SELECT g, g % {CONVERSATIONS} FROM n)"
        " INSERT INTO messages (id, sender_id, recipient_id, group_id, pair_low, pair_high,"
        " content, created_at)"
        f" SELECT g + 1, 1 + c % 20, CASE WHEN c < {PRIVATE} THEN 21 + c END,"
        f" CASE WHEN c >= {PRIVATE} THEN c - {PRIVATE - 1} END,"
        f" CASE WHEN c < {PRIVATE} THEN 1 + c % 20 END, CASE WHEN c < {PRIVATE} THEN 21 + c END,"
        " 'message ' || g, g FROM s"
    )


def newest_ids(conversation: int, before: int | None = None) -> list[int]:
    """The ids of a page of 50, newest first, by the arithmetic of `fill`."""
    ids = [g + 1 for g in range(MESSAGES) if g % CONVERSATIONS == conversation]
    return sorted((i for i in ids if before is None or i < before), reverse=True)[:50]


NEWEST: list[tuple[str, Statement, list[int]]] = [
    ("private", private_page(PARTNER, READER, Page(50)), newest_ids(3)),
    ("group", group_page(GROUP, Page(50)), newest_ids(106)),
]
# Some 60 messages are older than 9000 in each conversation: PostgreSQL may as well read them
# all and sort them as walk the index (both read about as many rows), so only their rows are
# checked there.
DEEP: list[tuple[str, Statement, list[int]]] = [
    ("deep private", private_page(READER, PARTNER, Page(50, before=9000)), newest_ids(3, 9000)),
    ("deep group", group_page(GROUP, Page(50, before=9000)), newest_ids(106, 9000)),
]


async def page_ids(database: Database, statement: Statement) -> list[int]:
    async def select(txn: Transaction) -> list[int]:
        return [row[0] for row in await txn.fetch(*statement)]

    return await database.interaction("page", select)


class HistoryPlanTests(EngineTestMixin):
    async def database(self) -> Database:
        """A database at the schema before 0011, filled (and analyzed, as autovacuum would)."""
        database = open_database(as_reactor(reactor), database_url(self, self.engine))
        await database.open()
        self.addCleanup(database.close)
        await migrate(database, up_to=BEFORE_STATISTICS)
        await database.interaction("fill", fill)
        if self.engine == "postgres":
            await database.interaction("analyze", lambda txn: txn.run("ANALYZE messages"))
        return database

    async def plan(self, database: Database, statement: Statement) -> str:
        sql, args = statement
        explain = "EXPLAIN " if self.engine == "postgres" else "EXPLAIN QUERY PLAN "

        async def select(txn: Transaction) -> str:
            return "\n".join(str(row[-1]) for row in await txn.fetch(explain + sql, args))

        return await database.interaction("explain", select)

    async def test_pages_walk_their_index_after_the_upgrade(self) -> None:
        """The newest page of a conversation of ~133 messages, private and group, walks its
        index backwards and sorts nothing; SQLite's deep pages too; every page has the right
        50 messages."""
        database = await self.database()
        await migrate(database)
        walking = NEWEST + DEEP if self.engine == "sqlite" else NEWEST
        for name, statement, _ in walking:
            index = "messages_by_group" if "group" in name else "messages_by_pair"
            plan = await self.plan(database, statement)
            if self.engine == "postgres":
                self.assertIn(f"Index Scan Backward using {index}", plan, f"{name}: {plan}")
                self.assertNotIn("Sort", plan, name)
            else:
                self.assertIn(f"USING INDEX {index}", plan, f"{name}: {plan}")
                self.assertNotIn("TEMP B-TREE", plan, name)
        for name, statement, expected in NEWEST + DEEP:
            self.assertEqual(await page_ids(database, statement), expected, name)


class HistoryPlanSqliteTests(SqliteEngine, HistoryPlanTests, TestCase):
    async def test_upgrade_writes_no_planner_statistics(self) -> None:
        """0011's CREATE STATISTICS and ANALYZE are skipped: no sqlite_stat1 to go stale."""
        database = await self.database()
        await migrate(database)
        found = await database.interaction(
            "stat1",
            lambda txn: txn.fetch("SELECT name FROM sqlite_master WHERE name LIKE 'sqlite_stat%'"),
        )
        self.assertEqual(found, [])


class HistoryPlanPostgresTests(PostgresEngine, HistoryPlanTests, TestCase):
    async def test_newest_private_page_sorted_before_the_upgrade(self) -> None:
        """What 0011 corrects, reproduced by this data: the whole conversation read and sorted.
        The page selects only ids: the columns later migrations add do not exist yet, and the
        select list does not change how the rows are found."""
        database = await self.database()
        sql, args = NEWEST[0][1]
        plan = await self.plan(database, (sql.replace(MESSAGE_COLUMNS, "m.id"), args))
        self.assertIn("Bitmap Heap Scan", plan)
        self.assertIn("Sort", plan)
