"""The base of the fast tests: a memory server with people in it, and terse checks.

Every helper goes through the HTTP or WebSocket API, as a client would, so the tests stay
valid however the handlers and stores behind the routes are arranged.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from twisted.trial.unittest import TestCase

from trial_tests.support.accounts import PASSWORD
from trial_tests.support.harness import Response
from trial_tests.support.memory import MemoryClient, MemoryServer, MemorySocket

# Virtual time for a frame's round: longer than any batching window of the server, far shorter
# than any timeout; it passes on the memory clock only.
A_MOMENT = 0.05


@dataclasses.dataclass(frozen=True)
class Person:
    """A registered user and the browser (session) they use."""

    client: MemoryClient
    id: int
    username: str


class MemoryCase(TestCase):
    """A test on its own memory server (`self.memory`), started by `start`."""

    memory: MemoryServer

    async def start(self, *names: str, **overrides: Any) -> list[Person]:
        """A fresh server (Config `overrides` applied) with one registered person per name."""
        self.memory = MemoryServer(self, **overrides)
        await self.memory.start(self)
        return [await self.register(name) for name in names]

    async def register(self, name: str) -> Person:
        client = self.memory.client()
        body = {"username": name, "email": f"{name}@example.org", "password": PASSWORD}
        user = self.expect(await client.post("/api/auth/register", body), 201)
        return Person(client, user["id"], name)

    async def login(self, client: MemoryClient, password: str = PASSWORD, **who: str) -> Response:
        return await client.post("/api/auth/login", {**who, "password": password})

    def expect(self, response: Response, status: int) -> Any:
        """The JSON body (None when empty) of a response that must have `status`."""
        self.assertEqual(response.status, status, response.raw)
        return response.json if response.raw else None

    def expect_error(self, response: Response, status: int, code: str) -> None:
        """A contract error: the status and `{"error": code, "message": ...}`."""
        body = self.expect(response, status)
        self.assertEqual(body["error"], code, body)
        self.assertIsInstance(body["message"], str)

    # Sockets.

    async def socket(self, person: Person) -> MemorySocket:
        """A WebSocket of `person`'s session, registered (`resumed` taken), closed at the end."""
        socket = await self.memory.websocket(person.client.token)
        self.addCleanup(self.close, socket)
        (resumed,) = socket.take()
        self.assertEqual(resumed["type"], "resumed", resumed)
        return socket

    def close(self, socket: MemorySocket) -> None:
        socket.close()
        self.memory.quiesce()

    def exchange(self, socket: MemorySocket, *frames: Any) -> None:
        """Send `frames` and let them be answered and delivered (a moment of virtual time)."""
        for frame in frames:
            socket.send(frame)
        self.memory.advance(A_MOMENT)

    # Follows and blocks.

    async def follow(self, follower: Person, target: Person) -> Response:
        return await follower.client.post(f"/api/users/{target.id}/follow")

    async def unfollow(self, follower: Person, target: Person) -> Response:
        return await follower.client.delete(f"/api/users/{target.id}/follow")

    async def make_private(self, person: Person, private: bool = True) -> None:
        user = self.expect(await person.client.patch("/api/users/me", {"is_private": private}), 200)
        self.assertEqual(user["is_private"], private)

    async def follow_status(self, viewer: Person, target: Person) -> str:
        user = self.expect(await viewer.client.get(f"/api/users/{target.id}"), 200)
        status: str = user["follow_status"]
        return status

    async def block(self, blocker: Person, blocked: Person) -> None:
        self.expect(await blocker.client.post(f"/api/users/{blocked.id}/block"), 204)

    # Groups.

    async def create_group(self, owner: Person, name: str = "Developers") -> int:
        group = self.expect(await owner.client.post("/api/groups", {"name": name}), 201)
        group_id: int = group["id"]
        return group_id

    async def invite(self, inviter: Person, group_id: int, invitee: Person) -> Response:
        body = {"group_id": group_id, "user_id": invitee.id}
        return await inviter.client.post("/api/groups/invite", body)

    async def add_member(self, owner: Person, group_id: int, person: Person) -> None:
        """Invite `person` and have them accept: an accepted member."""
        self.expect(await self.invite(owner, group_id, person), 201)
        accepted = await person.client.post(f"/api/groups/{group_id}/invitation/accept")
        self.expect(accepted, 200)

    async def membership(self, person: Person, group_id: int) -> Any:
        """The group's `membership` as `person` sees it."""
        return self.expect(await person.client.get(f"/api/groups/{group_id}"), 200)["membership"]

    # Notifications.

    async def notifications(self, person: Person) -> Any:
        return self.expect(await person.client.get("/api/notifications"), 200)

    async def unread(self, person: Person) -> int:
        body = self.expect(await person.client.get("/api/notifications/unread_count"), 200)
        count: int = body["count"]
        return count
