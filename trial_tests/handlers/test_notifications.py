"""Notifications, end to end on both storage engines.

The live push is watched through a stand-in connection registered with the server's connections,
the same Connection interface the WebSocket protocol implements.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

import psycopg2
from twisted.trial.unittest import TestCase

from socialhub.storage.database import Transaction
from socialhub.storage.stores.notifications import CHUNK, Notice, Notification, NotificationsStore
from trial_tests.support.counting import CountingTransaction
from trial_tests.support.groups import RFC3339, FakeConnection, Person, SocialTestMixin
from trial_tests.support.harness import PostgresEngine, SqliteEngine

NOW = 1_700_000_000


class CommitWitness(FakeConnection):
    """A connection that, as each frame arrives, asks a separate database connection whether
    the frame's notification is already committed (it must be: push after commit)."""

    def __init__(self, user_id: int, database_url: str) -> None:
        super().__init__(user_id)
        self._url = database_url
        self.committed_on_arrival: list[bool] = []

    def send_payload(self, payload: bytes) -> None:
        super().send_payload(payload)
        self.committed_on_arrival.append(self._visible(self.frames[-1]["id"]))

    def _visible(self, notification_id: int) -> bool:
        sql = "SELECT COUNT(*) FROM notifications WHERE id = "
        if self._url.startswith("sqlite:"):
            with closing(sqlite3.connect(self._url.removeprefix("sqlite:"))) as connection:
                return bool(connection.execute(sql + "?", (notification_id,)).fetchone()[0])
        connection = psycopg2.connect(self._url)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql + "%s", (notification_id,))
                return bool(cursor.fetchone()[0])
        finally:
            connection.close()


