"""Migrations: a database from an earlier release upgrades in place at start, keeping its
data; what a database lacks (or has beyond this release) is told without changing it."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Awaitable, Callable

import psycopg2
from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from socialhub.reactor import as_reactor
from socialhub.storage.database import Transaction, write
from socialhub.storage.engines import open_database
from socialhub.storage.migrations import (
    Migrated,
    SchemaState,
    migrate,
    migration_files,
    schema_state,
)
from trial_tests.support.harness import (
    Client,
    PostgresEngine,
    RunningServer,
    SqliteEngine,
    database_url,
    start_server,
)
from trial_tests.support.mixins import EngineTestMixin
from trial_tests.support.wsclient import connect

TOKEN = "an-old-session-token-from-release-3"
# The schema as issues 2-4 shipped it: accounts, groups and notifications, messages.
OLD_VERSION = 3
# The schema before messages outlived their users (0016).
BEFORE_DELETION = 15
# The schema before repeated unread notifications collapsed (0018).
BEFORE_REPEATS = 17


async def fill_old_database(txn: Transaction) -> None:
    """Rows written by the release of schema version 3, with its columns only."""
    for n, name in enumerate(("alice", "bob"), start=1):
        await txn.run(
            "INSERT INTO users (id, username, username_key, email, email_key, password_hash,"
            " display_name, created_at) VALUES (?, ?, ?, ?, ?, 'x', ?, 0)",
            (n, name, name, f"{name}@example.org", f"{name}@example.org", name.title()),
        )
    await txn.run(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_used_at) VALUES (?, 1, 0, ?)",
        (hashlib.sha256(TOKEN.encode()).hexdigest(), int(reactor.seconds()) - 3600),
    )
    await txn.run(
        "INSERT INTO groups (id, name, name_key, owner_id, created_at)"
        " VALUES (1, 'Old', 'old', 1, 0)"
    )
    await txn.run(
        "INSERT INTO group_members (group_id, user_id, status, created_at)"
        " VALUES (1, 1, 'member', 0)"
    )
    await txn.run(
        "INSERT INTO messages (sender_id, recipient_id, pair_low, pair_high, content, created_at)"
        " VALUES (2, 1, 1, 2, 'from the old days', 5)"
    )
    # Acked an hour before the upgrade, its client id recorded only in client_message_ids.
    an_hour_ago = int(reactor.seconds()) - 3600
    await txn.run(
        "INSERT INTO messages (sender_id, recipient_id, pair_low, pair_high, content, created_at)"
        " VALUES (1, 2, 1, 2, 'just before the upgrade', ?)",
        (an_hour_ago,),
    )
    await txn.run(
        "INSERT INTO client_message_ids (user_id, client_id, message_id, acked_at)"
        " SELECT 1, 'sent-before', max(id), ? FROM messages",
        (an_hour_ago,),
    )


async def fill_people(txn: Transaction) -> None:
    """alice (1) and bob (2), with the current columns, and a session of alice's (TOKEN)."""
    for n, name in enumerate(("alice", "bob"), start=1):
        await txn.run(
            "INSERT INTO users (id, username, username_key, email, email_key, password_hash,"
            " display_name, display_name_key, created_at) VALUES (?, ?, ?, ?, ?, 'x', ?, ?, 0)",
            (n, name, name, f"{name}@example.org", f"{name}@example.org", name, name),
        )
    await txn.run(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_used_at) VALUES (?, 1, ?, ?)",
        (hashlib.sha256(TOKEN.encode()).hexdigest(), *(int(reactor.seconds()),) * 2),
    )


async def fill_conversation(txn: Transaction) -> None:
    """Two users, a session of the first, three messages between them of which the newest
    was taken back out (its id used), a reaction and an edit of the first."""
    await fill_people(txn)
    for n, (sender, recipient) in enumerate(((2, 1), (1, 2), (2, 1)), start=1):
        await txn.run(
            "INSERT INTO messages (sender_id, recipient_id, pair_low, pair_high, content,"
            " created_at, stream_pos) VALUES (?, ?, 1, 2, ?, 5, ?)",
            (sender, recipient, f"message {n}", n),
        )
    await txn.run("DELETE FROM messages WHERE id = 3")
    await txn.run("INSERT INTO reactions (message_id, user_id, emoji) VALUES (1, 1, 'ok')")
    await txn.run(
        "INSERT INTO message_changes (message_id, kind, actor_id, sender_id, recipient_id,"
        " content, created_at, stream_pos) VALUES (2, 'edit', 1, 1, 2, 'message 2', 6, 4)"
    )
    await txn.run("UPDATE stream_position SET position = 4")


async def fill_repeats(txn: Transaction) -> None:
    """alice with a session, three unread `new_follower` from bob (the same), one read, and
    two unread comments of bob's."""
    await fill_people(txn)
    rows = [("new_follower", "bob started following you", False)] * 3
    rows += [("new_follower", "bob started following you", True)]
    rows += [("post_comment", "bob commented on your post", False)] * 2
    for n, (kind, message, read) in enumerate(rows, start=1):
        await txn.run(
            "INSERT INTO notifications (user_id, type, message, is_read, created_at, actor_id,"
            " stream_pos) VALUES (1, ?, ?, ?, 0, 2, ?)",
            (kind, message, read, n),
        )
    await txn.run("UPDATE stream_position SET position = ?", (len(rows),))


