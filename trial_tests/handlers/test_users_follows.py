"""The follow graph: follows, follow requests, followers lists, their
notifications (stored and live on a real WebSocket), and the private-message rule, end to end
on both storage engines."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import TestCase

from trial_tests.support.follows import INVALID_IDS, OTHER_USER_KEYS, FollowTestMixin, ids
from trial_tests.support.groups import RFC3339, Person
from trial_tests.support.harness import PostgresEngine, SqliteEngine
from trial_tests.support.wsclient import WsClient


class FollowTests(FollowTestMixin):
    async def test_following_a_public_profile_is_immediate(self) -> None:
        """201 following; the follower sees `following` and both counts move."""
        alice, bob = await self.start("alice", "bob")
        await self.follows(alice, bob)
        self.assertEqual(await self.follow_status(alice, bob), "following")
        self.assertEqual(await self.follow_status(bob, alice), "none")
        self.assertEqual(await self.counts(bob), (1, 0))
        self.assertEqual(await self.counts(alice), (0, 1))

    async def test_following_a_private_profile_is_a_request(self) -> None:
        """202 pending; the requester sees `pending` and no count moves (accepted only)."""
        alice, bob = await self.start("alice", "bob")
        await self.make_private(bob)
        await self.asks(alice, bob)
        self.assertEqual(await self.follow_status(alice, bob), "pending")
        self.assertEqual(await self.counts(bob), (0, 0))
        self.assertEqual(await self.counts(alice), (0, 0))

    async def test_a_repeated_follow_is_200_with_the_current_status(self) -> None:
        """Following again answers 200 with the status as it is, and notifies nobody again."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.make_private(carol)
        await self.follows(alice, bob)
        await self.asks(alice, carol)
        for _ in range(2):
            self.assertEqual(
                self.expect(await self.follow(alice, bob), 200), {"status": "following"}
            )
            self.assertEqual(
                self.expect(await self.follow(alice, carol), 200), {"status": "pending"}
            )
        self.assertEqual(len(await self.notifications(bob)), 1)
        self.assertEqual(len(await self.notifications(carol)), 1)
        self.assertEqual(await self.counts(bob), (1, 0))

    async def test_follow_refusals(self) -> None:
        """Following oneself is 400; an unknown or invalid user id is 404, for follow and
        unfollow alike."""
        (alice,) = await self.start("alice")
        self.expect_error(await self.follow(alice, alice), 400, "invalid_request")
        for user_id in INVALID_IDS:
            path = f"/api/users/{user_id}/follow"
            self.expect_error(await alice.client.post(path), 404, "not_found")
            self.expect_error(await alice.client.request("DELETE", path), 404, "not_found")
        self.assertEqual(await self.counts(alice), (0, 0))
        self.assertEqual(await self.notifications(alice), [])

    async def test_unfollow_is_idempotent(self) -> None:
        """DELETE ends a follow (204), and again changes nothing (204)."""
        alice, bob = await self.start("alice", "bob")
        await self.follows(alice, bob)
        for _ in range(2):
            self.expect(await self.unfollow(alice, bob), 204)
            self.assertEqual(await self.follow_status(alice, bob), "none")
            self.assertEqual(await self.counts(bob), (0, 0))
        self.expect(await self.unfollow(alice, alice), 204)
        await self.follows(alice, bob)  # and one may follow again

    async def test_unfollow_cancels_a_request(self) -> None:
        """DELETE withdraws a pending request: it leaves the target's requests."""
        alice, bob = await self.start("alice", "bob")
        await self.make_private(bob)
        await self.asks(alice, bob)
        self.expect(await self.unfollow(alice, bob), 204)
        self.assertEqual(await self.requests_of(bob), [])
        self.assertEqual(await self.follow_status(alice, bob), "none")
        self.expect_error(await self.answer(bob, alice, "accept"), 404, "not_found")

    async def test_follow_requests_lists_incoming_pending_only(self) -> None:
        """GET /api/follow-requests: requests to the viewer, newest first, each the requester's
        user object as the viewer sees it with the time of the request; not the viewer's own
        requests, not accepted follows; paged."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        await self.make_private(alice)
        await self.make_private(dave)
        await self.follows(alice, bob)
        await self.asks(bob, alice)
        await self.asks(carol, alice)
        await self.asks(alice, dave)
        self.expect(await self.answer(alice, bob, "accept"), 204)
        await self.asks(dave, alice)
        found = await self.requests_of(alice)
        self.assertEqual([set(entry) for entry in found], [{"user", "created_at"}] * 2)
        self.assertEqual([entry["user"]["id"] for entry in found], [dave.id, carol.id])
        self.assertRegex(found[0]["created_at"], RFC3339)
        self.assertEqual(set(found[0]["user"]), OTHER_USER_KEYS)
        self.assertEqual(found[0]["user"]["follow_status"], "pending")
        self.assertEqual(found[1]["user"]["follow_status"], "none")
        paged = await self.requests_of(alice, "?limit=1&offset=1")
        self.assertEqual([entry["user"]["id"] for entry in paged], [carol.id])
        self.assertEqual(await self.requests_of(bob), [])
        response = await alice.client.get("/api/follow-requests?limit=x")
        self.expect_error(response, 400, "invalid_request")

    async def test_accepting_a_request_makes_a_follower(self) -> None:
        """Accept is 204; the requester now follows (status, counts) and the request is gone, so
        answering it again is 404."""
        alice, bob = await self.start("alice", "bob")
        await self.make_private(bob)
        await self.asks(alice, bob)
        self.expect(await self.answer(bob, alice, "accept"), 204)
        self.assertEqual(await self.follow_status(alice, bob), "following")
        self.assertEqual(await self.counts(bob), (1, 0))
        self.assertEqual(await self.counts(alice), (0, 1))
        self.assertEqual(await self.requests_of(bob), [])
        for verdict in ("accept", "decline"):
            self.expect_error(await self.answer(bob, alice, verdict), 404, "not_found")
        self.assertEqual(await self.follow_status(alice, bob), "following")

    async def test_declining_a_request_removes_it_silently(self) -> None:
        """Decline is 204; the requester is back to `none`, is not notified, and may ask again."""
        alice, bob = await self.start("alice", "bob")
        await self.make_private(bob)
        await self.asks(alice, bob)
        self.expect(await self.answer(bob, alice, "decline"), 204)
        self.assertEqual(await self.follow_status(alice, bob), "none")
        self.assertEqual(await self.requests_of(bob), [])
        self.assertEqual(await self.notifications(alice), [])
        self.expect_error(await self.answer(bob, alice, "decline"), 404, "not_found")
        await self.asks(alice, bob)

    async def test_only_a_pending_request_to_the_viewer_can_be_answered(self) -> None:
        """Answering a follow that is already accepted, someone else's request, one's own
        request, or an unknown or invalid user is 404."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.follows(carol, alice)
        await self.make_private(bob)
        await self.asks(alice, bob)
        for verdict in ("accept", "decline"):
            for person, requester in ((alice, carol), (carol, alice), (alice, bob)):
                response = await self.answer(person, requester, verdict)
                self.expect_error(response, 404, "not_found")
            for user_id in INVALID_IDS:
                response = await bob.client.post(f"/api/follow-requests/{user_id}/{verdict}")
                self.expect_error(response, 404, "not_found")
        self.assertEqual(await self.follow_status(alice, bob), "pending")

    async def test_follow_status_in_every_state(self) -> None:
        """none -> pending -> following -> none, as the follower sees the private target."""
        alice, bob = await self.start("alice", "bob")
        await self.make_private(bob)
        self.assertEqual(await self.follow_status(alice, bob), "none")
        await self.asks(alice, bob)
        self.assertEqual(await self.follow_status(alice, bob), "pending")
        self.expect(await self.answer(bob, alice, "accept"), 204)
        self.assertEqual(await self.follow_status(alice, bob), "following")
        self.expect(await self.unfollow(alice, bob), 204)
        self.assertEqual(await self.follow_status(alice, bob), "none")

    async def test_followers_and_following_lists(self) -> None:
        """Accepted follows only, newest first, paged, as user objects for the viewer."""
        alice, bob, carol, dave, erin = await self.start("alice", "bob", "carol", "dave", "erin")
        await self.make_private(erin)
        await self.follows(dave, alice)
        await self.follows(bob, alice)
        await self.follows(carol, alice)
        await self.asks(alice, erin)
        await self.follows(alice, carol)
        await self.follows(alice, bob)
        await self.follows(erin, alice)
        followers = self.expect(await dave.client.get(f"/api/users/{alice.id}/followers"), 200)
        self.assertEqual(ids(followers), [erin.id, carol.id, bob.id, dave.id])
        self.assertEqual({user["follow_status"] for user in followers[:3]}, {"none"})
        self.assertNotIn("follow_status", followers[3])
        following = self.expect(await dave.client.get(f"/api/users/{alice.id}/following"), 200)
        self.assertEqual(ids(following), [bob.id, carol.id])
        self.assertEqual(following[0]["followers_count"], 1)
        paged = await dave.client.get(f"/api/users/{alice.id}/followers?limit=2&offset=1")
        self.assertEqual(ids(self.expect(paged, 200)), [carol.id, bob.id])
        empty = await alice.client.get(f"/api/users/{dave.id}/followers?limit=0")
        self.assertEqual(self.expect(empty, 200), [])
        bad = await alice.client.get(f"/api/users/{dave.id}/following?offset=-1")
        self.expect_error(bad, 400, "invalid_request")

    async def test_private_lists_are_for_the_user_and_accepted_followers(self) -> None:
        """A private profile's lists are 403 for a stranger and for a pending requester, 200
        for the user and for an accepted follower; unknown users are 404."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        await self.make_private(alice)
        await self.asks(bob, alice)
        self.expect(await self.answer(alice, bob, "accept"), 204)
        await self.asks(carol, alice)
        for which in ("followers", "following"):
            path = f"/api/users/{alice.id}/{which}"
            for person in (carol, dave):
                self.expect_error(await person.client.get(path), 403, "forbidden")
            for person in (alice, bob):
                self.expect(await person.client.get(path), 200)
            for user_id in INVALID_IDS:
                response = await bob.client.get(f"/api/users/{user_id}/{which}")
                self.expect_error(response, 404, "not_found")
        followers = self.expect(await bob.client.get(f"/api/users/{alice.id}/followers"), 200)
        self.assertEqual(ids(followers), [bob.id])
        profile = await self.user_seen_by(dave, alice)
        self.assertEqual(profile["followers_count"], 1)  # the profile itself stays visible

    async def test_going_public_accepts_pending_requests(self) -> None:
        """A private profile made public accepts every pending request, notifying each
        requester; making it private again keeps its followers."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.make_private(alice)
        await self.asks(bob, alice)
        await self.asks(carol, alice)
        user = await self.make_private(alice, False)
        self.assertEqual(user["followers_count"], 2)
        self.assertEqual(await self.requests_of(alice), [])
        for person in (bob, carol):
            self.assertEqual(await self.follow_status(person, alice), "following")
            await self.stored_notification(person, "friend_accept", alice)
        await self.make_private(alice)
        self.assertEqual(await self.counts(alice), (2, 0))
        self.assertEqual(len(await self.notifications(bob)), 1)
        received = [notification["type"] for notification in await self.notifications(alice)]
        self.assertEqual(received, ["friend_request"] * 2)  # the requests, nothing of her own

    async def test_deleted_users_leave_no_follows(self) -> None:
        """A follow row goes with its user (ON DELETE CASCADE): counts and lists drop them."""
        alice, bob = await self.start("alice", "bob")
        await self.follows(bob, alice)
        await self.follows(alice, bob)

        async def delete(txn: Any) -> None:
            await txn.run("DELETE FROM users WHERE id = ?", (bob.id,))

        await self.running.server.database.interaction("delete_user", delete)
        self.assertEqual(await self.counts(alice), (0, 0))
        followers = await alice.client.get(f"/api/users/{alice.id}/followers")
        self.assertEqual(self.expect(followers, 200), [])


