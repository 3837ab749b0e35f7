"""What the user and follow tests share: following, profile edits, follow requests, and the
live notifications of a real WebSocket."""

from __future__ import annotations

from typing import Any

from trial_tests.support.groups import Person, SocialTestMixin
from trial_tests.support.harness import Response
from trial_tests.support.wsclient import WsClient, connect

USER_KEYS = {
    "id",
    "username",
    "display_name",
    "about",
    "is_private",
    "is_admin",
    "created_at",
    "followers_count",
    "following_count",
    "avatar_url",
}
OWN_USER_KEYS = USER_KEYS | {"email", "show_presence"}
OTHER_USER_KEYS = USER_KEYS | {"follow_status"}
# Path ids no user has: unknown, not a number, out of range.
INVALID_IDS = ("999", "abc", "0", "-1", "1.5", "9223372036854775808")


def ids(users: list[dict[str, Any]]) -> list[int]:
    """The ids of a list of user objects, in order."""
    return [user["id"] for user in users]


class FollowTestMixin(SocialTestMixin):
    """A server with people in it who follow each other."""

    async def follow(self, follower: Person, target: Person | int) -> Response:
        target_id = target if isinstance(target, int) else target.id
        return await follower.client.post(f"/api/users/{target_id}/follow")

    async def follows(self, follower: Person, target: Person) -> None:
        """`follower` follows `target`, a public profile (201)."""
        body = self.expect(await self.follow(follower, target), 201)
        self.assertEqual(body, {"status": "following"})

    async def asks(self, follower: Person, target: Person) -> None:
        """`follower` asks to follow `target`, a private profile (202)."""
        body = self.expect(await self.follow(follower, target), 202)
        self.assertEqual(body, {"status": "pending"})

    async def unfollow(self, follower: Person, target: Person | int) -> Response:
        target_id = target if isinstance(target, int) else target.id
        return await follower.client.request("DELETE", f"/api/users/{target_id}/follow")

    async def patch_me(self, person: Person, body: Any) -> Response:
        return await person.client.request("PATCH", "/api/users/me", json=body)

    async def make_private(self, person: Person, private: bool = True) -> dict[str, Any]:
        user: dict[str, Any] = self.expect(
            await self.patch_me(person, {"is_private": private}), 200
        )
        self.assertEqual(user["is_private"], private)
        return user

    async def user_seen_by(self, viewer: Person, target: Person) -> dict[str, Any]:
        """The user object of `target` as `viewer` gets it (the request must succeed)."""
        user: dict[str, Any] = self.expect(await viewer.client.get(f"/api/users/{target.id}"), 200)
        return user

    async def follow_status(self, viewer: Person, target: Person) -> str:
        status: str = (await self.user_seen_by(viewer, target))["follow_status"]
        return status

    async def counts(self, person: Person) -> tuple[int, int]:
        """(followers_count, following_count) of `person`, as they see themself."""
        user = await self.user_seen_by(person, person)
        return user["followers_count"], user["following_count"]

    async def requests_of(self, person: Person, query: str = "") -> Any:
        return self.expect(await person.client.get("/api/follow-requests" + query), 200)

    async def answer(self, person: Person, requester: Person | int, verdict: str) -> Response:
        """POST /api/follow-requests/{requester}/accept or decline, as `person`."""
        requester_id = requester if isinstance(requester, int) else requester.id
        return await person.client.post(f"/api/follow-requests/{requester_id}/{verdict}")

    async def socket(self, person: Person) -> WsClient:
        """A real WebSocket of `person`'s session, closed when the test ends, once the server
        has registered it (`resumed`): a frame sent before that may come back in the
        registration's replay (docs/known-gaps.md)."""
        socket = await connect(
            self.running.url, person.client.session_token(), path="/ws?since=now"
        )
        self.addCleanup(socket.close)
        frame = await socket.next()
        assert frame["type"] == "resumed", frame
        return socket

    async def next_notification(
        self, socket: WsClient, subtype: str, actor: Person
    ) -> dict[str, Any]:
        """The next notification frame on `socket`: of `subtype`, caused by `actor` and naming
        them in its message."""
        frame: dict[str, Any] = await socket.next_of("notification")
        self.assertEqual(frame["subtype"], subtype, frame)
        self.assertEqual(frame["actor_id"], actor.id, frame)
        self.assertIn(actor.username, frame["message"])
        self.assertIsInstance(frame["timestamp"], int)
        return frame

    async def barrier(self, socket: WsClient, owner: Person, other: Person) -> None:
        """Prove that `socket` (of `owner`) received nothing until now, without waiting for a
        time: `other` follows `owner`, and its notification must be the very next frame."""
        self.assertIn((await self.follow(other, owner)).status, (201, 202))
        frame = await socket.next()
        self.assertEqual((frame["type"], frame.get("actor_id")), ("notification", other.id), frame)

    async def stored_notification(self, person: Person, subtype: str, actor: Person) -> Any:
        """The one notification `person` has: of `subtype`, caused by `actor`."""
        (notification,) = await self.notifications(person)
        self.assertEqual(notification["type"], subtype)
        self.assertEqual(notification["actor_id"], actor.id)
        self.assertIn(actor.username, notification["message"])
        self.assertFalse(notification["is_read"])
        return notification