class UpgradeTests(EngineTestMixin):
    async def upgraded_from(
        self, version: int, fill: Callable[[Transaction], Awaitable[None]]
    ) -> RunningServer:
        """A current server started on a database of schema `version` that `fill` filled."""
        url = database_url(self, self.engine)
        old = open_database(as_reactor(reactor), url)
        await old.open()
        await migrate(old, up_to=version)
        await old.interaction("fill", fill)
        await old.close()
        return await start_server(self, self.engine, database=url)

    async def test_old_database_upgrades_in_place(self) -> None:
        """Schema 3 with data, then a current server starts on it: the schema is brought up
        to date and the old session, user, group and messages all still work, and a client
        id acked before the upgrade still names its message."""
        url = database_url(self, self.engine)
        old = open_database(as_reactor(reactor), url)
        await old.open()
        self.assertEqual((await migrate(old, up_to=OLD_VERSION)).version, OLD_VERSION)
        await old.interaction("fill", fill_old_database)
        await old.close()
        running = await start_server(self, self.engine, database=url)
        newer = tuple(version for version, _ in migration_files() if version > OLD_VERSION)
        self.assertEqual(running.server.schema, Migrated(newer, newer[-1]))
        client = Client(running.url)
        headers = {"Cookie": f"socialhub_session={TOKEN}"}
        me = await client.get("/api/auth/me", headers=headers)
        self.assertEqual(me.status, 200, me.raw)
        self.assertEqual((me.json["username"], me.json["followers_count"]), ("alice", 0))
        history = await client.get("/api/messages/private?user=2", headers=headers)
        contents = ["just before the upgrade", "from the old days"]
        self.assertEqual([m["content"] for m in history.json], contents)
        socket = await connect(running.url, TOKEN)
        self.addCleanup(socket.close)
        socket.send({"type": "private", "to": 2, "content": "again", "id": "sent-before"})
        ack = await socket.next_of("ack")
        self.assertEqual((ack["id"], ack["message_id"]), ("sent-before", history.json[0]["id"]))
        group = await client.get("/api/groups/1", headers=headers)
        self.assertEqual((group.json["name"], group.json["membership"]), ("Old", "owner"))
        found = await client.get("/api/users?q=BO", headers=headers)
        self.assertEqual([user["username"] for user in found.json], ["bob"])

    async def test_messages_outlive_their_users_after_the_upgrade(self) -> None:
        """A database from before account deletion keeps its messages, their reactions and
        changes, and the ids already used, through the upgrade (SQLite copies the table); then
        a deleted user's messages stay, as tombstones, on both engines."""
        running = await self.upgraded_from(BEFORE_DELETION, fill_conversation)
        headers = {"Cookie": f"socialhub_session={TOKEN}"}
        client = Client(running.url)
        history = (await client.get("/api/messages/private?user=2", headers=headers)).json
        self.assertEqual([m["id"] for m in history], [2, 1])
        self.assertEqual(history[1]["reactions"], [{"emoji": "ok", "count": 1, "mine": True}])
        socket = await connect(running.url, TOKEN)
        self.addCleanup(socket.close)
        socket.send({"type": "private", "to": 2, "content": "after", "id": "after"})
        self.assertEqual((await socket.next_of("ack"))["message_id"], 4)
        await running.server.handlers.account_deletion.delete_account(2, actor=None)
        history = (await client.get("/api/messages/private?user=2", headers=headers)).json
        self.assertEqual([m["id"] for m in history], [4, 2, 1])
        self.assertEqual([m.get("deleted", False) for m in history], [False, False, True])

    async def test_repeated_unread_notifications_collapse_in_the_upgrade(self) -> None:
        """Unread repeats stored before 0018 are marked read but the oldest (comments stay
        as they were); after it, the database itself refuses a repeat."""
        running = await self.upgraded_from(BEFORE_REPEATS, fill_repeats)
        headers = {"Cookie": f"socialhub_session={TOKEN}"}
        listed = (await Client(running.url).get("/api/notifications", headers=headers)).json
        unread = [item["id"] for item in listed if not item["is_read"]]
        self.assertEqual(unread, [6, 5, 1])
        repeat = (
            "INSERT INTO notifications (user_id, type, message, created_at, actor_id)"
            " VALUES (1, 'new_follower', 'bob started following you', 0, 2)"
        )
        with self.assertRaises((sqlite3.IntegrityError, psycopg2.IntegrityError)):
            await write(running.server.database, "repeat", repeat, ())

    async def test_schema_state_says_what_is_missing_or_unknown(self) -> None:
        """Nothing applied, part, all, and a version from a newer release: each is told apart,
        and reading the state creates nothing (not even schema_version)."""
        database = open_database(as_reactor(reactor), database_url(self, self.engine))
        await database.open()
        self.addCleanup(database.close)
        shipped = [version for version, _ in migration_files()]
        self.assertEqual(await schema_state(database), SchemaState(shipped, []))
        self.assertEqual(await database.tables(), [])
        await migrate(database, up_to=OLD_VERSION)
        state = await schema_state(database)
        self.assertEqual((state.missing, state.current), (shipped[OLD_VERSION:], False))
        self.assertIn(f"lacks migrations {OLD_VERSION + 1:04d}", state.problem())
        await migrate(database)
        self.assertTrue((await schema_state(database)).current)
        await write(database, "newer", "INSERT INTO schema_version (version) VALUES (9999)")
        state = await schema_state(database)
        self.assertEqual((state.missing, state.unknown), ([], [9999]))
        self.assertIn("unknown to this socialhub: 9999", state.problem())

    async def test_tables_are_those_the_migrations_made(self) -> None:
        """tables() lists the schema's tables, sorted, and none of the engine's own."""
        database = open_database(as_reactor(reactor), database_url(self, self.engine))
        await database.open()
        self.addCleanup(database.close)
        await migrate(database, up_to=1)
        self.assertEqual(await database.tables(), ["schema_version", "sessions", "users"])


class UpgradeSqliteTests(SqliteEngine, UpgradeTests, TestCase):
    pass


class UpgradePostgresTests(PostgresEngine, UpgradeTests, TestCase):
    pass
