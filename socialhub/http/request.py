"""One HTTP request as this server reads it: body limits, the caller's address, and what the
access log and the latency histogram learn while it is served.

twisted.web reads a whole request body before any resource sees it and has no limit of its own,
so the limit lives in the Request: a declared Content-Length over the limit, or a (chunked)
body that grows past it, is answered 413 at once and the rest is never stored.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from twisted.internet.interfaces import IDelayedCall
from twisted.web.http import RESPONSES
from twisted.web.server import Request

from socialhub._compat.twisted import path_so_far
from socialhub.addresses import client_of
from socialhub.errors import PayloadTooLarge, SocialHubError

BODY_LIMIT = 1024 * 1024
MEDIA_BODY_LIMIT = 5 * 1024 * 1024
MEDIA_PATH = b"/api/media"
# How long the rest of a refused body is drained, so the client reads the 413 instead of a reset.
DRAIN_SECONDS = 2.0
# The route label of a request no route claimed (an unknown path, a request refused early).
OTHER_ROUTE = "other"


def client_address(request: Request, trusted_proxy: str | None) -> str:
    """The caller's address; X-Forwarded-For is believed only from the trusted proxy."""
    peer = str(getattr(request.getClientAddress(), "host", "unknown"))
    forwarded = request.getHeader(b"x-forwarded-for")
    return client_of(peer, forwarded.decode("latin-1") if forwarded else None, trusted_proxy)


def raw_error(error: SocialHubError) -> bytes:
    """A whole response of the contract's error shape, for an answer written straight to the
    connection (no Request will answer), which closes after it."""
    body = orjson.dumps({"error": error.code, "message": error.message})
    reason = RESPONSES.get(error.status, b"Error")
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
        % (error.status, reason, len(body), body)
    )


class LimitedRequest(Request):
    """A Request that refuses bodies over the limit before reading them into memory, and keeps
    what the access log and the latency histogram need: when it began, the route pattern that
    served it and the user, once the API has learnt them."""

    refused = False  # answered 413 already: the channel's deadlines leave it be
    _received = 0
    _drain_timer: IDelayedCall | None = None
    route = OTHER_ROUTE
    user_id: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.began = time.monotonic()  # made when the request line arrives

    def _limit(self) -> int:
        path = path_so_far(self.channel).split(b"?", 1)[0]
        return MEDIA_BODY_LIMIT if path == MEDIA_PATH else BODY_LIMIT

    def gotLength(self, length: int | None) -> None:
        if length is not None and length > self._limit():
            self._refuse()
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self.refused:
            return
        self._received += len(data)
        if self._received > self._limit():
            self._refuse()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self.refused:
            self._close()
            return
        super().requestReceived(command, path, version)

    def connectionLost(self, reason: Any) -> None:
        if self._drain_timer is not None and self._drain_timer.active():
            self._drain_timer.cancel()
        super().connectionLost(reason)

    def _refuse(self) -> None:
        """Answer 413 now; drain what is already on its way for a moment, then close."""
        self.refused = True
        self.content = None
        self.requestHeaders.removeHeader(b"expect")  # no "100 Continue" after our answer
        transport = self.channel.transport if self.channel else None
        if transport is None:
            return
        transport.write(raw_error(PayloadTooLarge("the request body is too large")))
        # The site's factory gives each channel its reactor's callLater.
        self._drain_timer = self.channel.callLater(DRAIN_SECONDS, self._close)

    def _close(self) -> None:
        transport = self.channel.transport if self.channel else None
        if transport is not None:
            transport.loseConnection()
