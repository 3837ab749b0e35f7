"""The Autobahn protocol of /ws: authenticate the upgrade, then hand frames to the dispatcher.

Autobahn turns an exception in onConnect into a 500 that quotes it, so everything there is
caught: a refused upgrade carries only its status line.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from autobahn.twisted.resource import WebSocketResource
from autobahn.twisted.websocket import WebSocketServerFactory
from autobahn.websocket.types import ConnectionDeny, ConnectionRequest
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from socialhub._compat.autobahn import LeanServerProtocol
from socialhub.addresses import client_of
from socialhub.auth.tokens import COOKIE_NAME
from socialhub.delivery.cork import Cork
from socialhub.delivery.fanout import Fanout
from socialhub.delivery.interface import SharedFrame
from socialhub.handlers.accounts import Accounts, Viewer
from socialhub.reactor import Reactor
from socialhub.storage.database import DatabaseUnavailable
from socialhub.ws.backpressure import SlowReaderGuard
from socialhub.ws.direct_write import SocketWriter
from socialhub.ws.dispatch import Dispatcher
from socialhub.ws.turns import Turns

MAX_MESSAGE = 64 * 1024
PING_INTERVAL = 30
PING_TIMEOUT = 60
# Seconds a client has to answer the server's close frame before its connection is cut.
# Autobahn's timers fire at a whole second (rounded down), so its default of 1 s could cut a
# client at once, before it even read the close frame and its code.
CLOSE_TIMEOUT = 5
_log = Logger(namespace="socialhub.ws")


@dataclass(frozen=True)
class Hub:
    """What every connection of this process shares."""

    accounts: Accounts
    fanout: Fanout
    dispatcher: Dispatcher
    allowed_origins: frozenset[str]
    cork: Cork  # held while a batch of messages is answered (see ws/direct_write.py)
    trusted_proxy: str | None = None  # whose X-Forwarded-For names the client in logs
    serial: itertools.count[int] = field(default_factory=itertools.count)

    def connection_id(self) -> str:
        """An id no other connection of any process has: the process id and a counter."""
        return f"{self.fanout.process_id}:{next(self.serial)}"


def session_token(cookie_header: str) -> str | None:
    """The session token from a Cookie header, if present."""
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE_NAME and value:
            return value
    return None


def origin_allowed(origin: str | None, host: str | None, allowed: frozenset[str]) -> bool:
    """No Origin (not a browser), the server's own host[:port], or a listed origin."""
    if origin is None:
        return True
    if origin.rstrip("/").lower() in allowed:
        return True
    return bool(host) and urlsplit(origin).netloc.lower() == (host or "").lower()


