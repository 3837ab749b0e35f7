"""Following public and private profiles, follow requests, and who may read follow lists."""

from __future__ import annotations

from trial_tests.support.case import MemoryCase, Person


class FollowTests(MemoryCase):
    async def counts(self, person: Person) -> tuple[int, int]:
        """(followers_count, following_count) of `person`, as they see themself."""
        me = self.expect(await person.client.get("/api/auth/me"), 200)
        return me["followers_count"], me["following_count"]

    async def test_a_public_profile_is_followed_at_once(self) -> None:
        alice, bob = await self.start("alice", "bob")
        self.assertEqual(self.expect(await self.follow(bob, alice), 201), {"status": "following"})
        self.assertEqual(await self.follow_status(bob, alice), "following")
        self.assertEqual((await self.counts(alice), await self.counts(bob)), ((1, 0), (0, 1)))

    async def test_a_private_profile_is_asked_and_counts_only_once_accepted(self) -> None:
        alice, bob = await self.start("alice", "bob")
        await self.make_private(alice)
        self.assertEqual(self.expect(await self.follow(bob, alice), 202), {"status": "pending"})
        self.assertEqual(await self.follow_status(bob, alice), "pending")
        self.assertEqual(await self.counts(alice), (0, 0))
        (request,) = self.expect(await alice.client.get("/api/follow-requests"), 200)
        self.assertEqual(request["user"]["id"], bob.id)
        self.expect(await alice.client.post(f"/api/follow-requests/{bob.id}/accept"), 204)
        self.assertEqual(await self.follow_status(bob, alice), "following")
        self.assertEqual(await self.counts(alice), (1, 0))
        again = await alice.client.post(f"/api/follow-requests/{bob.id}/accept")
        self.expect_error(again, 404, "not_found")

    async def test_a_declined_request_is_gone_and_may_be_made_again(self) -> None:
        alice, bob = await self.start("alice", "bob")
        await self.make_private(alice)
        self.expect(await self.follow(bob, alice), 202)
        self.expect(await alice.client.post(f"/api/follow-requests/{bob.id}/decline"), 204)
        self.assertEqual(await self.follow_status(bob, alice), "none")
        self.assertEqual(self.expect(await alice.client.get("/api/follow-requests"), 200), [])
        self.expect(await self.follow(bob, alice), 202)

    async def test_a_repeated_follow_is_200_with_the_current_status(self) -> None:
        alice, bob = await self.start("alice", "bob")
        self.expect(await self.follow(bob, alice), 201)
        self.assertEqual(self.expect(await self.follow(bob, alice), 200), {"status": "following"})
        self.assertEqual(await self.counts(alice), (1, 0))

    async def test_refusals(self) -> None:
        """Oneself is 400; an unknown user 404, for follow and unfollow alike."""
        (alice,) = await self.start("alice")
        self.expect_error(await self.follow(alice, alice), 400, "invalid_request")
        self.expect_error(await alice.client.post("/api/users/999/follow"), 404, "not_found")
        self.expect_error(await alice.client.delete("/api/users/999/follow"), 404, "not_found")

    async def test_unfollow_ends_a_follow_or_a_request_and_is_idempotent(self) -> None:
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.make_private(carol)
        self.expect(await self.follow(bob, alice), 201)
        self.expect(await self.follow(bob, carol), 202)
        for _ in range(2):
            self.expect(await self.unfollow(bob, alice), 204)
            self.expect(await self.unfollow(bob, carol), 204)
        self.assertEqual(await self.follow_status(bob, alice), "none")
        self.assertEqual(self.expect(await carol.client.get("/api/follow-requests"), 200), [])
        self.assertEqual(await self.counts(alice), (0, 0))

    async def test_going_public_accepts_pending_requests(self) -> None:
        alice, bob = await self.start("alice", "bob")
        await self.make_private(alice)
        self.expect(await self.follow(bob, alice), 202)
        await self.make_private(alice, False)
        self.assertEqual(await self.follow_status(bob, alice), "following")


class FollowListTests(MemoryCase):
    async def lists(self, viewer: Person, target: Person) -> tuple[int, int]:
        """The statuses of `target`'s followers and following lists as `viewer` asks them."""
        followers = await viewer.client.get(f"/api/users/{target.id}/followers")
        following = await viewer.client.get(f"/api/users/{target.id}/following")
        return followers.status, following.status

    async def test_lists_hold_accepted_follows_newest_first(self) -> None:
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        await self.make_private(alice)
        self.expect(await self.follow(bob, alice), 202)
        self.expect(await alice.client.post(f"/api/follow-requests/{bob.id}/accept"), 204)
        self.expect(await self.follow(carol, alice), 202)
        self.memory.advance(1)
        self.expect(await self.follow(dave, alice), 202)
        self.expect(await alice.client.post(f"/api/follow-requests/{dave.id}/accept"), 204)
        followers = self.expect(await alice.client.get(f"/api/users/{alice.id}/followers"), 200)
        self.assertEqual([user["id"] for user in followers], [dave.id, bob.id])

    async def test_a_private_profiles_lists_are_for_itself_and_accepted_followers(self) -> None:
        """403 for a stranger and a pending requester; 200 for the user and a follower."""
        alice, bob, carol, eve = await self.start("alice", "bob", "carol", "eve")
        await self.make_private(alice)
        self.expect(await self.follow(bob, alice), 202)
        self.expect(await alice.client.post(f"/api/follow-requests/{bob.id}/accept"), 204)
        self.expect(await self.follow(carol, alice), 202)
        self.assertEqual(await self.lists(alice, alice), (200, 200))
        self.assertEqual(await self.lists(bob, alice), (200, 200))
        self.assertEqual(await self.lists(carol, alice), (403, 403))
        self.assertEqual(await self.lists(eve, alice), (403, 403))
        self.expect(await self.unfollow(bob, alice), 204)
        self.assertEqual(await self.lists(bob, alice), (403, 403))

    async def test_a_public_profiles_lists_are_for_everyone(self) -> None:
        alice, eve = await self.start("alice", "eve")
        self.assertEqual(await self.lists(eve, alice), (200, 200))
        missing = await eve.client.get("/api/users/999/followers")
        self.expect_error(missing, 404, "not_found")
