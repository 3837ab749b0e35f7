"""What a block does to follows, follow requests, invitations and private messages."""

from __future__ import annotations

from trial_tests.support.case import MemoryCase, Person
from trial_tests.support.harness import Response


class BlockingTests(MemoryCase):
    def refused(self, response: Response) -> None:
        """A 403 that does not say why: the blocked user is not told of the block."""
        self.expect_error(response, 403, "forbidden")
        self.assertNotIn("block", response.json["message"].lower())

    async def requesters(self, person: Person) -> list[int]:
        found = self.expect(await person.client.get("/api/follow-requests"), 200)
        return [entry["user"]["id"] for entry in found]

    async def test_a_block_removes_the_follows_both_ways(self) -> None:
        """alice and bob followed each other; after the block neither does, carol still does."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        for follower, target in ((alice, bob), (bob, alice), (carol, alice)):
            self.expect(await self.follow(follower, target), 201)
        await self.block(alice, bob)
        self.assertEqual(await self.follow_status(alice, bob), "none")
        self.assertEqual(await self.follow_status(bob, alice), "none")
        followers = self.expect(await alice.client.get(f"/api/users/{alice.id}/followers"), 200)
        self.assertEqual([user["id"] for user in followers], [carol.id])

    async def test_a_block_removes_the_pending_requests_both_ways(self) -> None:
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.make_private(alice)
        await self.make_private(bob)
        for follower, target in ((alice, bob), (bob, alice), (carol, alice)):
            self.expect(await self.follow(follower, target), 202)
        await self.block(bob, alice)
        self.assertEqual(await self.requesters(alice), [carol.id])
        self.assertEqual(await self.requesters(bob), [])

    async def test_follows_are_refused_both_ways_until_unblocked(self) -> None:
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.block(alice, bob)
        self.refused(await self.follow(bob, alice))
        self.refused(await self.follow(alice, bob))
        self.expect(await self.follow(carol, alice), 201)
        self.expect(await alice.client.delete(f"/api/users/{bob.id}/block"), 204)
        self.expect(await self.follow(bob, alice), 201)

    async def test_invitations_between_the_two_are_refused_both_ways(self) -> None:
        """Neither may invite the other (no invitation, no notification); a third member may
        still invite the blocked user."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        alices = await self.create_group(alice, "Alice's")
        await self.add_member(alice, alices, carol)
        bobs = await self.create_group(bob, "Bob's")
        await self.block(alice, bob)
        self.refused(await self.invite(alice, alices, bob))
        self.refused(await self.invite(bob, bobs, alice))
        self.assertIsNone(await self.membership(bob, alices))
        self.assertIsNone(await self.membership(alice, bobs))
        self.assertEqual((await self.notifications(bob), await self.notifications(alice)), ([], []))
        self.expect(await self.invite(carol, alices, bob), 201)
        self.assertEqual(await self.membership(bob, alices), "invited")

    async def test_private_messages_are_refused_both_ways(self) -> None:
        """After the block a private frame either way is `forbidden` with its client id, and
        reaches nobody; a message from before stays in the history."""
        alice, bob = await self.start("alice", "bob")
        alice_socket, bob_socket = await self.socket(alice), await self.socket(bob)
        self.exchange(bob_socket, {"type": "private", "to": alice.id, "content": "hi", "id": "0"})
        self.assertEqual([frame["type"] for frame in bob_socket.take()], ["ack"])
        self.assertEqual([frame["content"] for frame in alice_socket.take()], ["hi"])
        await self.block(alice, bob)
        for socket, to, client_id in ((alice_socket, bob, "a"), (bob_socket, alice, "b")):
            self.exchange(socket, {"type": "private", "to": to.id, "content": "x", "id": client_id})
            (error,) = socket.take()
            self.assertEqual(
                (error["type"], error["code"], error["id"]), ("error", "forbidden", client_id)
            )
        self.assertEqual((alice_socket.take(), bob_socket.take()), ([], []))
        history = self.expect(await alice.client.get(f"/api/messages/private?user={bob.id}"), 200)
        self.assertEqual([message["content"] for message in history], ["hi"])
