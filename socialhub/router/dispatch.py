"""From a client's text message to its handler, and the answer: an ack or an error frame.

Every failure becomes an `error` frame and the connection stays open; nothing the client sent
can raise past this point. Frames of one connection take their place one after another: each
is checked and queued for storage before the next one starts, so a sender's messages are
stored and delivered in the order sent, while the frames of one connection still share a
group-commit batch instead of each waiting for the previous one's commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson
from twisted.internet.defer import Deferred, DeferredList, DeferredLock
from twisted.logger import Logger

from socialhub.errors import SocialHubError
from socialhub.handlers.accounts import Viewer
from socialhub.handlers.chat import Chat, Sent
from socialhub.metrics import Metrics
from socialhub.router.delivery import Connection
from socialhub.router.rate_limit import RateLimiter
from socialhub.storage.database import DatabaseUnavailable
from socialhub.ws.frames import (
    BroadcastFrame,
    ClientFrame,
    FrameError,
    GroupFrame,
    PrivateFrame,
    decode,
)

log = Logger(namespace="socialhub.dispatch")

# HTTP-style errors raised by handlers, as the WebSocket error codes of section 7.
_FRAME_CODES = {"invalid_request": "invalid_frame"}


class Sender(Connection, Protocol):
    """A connection that frames come from: it knows its viewer, and its frames take turns."""

    viewer: Viewer
    turn: DeferredLock


# A handler returns once its frame has its place in the sender's order (checked, queued for
# storage); what it returns fires when the frame is stored and delivered.
Handler = Callable[[Sender, Viewer, Any, "str | None"], Awaitable[Deferred[Sent]]]


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
        self._in_flight: set[Deferred[None]] = set()

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
        """Handle one text message; the Deferred fires when it is answered (never fails)."""
        work = Deferred.fromCoroutine(self._handle(sender, payload))
        self._in_flight.add(work)
        work.addBoth(lambda _: self._in_flight.discard(work))
        return work

    async def drain(self) -> None:
        """Wait for every frame in flight to be stored and answered (shutdown)."""
        while self._in_flight:
            await DeferredList(list(self._in_flight))

    async def _handle(self, sender: Sender, payload: bytes) -> None:
        client_id = None
        try:
            client_id, frame = decode(payload)
            self._metrics.frames_in.inc(frame.kind)
            with self._metrics.persistence_latency.time():
                sent = await self._placed(sender, frame, client_id)
        except FrameError as error:
            sender.send_payload(error_frame(error.code, error.message, error.client_id))
        except SocialHubError as error:
            code = _FRAME_CODES.get(error.code, error.code)
            sender.send_payload(error_frame(code, error.message, client_id))
        except DatabaseUnavailable:
            message = "the database is unreachable: nothing was stored, send again later"
            sender.send_payload(error_frame("unavailable", message, client_id))
        except Exception:
            log.failure("unexpected error handling a frame")
            sender.send_payload(error_frame("internal_error", "internal server error", client_id))
        else:
            if client_id is not None:
                sender.send_payload(ack_frame(client_id, sent))

    async def _placed(self, sender: Sender, frame: ClientFrame, client_id: str | None) -> Sent:
        """Check and queue the frame in its turn, then wait for it to be stored."""
        await sender.turn.acquire()
        try:
            stored = await self._handlers[type(frame)](sender, sender.viewer, frame, client_id)
        finally:
            sender.turn.release()
        return await stored
