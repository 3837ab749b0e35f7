"""From a client's text message to its handler, and the answer: an ack or an error frame.

Every failure becomes an `error` frame and the connection stays open; nothing the client sent
can raise past this point. Frames of one connection take their place one after another: each
is checked and queued for storage before the next one starts, so a sender's messages are
stored and delivered in the order sent, while the frames of one connection still share a
group-commit batch instead of each waiting for the previous one's commit.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from time import perf_counter
from typing import Any, Protocol

import orjson
from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from socialhub.delivery.interface import Connection
from socialhub.errors import SocialHubError, Unavailable
from socialhub.handlers.accounts import Viewer
from socialhub.handlers.chat import Chat, Sent
from socialhub.handlers.rate_limit import RateLimiter
from socialhub.in_flight import InFlight
from socialhub.metrics import Metrics
from socialhub.storage.database import DatabaseUnavailable
from socialhub.ws.frames import (
    BroadcastFrame,
    ClientFrame,
    FrameError,
    GroupFrame,
    PrivateFrame,
    decode,
)
from socialhub.ws.turns import Turns

log = Logger(namespace="socialhub.dispatch")

_CLOSING = "the connection is closing: nothing was stored, send again on a new one"

# HTTP-style errors raised by handlers, as the WebSocket error codes of section 7.
_FRAME_CODES = {"invalid_request": "invalid_frame"}


class Sender(Connection, Protocol):
    """A connection that frames come from: it knows its viewer, and its frames take turns."""

    viewer: Viewer
    turn: Turns

    @property
    def accepting(self) -> bool:
        """False once the connection is closing (its registration failed, the server stops):
        a frame that arrives or waits for its turn then is refused, not stored."""


# A handler places its frame in the sender's order (checks it, queues it for storage) and gives
# what fires when the frame is stored and delivered: that Deferred itself when it places the
# frame at once, or a coroutine giving it when it must wait first (a group's membership lookup).
Placed = Deferred[Sent] | Coroutine[Any, Any, Deferred[Sent]]
Handler = Callable[[Sender, Viewer, Any, "str | None"], Placed]


def error_frame(code: str, message: str, client_id: str | None) -> bytes:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if client_id is not None:
        frame["id"] = client_id
    return orjson.dumps(frame)


def _client_id_of(payload: bytes) -> str | None:
    """The client id of a frame, if it has a usable one (to echo in an error)."""
    try:
        return decode(payload)[0]
    except FrameError as error:
        return error.client_id


def ack_frame(client_id: str, sent: Sent) -> bytes:
    return orjson.dumps(
        {"type": "ack", "id": client_id, "message_id": sent.message_id, "timestamp": sent.timestamp}
    )


class Dispatcher:
    """The dispatch table, the rate limit, and the bookkeeping of frames in flight."""

    def __init__(self, chat: Chat, limiter: RateLimiter, metrics: Metrics) -> None:
        self._handlers: dict[type[ClientFrame], Handler] = {
            PrivateFrame: chat.private,
            GroupFrame: chat.group,
            BroadcastFrame: chat.broadcast,
        }
        self._limiter = limiter
        self._metrics = metrics
        self._in_flight = InFlight()  # frames placed and not yet answered

    def admit(self, sender: Sender, payload: bytes) -> bool:
        """Count a frame against its sender's rate limit as it arrives (valid or not), and
        refuse it at once when over: a flood is answered, never queued."""
        if self._limiter.allow(sender.user_id):
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
            client_id, frame = decode(payload)
        except FrameError as error:
            sender.send_payload(error_frame(error.code, error.message, error.client_id))
            return succeed(None)
        self._metrics.frames_in.inc(frame.kind)
        started = perf_counter()
        try:
            stored = self._place(sender, frame, client_id)
        except Exception:
            stored = fail()
        self._in_flight.started()
        return stored.addCallbacks(
            self._ack,
            self._refuse,
            callbackArgs=(sender, client_id, started),
            errbackArgs=(sender, client_id, started),
        )

    async def drain(self) -> None:
        """Wait for every frame in flight to be stored and answered (shutdown)."""
        await self._in_flight.none()

    def _place(self, sender: Sender, frame: ClientFrame, client_id: str | None) -> Deferred[Sent]:
        """Check and queue the frame in its turn; what it gives fires when it is stored.

        A frame that its handler places at once, while no earlier frame of the sender is still
        being placed, skips the sender's lock: nothing can come between them anyway."""
        if not sender.accepting:
            raise Unavailable(_CLOSING)
        handler = self._handlers[type(frame)]
        if sender.turn.held:
            return Deferred.fromCoroutine(
                self._in_turn(sender, lambda: handler(sender, sender.viewer, frame, client_id))
            )
        placed = handler(sender, sender.viewer, frame, client_id)
        if isinstance(placed, Deferred):
            return placed
        return Deferred.fromCoroutine(self._in_turn(sender, lambda: placed))

    async def _in_turn(self, sender: Sender, place: Callable[[], Placed]) -> Sent:
        """Place a frame holding the sender's lock (its later frames wait), then wait for it to
        be stored."""
        await sender.turn.acquire()
        try:
            if not sender.accepting:  # it closed while the frame waited
                raise Unavailable(_CLOSING)
            placed = place()
            stored = placed if isinstance(placed, Deferred) else await placed
        finally:
            sender.turn.release()
        return await stored

    def _ack(self, sent: Sent, sender: Sender, client_id: str | None, started: float) -> None:
        self._answered(started)
        if client_id is not None:
            sender.send_payload(ack_frame(client_id, sent))

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
