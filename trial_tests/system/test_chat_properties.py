"""A property test of chat as a whole: random sends, reads, edits, deletes, joins and reconnects
by three users on two connections each, against a real server on each engine.

After every step two things must hold, whatever came before:
- each user's `unread_count`, per conversation, equals a recount from history (messages of
  others above the user's read marker, deletions excluded), and the marker is the one the
  steps imply (reads only move it forward, sending moves it, joining starts at the newest);
- every connection's view, rebuilt only from the frames it received (its replays after a
  reconnect included) and the acks of what it sent, equals history: the same messages, each
  with its latest content or deleted, and no stored frame seen twice.

Hypothesis drives the steps from a worker thread; each step runs on the reactor thread
(`blockingCallFromThread`), so the clients and the server are the real, event-driven ones.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Coroutine
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.threads import blockingCallFromThread, deferToThread
from twisted.trial.unittest import TestCase

from socialhub.reactor import as_reactor
from trial_tests.support.harness import (
    Client,
    PostgresEngine,
    RunningServer,
    SqliteEngine,
    start_server,
)
from trial_tests.support.mixins import EngineTestMixin
from trial_tests.support.wsclient import WsClient, connect

SETTLE_TIMEOUT = 5.0  # how long a connection may take to see what a step sent it
_names = itertools.count()


def on_reactor(make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine on the reactor thread and wait for its result (from hypothesis's thread)."""
    return blockingCallFromThread(as_reactor(reactor), lambda: Deferred.fromCoroutine(make()))


@dataclasses.dataclass
class Shown:
    """A message as one connection knows it."""

    content: str | None
    deleted: bool = False


