"""Administrators deleting content, end to end on both engines: any post, comment, message or
group, each recorded in the audit log; a message becomes a tombstone delivered live."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from trial_tests.support.administration import AdministrationTestMixin
from trial_tests.support.harness import PostgresEngine, SqliteEngine


class AdministrationContentTests(AdministrationTestMixin):
    async def test_delete_any_post_and_comment(self) -> None:
        """Someone else's post with its images and comments goes; a comment alone goes; both
        then 404 (a repeat too) and only the deletions that happened are recorded."""
        root, alice, bob = await self.start("alice", "bob")
        media = await self.upload(alice)
        post = await self.post(alice, "rude", media_ids=[media["id"]])
        kept = await self.post(alice, "fine")
        comment = self.expect(await self.try_comment(bob, kept["id"], "rude too"), 201)
        self.assertEqual(len(self.files()), 1)
        self.expect(await self.admin(root, "DELETE", f"/posts/{post['id']}"), 204)
        self.expect(await self.admin(root, "DELETE", f"/comments/{comment['id']}"), 204)
        self.expect_error(await self.get_post(alice, post["id"]), 404, "not_found")
        self.assertEqual(await self.comments(alice, kept["id"]), [])
        self.assertEqual(self.files(), set())
        for path in (f"/posts/{post['id']}", f"/comments/{comment['id']}", "/posts/abc"):
            self.expect_error(await self.admin(root, "DELETE", path), 404, "not_found")
        entries = [(e["action"], e["target_kind"], e["target_id"]) for e in await self.audit(root)]
        expected = [
            ("delete_comment", "comment", comment["id"]),
            ("delete_post", "post", post["id"]),
        ]
        self.assertEqual(entries, expected)

    async def test_delete_any_group(self) -> None:
        """The group goes with its posts; its members no longer find it."""
        root, alice, bob = await self.start("alice", "bob")
        group = await self.create_group(alice)
        await self.add_member(alice, group["id"], bob)
        await self.post(bob, "in the group", group_id=group["id"])
        self.expect(await self.admin(root, "DELETE", f"/groups/{group['id']}"), 204)
        for person in (alice, bob):
            response = await person.client.get(f"/api/groups/{group['id']}")
            self.expect_error(response, 404, "not_found")
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM posts"), 0)
        self.expect_error(
            await self.admin(root, "DELETE", f"/groups/{group['id']}"), 404, "not_found"
        )
        (entry,) = await self.audit(root)
        self.assertEqual((entry["action"], entry["target_id"]), ("delete_group", group["id"]))

    async def test_delete_any_message(self) -> None:
        """A private message of two others becomes a tombstone: the delete frame reaches both
        of them live, as its sender's own deletion would, and history keeps the tombstone."""
        root, alice, bob = await self.start("alice", "bob")
        message = await self.message(alice, bob)
        alice_socket, bob_socket = await self.socket_of(alice), await self.socket_of(bob)
        self.expect(await self.admin(root, "DELETE", f"/messages/{message}"), 204)
        for socket in (alice_socket, bob_socket):
            frame = await socket.next_of("delete")
            expected = {"message_id": message, "from": alice.id, "to": bob.id}
            self.assertEqual({key: frame[key] for key in expected}, expected)
        history = self.expect(await bob.client.get(f"/api/messages/private?user={alice.id}"), 200)
        (item,) = [item for item in history if item["id"] == message]
        self.assertIs(item["deleted"], True)
        self.assertNotIn("content", item)
        self.expect_error(await self.admin(root, "DELETE", "/messages/999999"), 404, "not_found")
        (entry,) = await self.audit(root)
        self.assertEqual((entry["action"], entry["target_id"]), ("delete_message", message))


class AdministrationContentSqliteTests(SqliteEngine, AdministrationContentTests, TestCase):
    pass


class AdministrationContentPostgresTests(PostgresEngine, AdministrationContentTests, TestCase):
    pass
