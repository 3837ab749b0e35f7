"""The one twisted.web Site (its requests are http/request.py's), the root that routes to
Klein, /ws or the web client, and the small Site of --metrics-listen."""

from __future__ import annotations

import time
from typing import Any

from twisted.logger import Logger
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request, Site

from socialhub._compat.twisted import channel_protocol
from socialhub.errors import InvalidRequest
from socialhub.http.api import write_error
from socialhub.http.channel import JsonChannel
from socialhub.http.request import LimitedRequest, client_address
from socialhub.http.web import WebResources, is_app_route
from socialhub.metrics import Metrics
from socialhub.reactor import Reactor

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
access_log = Logger(namespace="socialhub.access")


def _is_utf8(segments: list[bytes]) -> bool:
    """Whether a path's segments (percent-decoded) are UTF-8, as every route's must be."""
    try:
        b"/".join(segments).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _NotUtf8(Resource):
    """The answer to a path that is not UTF-8: the contract's 400, where Klein would answer
    an HTML one and log the client's mistake as an error."""

    isLeaf = True

    def render(self, request: Any) -> bytes:
        return write_error(request, InvalidRequest("the path is not valid UTF-8"))


_NOT_UTF8 = _NotUtf8()


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
        if not _is_utf8([path, *request.postpath]):
            return _NOT_UTF8
        if path == b"ws" and self._websocket is not None and not request.postpath:
            request.route = "/ws"
            return self._websocket
        if self._web is not None:
            if path == b"static":
                request.route = "/static/{file}"
                return self._web.static
            if is_app_route([path, *request.postpath]):
                request.route = "web client"
                return self._web.page
        # Give Klein the whole path: it routes absolute paths such as /api/auth/login.
        request.postpath.insert(0, request.prepath.pop())
        return self._api

    def render(self, request: Any) -> bytes | int:
        rendered: bytes | int = self._api.render(request)
        return rendered


class CountingSite(Site):
    """A Site that counts its responses by status and times them by route for /metrics, and
    with `access_log` logs each one as an event (so it follows --log-format)."""

    def __init__(
        self,
        root: Resource,
        reactor: Reactor,
        metrics: Metrics,
        trusted_proxy: str | None = None,
        access_log: bool = False,
    ) -> None:
        # No form parsing: the API takes JSON, and twisted.web would parse a multipart upload
        # into request.args on the reactor thread (POST /api/media reads its own body).
        super().__init__(
            root, requestFactory=LimitedRequest, reactor=reactor, parsePOSTFormSubmission=False
        )
        self.displayTracebacks = False
        self.noisy = False
        self._metrics = metrics
        self._trusted_proxy = trusted_proxy
        self._access_log = access_log

    def protocol(self) -> Any:
        """Each connection's protocol: its channel answers Twisted's own refusals in JSON."""
        return channel_protocol(JsonChannel())

    def log(self, request: Any) -> None:
        """twisted.web calls this once per finished request (in place of its own access log)."""
        self._metrics.http_responses.inc(str(request.code))
        if not isinstance(request, LimitedRequest):
            return
        duration = time.monotonic() - request.began
        method = request.method.decode("latin-1")
        self._metrics.http_latency.observe((method, request.route), duration)
        if self._access_log:
            access_log.info(
                "{client} {method} {path} {status} {bytes} {duration:.4f}s user={user_id}",
                client=client_address(request, self._trusted_proxy),
                method=method,
                path=request.path.decode("latin-1"),  # the query string may hold tokens
                route=request.route,
                status=request.code,
                bytes=request.sentLength,
                duration=round(duration, 6),
                user_id=request.user_id,
            )


def make_site(
    root: Resource,
    reactor: Reactor,
    metrics: Metrics,
    trusted_proxy: str | None = None,
    access_log: bool = False,
) -> Site:
    return CountingSite(root, reactor, metrics, trusted_proxy, access_log)


class MetricsPage(Resource):
    """`/metrics` alone, for --metrics-listen: the process's own, whichever shares its port."""

    isLeaf = True

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self._metrics = metrics

    def render_GET(self, request: Request) -> bytes:
        if request.path != b"/metrics":
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"only /metrics is served here\n"
        request.setHeader(b"content-type", METRICS_CONTENT_TYPE.encode())
        return self._metrics.render()


class QuietSite(Site):
    """A Site that logs nothing: twisted.web's own access log would log every scrape."""

    noisy = False
    displayTracebacks = False

    def log(self, request: Any) -> None:
        pass


def metrics_site(metrics: Metrics, reactor: Reactor) -> Site:
    """The Site of --metrics-listen, whose scrapes are neither logged nor counted."""
    return QuietSite(MetricsPage(metrics), reactor=reactor)
