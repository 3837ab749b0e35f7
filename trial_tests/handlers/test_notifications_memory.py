"""Notifications: stored for the right person, pushed live, read and unread counts."""

from __future__ import annotations

from trial_tests.support.case import MemoryCase, Person


class NotificationTests(MemoryCase):
    async def invitations(self, inviter: Person, invitee: Person, count: int) -> None:
        """`count` groups of `inviter`, each inviting `invitee`: one notification each."""
        for n in range(count):
            group_id = await self.create_group(inviter, f"Group {n}")
            self.expect(await self.invite(inviter, group_id, invitee), 201)

    async def test_mark_all_read_is_the_viewers_only(self) -> None:
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.invitations(alice, bob, 2)
        await self.invitations(alice, carol, 1)
        self.expect(await bob.client.post("/api/notifications/read"), 204)
        self.assertEqual(await self.unread(bob), 0)
        self.assertEqual({item["is_read"] for item in await self.notifications(bob)}, {True})
        self.assertEqual(await self.unread(carol), 1)

    async def test_ids_of_someone_else_change_nothing_of_theirs(self) -> None:
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.invitations(alice, bob, 1)
        await self.invitations(alice, carol, 1)
        carols = (await self.notifications(carol))[0]["id"]
        self.expect(await bob.client.post("/api/notifications/read", {"ids": [carols]}), 204)
        self.assertEqual((await self.unread(bob), await self.unread(carol)), (1, 1))

    async def test_invalid_ids_are_400_and_mark_nothing(self) -> None:
        alice, bob = await self.start("alice", "bob")
        await self.invitations(alice, bob, 1)
        for ids in ("1", [0], ["x"], [True]):
            response = await bob.client.post("/api/notifications/read", {"ids": ids})
            self.expect_error(response, 400, "invalid_request")
        self.assertEqual(await self.unread(bob), 1)

    async def test_a_notification_is_pushed_to_every_socket_of_its_owner_only(self) -> None:
        """Both of bob's sockets get the stored invitation, with its id; alice's gets nothing."""
        alice, bob = await self.start("alice", "bob")
        sockets = [await self.socket(bob), await self.socket(bob)]
        alices = await self.socket(alice)
        await self.invitations(alice, bob, 1)
        self.memory.quiesce()
        (stored,) = await self.notifications(bob)
        for socket in sockets:
            (frame,) = socket.take()
            self.assertEqual(frame["type"], "notification", frame)
            self.assertEqual((frame["id"], frame["subtype"]), (stored["id"], "group_invite"))
        self.assertEqual(alices.take(), [])

    async def test_a_follow_notifies_the_followed(self) -> None:
        """A follow of a public profile is `new_follower`, of a private one `friend_request`;
        accepting it is `friend_accept` for the requester."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.make_private(carol)
        self.expect(await self.follow(bob, alice), 201)
        self.expect(await self.follow(bob, carol), 202)
        self.expect(await carol.client.post(f"/api/follow-requests/{bob.id}/accept"), 204)
        kinds = {
            person.username: [(n["type"], n["actor_id"]) for n in await self.notifications(person)]
            for person in (alice, bob, carol)
        }
        self.assertEqual(
            kinds,
            {
                "alice": [("new_follower", bob.id)],
                "bob": [("friend_accept", carol.id)],
                "carol": [("friend_request", bob.id)],
            },
        )