class View:
    """One connection, and what its frames and acks told it."""

    def __init__(self, owner: int) -> None:
        self.owner = owner
        self.socket: WsClient | None = None
        self.cursor = "now"
        self.messages: dict[int, Shown] = {}
        self.cursors: set[str] = set()  # every stored frame's cursor: none may come twice
        self.acks: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, Callable[[dict[str, Any]], None]] = {}  # acted on when acked

    async def open(self, url: str, token: str | None) -> None:
        self.socket = await connect(url, token, path=f"/ws?since={self.cursor}")
        while (await self.take())["type"] != "resumed":
            pass

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
            self.socket = None

    async def take(self, timeout: float = SETTLE_TIMEOUT) -> dict[str, Any]:
        """The next frame, applied to the view."""
        assert self.socket is not None
        frame: dict[str, Any] = await self.socket.next(timeout)
        self.apply(frame)
        return frame

    def apply(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if "cursor" in frame and kind != "resumed":
            assert frame["cursor"] not in self.cursors, f"frame seen twice: {frame}"
            self.cursors.add(frame["cursor"])
            self.cursor = frame["cursor"]
        if kind == "resumed":
            self.cursor = frame["cursor"]
        elif kind in ("private", "group"):
            deleted = frame.get("deleted", False)
            self.messages[frame["id"]] = Shown(None if deleted else frame["content"], deleted)
        elif kind == "edit" and frame["message_id"] in self.messages:
            self.messages[frame["message_id"]] = Shown(frame["content"])
        elif kind == "delete" and frame["message_id"] in self.messages:
            self.messages[frame["message_id"]] = Shown(None, deleted=True)
        elif kind == "ack":
            self.acks[frame["id"]] = frame
            if frame["id"] in self.pending:
                self.pending.pop(frame["id"])(frame)
        elif kind == "error":
            raise AssertionError(f"a step was refused: {frame}")

    async def send(self, frame: dict[str, Any], acked: Callable[[dict[str, Any]], None]) -> Any:
        """Send a frame with a fresh client id; its ack once it comes."""
        assert self.socket is not None
        client_id = f"c{next(_names)}"
        self.pending[client_id] = acked
        self.socket.send({**frame, "id": client_id})
        while client_id not in self.acks:
            await self.take()
        return self.acks.pop(client_id)


@dataclasses.dataclass
class Message:
    """A message as the model knows it."""

    id: int
    sender: int
    conversation: tuple[
        str, int
    ]  # ("private", the other user of the pair's low..) or ("group", id)
    content: str
    deleted: bool = False


class ChatMachine(RuleBasedStateMachine):
    """Three users (0 owns the group), two connections each."""

    running: RunningServer

    def __init__(self) -> None:
        super().__init__()
        self.clients: list[Client] = []
        self.ids: list[int] = []
        self.views: list[list[View]] = []
        self.group_id = 0
        self.members = {0}
        self.joined_after: dict[int, int] = {0: 0}  # group messages a member's sockets get
        self.messages: dict[int, Message] = {}
        self.markers: dict[tuple[int, tuple[str, int]], int] = {}

    # Set-up and tear-down.

    @initialize()
    def start(self) -> None:
        on_reactor(self._start)

    async def _start(self) -> None:
        for _ in range(3):
            client = self.running.client()
            self.ids.append((await client.register(f"person{next(_names)}"))["id"])
            self.clients.append(client)
        made = await self.clients[0].post("/api/groups", {"name": f"group{next(_names)}"})
        self.group_id = made.json["id"]
        for user in range(3):
            views = [View(user), View(user)]
            for view in views:
                await view.open(self.running.url, self.clients[user].session_token())
            self.views.append(views)

    def teardown(self) -> None:
        on_reactor(self._close_all)

    async def _close_all(self) -> None:
        for views in self.views:
            for view in views:
                await view.close()

    # Conversations.

    def _private(self, a: int, b: int) -> tuple[str, int]:
        return ("private", min(a, b) * 10 + max(a, b))

    def _conversations_of(self, user: int) -> list[tuple[str, int]]:
        found = [("group", self.group_id)] if user in self.members else []
        return found + [self._private(user, other) for other in range(3) if other != user]

    def _move_marker(self, user: int, conversation: tuple[str, int], up_to: int) -> None:
        key = (user, conversation)
        self.markers[key] = max(self.markers.get(key, 0), up_to)

    def _stored(
        self, view: View, sender: int, conversation: tuple[str, int], content: str
    ) -> Callable[[dict[str, Any]], None]:
        """What an ack of a new message tells the model and the sending connection."""

        def acked(ack: dict[str, Any]) -> None:
            message = Message(ack["message_id"], sender, conversation, content)
            self.messages[message.id] = message
            self._move_marker(sender, conversation, message.id)
            view.messages[message.id] = Shown(content)

        return acked

    # The steps.

    @rule(sender=st.integers(0, 2), other=st.integers(1, 2), socket=st.integers(0, 1))
    def send_private(self, sender: int, other: int, socket: int) -> None:
        to = (sender + other) % 3
        content = f"to {to} #{next(_names)}"
        view = self.views[sender][socket]
        frame = {"type": "private", "to": self.ids[to], "content": content}
        acked = self._stored(view, sender, self._private(sender, to), content)
        on_reactor(lambda: view.send(frame, acked))

    @rule(sender=st.integers(0, 2), socket=st.integers(0, 1))
    def send_group(self, sender: int, socket: int) -> None:
        if sender not in self.members:
            return
        content = f"group #{next(_names)}"
        view = self.views[sender][socket]
        frame = {"type": "group", "group_id": str(self.group_id), "content": content}
        acked = self._stored(view, sender, ("group", self.group_id), content)
        on_reactor(lambda: view.send(frame, acked))

    @precondition(lambda self: any(not m.deleted for m in self.messages.values()))
    @rule(data=st.data())
    def read(self, data: st.DataObject) -> None:
        message = data.draw(st.sampled_from(self._alive()))
        kind, _ = message.conversation
        readers = [u for u in range(3) if message.conversation in self._conversations_of(u)]
        reader = data.draw(st.sampled_from(readers))
        if kind == "group":
            body = {"group": self.group_id, "up_to": message.id}
        else:
            other = next(
                u
                for u in range(3)
                if u != reader and self._private(reader, u) == message.conversation
            )
            body = {"user": self.ids[other], "up_to": message.id}

        async def post() -> None:
            response = await self.clients[reader].post("/api/conversations/read", body)
            assert response.status == 204, (response.status, response.raw)

        on_reactor(post)
        self._move_marker(reader, message.conversation, message.id)

    def _alive(self) -> list[Message]:
        return sorted((m for m in self.messages.values() if not m.deleted), key=lambda m: m.id)

    @precondition(lambda self: any(not m.deleted for m in self.messages.values()))
    @rule(data=st.data(), socket=st.integers(0, 1))
    def edit(self, data: st.DataObject, socket: int) -> None:
        message = data.draw(st.sampled_from(self._alive()))
        content = f"edited #{next(_names)}"
        view = self.views[message.sender][socket]
        frame = {"type": "edit", "message_id": message.id, "content": content}
        on_reactor(lambda: view.send(frame, lambda ack: None))
        message.content = content
        view.messages[message.id] = Shown(content)

    @precondition(lambda self: any(not m.deleted for m in self.messages.values()))
    @rule(data=st.data(), socket=st.integers(0, 1), by_owner=st.booleans())
    def delete(self, data: st.DataObject, socket: int, by_owner: bool) -> None:
        message = data.draw(st.sampled_from(self._alive()))
        actor = 0 if by_owner and message.conversation[0] == "group" else message.sender
        view = self.views[actor][socket]
        frame = {"type": "delete", "message_id": message.id}
        on_reactor(lambda: view.send(frame, lambda ack: None))
        message.deleted = True
        if message.id in view.messages:
            view.messages[message.id] = Shown(None, deleted=True)

    @precondition(lambda self: len(self.members) < 3)
    @rule(data=st.data())
    def join(self, data: st.DataObject) -> None:
        user = data.draw(st.sampled_from([u for u in range(3) if u not in self.members]))

        async def invite_and_accept() -> None:
            invite = {"group_id": self.group_id, "user_id": self.ids[user]}
            response = await self.clients[0].post("/api/groups/invite", invite)
            assert response.status == 201, (response.status, response.raw)
            path = f"/api/groups/{self.group_id}/invitation/accept"
            response = await self.clients[user].post(path)
            assert response.status == 200, (response.status, response.raw)

        on_reactor(invite_and_accept)
        newest = max(
            (m.id for m in self.messages.values() if m.conversation[0] == "group"),
            default=0,
        )
        self.members.add(user)
        self.joined_after[user] = newest
        if newest:
            self._move_marker(user, ("group", self.group_id), newest)

    @rule(user=st.integers(0, 2), socket=st.integers(0, 1))
    def reconnect(self, user: int, socket: int) -> None:
        view = self.views[user][socket]

        async def again() -> None:
            await view.close()
            await view.open(self.running.url, self.clients[user].session_token())

        on_reactor(again)

    # What must hold after every step.

    @invariant()
    def views_equal_history(self) -> None:
        if self.views:
            on_reactor(self._settle_views)

    async def _settle_views(self) -> None:
        for user, views in enumerate(self.views):
            expected = self._expected_view(user)
            for view in views:
                while self._seen(view, expected) != expected:
                    try:
                        await view.take()
                    except Exception as error:
                        raise AssertionError(
                            f"user {user}'s view {view.messages} never became {expected}"
                        ) from error

    def _seen(self, view: View, expected: dict[int, Shown]) -> dict[int, Shown]:
        """The view, less what a replay may add beyond live delivery: a group's messages from
        before the user joined, stored after the cursor it resumed from (they are the group's
        history, which a member reads anyway), each as it is now."""
        seen = {}
        for message_id, shown in view.messages.items():
            if message_id in expected:
                seen[message_id] = shown
                continue
            message = self.messages[message_id]
            now = Shown(None, True) if message.deleted else Shown(message.content)
            assert message.conversation[0] == "group" and view.owner in self.members, message
            if shown != now:
                seen[message_id] = shown  # stale: the loop waits for its change to come
        return seen

    def _expected_view(self, user: int) -> dict[int, Shown]:
        """What history holds for the user, as their sockets should have seen it."""
        seen = {}
        for message in self.messages.values():
            kind, _ = message.conversation
            if kind == "group":
                if user not in self.members or message.id <= self.joined_after[user]:
                    continue
            elif message.conversation not in self._conversations_of(user):
                continue
            seen[message.id] = Shown(None, True) if message.deleted else Shown(message.content)
        return seen

    @invariant()
    def unread_counts_equal_a_recount(self) -> None:
        if self.views:
            on_reactor(self._check_counts)

    async def _check_counts(self) -> None:
        for user, client in enumerate(self.clients):
            listed = (await client.get("/api/conversations?limit=100")).json
            by_key = {self._key_of(user, item): item for item in listed}
            total = 0
            for conversation in self._conversations_of(user):
                history = await self._history(client, user, conversation)
                if conversation not in by_key:
                    assert not history, f"{conversation} has messages but is not listed"
                    continue
                item = by_key[conversation]
                marker = self.markers.get((user, conversation))
                assert item["read_up_to"] == marker, (user, conversation, item, marker)
                recount = sum(
                    1
                    for m in history
                    if m["from"] != self.ids[user]
                    and not m.get("deleted")
                    and m["id"] > (marker or 0)
                )
                assert item["unread_count"] == recount, (
                    user,
                    conversation,
                    item,
                    history,
                )
                total += recount
            unread = (await client.get("/api/conversations/unread")).json
            assert unread["messages"] == total, (user, unread, total)

    def _key_of(self, user: int, item: dict[str, Any]) -> tuple[str, int]:
        if item["kind"] == "group":
            return ("group", item["group"]["id"])
        return self._private(user, self.ids.index(item["user"]["id"]))

    async def _history(
        self, client: Client, user: int, conversation: tuple[str, int]
    ) -> list[dict[str, Any]]:
        kind, _ = conversation
        if kind == "group":
            path = f"/api/messages/group?group={self.group_id}&limit=100"
        else:
            other = next(
                u for u in range(3) if u != user and self._private(user, u) == conversation
            )
            path = f"/api/messages/private?user={self.ids[other]}&limit=100"
        response = await client.get(path)
        assert response.status == 200, (response.status, response.raw)
        items: list[dict[str, Any]] = response.json
        return items


class ChatPropertiesMixin(EngineTestMixin):
    """The machine above, run against a server on one engine."""

    timeout = 600
    examples = 15
    steps = 30

    async def test_views_and_unread_counts_agree_with_history(self) -> None:
        running = await start_server(self, self.engine)
        machine = type("Machine", (ChatMachine,), {"running": running})
        options = settings(
            max_examples=self.examples,
            stateful_step_count=self.steps,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        await deferToThread(run_state_machine_as_test, machine, settings=options)


class ChatPropertiesSqliteTests(SqliteEngine, ChatPropertiesMixin, TestCase):
    pass


class ChatPropertiesPostgresTests(PostgresEngine, ChatPropertiesMixin, TestCase):
    pass
