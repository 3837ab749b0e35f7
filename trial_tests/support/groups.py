"""What the group and notification tests share: people with their own browser, groups, and
a stand-in WebSocket connection to watch live pushes until /ws tests can use a real one."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from socialhub.delivery.interface import SharedFrame
from trial_tests.support.harness import Client, Response, RunningServer, start_server
from trial_tests.support.mixins import EngineTestMixin

RFC3339 = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
# When the groups' events start: a fixed future time.
LAUNCH = "2030-01-01T12:00:00Z"


@dataclasses.dataclass(frozen=True)
class Person:
    """A registered user and the client (cookie jar) they use."""

    client: Client
    id: int
    username: str


class FakeConnection:
    """An open connection as delivery sees it, recording the frames sent to it."""

    def __init__(self, user_id: int, session_id: int = 0) -> None:
        self.connection_id = f"fake-{id(self)}"
        self.user_id = user_id
        self.session_id = session_id
        self.frames: list[dict[str, Any]] = []
        self.closed: list[tuple[int, str]] = []

    def send_payload(self, payload: bytes) -> None:
        self.frames.append(orjson.loads(payload))

    def send_shared(self, frame: SharedFrame) -> None:
        self.send_payload(frame.payload)

    def close_with(self, code: int, reason: str) -> None:
        self.closed.append((code, reason))


# What runs whatever a test does: each request's session lookup, and the server's periodic
# check of its sockets' sessions.
UNRECORDED = ("lookup_session", "live_sessions")


def _recording(method: Callable[..., Awaitable[Any]], asked: list[str]) -> Callable[..., Any]:
    """A Database method that first notes the description of what it was asked to run."""

    async def recorded(description: str, *args: Any) -> Any:
        if description not in UNRECORDED:
            asked.append(description)
        return await method(description, *args)

    return recorded


class SocialTestMixin(EngineTestMixin):
    """Starting a server with some people in it, and checking answers tersely."""

    running: RunningServer

    async def start(self, *names: str, **overrides: Any) -> list[Person]:
        """A fresh server on this test's engine (Config `overrides` applied), with one registered
        person per name."""
        self.running = await start_server(self, self.engine, **overrides)
        found = []
        for name in names:
            client = self.running.client()
            user = await client.register(name)
            found.append(Person(client, user["id"], name))
        return found

    def record_transactions(self) -> list[str]:
        """From now on, the description of every transaction and single statement the server
        runs, as they start, but those of `UNRECORDED`."""
        database = self.running.server.database
        asked: list[str] = []
        for name in ("interaction", "read", "at_once"):
            self.patch(database, name, _recording(getattr(database, name), asked))
        return asked

    def expect(self, response: Response, status: int) -> Any:
        """The JSON body (or None when empty) of a response that must have `status`."""
        self.assertEqual(response.status, status, response.raw)
        return response.json if response.raw else None

    def expect_error(self, response: Response, status: int, code: str) -> None:
        """A contract error: the status and `{"error": code, "message": ...}`."""
        body = self.expect(response, status)
        self.assertEqual(body["error"], code)
        self.assertIsInstance(body["message"], str)

    async def watch(self, person: Person) -> FakeConnection:
        """A stand-in open connection of `person`, registered as a real socket would be."""
        return await self.attach(FakeConnection(person.id))

    async def attach(self, connection: FakeConnection) -> FakeConnection:
        """Open a stand-in connection through the server's Fanout (subscriptions included)."""
        fanout = self.running.server.delivery.fanout
        await fanout.opened(connection)
        self.addCleanup(fanout.closed, connection)
        return connection

    async def create_group(self, owner: Person, name: str = "Developers", **fields: Any) -> Any:
        response = await owner.client.post("/api/groups", {"name": name, **fields})
        return self.expect(response, 201)

    async def invite(self, inviter: Person, group_id: int, invitee: Person) -> Response:
        body = {"group_id": group_id, "user_id": invitee.id}
        return await inviter.client.post("/api/groups/invite", body)

    async def add_member(self, owner: Person, group_id: int, person: Person) -> None:
        """Invite `person` and have them accept: an accepted member."""
        self.expect(await self.invite(owner, group_id, person), 201)
        accepted = await person.client.post(f"/api/groups/{group_id}/invitation/accept")
        self.expect(accepted, 200)

    async def request_to_join(self, person: Person, group_id: int) -> None:
        self.expect(await person.client.post(f"/api/groups/{group_id}/join"), 202)

    async def membership(self, person: Person, group_id: int) -> Any:
        """The `membership` of the group as `person` sees it."""
        return self.expect(await person.client.get(f"/api/groups/{group_id}"), 200)["membership"]

    async def notifications(self, person: Person, query: str = "") -> Any:
        return self.expect(await person.client.get("/api/notifications" + query), 200)
