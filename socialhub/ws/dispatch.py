"""From a client's text message to its handler, and the answer: an ack or an error frame.

The dispatch table maps each frame type to its parser (ws/frames.py: JSON fields to a command
of handlers/commands.py) and its handler; a new frame type is a command, its parser, its
handler and one entry. Whether or not the frame stores a message, its handler's Answer is what
the ack says.

Every failure becomes an `error` frame and the connection stays open; nothing the client sent
can raise past this point. Frames of one connection take their place one after another: each
is checked and queued for storage before the next one starts, so a sender's messages are
stored and delivered in the order sent, while the frames of one connection still share a
group-commit batch instead of each waiting for the previous one's commit.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Generic, Protocol, TypeVar

import orjson
from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from socialhub.delivery.interface import Connection
from socialhub.errors import InvalidRequest, SocialHubError, Unavailable
from socialhub.handlers.accounts import Viewer
from socialhub.handlers.chat import Chat
from socialhub.handlers.commands import Answer
from socialhub.handlers.message_changes import MessageChanges
from socialhub.handlers.rate_limit import RateLimits
from socialhub.handlers.typing import Typing
from socialhub.in_flight import InFlight
from socialhub.metrics import Metrics
from socialhub.storage.database import DatabaseUnavailable
from socialhub.ws import frames
from socialhub.ws.frames import Fields, FrameError
from socialhub.ws.turns import Turns

log = Logger(namespace="socialhub.dispatch")

_CLOSING = "the connection is closing: nothing was stored, send again on a new one"

# HTTP-style errors raised by handlers, as the WebSocket error codes (docs/api/errors.md).
_FRAME_CODES = {"invalid_request": "invalid_frame"}

C = TypeVar("C")


class Sender(Connection, Protocol):
    """A connection that frames come from: it knows its viewer and its client's address, and
    its frames take turns."""

    viewer: Viewer
    address: str
    turn: Turns

    @property
    def accepting(self) -> bool:
        """False once the connection is closing (its registration failed, the server stops):
        a frame that arrives or waits for its turn then is refused, not stored."""


# A handler places its frame in the sender's order (checks it, queues it for storage) and gives
# what fires when the frame is answered (stored and delivered): that Deferred itself when it
# places the frame at once, or a coroutine giving it when it must wait first (a group's
# membership lookup).
Placed = Deferred[Answer] | Coroutine[Any, Any, Deferred[Answer]]
Handler = Callable[[Connection, Viewer, Any, "str | None"], Placed]


@dataclass(frozen=True, slots=True)
class FrameType(Generic[C]):
    """One entry of the dispatch table: how a frame's fields become a command (raising
    InvalidRequest when they cannot), and the handler that takes it with the sending
    connection (for `exclude`), its viewer and the client id."""

    parse: Callable[[Fields], C]
    handle: Callable[[Connection, Viewer, C, str | None], Placed]


Table = Mapping[str, FrameType[Any]]


def chat_frames(chat: Chat, typing: Typing, changes: MessageChanges) -> Table:
    """The chat frame types: private, group, broadcast, the typing indicator, and the changes
    of a message (reaction, edit, delete)."""
    return {
        "private": FrameType(frames.private, chat.private),
        "group": FrameType(frames.group, chat.group),
        "broadcast": FrameType(frames.broadcast, chat.broadcast),
        "typing": FrameType(frames.typing, typing.typing),
        "reaction": FrameType(frames.reaction, changes.react),
        "edit": FrameType(frames.edit, changes.edit),
        "delete": FrameType(frames.delete, changes.delete),
    }


def error_frame(code: str, message: str, client_id: str | None) -> bytes:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if client_id is not None:
        frame["id"] = client_id
    return orjson.dumps(frame)


def _client_id_of(payload: bytes) -> str | None:
    """The client id of a frame, if it has a usable one (to echo in an error)."""
    try:
        return frames.envelope(payload)[1]
    except FrameError as error:
        return error.client_id


def ack_frame(client_id: str, answer: Answer) -> bytes:
    """A frame that sent a message has its time, and its ack gives it with the message id (null
    when it is not stored); any other frame's ack is its client id alone."""
    if answer.timestamp is None:
        return orjson.dumps({"type": "ack", "id": client_id})
    return orjson.dumps(
        {
            "type": "ack",
            "id": client_id,
            "message_id": answer.message_id,
            "timestamp": answer.timestamp,
        }
    )