class NotificationTests(SocialTestMixin):
    async def store(self, notice: Notice, now: int = NOW) -> list[Notification]:
        """Store `notice` the way handlers do, inside a transaction of its own."""

        async def add(txn: Transaction) -> list[Notification]:
            return await NotificationsStore.add(txn, notice, now)

        stored: list[Notification] = await self.running.server.database.interaction("add", add)
        return stored

    async def invitations(self, owner: Person, invitee: Person, count: int) -> list[int]:
        """Invite `invitee` to `count` new groups; returns the group ids, oldest first."""
        ids = []
        for number in range(count):
            group = await self.create_group(owner, f"Group {number}")
            self.expect(await self.invite(owner, group["id"], invitee), 201)
            ids.append(group["id"])
        return ids

    async def unread(self, person: Person) -> int:
        count = self.expect(await person.client.get("/api/notifications/unread_count"), 200)
        self.assertEqual(set(count), {"count"})
        result: int = count["count"]
        return result

    async def test_list_is_newest_first_with_the_contract_fields(self) -> None:
        """GET /api/notifications lists the viewer's notifications newest first; reference ids
        appear only when set, group_id as an integer."""
        alice, bob = await self.start("alice", "bob")
        group_ids = await self.invitations(alice, bob, 3)
        listed = await self.notifications(bob)
        self.assertEqual([item["group_id"] for item in listed], group_ids[::-1])
        self.assertEqual(
            [item["id"] for item in listed], sorted(item["id"] for item in listed)[::-1]
        )
        first = listed[0]
        self.assertEqual(
            set(first), {"id", "type", "message", "is_read", "created_at", "actor_id", "group_id"}
        )
        self.assertEqual((first["type"], first["is_read"]), ("group_invite", False))
        self.assertEqual(first["message"], "You were invited to join group 'Group 2'")
        self.assertRegex(first["created_at"], RFC3339)
        self.assertEqual(await self.notifications(alice), [])

    async def test_optional_references_appear_only_when_set(self) -> None:
        """post_id and event_id appear when a notification has them; unset ones never do."""
        (alice,) = await self.start("alice")
        await self.store(Notice([alice.id], "post_like", "Someone liked your post", post_id=5))
        await self.store(Notice([alice.id], "new_event", "An event", event_id=9))
        event, like = await self.notifications(alice)
        self.assertEqual((like["post_id"], event["event_id"]), (5, 9))
        self.assertNotIn("actor_id", like)
        self.assertNotIn("group_id", like)
        self.assertNotIn("event_id", like)
        self.assertNotIn("post_id", event)
        self.assertEqual(like["created_at"], "2023-11-14T22:13:20Z")

    async def test_paging(self) -> None:
        """Default limit 20, limit and offset, limit=0 is [], clamped at 100, bad values 400."""
        (alice,) = await self.start("alice")
        ids = []
        for number in range(25):
            (stored,) = await self.store(Notice([alice.id], "new_post", f"post {number}"))
            ids.append(stored.id)
        newest_first = ids[::-1]
        page = await self.notifications(alice)
        self.assertEqual([item["id"] for item in page], newest_first[:20])
        page = await self.notifications(alice, "?limit=5&offset=20")
        self.assertEqual([item["id"] for item in page], newest_first[20:25])
        self.assertEqual(await self.notifications(alice, "?limit=0"), [])
        self.assertEqual(len(await self.notifications(alice, "?limit=1000")), 25)
        for query in ("?limit=x", "?limit=-1", "?offset=-2", "?offset=y"):
            response = await alice.client.get("/api/notifications" + query)
            self.expect_error(response, 400, "invalid_request")

    async def test_storing_for_many_users_is_one_statement_per_chunk(self) -> None:
        """NotificationsStore.add stores a notice for every recipient with one multi-row INSERT
        per CHUNK recipients (and one update of the stream counter each), not one round trip
        per recipient."""
        (alice,) = await self.start("alice")
        count = CHUNK + 200

        async def bulk(txn: Transaction) -> tuple[list[Notification], int]:
            await txn.run(
                "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
                " INSERT INTO users (username, username_key, email, email_key, password_hash,"
                " display_name, created_at)"
                " SELECT 'bulk' || i, 'bulk' || i, 'bulk' || i || '@example.org',"
                " 'bulk' || i || '@example.org', 'x', 'bulk', 0 FROM n",
                (count - 1,),
            )
            rows = await txn.fetch("SELECT id FROM users ORDER BY id")
            counting = CountingTransaction(txn)
            notice = Notice([row[0] for row in rows], "new_post", "new post", actor_id=alice.id)
            stored = await NotificationsStore.add(counting, notice, NOW)
            return stored, counting.statements

        stored, statements = await self.running.server.database.interaction("bulk", bulk)
        self.assertEqual(statements, 4)
        self.assertEqual(len(stored), count)
        self.assertEqual(len({notification.user_id for notification in stored}), count)
        self.assertEqual(len({notification.id for notification in stored}), count)
        self.assertTrue(all(notification.actor_id == alice.id for notification in stored))
        self.assertEqual(
            [item["message"] for item in await self.notifications(alice)], ["new post"]
        )

    async def test_mark_all_read(self) -> None:
        """POST /api/notifications/read without a body marks every one read (204), only the
        viewer's."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.invitations(alice, bob, 2)
        await self.invitations(alice, carol, 1)
        self.assertEqual(await self.unread(bob), 2)
        self.expect(await bob.client.post("/api/notifications/read"), 204)
        self.assertEqual(await self.unread(bob), 0)
        self.assertEqual({item["is_read"] for item in await self.notifications(bob)}, {True})
        self.assertEqual(await self.unread(carol), 1)
        self.expect(await bob.client.post("/api/notifications/read", {}), 204)

    async def test_mark_read_by_ids_touches_only_the_viewers_own(self) -> None:
        """With {"ids": [...]} only those of the viewer's notifications are marked read; another
        user's id in the list changes nothing of theirs."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.invitations(alice, bob, 3)
        await self.invitations(alice, carol, 1)
        bob_ids = [item["id"] for item in await self.notifications(bob)]
        carol_id = (await self.notifications(carol))[0]["id"]
        body = {"ids": [bob_ids[0], str(bob_ids[2]), carol_id, 999999]}
        self.expect(await bob.client.post("/api/notifications/read", body), 204)
        read = {item["id"]: item["is_read"] for item in await self.notifications(bob)}
        self.assertEqual(read, {bob_ids[0]: True, bob_ids[1]: False, bob_ids[2]: True})
        self.assertEqual(await self.unread(bob), 1)
        self.assertEqual(await self.unread(carol), 1)
        self.expect(await bob.client.post("/api/notifications/read", {"ids": []}), 204)
        self.assertEqual(await self.unread(bob), 1)

    async def test_mark_read_refuses_invalid_ids(self) -> None:
        """ids that are not a list of valid ids are 400, and nothing is marked read."""
        alice, bob = await self.start("alice", "bob")
        await self.invitations(alice, bob, 1)
        for ids in ("1", 5, None, {"a": 1}, [True], [1.5], [0], [-1], ["x"], [2**63], [[1]]):
            response = await bob.client.post("/api/notifications/read", {"ids": ids})
            self.expect_error(response, 400, "invalid_request")
        response = await bob.client.post("/api/notifications/read", {"ids": list(range(1, 1002))})
        self.expect_error(response, 400, "invalid_request")
        self.assertEqual(await self.unread(bob), 1)

    async def test_unread_count_follows_new_and_read_notifications(self) -> None:
        """unread_count counts the viewer's unread notifications."""
        alice, bob = await self.start("alice", "bob")
        self.assertEqual(await self.unread(bob), 0)
        await self.invitations(alice, bob, 2)
        self.assertEqual(await self.unread(bob), 2)
        first = (await self.notifications(bob))[0]["id"]
        self.expect(await bob.client.post("/api/notifications/read", {"ids": [first]}), 204)
        self.assertEqual(await self.unread(bob), 1)
        self.assertEqual(await self.unread(alice), 0)

    async def test_routes_need_a_session(self) -> None:
        """Every notification route answers 401 without a session."""
        await self.start()
        anonymous = self.running.client()
        for method, path in (
            ("GET", "/api/notifications"),
            ("POST", "/api/notifications/read"),
            ("GET", "/api/notifications/unread_count"),
        ):
            self.expect_error(await anonymous.request(method, path), 401, "unauthorized")

    async def test_invitation_is_pushed_live_to_every_connection_of_the_invitee(self) -> None:
        """The stored group_invite reaches each open connection of the invitee as a notification
        frame with the stored id; nobody else receives it."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        phone, laptop = await self.watch(bob), await self.watch(bob)
        others = [await self.watch(alice), await self.watch(carol)]
        gid = (await self.create_group(alice, "Developers"))["id"]
        self.expect(await self.invite(alice, gid, bob), 201)
        (stored,) = await self.notifications(bob)
        expected: dict[str, Any] = {
            "type": "notification",
            "id": stored["id"],
            "subtype": "group_invite",
            "message": "You were invited to join group 'Developers'",
            "group_id": gid,
            "actor_id": alice.id,
        }
        for connection in (phone, laptop):
            (frame,) = connection.frames
            timestamp = frame.pop("timestamp")
            self.assertIsInstance(timestamp, int)
            # A stored frame carries a cursor to resume from.
            self.assertIsInstance(frame.pop("cursor"), str)
            self.assertEqual(frame, expected)
        self.assertEqual([connection.frames for connection in others], [[], []])

    async def test_join_request_and_acceptance_are_pushed_live(self) -> None:
        """The owner is pushed group_join_request, the requester then group_join_accept."""
        alice, bob = await self.start("alice", "bob")
        owner, requester = await self.watch(alice), await self.watch(bob)
        gid = (await self.create_group(alice, "Developers"))["id"]
        await self.request_to_join(bob, gid)
        self.expect(await alice.client.post(f"/api/groups/{gid}/requests/{bob.id}/accept"), 204)
        self.assertEqual([frame["subtype"] for frame in owner.frames], ["group_join_request"])
        self.assertEqual([frame["subtype"] for frame in requester.frames], ["group_join_accept"])
        self.assertEqual(owner.frames[0]["message"], "bob asked to join group 'Developers'")
        self.assertEqual(owner.frames[0]["id"], (await self.notifications(alice))[0]["id"])
        self.assertEqual(requester.frames[0]["id"], (await self.notifications(bob))[0]["id"])

    async def test_push_comes_after_commit(self) -> None:
        """When the frame arrives, its notification is already committed (seen by another
        database connection)."""
        alice, bob = await self.start("alice", "bob")
        witness = CommitWitness(bob.id, self.running.server.config.database)
        await self.attach(witness)
        gid = (await self.create_group(alice))["id"]
        self.expect(await self.invite(alice, gid, bob), 201)
        self.assertEqual(witness.committed_on_arrival, [True])

    async def test_nothing_is_pushed_when_the_action_is_refused(self) -> None:
        """A refused invitation (409, 403) or join (409) stores and pushes nothing."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        gid = (await self.create_group(alice))["id"]
        self.expect(await self.invite(alice, gid, bob), 201)
        owner, invitee, stranger = (
            await self.watch(alice),
            await self.watch(bob),
            await self.watch(carol),
        )
        self.expect_error(await self.invite(alice, gid, bob), 409, "conflict")
        self.expect_error(await self.invite(bob, gid, carol), 403, "forbidden")
        self.expect_error(await alice.client.post(f"/api/groups/{gid}/join"), 409, "conflict")
        self.assertEqual([owner.frames, invitee.frames, stranger.frames], [[], [], []])
        self.assertEqual(len(await self.notifications(bob)), 1)
        self.assertEqual(await self.notifications(carol), [])
        self.assertEqual(await self.notifications(alice), [])


class NotificationSqliteTests(SqliteEngine, NotificationTests, TestCase):
    pass


class NotificationPostgresTests(PostgresEngine, NotificationTests, TestCase):
    pass
