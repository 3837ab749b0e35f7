"""The one twisted.web Site: request size limits, and the root that routes to Klein or /ws.

twisted.web reads a whole request body before any resource sees it and has no limit of its own,
so the limit lives in the Request: a declared Content-Length over the limit, or a (chunked)
body that grows past it, is answered 413 at once and the rest is never stored.
"""

from __future__ import annotations

from typing import Any

import orjson
from twisted.internet.interfaces import IDelayedCall
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request, Site

from socialhub._compat.twisted import path_so_far
from socialhub.errors import PayloadTooLarge
from socialhub.http.web import WebResources, is_app_route
from socialhub.metrics import Metrics
from socialhub.reactor import Reactor

BODY_LIMIT = 1024 * 1024
MEDIA_BODY_LIMIT = 5 * 1024 * 1024
MEDIA_PATH = b"/api/media"
# How long the rest of a refused body is drained, so the client reads the 413 instead of a reset.
DRAIN_SECONDS = 2.0


class LimitedRequest(Request):
    """A Request that refuses bodies over the limit before reading them into memory."""

    _refused = False
    _received = 0
    _drain_timer: IDelayedCall | None = None

    def _limit(self) -> int:
        path = path_so_far(self.channel).split(b"?", 1)[0]
        return MEDIA_BODY_LIMIT if path == MEDIA_PATH else BODY_LIMIT

    def gotLength(self, length: int | None) -> None:
        if length is not None and length > self._limit():
            self._refuse()
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._received += len(data)
        if self._received > self._limit():
            self._refuse()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self._refused:
            self._close()
            return
        super().requestReceived(command, path, version)

    def connectionLost(self, reason: Any) -> None:
        if self._drain_timer is not None and self._drain_timer.active():
            self._drain_timer.cancel()
        super().connectionLost(reason)

    def _refuse(self) -> None:
        """Answer 413 now; drain what is already on its way for a moment, then close."""
        self._refused = True
        self.content = None
        self.requestHeaders.removeHeader(b"expect")  # no "100 Continue" after our answer
        error = PayloadTooLarge("the request body is too large")
        body = orjson.dumps({"error": error.code, "message": error.message})
        transport = self.channel.transport if self.channel else None
        if transport is None:
            return
        transport.write(
            b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        # The site's factory gives each channel its reactor's callLater.
        self._drain_timer = self.channel.callLater(DRAIN_SECONDS, self._close)

    def _close(self) -> None:
        transport = self.channel.transport if self.channel else None
        if transport is not None:
            transport.loseConnection()


class Root(Resource):
    """`/ws` goes to the WebSocket resource; `/static/` and the web client's routes to the web
    client (http/web.py); every other path to the Klein API."""

    def __init__(
        self, api: IResource, websocket: IResource | None = None, web: WebResources | None = None
    ) -> None:
        super().__init__()
        self._api = api
        self._websocket = websocket
        self._web = web

    def getChild(self, path: bytes, request: Any) -> IResource:
        if path == b"ws" and self._websocket is not None and not request.postpath:
            return self._websocket
        if self._web is not None:
            if path == b"static":
                return self._web.static
            if is_app_route([path, *request.postpath]):
                return self._web.page
        # Give Klein the whole path: it routes absolute paths such as /api/auth/login.
        request.postpath.insert(0, request.prepath.pop())
        return self._api

    def render(self, request: Any) -> bytes | int:
        rendered: bytes | int = self._api.render(request)
        return rendered


class CountingSite(Site):
    """A Site that counts its responses by status for /metrics."""

    def __init__(self, root: Resource, reactor: Reactor, metrics: Metrics) -> None:
        # No form parsing: the API takes JSON, and twisted.web would parse a multipart upload
        # into request.args on the reactor thread (POST /api/media reads its own body).
        super().__init__(
            root, requestFactory=LimitedRequest, reactor=reactor, parsePOSTFormSubmission=False
        )
        self.displayTracebacks = False
        self.noisy = False
        self._metrics = metrics

    def log(self, request: Any) -> None:
        self._metrics.http_responses.inc(str(request.code))


def make_site(root: Resource, reactor: Reactor, metrics: Metrics) -> Site:
    return CountingSite(root, reactor, metrics)