class Dispatcher:
    """The dispatch table, the rate limit, and the bookkeeping of frames in flight."""

    def __init__(self, table: Table, limits: RateLimits, metrics: Metrics) -> None:
        self._table = table
        self._limits = limits
        self._metrics = metrics
        self._in_flight = InFlight()  # frames placed and not yet answered

    @property
    def frame_types(self) -> frozenset[str]:
        """The frame types a client may send: what the authorization matrix test covers."""
        return frozenset(self._table)

    def admit(self, sender: Sender, payload: bytes) -> bool:
        """Count a frame against its sender's and its address's rate limits as it arrives
        (valid or not), and refuse it at once when over: a flood is answered, never queued."""
        if self._limits.allow_frame(sender.user_id, sender.address):
            return True
        self._metrics.rate_limited.inc()
        message = "too many frames; slow down"
        sender.send_payload(error_frame("rate_limited", message, _client_id_of(payload)))
        return False

    def handle(self, sender: Sender, payload: bytes) -> Deferred[None]:
        """Handle one text message; the Deferred fires when it is answered (never fails).

        Deferreds with callbacks rather than a coroutine: this runs for every frame, and the
        coroutine machinery cost more than the rest of the dispatch."""
        try:
            frame_type, client_id, fields = frames.envelope(payload)
            handle, command = self._parse(frame_type, client_id, fields)
        except FrameError as error:
            sender.send_payload(error_frame(error.code, error.message, error.client_id))
            return succeed(None)
        self._metrics.frames_in.inc(frame_type)
        started = perf_counter()
        try:
            answered = self._place(sender, handle, command, client_id)
        except Exception:
            answered = fail()
        self._in_flight.started()
        return answered.addCallbacks(
            self._ack,
            self._refuse,
            callbackArgs=(sender, client_id, started),
            errbackArgs=(sender, client_id, started),
        )

    async def drain(self) -> None:
        """Wait for every frame in flight to be stored and answered (shutdown)."""
        await self._in_flight.none()

    def _parse(self, frame_type: str, client_id: str | None, fields: Fields) -> tuple[Handler, Any]:
        """The handler of the frame's type and the command its parser makes of the fields."""
        entry = self._table.get(frame_type)
        if entry is None:
            raise frames.unknown_type(frame_type, client_id)
        try:
            return entry.handle, entry.parse(fields)
        except InvalidRequest as error:
            raise FrameError("invalid_frame", error.message, client_id) from None

    def _place(
        self, sender: Sender, handle: Handler, command: Any, client_id: str | None
    ) -> Deferred[Answer]:
        """Check and queue the frame in its turn; what it gives fires when it is answered.

        A frame that its handler places at once, while no earlier frame of the sender is still
        being placed, skips the sender's lock: nothing can come between them anyway."""
        if not sender.accepting:
            raise Unavailable(_CLOSING)
        if sender.turn.held:
            return Deferred.fromCoroutine(
                self._in_turn(sender, lambda: handle(sender, sender.viewer, command, client_id))
            )
        placed = handle(sender, sender.viewer, command, client_id)
        if isinstance(placed, Deferred):
            return placed
        return Deferred.fromCoroutine(self._in_turn(sender, lambda: placed))

    async def _in_turn(self, sender: Sender, place: Callable[[], Placed]) -> Answer:
        """Place a frame holding the sender's lock (its later frames wait), then wait for it to
        be answered."""
        await sender.turn.acquire()
        try:
            if not sender.accepting:  # it closed while the frame waited
                raise Unavailable(_CLOSING)
            placed = place()
            answered = placed if isinstance(placed, Deferred) else await placed
        finally:
            sender.turn.release()
        return await answered

    def _ack(self, answer: Answer, sender: Sender, client_id: str | None, started: float) -> None:
        self._answered(started)
        if client_id is not None:
            sender.send_payload(ack_frame(client_id, answer))

    def _refuse(
        self, failure: Failure, sender: Sender, client_id: str | None, started: float
    ) -> None:
        """Every failure of a frame becomes an error frame; the connection stays usable."""
        self._answered(started)
        error = failure.value
        if isinstance(error, SocialHubError):
            code = _FRAME_CODES.get(error.code, error.code)
            sender.send_payload(error_frame(code, error.message, client_id))
        elif isinstance(error, DatabaseUnavailable):
            message = "the database is unreachable: nothing was stored, send again later"
            sender.send_payload(error_frame("unavailable", message, client_id))
        else:
            log.failure("unexpected error handling a frame", failure)
            sender.send_payload(error_frame("internal_error", "internal server error", client_id))

    def _answered(self, started: float) -> None:
        """A frame that was placed is answered: its latency, and one frame fewer in flight."""
        self._metrics.persistence_latency.observe(perf_counter() - started)
        self._in_flight.finished()
