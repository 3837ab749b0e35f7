"""Repeated notifications collapse: while a user has an unread notification of one type from
one actor about one subject, the same again is neither stored nor pushed. End to end over REST
and a real WebSocket, on both storage engines."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from trial_tests.support.follows import FollowTestMixin
from trial_tests.support.harness import PostgresEngine, SqliteEngine

LOOPS = 5


class RepeatTests(FollowTestMixin):
    async def test_a_follow_loop_notifies_once(self) -> None:
        """Following and unfollowing again and again stores and pushes one `new_follower`;
        once it is read, the next follow notifies again."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        target = await self.socket(bob)
        for _ in range(LOOPS):
            await self.follows(alice, bob)
            self.expect(await self.unfollow(alice, bob), 204)
        first = await self.next_notification(target, "new_follower", alice)
        await self.barrier(target, bob, carol)
        stored = await self.notifications(bob)
        self.assertEqual(
            [item["id"] for item in stored if item["actor_id"] == alice.id], [first["id"]]
        )
        self.expect(await bob.client.post("/api/notifications/read", {"ids": [first["id"]]}), 204)
        await self.follows(alice, bob)
        again = await self.next_notification(target, "new_follower", alice)
        self.assertGreater(again["id"], first["id"])
        await self.barrier(target, bob, dave)

    async def test_another_actor_or_type_is_not_a_repeat(self) -> None:
        """An unread `new_follower` from one user holds back neither another user's nor a
        `friend_request` of the same user."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.follows(alice, bob)
        await self.follows(carol, bob)
        self.expect(await self.unfollow(alice, bob), 204)
        await self.make_private(bob)
        await self.asks(alice, bob)
        listed = [(item["type"], item["actor_id"]) for item in await self.notifications(bob)]
        self.assertEqual(
            listed,
            [("friend_request", alice.id), ("new_follower", carol.id), ("new_follower", alice.id)],
        )

    async def test_an_invitation_loop_notifies_once_per_group(self) -> None:
        """Inviting and withdrawing again and again stores and pushes one `group_invite`; an
        invitation to another group is another subject, and notifies."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        invitee = await self.socket(bob)
        first = (await self.create_group(alice, "A"))["id"]
        second = (await self.create_group(alice, "B"))["id"]
        for _ in range(LOOPS):
            self.expect(await self.invite(alice, first, bob), 201)
            remove = f"/api/groups/{first}/members/{bob.id}"
            self.expect(await alice.client.request("DELETE", remove), 204)
        self.expect(await self.invite(alice, second, bob), 201)
        frames = [await invitee.next_of("notification") for _ in range(2)]
        self.assertEqual([frame["group_id"] for frame in frames], [first, second])
        await self.barrier(invitee, bob, carol)
        self.assertEqual(len(await self.notifications(bob)), 3)  # carol's follow too

    async def test_a_join_loop_notifies_the_owner_once(self) -> None:
        """Asking to join and leaving again and again stores and pushes one
        `group_join_request` to the owner."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        owner = await self.socket(alice)
        gid = (await self.create_group(alice))["id"]
        for _ in range(LOOPS):
            await self.request_to_join(bob, gid)
            self.expect(await bob.client.post(f"/api/groups/{gid}/leave"), 204)
        frame = await self.next_notification(owner, "group_join_request", bob)
        self.assertEqual(frame["group_id"], gid)
        await self.barrier(owner, alice, carol)
        self.assertEqual(len(await self.notifications(alice)), 2)


class RepeatSqliteTests(SqliteEngine, RepeatTests, TestCase):
    pass


class RepeatPostgresTests(PostgresEngine, RepeatTests, TestCase):
    pass
