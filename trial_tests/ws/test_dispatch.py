"""The dispatcher on fakes: a connection's frames are queued for storage in the order they came,
even when a private frame (placed at once, without the connection's lock) follows a group frame
still waiting for its membership lookup; every failure is an error frame, acks follow storage.
The table: an unknown type and a field its parser refuses are error frames, and a frame that
sends no message is acked by its id alone.
"""

from __future__ import annotations

from typing import Any, cast

import orjson
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from socialhub.delivery.interface import Connection
from socialhub.errors import InvalidRequest
from socialhub.handlers.accounts import Viewer
from socialhub.handlers.chat import Chat
from socialhub.handlers.commands import Answer
from socialhub.handlers.message_changes import MessageChanges
from socialhub.handlers.rate_limit import LimitSettings, RateLimits
from socialhub.handlers.typing import Typing
from socialhub.metrics import Metrics
from socialhub.storage.stores.messages import Message
from socialhub.storage.stores.users import User
from socialhub.ws.dispatch import Dispatcher, FrameType, ack_frame, chat_frames
from socialhub.ws.turns import Turns
from trial_tests.support.groups import FakeConnection

ALICE, BOB = 1, 2
GROUP = 7


class Socket(FakeConnection):
    """A Sender that keeps the frames it is sent."""

    def __init__(self, user: User) -> None:
        super().__init__(user.id, session_id=1)
        self.viewer = Viewer(user, session_id=1)
        self.turn = Turns()
        self.accepting = True
        self.address = "127.0.0.1"

    def close_with(self, code: int, reason: str) -> None:
        raise AssertionError("the connection must stay open")


class Messages:
    """A MessagesStore whose writes wait until the test stores them."""

    def __init__(self) -> None:
        self.queued: list[tuple[str, Deferred[tuple[Message, bool]]]] = []

    def store(
        self,
        sender_id: int,
        content: str,
        now: int,
        client_id: str | None,
        recipient_id: int | None = None,
        group_id: int | None = None,
        reply_to: int | None = None,
    ) -> Deferred[tuple[Message, bool]]:
        stored: Deferred[tuple[Message, bool]] = Deferred()
        self.queued.append((content, stored))
        return stored

    def commit(self) -> None:
        """Store everything queued, in order, giving message ids 1, 2, ..."""
        queued, self.queued = self.queued, []
        for number, (content, stored) in enumerate(queued, start=1):
            stored.callback(
                (Message(number, ALICE, BOB, None, content, 100, number, None, None, None), True)
            )


class Groups:
    """Membership lookups that answer when the test says so."""

    def __init__(self) -> None:
        self.lookups: list[Deferred[list[int]]] = []

    async def chat_recipients(self, group_id: int, sender_id: int) -> list[int]:
        lookup: Deferred[list[int]] = Deferred()
        self.lookups.append(lookup)
        return await lookup