class FollowNotificationTests(FollowTestMixin):
    async def test_new_follower(self) -> None:
        """A follow of a public profile stores `new_follower` for the target and pushes it
        live, with the stored id; the follower gets nothing."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        follower, target = await self.socket(alice), await self.socket(bob)
        await self.follows(alice, bob)
        frame = await self.next_notification(target, "new_follower", alice)
        stored = await self.stored_notification(bob, "new_follower", alice)
        self.assertEqual(frame["id"], stored["id"])
        self.assertEqual(frame["message"], stored["message"])
        self.assertEqual(stored["message"], "alice started following you")
        self.assertEqual(await self.notifications(alice), [])
        await self.barrier(follower, alice, carol)

    async def test_friend_request(self) -> None:
        """A follow of a private profile stores `friend_request` for the target and pushes it;
        the requester gets nothing."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.make_private(bob)
        follower, target = await self.socket(alice), await self.socket(bob)
        await self.asks(alice, bob)
        frame = await self.next_notification(target, "friend_request", alice)
        stored = await self.stored_notification(bob, "friend_request", alice)
        self.assertEqual(
            (frame["id"], stored["message"]), (stored["id"], "alice asked to follow you")
        )
        self.assertEqual(await self.notifications(alice), [])
        await self.barrier(follower, alice, carol)

    async def test_friend_accept(self) -> None:
        """Accepting a request stores `friend_accept` for the requester and pushes it; the one
        who accepted gets nothing more."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.make_private(bob)
        await self.asks(alice, bob)
        requester, target = await self.socket(alice), await self.socket(bob)
        self.expect(await self.answer(bob, alice, "accept"), 204)
        frame = await self.next_notification(requester, "friend_accept", bob)
        stored = await self.stored_notification(alice, "friend_accept", bob)
        self.assertEqual(frame["id"], stored["id"])
        self.assertEqual(stored["message"], "bob accepted your follow request")
        self.assertEqual(len(await self.notifications(bob)), 1)  # alice's request only
        await self.barrier(target, bob, carol)

    async def test_going_public_pushes_friend_accept(self) -> None:
        """Requests accepted by making the profile public are pushed live to each requester."""
        alice, bob = await self.start("alice", "bob")
        await self.make_private(bob)
        await self.asks(alice, bob)
        requester = await self.socket(alice)
        await self.make_private(bob, False)
        await self.next_notification(requester, "friend_accept", bob)

    async def test_repeats_and_refusals_notify_nobody(self) -> None:
        """A repeated follow, a follow of oneself, an unfollow and a decline push nothing."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        await self.make_private(carol)
        await self.follows(alice, bob)
        await self.asks(alice, carol)
        sockets = {person: await self.socket(person) for person in (alice, bob, carol)}
        self.expect(await self.follow(alice, bob), 200)
        self.expect(await self.follow(alice, carol), 200)
        self.expect_error(await self.follow(alice, alice), 400, "invalid_request")
        self.expect(await self.unfollow(alice, bob), 204)
        self.expect(await self.answer(carol, alice, "decline"), 204)
        for person, socket in sockets.items():
            await self.barrier(socket, person, dave)


