"""socialhub-admin copy-database: a SQLite database filled through the real API, copied into
PostgreSQL by the command run as a process, compared table by table, then served."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from socialhub.reactor import as_reactor
from socialhub.storage.engines.sqlite import SqliteDatabase
from socialhub.storage.migrations import migrate
from trial_tests.support.admin_cli import run_admin
from trial_tests.support.chat import Person, register
from trial_tests.support.database import admin_sql
from trial_tests.support.harness import (
    RunningServer,
    database_url,
    fresh_postgres_url,
    start_server,
)
from trial_tests.support.images import picture
from trial_tests.support.wsclient import WsClient, connect


def _columns(target: str) -> dict[str, list[str]]:
    """Every table of the PostgreSQL copy's schema and all its columns, generated ones too."""
    rows = admin_sql(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
        target,
    )
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


def _sqlite(url: str, sql: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(url.removeprefix("sqlite:"), isolation_level=None)
    try:
        rows: list[tuple[Any, ...]] = connection.execute(sql).fetchall()
        return rows
    finally:
        connection.close()


def _comparable(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows in one order, PostgreSQL's booleans as SQLite's integers."""
    plain = [tuple(int(v) if isinstance(v, bool) else v for v in row) for row in rows]
    return sorted(plain, key=repr)


class CopyDatabaseTests(TestCase):
    timeout = 300

    async def test_a_copy_holds_every_row_and_serves_on(self) -> None:
        """Every table is copied row for row; on the copy a session still works, a cursor
        taken before resumes with exactly the same frames, media serve the same bytes, and
        new messages and ids come after the old ones."""
        media_dir = os.path.abspath(self.mktemp())
        source = database_url(self, "sqlite")
        old = await start_server(
            self, "sqlite", database=source, media_dir=media_dir, admins=frozenset({"alice"})
        )
        world = await _populate(old)
        replayed_before = await _resume(old.url, world.bob, world.cursor)
        await old.stop()

        target = fresh_postgres_url()
        copied = await run_admin("copy-database", "--from", source, "--to", target)
        self.assertEqual(copied.code, 0, copied)

        columns = _columns(target)
        sqlite_tables = _sqlite(
            source,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'",
        )
        self.assertEqual(sorted(columns), sorted(name for (name,) in sqlite_tables))
        printed = dict(line.split() for line in copied.out.splitlines())
        for table, names in columns.items():
            select = f"SELECT {', '.join(names)} FROM {table}"
            rows = _comparable(_sqlite(source, select))
            self.assertTrue(rows, f"the test writes no row of {table}: add some to _populate")
            self.assertEqual(_comparable(admin_sql(select, target)), rows, table)
            self.assertEqual(printed[table], str(len(rows)), table)

        new = await start_server(self, "postgres", database=target, media_dir=media_dir)
        await self._check_served(new, world, replayed_before)

    async def _check_served(
        self, new: RunningServer, world: World, replayed_before: list[Any]
    ) -> None:
        alice, bob = world.alice, world.bob
        for person in (alice, bob):
            person.move_to(new.url)
        me = await alice.client.get("/api/auth/me")
        self.assertEqual((me.status, me.json["username"]), (200, "alice"), me.raw)
        media = await alice.client.get(world.media_url)
        self.assertEqual((media.status, media.raw), (200, world.media_bytes))

        replayed = await _resume(new.url, bob, world.cursor)
        self.assertEqual(replayed, replayed_before)
        self.assertGreater(len(replayed), 3)  # messages, changes and notifications

        socket = await connect(new.url, bob.token, path="/ws?since=now")
        self.addCleanup(socket.close)
        resumed = await socket.next_of("resumed")
        sender = await connect(new.url, alice.token)
        self.addCleanup(sender.close)
        sender.send({"type": "private", "to": bob.id, "content": "after the move", "id": "m"})
        ack = await sender.next_of("ack")
        self.assertGreater(ack["message_id"], world.last_message_id)
        live = await socket.next_of("private")
        self.assertEqual(live["content"], "after the move")
        epoch, position = live["cursor"].rsplit("-", 1)
        self.assertEqual(epoch, world.cursor.rsplit("-", 1)[0])
        self.assertEqual(int(position), int(resumed["cursor"].rsplit("-", 1)[1]) + 1)
        post = await alice.client.post("/api/posts", {"content": "new here"})
        self.assertGreater(post.json["id"], world.last_post_id)
        comment = await alice.client.post(
            f"/api/posts/{post.json['id']}/comments", {"content": "c"}
        )
        self.assertGreater(comment.json["id"], world.deleted_comment_id)


class CopyRefusalTests(TestCase):
    timeout = 300

    async def _sqlite_at(self, version: int | None) -> str:
        """A SQLite database migrated up to `version` (None: all of them)."""
        url = database_url(self, "sqlite")
        database = SqliteDatabase(as_reactor(reactor), url.removeprefix("sqlite:"))
        await database.open()
        try:
            await migrate(database, up_to=version)
        finally:
            await database.close()
        return url

    async def refused(self, source: str, target: str, message: str) -> None:
        """Exit 1 with `message` on one line, and the target as it was."""
        before = _tables(target)
        finished = await run_admin("copy-database", "--from", source, "--to", target)
        self.assertEqual(finished.code, 1, finished)
        self.assertEqual(finished.err.count("\n"), 1, finished.err)
        self.assertIn(message, finished.err)
        self.assertEqual(_tables(target), before)

    async def test_a_target_with_tables_is_refused(self) -> None:
        target = fresh_postgres_url()
        admin_sql("CREATE TABLE keep (id INTEGER)", target)
        await self.refused(
            await self._sqlite_at(None), target, "not empty (it has the tables keep)"
        )

    async def test_a_source_behind_the_migrations_is_refused(self) -> None:
        source = await self._sqlite_at(3)
        await self.refused(source, fresh_postgres_url(), "lacks migrations 0004, 0005")

    async def test_a_table_only_the_source_has_stops_the_copy_half_way(self) -> None:
        """The schema made in the target goes with the failed copy: one transaction."""
        source = await self._sqlite_at(None)
        _sqlite(source, "CREATE TABLE extra (id INTEGER)")
        await self.refused(source, fresh_postgres_url(), "tables only in the source: extra;")

    async def test_databases_of_the_wrong_kind_or_missing(self) -> None:
        source, target = await self._sqlite_at(None), fresh_postgres_url()
        await self.refused(target, target, "--from must be a sqlite:PATH database")
        await self.refused(source, source.replace("sqlite:", "mysql:"), "--to must be")
        missing = source + ".missing"
        await self.refused(missing, target, "no SQLite database at")
        self.assertFalse(os.path.exists(missing.removeprefix("sqlite:")))


def _tables(url: str) -> list[str]:
    if not url.startswith("postgresql"):
        return []
    rows = admin_sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
        url,
    )
    return sorted(name for (name,) in rows)


class World:
    """What _populate made that the checks after the copy use."""

    def __init__(self, alice: Person, bob: Person) -> None:
        self.alice = alice
        self.bob = bob
        self.cursor = ""  # of a frame bob received early on
        self.media_url = ""
        self.media_bytes = b""
        self.last_message_id = 0
        self.last_post_id = 0
        self.deleted_comment_id = 0  # the last comment's, deleted: its id is never reused


async def _resume(url: str, person: Person, cursor: str) -> list[Any]:
    """The frames a socket resuming from `cursor` is sent, up to and with `resumed`."""
    socket = await connect(url, person.token, path=f"/ws?since={cursor}")
    frames = []
    try:
        while True:
            frame = await socket.next()
            frames.append(frame)
            if frame["type"] == "resumed":
                return frames
    finally:
        await socket.close()


async def _ok(response: Any, *statuses: int) -> Any:
    """The body of a response that must have one of `statuses` (201 by default)."""
    response = await response
    assert response.status in (statuses or (201,)), (response.status, response.raw)
    return response.json if response.raw else None


async def _populate(running: RunningServer) -> World:
    """At least one row of every table, each written by the API a client uses."""
    url = running.url
    alice, bob, carol, dave = [
        await register(url, name) for name in ("alice", "bob", "carol", "dave")
    ]
    world = World(alice, bob)
    a, b, c, d = alice.client, bob.client, carol.client, dave.client
    await _ok(d.request("PATCH", "/api/users/me", json={"is_private": True}), 200)
    await _ok(b.post(f"/api/users/{alice.id}/follow"))  # a follow
    await _ok(a.post(f"/api/users/{dave.id}/follow"), 202)  # a request
    await _ok(c.post(f"/api/users/{dave.id}/block"), 204)

    png = picture("PNG")
    upload = await _ok(a.post("/api/media", data=png, headers={"Content-Type": "image/png"}))
    avatar = await _ok(a.post("/api/media", data=png, headers={"Content-Type": "image/png"}))
    await _ok(a.request("PATCH", "/api/users/me", json={"avatar_media_id": avatar["id"]}), 200)
    world.media_url = upload["url"]
    world.media_bytes = (await a.get(upload["url"])).raw
    post = await _ok(
        a.post("/api/posts", {"content": "with a picture", "media_ids": [upload["id"]]})
    )
    only_bob = {"content": "for bob", "privacy": "private", "allowed_user_ids": [bob.id]}
    world.last_post_id = (await _ok(a.post("/api/posts", only_bob)))["id"]
    await _ok(b.post(f"/api/posts/{post['id']}/like"))
    await _ok(b.post(f"/api/posts/{post['id']}/comments", {"content": "nice"}))
    deleted = await _ok(b.post(f"/api/posts/{post['id']}/comments", {"content": "gone"}))
    await _ok(b.request("DELETE", f"/api/comments/{deleted['id']}"), 204)
    world.deleted_comment_id = deleted["id"]

    group = await _ok(a.post("/api/groups", {"name": "Walkers"}))
    gid = group["id"]
    await _ok(a.post("/api/groups/invite", {"group_id": gid, "user_id": bob.id}))
    await _ok(b.post(f"/api/groups/{gid}/invitation/accept"), 200)
    await _ok(a.post("/api/groups/invite", {"group_id": gid, "user_id": carol.id}))
    await _ok(d.post(f"/api/groups/{gid}/join"), 202)
    event = {"title": "Hike", "starts_at": "2030-05-01T09:00:00Z"}
    event_id = (await _ok(a.post(f"/api/groups/{gid}/events", event)))["id"]
    await _ok(b.post(f"/api/events/{event_id}/rsvp", {"response": "going"}), 200)

    await _chat(world, url, str(gid))
    await _administer(world, carol, dave, post["id"])
    return world


async def _administer(world: World, carol: Person, dave: Person, post_id: int) -> None:
    """Rows of the administration: alice (an administrator from the start) makes carol one (in
    the audit log), a registration token and a reset link for dave (who is signed out by it);
    carol reports a post."""
    a = world.alice.client
    await _ok(a.post(f"/api/admin/users/{carol.id}/admin"), 204)
    await _ok(a.post("/api/admin/registration-tokens", {"uses_allowed": 3}))
    await _ok(carol.client.post("/api/reports", {"kind": "post", "id": post_id, "reason": "spam"}))
    await _ok(a.post(f"/api/admin/users/{dave.id}/password-reset"), 200)


async def _chat(world: World, url: str, group_id: str) -> None:
    """Private and group messages, a reply, a reaction, an edit, a delete and read markers;
    bob's cursor is taken after the first message, so a resume replays the rest."""
    alice, bob = world.alice, world.bob
    sender, receiver = await connect(url, alice.token), await connect(url, bob.token)
    try:
        first = await _send(sender, {"type": "private", "to": bob.id, "content": "hi"}, "1")
        world.cursor = (await receiver.next_of("private"))["cursor"]
        await _send(
            receiver, {"type": "private", "to": alice.id, "content": "hey", "reply_to": first}, "2"
        )
        grouped = await _send(
            sender, {"type": "group", "group_id": group_id, "content": "all"}, "3"
        )
        await _send(
            receiver, {"type": "reaction", "message_id": grouped, "emoji": "👍", "on": True}, "4"
        )
        await _send(sender, {"type": "edit", "message_id": first, "content": "hello"}, "5")
        doomed = await _send(sender, {"type": "private", "to": bob.id, "content": "oops"}, "6")
        await _send(sender, {"type": "delete", "message_id": doomed}, "7")
        world.last_message_id = doomed
        read = {"user": alice.id, "up_to": doomed}
        await _ok(bob.client.post("/api/conversations/read", read), 204)
    finally:
        await sender.close()
        await receiver.close()


async def _send(socket: WsClient, frame: dict[str, Any], client_id: str) -> int:
    """Send a frame with a client id; the message id of its ack (None for a change)."""
    socket.send({**frame, "id": client_id})
    while True:
        answer = await socket.next()
        if answer.get("id") == client_id and answer["type"] in ("ack", "error"):
            assert answer["type"] == "ack", answer
            return int(answer.get("message_id") or 0)