class Delivery:
    """Accepts deliveries and forgets them: the dispatcher's answers are what is tested."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def _user(user_id: int, is_admin: bool = False) -> User:
    return User(user_id, f"u{user_id}", f"u{user_id}@example.com", "", "", False, is_admin, 0)


class Users:
    """The users store as broadcast asks it: every user as `_user` makes them (no admin)."""

    async def get(self, user_id: int) -> User:
        return _user(user_id)


def _frame(**fields: Any) -> bytes:
    return orjson.dumps(fields)


class DispatcherTests(TestCase):
    def setUp(self) -> None:
        self.messages = Messages()
        self.groups = Groups()
        chat = Chat(
            Clock(),
            cast(Any, self.messages),
            self.groups,
            cast(Any, Delivery()),
            cast(Any, Users()),
        )
        typing = Typing(Clock(), cast(Any, self.messages), self.groups, cast(Any, Delivery()))
        changes = MessageChanges(Clock(), cast(Any, None), cast(Any, Delivery()))
        table = chat_frames(chat, typing, changes)
        self.dispatcher = Dispatcher(
            table, RateLimits(Clock(), LimitSettings(0, 0, 0), None), Metrics()
        )
        self.alice = Socket(_user(ALICE))

    def send(self, **fields: Any) -> Deferred[None]:
        return self.dispatcher.handle(self.alice, _frame(**fields))

    def test_private_after_group_waits_for_its_lookup(self) -> None:
        """A private frame sent after a group frame whose membership lookup has not answered
        is queued after it, and the private frames after that follow in order."""
        self.send(type="private", id="p1", to=BOB, content="first")
        self.send(type="group", id="g", group_id=GROUP, content="group")
        self.send(type="private", id="p2", to=BOB, content="after group")
        self.send(type="private", id="p3", to=BOB, content="later")
        self.assertEqual([content for content, _ in self.messages.queued], ["first"])
        self.groups.lookups[0].callback([ALICE, BOB])
        queued = [content for content, _ in self.messages.queued]
        self.assertEqual(queued, ["first", "group", "after group", "later"])
        self.assertFalse(self.alice.turn.held)

    def test_acks_only_after_storage(self) -> None:
        """A frame is acked once stored, not when queued; frames without an id get no ack."""
        answered = self.send(type="private", id="p1", to=BOB, content="hello")
        self.send(type="private", to=BOB, content="no id")
        self.assertEqual(self.alice.frames, [])
        self.assertNoResult(answered)
        self.messages.commit()
        self.successResultOf(answered)
        self.assertEqual(
            self.alice.frames, [{"type": "ack", "id": "p1", "message_id": 1, "timestamp": 100}]
        )

    def test_failures_are_error_frames(self) -> None:
        """A bad frame, a refused one (raised before anything is queued) and a failed lookup
        each become an error frame with the client id; the connection goes on."""
        self.send(type="private", id="bad", to="nobody", content="x")
        self.send(type="broadcast", id="b", content="not an admin")
        self.send(type="group", id="g", group_id=GROUP, content="x")
        self.groups.lookups[0].errback(RuntimeError("lookup failed"))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.send(type="private", id="ok", to=BOB, content="still usable")
        self.messages.commit()
        codes = [(frame["type"], frame.get("code"), frame["id"]) for frame in self.alice.frames]
        self.assertEqual(
            codes,
            [
                ("error", "invalid_frame", "bad"),
                ("error", "forbidden", "b"),
                ("error", "internal_error", "g"),
                ("ack", None, "ok"),
            ],
        )

    def test_frames_waiting_when_the_connection_closes_are_not_stored(self) -> None:
        """Frames waiting for their turn (behind a registration) when the connection starts
        closing (the registration failed) are refused with `unavailable`, not stored; so are
        frames arriving after that."""
        self.successResultOf(self.alice.turn.acquire())  # a registration in progress
        waiting = [self.send(type="private", id=f"p{n}", to=BOB, content="x") for n in range(2)]
        self.alice.accepting = False
        self.alice.turn.release()
        late = self.send(type="private", id="p2", to=BOB, content="x")
        for answered in [*waiting, late]:
            self.successResultOf(answered)
        self.assertEqual(self.messages.queued, [])
        codes = [(frame["code"], frame["id"]) for frame in self.alice.frames]
        self.assertEqual(codes, [("unavailable", f"p{n}") for n in range(3)])

    def test_drain_waits_for_frames_in_flight(self) -> None:
        """drain() fires once every frame placed has been answered."""
        self.successResultOf(Deferred.fromCoroutine(self.dispatcher.drain()))
        self.send(type="private", id="p1", to=BOB, content="hello")
        drained = Deferred.fromCoroutine(self.dispatcher.drain())
        self.assertNoResult(drained)
        self.messages.commit()
        self.successResultOf(drained)


class Indicator:
    """A frame type that stores nothing: `to` is a number."""

    def __init__(self) -> None:
        self.handled: list[tuple[Connection, Viewer, int, str | None]] = []

    @staticmethod
    def parse(fields: dict[str, Any]) -> int:
        if not isinstance(fields.get("to"), int):
            raise InvalidRequest("to must be a number")
        return int(fields["to"])

    def handle(
        self, sender: Connection, viewer: Viewer, to: int, client_id: str | None
    ) -> Deferred[Answer]:
        self.handled.append((sender, viewer, to, client_id))
        return succeed(Answer(None, None))


class TableTests(TestCase):
    def setUp(self) -> None:
        self.typing = Indicator()
        table = {"typing": FrameType(Indicator.parse, self.typing.handle)}
        self.dispatcher = Dispatcher(
            table, RateLimits(Clock(), LimitSettings(0, 0, 0), None), Metrics()
        )
        self.alice = Socket(_user(ALICE))

    def send(self, **fields: Any) -> None:
        self.successResultOf(self.dispatcher.handle(self.alice, _frame(**fields)))

    def test_a_handler_gets_the_command_and_the_sender(self) -> None:
        """The handler gets the sending connection, its viewer, the parsed command and the
        client id; an answer without a message is acked by the id alone."""
        self.send(type="typing", id="t", to=BOB)
        self.assertEqual(self.typing.handled, [(self.alice, self.alice.viewer, BOB, "t")])
        self.assertEqual(self.alice.frames, [{"type": "ack", "id": "t"}])

    def test_unknown_type(self) -> None:
        """A type missing from the table is `unknown_type`, with the client id; nothing runs."""
        self.send(type="private", id="p", to=BOB, content="x")
        error = {
            "type": "error",
            "code": "unknown_type",
            "message": "unknown frame type 'private'",
            "id": "p",
        }
        self.assertEqual(self.alice.frames, [error])
        self.assertEqual(self.typing.handled, [])

    def test_a_parser_error(self) -> None:
        """A field the parser refuses is `invalid_frame` with its message; nothing runs."""
        self.send(type="typing", id="t", to="bob")
        error = {"type": "error", "code": "invalid_frame", "message": "to must be a number"}
        self.assertEqual(self.alice.frames, [{**error, "id": "t"}])
        self.assertEqual(self.typing.handled, [])

    def test_ack_bytes(self) -> None:
        """A message's ack carries its id and time (a broadcast's id is null), in this order;
        a frame that sent no message is acked by its client id alone."""
        stored = b'{"type":"ack","id":"p","message_id":1,"timestamp":100}'
        self.assertEqual(ack_frame("p", Answer(1, 100)), stored)
        broadcast = b'{"type":"ack","id":"b","message_id":null,"timestamp":100}'
        self.assertEqual(ack_frame("b", Answer(None, 100)), broadcast)
        self.assertEqual(ack_frame("t", Answer(None, None)), b'{"type":"ack","id":"t"}')
