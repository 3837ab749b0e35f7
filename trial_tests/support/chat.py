"""What the WebSocket, chat and durability tests share: people, their sockets, their history."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable
from typing import Any

from trial_tests.support.harness import Client, Response, RunningServer, start_server
from trial_tests.support.mixins import EngineTestMixin
from trial_tests.support.wsclient import WsClient, connect

PRIVATE_FIELDS = {"type", "id", "from", "to", "content", "timestamp"}
# A live stored frame also carries its stream cursor (docs/api/websocket.md); history objects
# do not.
LIVE_PRIVATE_FIELDS = PRIVATE_FIELDS | {"cursor"}


def stored_part(frame: dict[str, Any]) -> dict[str, Any]:
    """A live frame without its cursor: what the history endpoint returns for it."""
    return {key: value for key, value in frame.items() if key != "cursor"}


ACK_FIELDS = {"type", "id", "message_id", "timestamp"}


@dataclasses.dataclass
class Person:
    """A registered user and the client (cookie jar, so one session) they use."""

    client: Client
    id: int
    username: str

    @property
    def token(self) -> str:
        token = self.client.session_token()
        assert token is not None
        return token

    def move_to(self, url: str) -> None:
        """Keep the same browser (cookie jar) but talk to the server at `url` (a restart)."""
        self.client.url = url


async def register(url: str, name: str) -> Person:
    """Register `name` on the server at `url`: a person with a session of their own."""
    client = Client(url)
    user = await client.register(name)
    return Person(client, user["id"], name)


async def login(url: str, person: Person) -> Person:
    """A second session (another browser) of the same person."""
    client = Client(url)
    response = await client.post(
        "/api/auth/login", {"username": person.username, "password": "correct horse"}
    )
    assert response.status == 200, (response.status, response.raw)
    return Person(client, person.id, person.username)


async def history_of(person: Person, other_id: int, query: str = "") -> Response:
    """GET /api/messages/private?user=other_id as `person`, with an optional extra query."""
    return await person.client.get(f"/api/messages/private?user={other_id}{query}")


async def transactions_of(running: RunningServer, request: Awaitable[Response]) -> list[str]:
    """The database calls the server made while `request` was served: the description of each
    transaction, and of each single read (`Database.read`) as "read <description>"."""
    database = running.server.database
    seen: list[str] = []

    def recording(name: str, prefix: str) -> Any:
        original = getattr(database, name)

        def call(description: str, *args: Any) -> Any:
            seen.append(prefix + description)
            return original(description, *args)

        return call

    database.interaction = recording("interaction", "")
    database.read = recording("read", "read ")
    try:
        await request
    finally:
        del database.interaction, database.read  # the class's methods again
    return seen


async def all_history(person: Person, other_id: int) -> list[dict[str, Any]]:
    """Every message of a conversation, newest first, paging with `before`."""
    found: list[dict[str, Any]] = []
    before = ""
    while True:
        response = await history_of(person, other_id, f"&limit=100{before}")
        assert response.status == 200, (response.status, response.raw)
        page: list[dict[str, Any]] = response.json
        if not page:
            return found
        found.extend(page)
        before = f"&before={page[-1]['id']}"


class ChatTestMixin(EngineTestMixin):
    """Starting a server with people in it, opening their sockets, checking their frames."""

    running: RunningServer

    async def start(self, *names: str, **overrides: Any) -> list[Person]:
        """A fresh server on this test's engine, with one registered person per name."""
        self.running = await start_server(self, self.engine, **overrides)
        return [await register(self.running.url, name) for name in names]

    async def open(self, person: Person, url: str | None = None) -> WsClient:
        """A WebSocket of `person`'s session, closed when the test ends."""
        socket = await connect(url or self.running.url, person.token)
        self.addCleanup(socket.close)
        return socket

    async def ack_of(self, socket: WsClient, client_id: str) -> dict[str, Any]:
        """The next frame on `socket`, which must be the ack of `client_id`."""
        frame: dict[str, Any] = await socket.next()
        self.assertEqual(frame["type"], "ack", frame)
        self.assertEqual(frame["id"], client_id, frame)
        self.assertEqual(set(frame), ACK_FIELDS, frame)
        return frame

    async def error_of(
        self, socket: WsClient, code: str, client_id: str | None = None
    ) -> dict[str, Any]:
        """The next frame on `socket`, which must be an error with this code (and client id)."""
        frame: dict[str, Any] = await socket.next()
        self.assertEqual(frame["type"], "error", frame)
        self.assertEqual(frame["code"], code, frame)
        self.assertIsInstance(frame["message"], str)
        if client_id is None:
            self.assertNotIn("id", frame)
        else:
            self.assertEqual(frame["id"], client_id, frame)
        return frame

    async def send_private(
        self, socket: WsClient, to: int, content: str, client_id: str
    ) -> dict[str, Any]:
        """Send a private message with a client id and return its ack."""
        socket.send({"type": "private", "to": to, "content": content, "id": client_id})
        return await self.ack_of(socket, client_id)

    async def history(self, person: Person, other_id: int, query: str = "") -> list[Any]:
        """The conversation page as `person` sees it (the request must succeed)."""
        response = await history_of(person, other_id, query)
        self.assertEqual(response.status, 200, response.raw)
        page: list[Any] = response.json
        return page