class PrivateMessageTests(FollowTestMixin):
    """The private-message rule, over a real WebSocket."""

    async def send(self, sender: WsClient, to: Person | int, client_id: str) -> dict[str, Any]:
        """Send a private message with a client id; its answer frame (an ack or an error)."""
        to_id = to if isinstance(to, int) else to.id
        sender.send({"type": "private", "to": to_id, "content": "hello", "id": client_id})
        frame: dict[str, Any] = await sender.next()
        self.assertEqual(frame["id"], client_id, frame)
        return frame

    async def check_allowed(self, sender: WsClient, to: Person, recipient: WsClient) -> None:
        """The message is acked, and the recipient receives it live."""
        frame = await self.send(sender, to, "allowed")
        self.assertEqual(frame["type"], "ack", frame)
        received = await recipient.next_of("private")
        self.assertEqual(received["id"], frame["message_id"])

    async def check_forbidden(self, sender: WsClient, to: Person, sender_person: Person) -> None:
        """The message is refused with `forbidden` and nothing is stored."""
        frame = await self.send(sender, to, "refused")
        self.assertEqual((frame["type"], frame["code"]), ("error", "forbidden"), frame)
        history = await sender_person.client.get(f"/api/messages/private?user={to.id}")
        self.assertEqual(self.expect(history, 200), [])

    async def test_a_stranger_may_not_write_to_a_private_profile(self) -> None:
        """A stranger, and someone whose request is still pending, get `forbidden`; nothing is
        stored or delivered."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        await self.make_private(alice)
        await self.asks(carol, alice)
        inbox = await self.socket(alice)
        for person in (bob, carol):
            await self.check_forbidden(await self.socket(person), alice, person)
        await self.barrier(inbox, alice, dave)
        history = await alice.client.get(f"/api/messages/private?user={bob.id}")
        self.assertEqual(self.expect(history, 200), [])

    async def test_anyone_may_write_to_a_public_profile(self) -> None:
        """A public profile takes messages from anyone, even a private user nobody follows."""
        alice, bob = await self.start("alice", "bob")
        await self.make_private(bob)
        await self.check_allowed(await self.socket(bob), alice, await self.socket(alice))

    async def test_a_follower_may_write_to_a_private_profile(self) -> None:
        """Once the request is accepted the follower may write; after unfollowing, not any more."""
        alice, bob = await self.start("alice", "bob")
        await self.make_private(alice)
        await self.asks(bob, alice)
        self.expect(await self.answer(alice, bob, "accept"), 204)
        sender, inbox = await self.socket(bob), await self.socket(alice)
        await self.check_allowed(sender, alice, inbox)
        self.expect(await self.unfollow(bob, alice), 204)
        frame = await self.send(sender, alice, "after")
        self.assertEqual(frame["code"], "forbidden", frame)

    async def test_a_change_stops_or_lets_through_the_very_next_message(self) -> None:
        """Each change applies to the next message, though the facts of the pair were kept
        from the one before: a profile made private stops a stranger, an accepted request
        lets them through."""
        alice, bob = await self.start("alice", "bob")
        sender, inbox = await self.socket(bob), await self.socket(alice)
        await self.check_allowed(sender, alice, inbox)
        await self.make_private(alice)
        self.assertEqual((await self.send(sender, alice, "private now"))["code"], "forbidden")
        await self.asks(bob, alice)
        self.assertEqual((await self.send(sender, alice, "asked"))["code"], "forbidden")
        self.expect(await self.answer(alice, bob, "accept"), 204)
        await sender.next_of("notification")  # bob hears of it
        frame = await self.send(sender, alice, "accepted")  # a new client id: a new message
        self.assertEqual(frame["type"], "ack", frame)
        self.assertEqual((await inbox.next_of("private"))["id"], frame["message_id"])

    async def test_a_private_user_may_write_to_their_follower(self) -> None:
        """Between two private users, a follow either way lets both write to each other; a
        third private user may write to neither."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        for person in (alice, bob, carol):
            await self.make_private(person)
        await self.asks(bob, alice)
        self.expect(await self.answer(alice, bob, "accept"), 204)
        sockets = {person: await self.socket(person) for person in (alice, bob, carol)}
        await self.check_allowed(sockets[alice], bob, sockets[bob])
        await self.check_allowed(sockets[bob], alice, sockets[alice])
        for person in (alice, bob):
            await self.check_forbidden(sockets[carol], person, carol)

    async def test_oneself_and_unknown_users(self) -> None:
        """A message to oneself is `invalid_frame`; to an unknown user `not_found`, private
        profiles or not."""
        (alice,) = await self.start("alice")
        await self.make_private(alice)
        socket = await self.socket(alice)
        frame = await self.send(socket, alice, "self")
        self.assertEqual(frame["code"], "invalid_frame", frame)
        frame = await self.send(socket, 999, "ghost")
        self.assertEqual(frame["code"], "not_found", frame)


class FollowSqliteTests(SqliteEngine, FollowTests, TestCase):
    pass


class FollowPostgresTests(PostgresEngine, FollowTests, TestCase):
    pass


class FollowNotificationSqliteTests(SqliteEngine, FollowNotificationTests, TestCase):
    pass


class FollowNotificationPostgresTests(PostgresEngine, FollowNotificationTests, TestCase):
    pass


class PrivateMessageSqliteTests(SqliteEngine, PrivateMessageTests, TestCase):
    pass


class PrivateMessagePostgresTests(PostgresEngine, PrivateMessageTests, TestCase):
    pass
