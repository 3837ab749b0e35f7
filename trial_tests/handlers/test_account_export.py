"""An account's export end to end, on both engines: every kind of data, the user's own only."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import TestCase

from trial_tests.support.harness import Client, PostgresEngine, SqliteEngine
from trial_tests.support.lifecycle import AccountWorldMixin, World


def column(records: list[dict[str, Any]], name: str) -> list[Any]:
    return [record[name] for record in records]


class ExportTests(AccountWorldMixin):
    async def exported(self, world: World) -> dict[str, Any]:
        response = await world.zed.client.get("/api/users/me/export")
        self.assertEqual(response.status, 200, response.raw)
        self.assertIn(b"attachment", response.headers.getRawHeaders(b"content-disposition")[0])
        document: dict[str, Any] = response.json
        return document

    async def test_export_holds_every_kind_of_data(self) -> None:
        world = await self.build_world()
        zed, ann, bob, cat, dan = world.zed, world.ann, world.bob, world.cat, world.dan
        report = {"kind": "user", "id": dan.id, "reason": "zed's own words"}
        self.assertEqual((await zed.client.post("/api/reports", report)).status, 201)
        document = await self.exported(world)
        self.assertEqual(column(document["reports_filed"], "reason"), ["zed's own words"])
        profile = document["profile"]
        self.assertEqual(
            (profile["id"], profile["username"], profile["email"], profile["is_private"]),
            (zed.id, "zed", "zed@example.org", True),
        )
        self.assertEqual(profile["avatar_media_id"], world.avatar["id"])
        self.assertNotIn("password_hash", profile)
        (post,) = document["posts"]
        self.assertEqual((post["id"], post["content"]), (world.zed_post["id"], "zed's garden"))
        self.assertEqual(post["media"], [m["url"] for m in world.zed_post["media"]])
        (comment,) = document["comments"]
        self.assertEqual((comment["post_id"], comment["content"]), (world.ann_post["id"], "thanks"))
        self.assertEqual(comment["media"], [m["url"] for m in world.zed_comment["media"]])
        self.assertEqual(column(document["likes"], "post_id"), [world.ann_post["id"]])
        self.assertEqual(column(document["following"], "followee_id"), [ann.id])
        self.assertEqual(column(document["followers"], "follower_id"), [bob.id])
        self.assertEqual(column(document["follow_requests_sent"], "followee_id"), [cat.id])
        self.assertEqual(column(document["follow_requests_received"], "follower_id"), [ann.id])
        self.assertEqual(column(document["blocks"], "blocked_id"), [dan.id])
        memberships = {(m["group_id"], m["status"]) for m in document["memberships"]}
        self.assertEqual(
            memberships,
            {
                (world.passed_group, "member"),
                (world.lone_group, "member"),
                (world.ann_group, "member"),
                (world.bob_group, "invited"),
            },
        )
        owned = column(document["owned_groups"], "id")
        self.assertEqual(owned, [world.passed_group, world.lone_group])
        self.assertEqual(column(document["events"], "id"), [world.zed_event])
        self.assertEqual(column(document["event_answers"], "event_id"), [world.ann_event])
        sent = {m["id"]: m for m in document["messages_sent"]}
        self.assertEqual(set(sent), {*world.to_ann, world.in_group})
        self.assertEqual(sent[world.to_ann[0]]["content"], "z0 edited")
        received = column(document["messages_received"], "id")
        self.assertEqual(received, world.from_ann)
        self.assertEqual(column(document["reactions"], "message_id"), [world.from_ann[0]])
        self.assertEqual(
            document["read_markers"],
            [{"peer_id": ann.id, "group_id": None, "up_to": world.from_ann[-1]}],
        )
        kinds = {n["type"] for n in document["notifications"]}
        self.assertTrue(
            {"new_follower", "friend_request", "post_comment", "post_like", "event_rsvp"} <= kinds,
            kinds,
        )
        sessions = document["sessions"]
        self.assertEqual(column(sessions, "client"), ["unknown client", "Firefox on Linux"])
        self.assertTrue(
            all(set(s) == {"id", "created_at", "last_used_at", "client"} for s in sessions)
        )
        urls = {m["url"] for m in document["media"]}
        uploads = (
            world.avatar,
            world.loose_upload,
            world.zed_comment["media"][0],
            world.zed_post["media"][0],
        )
        self.assertEqual(urls, {u["url"] for u in uploads})
        for url in urls:
            self.assertEqual((await Client(self.running.url).get(url)).status, 200, url)

    async def test_export_holds_nothing_of_others(self) -> None:
        """The export holds what others wrote only where it is zed's too (messages to zed)."""
        world = await self.build_world()
        document = await self.exported(world)
        text = str(document)
        for foreign in ("ann's garden", "lovely", "ag"):
            self.assertNotIn(f"'{foreign}'", text)
        self.assertNotIn("token_hash", text)
        self.assertNotIn("argon2", text)

    async def test_export_needs_a_session(self) -> None:
        await self.start()
        self.assertEqual((await Client(self.running.url).get("/api/users/me/export")).status, 401)


class ExportSqliteTests(SqliteEngine, ExportTests, TestCase):
    pass


class ExportPostgresTests(PostgresEngine, ExportTests, TestCase):
    pass
