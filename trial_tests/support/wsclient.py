"""A real Autobahn WebSocket client for end-to-end tests: frames arrive in a queue to await.

Presence frames come whenever someone of the user's audience connects or leaves, at a moment
no test of anything else controls: a client drops them unless it was opened with
`presence=True` (the presence tests).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import orjson
from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredQueue
from twisted.internet.endpoints import TCP4ClientEndpoint

from socialhub._compat.autobahn import unmasked

FRAME_TIMEOUT = 10.0


class WsRefused(Exception):
    """The server refused the upgrade with this HTTP status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"upgrade refused with {status}")
        self.status = status


class _Protocol(WebSocketClientProtocol):
    factory: _Factory

    def onOpen(self) -> None:
        self.factory.opened.callback(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        frame = orjson.loads(payload)
        client = self.factory.client
        if client.presence or not (isinstance(frame, dict) and frame.get("type") == "presence"):
            client.frames.put(frame)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        client = self.factory.client
        if not self.factory.opened.called:
            match = re.search(r"upgrade failed \[(\d{3})\]", self.wasNotCleanReason or "")
            self.factory.opened.errback(WsRefused(int(match.group(1)) if match else 0))
        if not client.closed.called:
            client.close_reason = reason
            client.closed.callback(code)


class _Factory(WebSocketClientFactory):
    protocol = _Protocol  # type: ignore[assignment]

    def __init__(self, client: WsClient, url: str, headers: dict[str, str]) -> None:
        super().__init__(url, headers=headers, reactor=reactor)
        # Autobahn gives the server 1 s to drop TCP after the closing handshake, then reports
        # 1006 instead of the server's code: a loaded machine's server can take longer.
        self.setProtocolOptions(serverConnectionDropTimeout=FRAME_TIMEOUT)
        self.client = client
        self.opened: Deferred[_Protocol] = Deferred()


class WsClient:
    """One WebSocket connection: `send`, `next` (the next frame), `closed` (fires with the code)."""

    def __init__(self, presence: bool = False) -> None:
        self.presence = presence  # whether presence frames are kept
        self.frames: DeferredQueue[Any] = DeferredQueue()
        self.closed: Deferred[int | None] = Deferred()
        self.close_reason: str | None = None  # the server's, once `closed` fired
        self.protocol: Any = None

    def send(self, frame: Any) -> None:
        self.send_raw(orjson.dumps(frame))

    def send_raw(self, payload: bytes, binary: bool = False) -> None:
        self.protocol.sendMessage(payload, isBinary=binary)

    async def next(self, timeout: float = FRAME_TIMEOUT) -> Any:
        frame = self.frames.get()
        frame.addTimeout(timeout, reactor)
        return await frame

    async def next_of(self, kind: str, timeout: float = FRAME_TIMEOUT) -> Any:
        """The next frame of this type, skipping others."""
        while True:
            frame = await self.next(timeout)
            if frame.get("type") == kind:
                return frame

    def pending(self) -> list[Any]:
        """Frames received and not yet taken."""
        return list(self.frames.pending)

    async def close(self) -> None:
        if not self.closed.called:
            self.protocol.sendClose()
            await self.closed


async def connect(
    base_url: str,
    token: str | None,
    origin: str | None = None,
    path: str = "/ws",
    extra_headers: dict[str, str] | None = None,
    presence: bool = False,
) -> WsClient:
    """Open a WebSocket to the server at `base_url` with this session token."""
    parts = urlsplit(base_url)
    headers = dict(extra_headers or {})
    if token is not None:
        headers["Cookie"] = f"socialhub_session={token}"
    if origin is not None:
        headers["Origin"] = origin
    client = WsClient(presence)
    factory = _Factory(client, f"ws://{parts.netloc}{path}", headers)
    endpoint = TCP4ClientEndpoint(reactor, parts.hostname or "127.0.0.1", parts.port or 80)
    await endpoint.connect(factory)
    client.protocol = await factory.opened
    return client


def client_frame(payload: bytes, first: int = 0x81, masked: bool = True) -> bytes:
    """A frame as a browser sends it: by default a whole text message (FIN and opcode 1 in
    the `first` byte), masked; the payload shorter than 126 bytes."""
    assert len(payload) < 126
    if not masked:
        return bytes([first, len(payload)]) + payload
    mask = b"\x37\xfa\x21\x3d"
    return bytes([first, 0x80 | len(payload)]) + mask + unmasked(mask, payload)
