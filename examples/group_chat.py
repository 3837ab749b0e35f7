"""Register two users, create a group, invite, accept, and chat in it over /ws.

Run against a server started with `make run`:

    .venv/bin/python examples/group_chat.py http://127.0.0.1:9000

It uses the libraries socialhub itself installs (treq, Autobahn) and prints each step.
"""

from __future__ import annotations

import json
import secrets
import sys
from typing import Any

import treq
from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet import defer, task
from twisted.internet.endpoints import clientFromString
from twisted.web.http_headers import Headers

SESSION_COOKIE = "socialhub_session"


class Socket(WebSocketClientProtocol):
    """A WebSocket whose incoming frames land in its factory's queue."""

    factory: SocketFactory

    def onOpen(self) -> None:
        self.factory.opened.callback(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.factory.frames.put(json.loads(payload))


class SocketFactory(WebSocketClientFactory):
    protocol = Socket  # type: ignore[assignment]

    def __init__(self, url: str, cookie: str) -> None:
        super().__init__(url, headers={"Cookie": cookie})
        self.opened: defer.Deferred[Socket] = defer.Deferred()
        self.frames: defer.DeferredQueue[Any] = defer.DeferredQueue()


async def open_socket(reactor: Any, base: str, cookie: str) -> tuple[Socket, Any]:
    """An open WebSocket with this cookie, and the queue its frames arrive in."""
    host_port = base.split("://", 1)[1]
    factory = SocketFactory(f"ws://{host_port}/ws", cookie)
    host, port = host_port.split(":")
    await clientFromString(reactor, f"tcp:{host}:{port}").connect(factory)
    return await factory.opened, factory.frames


async def call(method: str, url: str, cookie: str = "", body: Any = None) -> tuple[Any, str]:
    """One JSON request; returns (decoded body, session cookie header to send next time)."""
    headers = Headers({"Content-Type": ["application/json"], "Cookie": [cookie]})
    data = json.dumps(body).encode() if body is not None else None
    response = await treq.request(method, url, headers=headers, data=data)
    text = await response.text()
    print(method, url.split("/", 3)[3], "->", response.code, text)
    for set_cookie in response.headers.getRawHeaders("Set-Cookie", []):
        pair = set_cookie.split(";", 1)[0]
        # Only the session cookie authenticates; the others (a signed-in hint) are the page's.
        if pair.startswith(SESSION_COOKIE + "="):
            cookie = pair
    return (json.loads(text) if text else None), cookie


async def register(base: str, name: str) -> tuple[dict[str, Any], str]:
    body = {"username": name, "email": f"{name}@example.org", "password": "correct horse"}
    return await call("POST", base + "/api/auth/register", body=body)


async def main(reactor: Any, base: str) -> None:
    suffix = secrets.token_hex(3)
    _, alice_cookie = await register(base, f"alice_{suffix}")
    bob, bob_cookie = await register(base, f"bob_{suffix}")
    group, _ = await call("POST", base + "/api/groups", alice_cookie, {"name": "Developers"})
    bob_ws, bob_frames = await open_socket(reactor, base, bob_cookie)
    invite = {"group_id": group["id"], "user_id": bob["id"]}
    await call("POST", base + "/api/groups/invite", alice_cookie, invite)
    print("bob receives", await bob_frames.get())
    await call("POST", base + f"/api/groups/{group['id']}/invitation/accept", bob_cookie)
    alice_ws, alice_frames = await open_socket(reactor, base, alice_cookie)
    frame = {"type": "group", "group_id": str(group["id"]), "content": "Hello!", "id": "c1"}
    alice_ws.sendMessage(json.dumps(frame).encode())
    print("alice receives", await alice_frames.get())
    print("bob receives", await bob_frames.get())
    await call("GET", base + f"/api/messages/group?group={group['id']}", bob_cookie)
    alice_ws.sendClose()
    bob_ws.sendClose()


if __name__ == "__main__":
    base_url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:9000"
    task.react(lambda reactor: defer.ensureDeferred(main(reactor, base_url)))
