"""Deleting an account end to end, on both engines: nothing of the user stays readable through
any read endpoint, REST or WebSocket; others' data stays; a wrong password deletes nothing."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import TestCase

from socialhub.errors import NotFound
from socialhub.storage.database import Transaction
from trial_tests.support.accounts import PASSWORD
from trial_tests.support.groups import Person
from trial_tests.support.harness import Client, PostgresEngine, SqliteEngine
from trial_tests.support.lifecycle import AccountWorldMixin, World
from trial_tests.support.wsclient import WsClient

# Every table with a column naming a user, and those columns: after the deletion, none of them
# holds the deleted user's id (messages aside: their tombstones keep their sender).
USER_COLUMNS = {
    "sessions": ("user_id",),
    "follows": ("follower_id", "followee_id"),
    "blocks": ("blocker_id", "blocked_id"),
    "group_members": ("user_id",),
    "groups": ("owner_id",),
    "notifications": ("user_id", "actor_id"),
    "posts": ("author_id",),
    "post_allowed_users": ("user_id",),
    "comments": ("author_id",),
    "likes": ("user_id",),
    "media": ("owner_id",),
    "events": ("creator_id",),
    "event_rsvps": ("user_id",),
    "reactions": ("user_id",),
    "read_markers": ("user_id", "peer_id"),
    "message_changes": ("actor_id", "sender_id", "recipient_id"),
    "private_conversations": ("pair_low", "pair_high"),
    "users": ("id",),
}


class DeletionTests(AccountWorldMixin):
    async def deleted(self, world: World) -> tuple[WsClient, WsClient]:
        """zed, with a socket open in each of their two sessions, deletes their account; the
        sockets, which must both be closed with 4001."""
        sockets = await self.ws(world.zed), await self.ws(world.zed, client=world.zed_browser)
        self.expect(await self.delete_account(world.zed), 204)
        for socket in sockets:
            self.assertEqual(await socket.closed, 4001)
        return sockets

    async def get(self, person: Person, path: str, status: int = 200) -> Any:
        return self.expect(await person.client.get(path), status)

    async def test_deletion_leaves_nothing_readable(self) -> None:
        """After the deletion no read endpoint shows anything of zed's, and others' data stays."""
        world = await self.build_world()
        files_before = self.files()
        response = await self.delete_account(world.zed)
        self.expect(response, 204)
        cookies = b" ".join(response.headers.getRawHeaders(b"set-cookie")).decode()
        self.assertIn("socialhub_session=;", cookies)
        await self.check_account_gone(world)
        await self.check_posts_gone(world, files_before)
        await self.check_follows_gone(world)
        await self.check_groups_and_events(world)
        await self.check_notifications_gone(world)
        await self.check_conversations(world)
        await self.check_replay(world)
        await self.check_no_rows_left(world.zed)

    async def check_account_gone(self, world: World) -> None:
        zed, ann = world.zed, world.ann
        self.assertEqual((await world.zed_browser.get("/api/auth/me")).status, 401)
        login = {"username": "zed", "password": PASSWORD}
        signed_in = await Client(self.running.url).post("/api/auth/login", login)
        self.assertEqual(signed_in.status, 401)
        self.expect_error(await ann.client.get(f"/api/users/{zed.id}"), 404, "not_found")
        self.assertEqual(await self.get(ann, "/api/users?q=zed"), [])

    async def check_posts_gone(self, world: World, files_before: set[str]) -> None:
        """zed's post, comment and like, and every image of theirs or on their post."""
        ann, bob = world.ann, world.bob
        self.expect_error(await self.get_post(ann, world.zed_post["id"]), 404, "not_found")
        await self.get(bob, f"/api/users/{world.zed.id}/posts", 404)
        ann_post = await self.seen(ann, world.ann_post["id"])
        self.assertEqual((ann_post["like_count"], ann_post["comment_count"]), (0, 0))
        self.assertEqual(await self.comments(ann, world.ann_post["id"]), [])
        self.assertEqual(await self.feed(ann), [world.ann_post["id"]])
        self.assertEqual(await self.feed(bob), [])  # bob followed zed only
        gone = [
            world.avatar["url"],
            world.loose_upload["url"],
            world.zed_post["media"][0]["url"],
            world.zed_comment["media"][0]["url"],
            world.ann_comment["media"][0]["url"],  # on zed's post
        ]
        for url in gone:
            self.assertEqual((await Client(self.running.url).get(url)).status, 404, url)
        self.assertEqual(files_before - self.files(), {url.rsplit("/", 1)[1] for url in gone})
        kept = await Client(self.running.url).get(world.ann_upload["url"])
        self.assertEqual(kept.status, 200)

    async def check_follows_gone(self, world: World) -> None:
        """No follow, request or block of zed's either way; others' follows stay."""
        for person in world.others:
            for side in ("followers", "following"):
                users = await self.get(person, f"/api/users/{person.id}/{side}")
                self.assertNotIn(world.zed.id, [user["id"] for user in users], (person, side))
            self.assertEqual(await self.requests_of(person), [])
        followers = await self.get(world.ann, f"/api/users/{world.bob.id}/followers")
        self.assertEqual([user["id"] for user in followers], [world.ann.id])

    async def check_groups_and_events(self, world: World) -> None:
        """zed's club passes to bob, who joined it first; the one with no other member goes;
        zed's event and answer go."""
        ann, bob, cat = world.ann, world.bob, world.cat
        passed = await self.get(ann, f"/api/groups/{world.passed_group}")
        self.assertEqual((passed["owner_id"], passed["member_count"]), (bob.id, 2))
        self.expect_error(await cat.client.get(f"/api/groups/{world.lone_group}"), 404, "not_found")
        for group in (world.passed_group, world.ann_group):
            members = await self.get(ann, f"/api/groups/{group}/members")
            self.assertNotIn(world.zed.id, [member["id"] for member in members])
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM groups"), 3)
        self.expect_error(await ann.client.get(f"/api/events/{world.zed_event}"), 404, "not_found")
        event = await self.get(ann, f"/api/events/{world.ann_event}")
        self.assertEqual(event["going_count"], 0)
        events = await self.get(ann, f"/api/groups/{world.ann_group}/events")
        self.assertEqual([event["id"] for event in events], [world.ann_event])

    async def check_notifications_gone(self, world: World) -> None:
        """None caused by zed, none about what zed made."""
        for person in world.others:
            for notification in await self.notifications(person):
                self.assertNotEqual(notification.get("actor_id"), world.zed.id, notification)
                self.assertNotEqual(notification.get("post_id"), world.zed_post["id"])
                self.assertNotEqual(notification.get("event_id"), world.zed_event)

    async def check_conversations(self, world: World) -> None:
        """The private conversation leaves ann's list; its history and the group's show zed's
        messages as tombstones and ann's as they were."""
        ann = world.ann
        conversations = await self.get(ann, "/api/conversations")
        self.assertEqual(
            [(c["kind"], c["group"]["id"]) for c in conversations],
            [("group", world.ann_group), ("group", world.passed_group)],
        )
        self.assertEqual(conversations[0]["last_message"]["content"], "ag")
        history = await self.get(ann, f"/api/messages/private?user={world.zed.id}")
        self.check_tombstones(history, world.to_ann, world.from_ann, ["a1", "a0"])
        (reacted,) = [m for m in history if m["id"] == world.from_ann[0]]
        self.assertNotIn("reactions", reacted)  # zed's reaction went with zed
        group_history = await self.get(ann, f"/api/messages/group?group={world.ann_group}")
        self.check_tombstones(group_history, [world.in_group], [world.ann_in_group], ["ag"])

    async def check_replay(self, world: World) -> None:
        """The WebSocket's history, a replay from before every message: the same tombstones,
        and no edit or reaction of zed's."""
        replay = await self.ws(world.ann, since=world.cursor)
        frames = [await replay.next()]
        while frames[-1]["type"] != "resumed":
            frames.append(await replay.next())
        messages = [f for f in frames if f["type"] in ("private", "group")]
        self.check_tombstones(
            messages[::-1],
            [*world.to_ann, world.in_group],
            [*world.from_ann, world.ann_in_group],
            ["ag", "a1", "a0"],
        )
        changes = [f for f in frames if f["type"] in ("edit", "reaction")]
        self.assertEqual(changes, [])
        self.assertNotIn("z0", str(frames))

    async def check_no_rows_left(self, zed: Person) -> None:
        """Not a row names zed, but their messages' tombstones, which hold no content."""
        for table, columns in USER_COLUMNS.items():
            for name in columns:
                sql = f"SELECT COUNT(*) FROM {table} WHERE {name} = ?"
                self.assertEqual(await self.count_rows(sql, zed.id), 0, (table, name))
        left = await self.count_rows(
            "SELECT COUNT(*) FROM messages WHERE sender_id = ?"
            " AND (content <> '' OR deleted_at IS NULL)",
            zed.id,
        )
        self.assertEqual(left, 0)

    def check_tombstones(
        self, page: list[dict[str, Any]], theirs: list[int], others: list[int], contents: list[str]
    ) -> None:
        """`page` (newest first) holds `theirs` as tombstones and `others` with `contents`."""
        tombstones = [m for m in page if m["id"] in theirs]
        self.assertEqual(sorted(m["id"] for m in tombstones), sorted(theirs))
        for message in tombstones:
            self.assertIs(message["deleted"], True, message)
            self.assertNotIn("content", message)
        kept = [m for m in page if m["id"] in others]
        self.assertEqual([m["content"] for m in kept], contents)
        self.assertEqual(len(page), len(theirs) + len(others))

    async def test_sockets_closed_in_every_session(self) -> None:
        """Both of zed's sessions' sockets close with 4001; others' stay open."""
        world = await self.build_world()
        ann_socket = await self.ws(world.ann)
        await self.deleted(world)
        self.assertFalse(ann_socket.closed.called)

    async def test_the_username_may_be_registered_again(self) -> None:
        """A new account may take the name: it is a new user, with nothing of the old one's."""
        world = await self.build_world()
        await self.deleted(world)
        again = Client(self.running.url)
        user = await again.register("zed")
        self.assertGreater(user["id"], world.zed.id)
        self.assertEqual((user["followers_count"], user["following_count"]), (0, 0))
        self.assertEqual((await again.get(f"/api/users/{user['id']}/posts")).json, [])
        self.assertEqual((await again.get("/api/notifications")).json, [])
        self.assertEqual((await again.get("/api/conversations")).json, [])

    async def test_wrong_or_missing_password_deletes_nothing(self) -> None:
        world = await self.build_world()
        before = await self.get(world.zed, "/api/users/me/export")
        self.expect_error(await self.delete_account(world.zed, "wrong password"), 403, "forbidden")
        for body in (None, 12345678, "x" * 1025):
            self.expect_error(await self.delete_account(world.zed, body), 400, "invalid_request")
        self.assertEqual(await self.get(world.zed, "/api/users/me/export"), before)
        self.assertEqual(len(self.files()), 6)

    async def test_deletion_needs_a_session(self) -> None:
        await self.start()
        anonymous = Client(self.running.url)
        body = {"password": PASSWORD}
        self.assertEqual((await anonymous.request("DELETE", "/api/users/me", body)).status, 401)

    async def test_a_group_with_no_other_member_goes_whoever_was_invited(self) -> None:
        """An owned group passes to the longest-standing accepted member: invited users and
        join requests do not count; without a member it is deleted with its posts."""
        ann, bob, cat = await self.start("ann", "bob", "cat")
        group = await self.group_with(ann, "ann's club")
        self.expect(await self.invite(ann, group, bob), 201)
        self.expect(await cat.client.post(f"/api/groups/{group}/join"), 202)
        await self.post(ann, "in the group", group_id=group)
        self.expect(await self.delete_account(ann), 204)
        self.expect_error(await bob.client.get(f"/api/groups/{group}"), 404, "not_found")
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM group_members"), 0)
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM posts"), 0)

    async def test_delete_account_of_an_unknown_user(self) -> None:
        """The handler the admin route and tools call: an unknown id is NotFound."""
        await self.start("ann")
        deletion = self.running.server.handlers.account_deletion
        with self.assertRaises(NotFound):
            await deletion.delete_account(999_999, actor=None)

    async def test_deletion_is_one_transaction(self) -> None:
        """A failure halfway leaves everything as it was."""
        world = await self.build_world()
        before = await self.get(world.zed, "/api/users/me/export")
        database = self.running.server.database
        original = database.interaction

        async def failing(description: str, body: Any) -> Any:
            async def fail_at_the_end(txn: Transaction) -> Any:
                await body(txn)
                raise RuntimeError("the disk is full")

            return await original(description, fail_at_the_end)

        self.patch(database, "interaction", failing)
        response = await self.delete_account(world.zed)
        self.assertEqual(response.status, 500, response.raw)
        self.patch(database, "interaction", original)
        self.assertEqual(await self.get(world.zed, "/api/users/me/export"), before)
        self.assertEqual(len(self.files()), 6)
        self.flushLoggedErrors(RuntimeError)


class DeletionSqliteTests(SqliteEngine, DeletionTests, TestCase):
    pass


class DeletionPostgresTests(PostgresEngine, DeletionTests, TestCase):
    pass
