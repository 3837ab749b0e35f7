"""Blocking (docs/privacy.md), end to end on both engines: a real server, real HTTP
clients and real WebSockets.

The endpoints and their errors; the follows and requests a block removes; every rule in both
directions where the contract makes it two-way (follows, private messages, invitations); the
blocker's posts hidden from the blocked user on every read path; no notification the blocked
user causes reaching the blocker, neither stored nor live (proved with a marker: a notification
caused by someone else afterwards must be the very next frame); what a block leaves alone
(profiles, group membership, group messages); and what unblocking gives back.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, gatherResults
from twisted.trial.unittest import TestCase

from trial_tests.support.groups import LAUNCH, Person
from trial_tests.support.harness import PostgresEngine, Response, SqliteEngine
from trial_tests.support.posts import SUMMARY_KEYS, PostTestMixin, ids
from trial_tests.support.wsclient import WsClient

# Follows raced against blocks in one test.
RACES = 30
# Every stream position of stored frames, messages and notifications alike.
_POSITIONS = (
    "(SELECT stream_pos AS pos FROM messages UNION ALL SELECT stream_pos FROM notifications) s"
)


class BlockingTests(PostTestMixin):
    """Blocking's rules; in most tests alice blocks bob and carol is a bystander."""

    async def block(self, blocker: Person, target: Person | int) -> Response:
        target_id = target if isinstance(target, int) else target.id
        return await blocker.client.post(f"/api/users/{target_id}/block")

    async def unblock(self, blocker: Person, target: Person | int) -> Response:
        target_id = target if isinstance(target, int) else target.id
        return await blocker.client.request("DELETE", f"/api/users/{target_id}/block")

    async def blocks(self, blocker: Person, target: Person) -> None:
        """`blocker` blocks `target` (204, no body)."""
        self.assertIsNone(self.expect(await self.block(blocker, target), 204))

    async def blocked_ids(self, person: Person, query: str = "") -> list[int]:
        return ids(self.expect(await person.client.get("/api/blocks" + query), 200))

    async def blocked_pair(self, *others: str) -> list[Person]:
        """alice, bob and `others` on a fresh server; alice blocks bob."""
        people = await self.start("alice", "bob", *others)
        await self.blocks(people[0], people[1])
        return people

    def refused(self, response: Response) -> None:
        """A 403 `forbidden` that does not say why: the blocked user is not told of the block."""
        self.expect_error(response, 403, "forbidden")
        self.assertNotIn("block", response.json["message"].lower())

    async def send_private(self, socket: WsClient, to: Person, client_id: str) -> Any:
        """Send a private frame to `to` and return the sender's answer (ack or error)."""
        socket.send({"type": "private", "to": to.id, "content": "hi " + client_id, "id": client_id})
        return await socket.next()

    async def history(self, person: Person, other: Person) -> list[str]:
        """The contents of the private conversation as `person` reads it, newest first."""
        response = await person.client.get(f"/api/messages/private?user={other.id}")
        return [message["content"] for message in self.expect(response, 200)]

    async def assert_positions_gapless(self) -> None:
        """Every stream position handed out belongs to exactly one stored frame: a notification
        left out for a block gave its position back (a gap would hold up every later frame)."""
        counter = await self.count_rows("SELECT position FROM stream_position WHERE id = 1")
        used = await self.count_rows(f"SELECT COUNT(DISTINCT s.pos) FROM {_POSITIONS}")
        highest = await self.count_rows(f"SELECT MAX(s.pos) FROM {_POSITIONS}")
        self.assertEqual((used, highest), (counter, counter))

    async def told_nothing(
        self, socket: WsClient, blocker: Person, actor: Person, marker: Person
    ) -> None:
        """`blocker` has no notification caused by `actor`: live, the next frame on their
        socket is `marker`'s follow; stored, none names `actor`; and no position was lost."""
        await self.barrier(socket, blocker, marker)
        stored = await self.notifications(blocker)
        self.assertEqual([n for n in stored if n.get("actor_id") == actor.id], [])
        await self.assert_positions_gapless()

    async def shared_group(self, owner: Person, *members: Person) -> int:
        """A group of `owner` with `members` accepted in it."""
        group_id: int = (await self.create_group(owner, "Shared"))["id"]
        for member in members:
            await self.add_member(owner, group_id, member)
        return group_id

    async def create_event(self, person: Person, group_id: int) -> Any:
        body = {"title": "Launch", "starts_at": LAUNCH}
        return self.expect(await person.client.post(f"/api/groups/{group_id}/events", body), 201)

    # The endpoints.

    async def test_block_is_204_and_the_list_is_newest_first_and_paged(self) -> None:
        """POST block answers 204 (a repeat too, keeping its place); GET /api/blocks lists the
        blocked as user-summaries, most recent block first, paged, and only the viewer's."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        for target in (bob, carol, dave, bob):
            await self.blocks(alice, target)
        listed = self.expect(await alice.client.get("/api/blocks"), 200)
        self.assertEqual(ids(listed), [dave.id, carol.id, bob.id])
        self.assertEqual(set(listed[0]), SUMMARY_KEYS)
        self.assertEqual(listed[0]["username"], "dave")
        self.assertEqual(await self.blocked_ids(alice, "?limit=2"), [dave.id, carol.id])
        self.assertEqual(await self.blocked_ids(alice, "?limit=1&offset=2"), [bob.id])
        self.assertEqual(await self.blocked_ids(alice, "?limit=0"), [])
        self.assertEqual(await self.blocked_ids(bob), [])

    async def test_unblock_is_204_and_idempotent(self) -> None:
        """DELETE block lifts the block (204), and answers 204 again when there is none."""
        alice, bob, carol = await self.blocked_pair("carol")
        await self.blocks(alice, carol)
        self.assertIsNone(self.expect(await self.unblock(alice, bob), 204))
        self.assertEqual(await self.blocked_ids(alice), [carol.id])
        self.expect(await self.unblock(alice, bob), 204)
        self.expect(await self.unblock(bob, alice), 204)
        self.assertEqual(await self.blocked_ids(alice), [carol.id])

    async def test_block_refusals(self) -> None:
        """Oneself is 400; an unknown or invalid id 404 (DELETE too); no session 401; a bad
        page 400. None of them stores a block."""
        (alice,) = await self.start("alice")
        self.expect_error(await self.block(alice, alice), 400, "invalid_request")
        for bad in ("999999", "abc", "0", "-1", "9223372036854775808"):
            self.expect_error(await alice.client.post(f"/api/users/{bad}/block"), 404, "not_found")
            response = await alice.client.request("DELETE", f"/api/users/{bad}/block")
            self.expect_error(response, 404, "not_found")
        stranger = self.running.client()
        self.expect_error(await stranger.post(f"/api/users/{alice.id}/block"), 401, "unauthorized")
        self.expect_error(await stranger.get("/api/blocks"), 401, "unauthorized")
        response = await stranger.request("DELETE", f"/api/users/{alice.id}/block")
        self.expect_error(response, 401, "unauthorized")
        for query in ("?limit=x", "?offset=-1"):
            response = await alice.client.get("/api/blocks" + query)
            self.expect_error(response, 400, "invalid_request")
        self.assertEqual(await self.blocked_ids(alice), [])

    # What a block removes.

    async def test_a_block_removes_the_follows_both_ways(self) -> None:
        """alice and bob followed each other; after alice blocks bob neither follows the other,
        and carol's follows of both stay."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        for follower, target in ((alice, bob), (bob, alice), (carol, alice), (carol, bob)):
            await self.follows(follower, target)
        await self.blocks(alice, bob)
        self.assertEqual(await self.counts(alice), (1, 0))
        self.assertEqual(await self.counts(bob), (1, 0))
        self.assertEqual(await self.follow_status(alice, bob), "none")
        self.assertEqual(await self.follow_status(bob, alice), "none")
        followers = self.expect(await alice.client.get(f"/api/users/{alice.id}/followers"), 200)
        self.assertEqual(ids(followers), [carol.id])

    async def test_a_block_removes_the_pending_requests_both_ways(self) -> None:
        """alice and bob (both private) had asked to follow each other; after bob blocks alice
        neither request is pending, and carol's request to alice still is."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.make_private(alice)
        await self.make_private(bob)
        for follower, target in ((alice, bob), (bob, alice), (carol, alice)):
            await self.asks(follower, target)
        await self.blocks(bob, alice)
        self.assertEqual([r["user"]["id"] for r in await self.requests_of(alice)], [carol.id])
        self.assertEqual(await self.requests_of(bob), [])
        self.assertEqual(await self.follow_status(alice, bob), "none")
        self.assertEqual(await self.follow_status(bob, alice), "none")

    # Follows, private messages, invitations: refused both ways.

    async def test_follows_are_refused_both_ways(self) -> None:
        """Neither may follow the other (403, not saying "blocked"), also when the target is
        private; an unknown user is still 404 and strangers may still follow."""
        alice, bob, carol = await self.blocked_pair("carol")
        for follower, target in ((bob, alice), (alice, bob)):
            self.refused(await self.follow(follower, target))
        await self.make_private(alice)
        self.refused(await self.follow(bob, alice))
        self.expect_error(await self.follow(bob, 999999), 404, "not_found")
        await self.asks(carol, alice)
        self.assertEqual([r["user"]["id"] for r in await self.requests_of(alice)], [carol.id])
        self.assertEqual(await self.counts(bob), (0, 0))

    async def test_a_follow_reads_the_block_in_its_own_transaction(self) -> None:
        """The block is checked where the follow is written, so none committed before the
        follow's transaction can be followed across."""
        alice, bob = await self.blocked_pair()
        asked = self.record_transactions()
        self.refused(await self.follow(bob, alice))
        self.assertEqual(asked, ["follow"])

    async def test_a_follow_racing_a_block_never_survives_it(self) -> None:
        """A follow and a block sent at once, again and again: whichever commits first, there
        is never a follow between the two once both have answered."""
        alice, bob = await self.start("alice", "bob")
        for _ in range(RACES):
            following, blocking = await gatherResults(
                [
                    Deferred.fromCoroutine(self.follow(bob, alice)),
                    Deferred.fromCoroutine(self.block(alice, bob)),
                ]
            )
            self.assertEqual(blocking.status, 204)
            self.assertIn(following.status, (201, 403))
            self.assertEqual(await self.counts(alice), (0, 0))
            self.expect(await self.unblock(alice, bob), 204)

    async def test_private_messages_are_refused_both_ways_and_nothing_is_stored(self) -> None:
        """After the block a private frame either way is `forbidden` (with its client id), is
        neither stored nor delivered; the conversation from before stays readable to both."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        alice_socket, bob_socket = await self.socket(alice), await self.socket(bob)
        self.assertEqual((await self.send_private(bob_socket, alice, "before"))["type"], "ack")
        self.assertEqual((await alice_socket.next())["content"], "hi before")
        await self.blocks(alice, bob)
        for socket, to, client_id in ((alice_socket, bob, "a1"), (bob_socket, alice, "b1")):
            error = await self.send_private(socket, to, client_id)
            answer = (error.get("type"), error.get("code"), error.get("id"))
            self.assertEqual(answer, ("error", "forbidden", client_id), error)
            self.assertNotIn("block", error["message"].lower())
        await self.barrier(alice_socket, alice, carol)
        await self.barrier(bob_socket, bob, carol)
        self.assertEqual(await self.history(alice, bob), ["hi before"])
        self.assertEqual(await self.history(bob, alice), ["hi before"])

    async def test_invitations_between_the_two_are_refused_both_ways(self) -> None:
        """Neither may invite the other to a group (403, no invitation, no notification); an
        unknown group is still 404; a third member may still invite the blocked user."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        alices = await self.shared_group(alice, carol)
        bobs = (await self.create_group(bob, "Bob's"))["id"]
        await self.blocks(alice, bob)
        self.refused(await self.invite(alice, alices, bob))
        self.refused(await self.invite(bob, bobs, alice))
        self.assertIsNone(await self.membership(bob, alices))
        self.assertIsNone(await self.membership(alice, bobs))
        self.assertEqual(await self.notifications(bob), [])
        self.assertEqual(await self.notifications(alice), [])
        self.expect_error(await self.invite(alice, 999999, bob), 404, "not_found")
        self.expect(await self.invite(carol, alices, bob), 201)
        self.assertEqual(await self.membership(bob, alices), "invited")

    # Posts.

    async def alices_posts(self, alice: Person, bob: Person, carol: Person) -> dict[str, int]:
        """alice's public, followers-only and group posts (carol's group, which alice and bob
        are in, with a post of carol's too), all seen by bob, who follows alice."""
        group_id = await self.shared_group(carol, alice, bob)
        await self.follows(bob, alice)
        posts = {
            "public": (await self.post(alice, "public"))["id"],
            "followers": (await self.post(alice, "followers", privacy="followers"))["id"],
            "group": (await self.post(alice, "group", group_id=group_id))["id"],
            "carol's group": (await self.post(carol, "carol's", group_id=group_id))["id"],
            "group_id": group_id,
        }
        for key in ("public", "followers", "group"):
            await self.seen(bob, posts[key])
        return posts

    async def test_the_blocked_user_cannot_reach_the_blockers_posts(self) -> None:
        """After alice blocks bob every one of her posts is 404 to him, like a missing one:
        reading, liking, unliking, commenting, listing comments, deleting his own old comment."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        posts = await self.alices_posts(alice, bob, carol)
        old_comment = (await self.comment(bob, posts["public"]))["id"]
        await self.blocks(alice, bob)
        for key in ("public", "followers", "group"):
            post_id = posts[key]
            self.expect_error(await self.get_post(bob, post_id), 404, "not_found")
            self.expect_error(await self.like(bob, post_id), 404, "not_found")
            self.expect_error(await self.unlike(bob, post_id), 404, "not_found")
            self.expect_error(await self.try_comment(bob, post_id), 404, "not_found")
            response = await bob.client.get(f"/api/posts/{post_id}/comments")
            self.expect_error(response, 404, "not_found")
        self.expect_error(await self.delete_comment(bob, old_comment), 404, "not_found")
        self.assertEqual((await self.seen(carol, posts["public"]))["like_count"], 0)

    async def test_the_blockers_posts_leave_the_blocked_users_lists(self) -> None:
        """bob's feed, alice's posts and the shared group's posts no longer hold alice's posts
        for bob; carol's group post stays; carol still sees everything of alice's."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        posts = await self.alices_posts(alice, bob, carol)
        group_path = f"/api/groups/{posts['group_id']}/posts"
        everything = [posts[key] for key in ("carol's group", "group", "followers", "public")]
        self.assertEqual(await self.feed(bob), everything)
        await self.blocks(alice, bob)
        self.assertEqual(await self.feed(bob), [posts["carol's group"]])
        self.assertEqual(await self.posts_of(bob, alice), [])
        self.assertEqual(await self.listed(bob, group_path), [posts["carol's group"]])
        self.assertEqual(
            await self.listed(carol, group_path), [posts["carol's group"], posts["group"]]
        )
        self.assertEqual(await self.posts_of(carol, alice), [posts["group"], posts["public"]])

    async def test_the_blocker_still_sees_the_blocked_users_public_posts(self) -> None:
        """Hiding is one way, as the contract says: alice still reads bob's public post and his
        group post in a group they share; his followers-only post is gone with her follow."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        group_id = await self.shared_group(carol, alice, bob)
        await self.follows(alice, bob)
        public = (await self.post(bob, "public"))["id"]
        followers = (await self.post(bob, "followers", privacy="followers"))["id"]
        in_group = (await self.post(bob, "group", group_id=group_id))["id"]
        await self.blocks(alice, bob)
        self.assertEqual((await self.seen(alice, public))["id"], public)
        self.assertEqual((await self.seen(alice, in_group))["id"], in_group)
        self.expect_error(await self.get_post(alice, followers), 404, "not_found")
        self.assertEqual(await self.posts_of(alice, bob), [in_group, public])

    # Notifications: none from the blocked user reach the blocker.

    async def test_likes_and_comments_of_the_blocked_user_notify_nothing(self) -> None:
        """bob cannot like or comment on alice's post any more (404), and alice is told
        nothing, neither live nor stored."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        post_id = (await self.post(alice))["id"]
        await self.blocks(alice, bob)
        socket = await self.socket(alice)
        self.expect_error(await self.like(bob, post_id), 404, "not_found")
        self.expect_error(await self.try_comment(bob, post_id), 404, "not_found")
        await self.told_nothing(socket, alice, bob, carol)

    async def test_a_new_post_of_the_blocked_user_is_not_notified(self) -> None:
        """alice followed bob, then blocked him: his new post notifies her nothing (while
        carol, who follows him, is told)."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        await self.follows(alice, bob)
        await self.follows(carol, bob)
        await self.blocks(alice, bob)
        socket = await self.socket(alice)
        post_id = (await self.post(bob))["id"]
        await self.told_nothing(socket, alice, bob, dave)
        told = await self.stored_notification(carol, "new_post", bob)
        self.assertEqual(told["post_id"], post_id)

    async def test_a_join_request_of_the_blocked_user_is_not_notified(self) -> None:
        """bob asks to join alice's group after she blocked him: he is `requested` and listed to
        her, but she is told nothing; the position of the notice left out is given back."""
        alice, bob, carol = await self.blocked_pair("carol")
        group_id = (await self.create_group(alice))["id"]
        socket = await self.socket(alice)
        await self.request_to_join(bob, group_id)
        await self.told_nothing(socket, alice, bob, carol)
        requests = self.expect(await alice.client.get(f"/api/groups/{group_id}/requests"), 200)
        self.assertEqual([request["user"]["id"] for request in requests], [bob.id])

    async def test_an_rsvp_of_the_blocked_user_is_not_notified(self) -> None:
        """bob answers alice's event in a group they share: his answer counts, she is told
        nothing; dave's answer is still told to her."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        group_id = await self.shared_group(carol, alice, bob, dave)
        event_id = (await self.create_event(alice, group_id))["id"]
        await self.blocks(alice, bob)
        socket = await self.socket(alice)
        body = {"response": "going"}
        self.expect(await bob.client.post(f"/api/events/{event_id}/rsvp", body), 200)
        await self.told_nothing(socket, alice, bob, carol)
        self.expect(await dave.client.post(f"/api/events/{event_id}/rsvp", body), 200)
        self.assertEqual((await socket.next())["actor_id"], dave.id)

    async def test_a_new_event_of_the_blocked_user_is_not_notified(self) -> None:
        """bob creates an event in a group he shares with alice and carol: carol is told, alice
        is not, and the stream positions stay without a gap."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        group_id = await self.shared_group(carol, alice, bob)
        await self.blocks(alice, bob)
        socket = await self.socket(alice)
        event_id = (await self.create_event(bob, group_id))["id"]
        await self.told_nothing(socket, alice, bob, dave)
        self.assertEqual(
            (await self.stored_notification(carol, "new_event", bob))["event_id"], event_id
        )

    async def test_an_accepted_join_request_is_not_notified_by_the_blocked_owner(self) -> None:
        """alice had asked to join bob's group, then blocked him; his acceptance makes her a
        member (the group is shared space) but tells her nothing."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        group_id = (await self.create_group(bob))["id"]
        await self.request_to_join(alice, group_id)
        await self.blocks(alice, bob)
        socket = await self.socket(alice)
        accepted = await bob.client.post(f"/api/groups/{group_id}/requests/{alice.id}/accept")
        self.expect(accepted, 204)
        await self.told_nothing(socket, alice, bob, carol)
        self.assertEqual(await self.membership(alice, group_id), "member")

    # What a block leaves alone, and what unblocking gives back.

    async def test_profiles_and_public_lists_stay_visible(self) -> None:
        """Each still reads the other's profile, and bob reads alice's followers list like any
        stranger: while she is public, yes; once private, 403 (his follow went with the block)."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.follows(bob, alice)
        await self.follows(carol, alice)
        await self.blocks(alice, bob)
        self.assertEqual((await self.user_seen_by(bob, alice))["id"], alice.id)
        self.assertEqual((await self.user_seen_by(alice, bob))["id"], bob.id)
        followers = self.expect(await bob.client.get(f"/api/users/{alice.id}/followers"), 200)
        self.assertEqual(ids(followers), [carol.id])
        await self.make_private(alice)
        response = await bob.client.get(f"/api/users/{alice.id}/followers")
        self.expect_error(response, 403, "forbidden")

    async def test_group_membership_and_group_messages_are_unaffected(self) -> None:
        """In a group they share both stay members, and each one's group messages reach the
        other live."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        group_id = await self.shared_group(carol, alice, bob)
        await self.blocks(alice, bob)
        members = self.expect(await alice.client.get(f"/api/groups/{group_id}/members"), 200)
        self.assertEqual(set(ids(members)), {alice.id, bob.id, carol.id})
        sockets = {alice.id: await self.socket(alice), bob.id: await self.socket(bob)}
        for sender, receiver in ((bob, alice), (alice, bob)):
            frame = {"type": "group", "group_id": str(group_id), "content": sender.username}
            sockets[sender.id].send({**frame, "id": "g"})
            self.assertEqual((await sockets[sender.id].next())["type"], "ack")
            received = await sockets[receiver.id].next()
            self.assertEqual((received["type"], received["from"]), ("group", sender.id))
            self.assertEqual(received["content"], sender.username)

    async def test_unblocking_restores_messages_and_posts_but_not_follows(self) -> None:
        """Once alice lifts the block bob may write to her again and see her public post; the
        follows the block removed stay removed, so her followers-only post stays hidden."""
        alice, bob = await self.start("alice", "bob")
        await self.follows(bob, alice)
        public = (await self.post(alice, "public"))["id"]
        followers = (await self.post(alice, "followers", privacy="followers"))["id"]
        await self.blocks(alice, bob)
        self.expect(await self.unblock(alice, bob), 204)
        alice_socket, bob_socket = await self.socket(alice), await self.socket(bob)
        self.assertEqual((await self.send_private(bob_socket, alice, "after"))["type"], "ack")
        self.assertEqual((await alice_socket.next())["content"], "hi after")
        self.assertEqual((await self.seen(bob, public))["id"], public)
        self.expect_error(await self.get_post(bob, followers), 404, "not_found")
        self.assertEqual(await self.follow_status(bob, alice), "none")
        self.assertEqual(await self.counts(alice), (0, 0))


class BlockingSqliteTests(SqliteEngine, BlockingTests, TestCase):
    pass


class BlockingPostgresTests(PostgresEngine, BlockingTests, TestCase):
    pass