class ChatProtocol(LeanServerProtocol):
    """One client's WebSocket connection."""

    factory: ChatFactory
    viewer: Viewer
    address: str
    since: str | None  # the cursor of /ws?since=, to resume from
    _guard: SlowReaderGuard
    _writer: SocketWriter
    connection_id: str
    user_id: int
    session_id: int

    def connectionMade(self) -> None:
        super().connectionMade()
        # Autobahn tries to set TCP_NODELAY before its options are applied and hides the error.
        transport: Any = self.transport
        transport.setTcpNoDelay(True)
        self.turn = Turns()  # see ws/dispatch.py
        # Made here, not in onOpen: sendData (the handshake's answer too) flushes it.
        self._writer = SocketWriter(transport, self.factory.hub.cork)

    # Autobahn accepts a Deferred from onConnect, though its annotation does not say so.
    def onConnect(self, request: ConnectionRequest) -> Deferred[None]:  # type: ignore[override]
        return Deferred.fromCoroutine(self._authorize(request))

    async def _authorize(self, request: ConnectionRequest) -> None:
        hub = self.factory.hub
        if request.path != "/ws":
            raise ConnectionDeny(404, "Not Found")
        if not origin_allowed(
            request.headers.get("origin"), request.headers.get("host"), hub.allowed_origins
        ):
            raise ConnectionDeny(403, "Forbidden")
        try:
            viewer = await hub.accounts.authenticate(
                session_token(request.headers.get("cookie", ""))
            )
        except DatabaseUnavailable:
            raise ConnectionDeny(503, "Service Unavailable") from None
        except Exception:
            _log.failure("authenticating a WebSocket upgrade")
            raise ConnectionDeny(500, "Internal Server Error") from None
        if viewer is None:
            raise ConnectionDeny(401, "Unauthorized")
        if self.state == self.STATE_CLOSED:
            # The client left, or the handshake deadline cut it, while the session was looked
            # up: Autobahn would open it all the same, and nothing would ever close it.
            raise ConnectionDeny(408, "gone before the handshake was answered")
        self.viewer = viewer
        self.address = self._client()  # whose frames count against its address's rate limit
        self.since = (request.params.get("since") or [None])[0]
        self.connection_id = hub.connection_id()
        self.user_id = viewer.user.id
        self.session_id = viewer.session_id

    def failHandshake(
        self, reason: str, code: int = 400, responseHeaders: list[tuple[str, str]] | None = None
    ) -> None:
        """A refused upgrade (bad origin, no session, a malformed handshake) is the client's
        doing, logged at info with its address."""
        _log.info(
            "refused a WebSocket upgrade from {client}: {status} {reason}",
            client=self._client(),
            status=code,
            reason=reason,
        )
        super().failHandshake(reason, code, responseHeaders)

    def _client(self) -> str:
        transport: Any = self.transport
        peer = str(getattr(transport.getPeer(), "host", "unknown"))
        headers: dict[str, str] = getattr(self, "http_headers", None) or {}
        return client_of(peer, headers.get("x-forwarded-for"), self.factory.hub.trusted_proxy)

    def onOpen(self) -> None:
        # twisted.web registered the HTTP channel as this transport's producer; drop it so the
        # connection's own flow control is not blocked by a finished HTTP request.
        transport: Any = self.transport
        transport.unregisterProducer()
        self._guard = SlowReaderGuard(transport, self.close_with)
        # Frames sent before the registration (and its replay) is done wait for it: stored
        # earlier, a message would come back to this very connection in the replay.
        self.turn.acquire()
        opened = Deferred.fromCoroutine(self.factory.hub.fanout.opened(self, self.since))
        opened.addErrback(self._not_opened)
        opened.addBoth(lambda _: self._guard.replayed())
        opened.addBoth(lambda _: self.turn.release())

    def _not_opened(self, failure: Failure) -> None:
        """The replay could not be read: the client should come back (1013), not miss frames."""
        if not failure.check(DatabaseUnavailable):
            _log.failure("registering a connection", failure)
        self.close_with(1013, "try again later")

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if isBinary:
            self.close_with(1003, "binary frames are not supported")
            return
        dispatcher = self.factory.hub.dispatcher
        if dispatcher.admit(self, payload):
            dispatcher.handle(self, payload)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        if hasattr(self, "_guard"):
            self._guard.closed()
        if hasattr(self, "viewer"):
            self.factory.hub.fanout.closed(self)

    def send_payload(self, payload: bytes) -> None:
        self._write_frame(self.framed(payload))

    def send_shared(self, frame: SharedFrame) -> None:
        if frame.wire is None:
            frame.wire = self.framed(frame.payload)
        self._write_frame(frame.wire)

    def _write_frame(self, wire: bytes) -> None:
        """The frame's bytes to the socket at once when nothing is queued ahead (SocketWriter),
        counted by the slow-reader guard."""
        if not self.accepting:
            return
        self._guard.sending(len(wire))
        self._writer.write(wire)

    def before_own_frame(self) -> None:
        """Frames this connection keeps while corked go before Autobahn's own (a close, this
        server's or the slow-reader guard's, never overtakes them)."""
        self._writer.flush()


class ChatFactory(WebSocketServerFactory):
    protocol = ChatProtocol  # type: ignore[assignment]

    def __init__(self, hub: Hub, reactor: Reactor, handshake_timeout: float) -> None:
        super().__init__(reactor=reactor)
        self.hub = hub
        self.setProtocolOptions(
            webStatus=False,
            maxMessagePayloadSize=MAX_MESSAGE,
            maxFramePayloadSize=MAX_MESSAGE,
            failByDrop=False,
            autoPingInterval=PING_INTERVAL,
            autoPingTimeout=PING_TIMEOUT,
            closeHandshakeTimeout=CLOSE_TIMEOUT,
            # From the upgrade request read (http/channel.py timed its headers) to the answer:
            # the session lookup of a stalled database must not hold the socket for ever.
            openHandshakeTimeout=handshake_timeout,
            # Let "null" through Autobahn's own check (which answers 400): origin_allowed
            # refuses it with the contract's 403.
            allowNullOrigin=True,
        )


def websocket_resource(hub: Hub, reactor: Reactor, handshake_timeout: float) -> WebSocketResource:
    return WebSocketResource(ChatFactory(hub, reactor, handshake_timeout))
