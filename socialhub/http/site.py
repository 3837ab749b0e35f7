"""The one twisted.web Site (its requests are http/request.py's), the root that routes to
Klein, /ws or the web client, and the small Site of --metrics-listen."""

from __future__ import annotations

import time
from typing import Any

from twisted.logger import Logger
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request, Site

from socialhub._compat.twisted import channel_protocol
from socialhub.errors import InvalidRequest, MethodNotAllowed, SocialHubError, UpgradeRequired
from socialhub.http.api import write_error
from socialhub.http.channel import Deadlines, JsonChannel
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


class _Refused(Resource):
    """The contract's JSON answer to a request refused before routing, where Klein or
    Autobahn would answer in HTML or with a bare status line."""

    isLeaf = True

    def __init__(self, error: SocialHubError, allow: bytes | None = None) -> None:
        super().__init__()
        self._error = error
        self._allow = allow

    def render(self, request: Any) -> bytes:
        if self._allow is not None:
            request.setHeader(b"allow", self._allow)
        return write_error(request, self._error)


_NOT_UTF8 = _Refused(InvalidRequest("the path is not valid UTF-8"))
# RFC 9112: an HTTP/1.1 request without Host is a 400.
_NO_HOST = _Refused(InvalidRequest("an HTTP/1.1 request needs a Host header"))
_WS_METHOD = _Refused(MethodNotAllowed("/ws takes only a GET (a WebSocket upgrade)"), b"GET")
_NOT_UPGRADE = _Refused(UpgradeRequired("/ws takes only a WebSocket upgrade"))


def _is_upgrade(request: Any) -> bool:
    """Whether a request asks for a WebSocket (Autobahn checks the rest of the handshake)."""
    upgrade = request.getHeader(b"upgrade") or b""
    return request.method == b"GET" and b"websocket" in upgrade.lower()


def _refusal(path: bytes, request: Any) -> IResource | None:
    """The answer to a request refused before routing, if it is one."""
    if not _is_utf8([path, *request.postpath]):
        return _NOT_UTF8
    if request.clientproto == b"HTTP/1.1" and not request.getHeader(b"host"):
        return _NO_HOST
    return None


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
        refused = _refusal(path, request)
        if refused is not None:
            return refused
        if path == b"ws" and self._websocket is not None and not request.postpath:
            request.route = "/ws"
            if not _is_upgrade(request):
                return _WS_METHOD if request.method != b"GET" else _NOT_UPGRADE
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
        deadlines: Deadlines,
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
        self._deadlines = deadlines

    def protocol(self) -> Any:
        """Each connection's protocol: its channel answers Twisted's own refusals in JSON,
        and times out a request too slow to arrive."""
        return channel_protocol(JsonChannel(self._deadlines))

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
    deadlines: Deadlines,
    trusted_proxy: str | None = None,
    access_log: bool = False,
) -> Site:
    return CountingSite(root, reactor, metrics, deadlines, trusted_proxy, access_log)


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
