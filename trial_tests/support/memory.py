"""The real `Server` wiring on a reactor that lives in memory, with a clock the test moves.

Nothing listens and nothing sleeps: the reactor is a `MemoryReactorClock`, the database is
SQLite in memory (its statements run inline, foreign keys on, every migration applied),
REST goes through `treq.testing.StubTreq` into the real resource tree, and a WebSocket is
Autobahn's client joined by `iosim` pumps to a channel of the real `Site`, so the upgrade
takes the same path as on a socket (cookie, origin, `/ws?since=`). Time passes only when a
test calls `advance`.

StubTreq wraps the resource tree in a plain `Site` of its own, so the request-size limits
(http/site.py's LimitedRequest) and /metrics' response counts stay the end-to-end tier's to
test. A client's address is StubTreq's fixed 127.0.0.1.

Two pieces need threads the memory reactor does not have:
- the password hasher and the media uploads each own a `ThreadPool`, whose results come back
  through `reactor.callFromThread`. They get an `InlinePool` (the same functions, run on the
  calling thread; hashing is cheap with the tests' cost) and the reactor runs
  `callFromThread` at once, since there is only one thread;
- Autobahn schedules its handshake and ping timers through txaio's loop, which is the global
  reactor unless told otherwise: while a memory server runs, txaio's loop is its reactor,
  so those timers follow the test's clock and none is left behind on trial's reactor.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any, TypeVar

import orjson
from autobahn.twisted.testing import create_memory_agent
from autobahn.twisted.websocket import WebSocketClientProtocol
from treq.testing import StubTreq
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.test.iosim import IOPump
from twisted.trial.unittest import TestCase
from txaio import tx

from socialhub.auth.tokens import COOKIE_NAME
from socialhub.config import Config
from socialhub.reactor import as_reactor
from socialhub.server import Server
from trial_tests.support.harness import NO_REQUEST_LIMITS, Response

T = TypeVar("T")
ORIGIN = "http://socialhub.test"
# Where the clock starts: timestamps then read as dates of this century, as they would live.
EPOCH = 1_800_000_000.0
# Turns of pumping and zero-delay calls before a request counts as stuck: each turn moves every
# byte both ways, so a finished exchange needs a handful.
_MAX_TURNS = 200


class InlinePool:
    """A ThreadPool's `callInThreadWithCallback`, run on the calling thread at once."""

    def start(self) -> None:
        """Nothing to start: there are no threads."""

    def stop(self) -> None:
        """Nothing to stop."""

    def callInThreadWithCallback(
        self, on_result: Callable[[bool, object], None], function: Callable[..., T], *args: Any
    ) -> None:
        try:
            result = function(*args)
        except BaseException:
            on_result(False, Failure())
        else:
            on_result(True, result)


class MemoryReactor(MemoryReactorClock):
    """A MemoryReactorClock whose one thread is the reactor's: calls from threads run now."""

    def callFromThread(self, function: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        function(*args, **kwargs)


class Pumps:
    """The iosim pumps of the open WebSockets (an Autobahn IPumper), flushed on demand."""

    def __init__(self) -> None:
        self._pumps: set[IOPump] = set()

    def add(self, pump: IOPump) -> None:
        self._pumps.add(pump)

    def flush(self) -> bool:
        """Move every byte waiting either way; whether any moved."""
        moved = False
        for pump in list(self._pumps):
            moved = pump.pump(advanceClock=False) or moved
            if pump.clientIO.disconnected and pump.serverIO.disconnected:
                self._pumps.discard(pump)
        return moved


class MemoryServer:
    """One Server on a memory reactor; `run` drives a Deferred to its end without waiting."""

    def __init__(self, testcase: TestCase, **overrides: Any) -> None:
        self.reactor = MemoryReactor()
        self.reactor.advance(EPOCH)
        config = Config(
            **{
                "database": "sqlite::memory:",
                "media_dir": testcase.mktemp(),
                "password_time_cost": 1,
                "password_memory_kib": 8,
                "allowed_origins": (ORIGIN,),
                **NO_REQUEST_LIMITS,
                **overrides,
            }
        )
        self.server = Server(config, as_reactor(self.reactor))
        self.server.hasher._pool = InlinePool()  # type: ignore[assignment]
        self.server.handlers.media._pool = InlinePool()  # type: ignore[assignment]
        self.stub: Any = StubTreq(self.server.site.resource)  # its methods are made at runtime
        self.pumps = Pumps()
        self._websocket_agent = create_memory_agent(self.reactor, self.pumps, self._channel)

    async def start(self, testcase: TestCase) -> None:
        txaio_config: Any = tx.config
        testcase.addCleanup(setattr, txaio_config, "loop", txaio_config.loop)
        txaio_config.loop = self.reactor
        await self.run(Deferred.fromCoroutine(self.server.start()))
        testcase.addCleanup(self.stop)

    async def stop(self) -> None:
        await self.run(Deferred.fromCoroutine(self.server.stop()), idle_seconds=5.0)

    def _channel(self) -> Any:
        """The server side of a new WebSocket: an HTTP channel of the real Site."""
        return self.server.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 31337))

    def settle(self) -> bool:
        """One turn: bytes both ways, then the calls due now; whether anything moved."""
        self.stub.flush()
        moved = self.pumps.flush()
        now = self.reactor.seconds()
        due = any(call.getTime() <= now for call in self.reactor.getDelayedCalls())
        self.reactor.advance(0)
        return moved or due

    async def run(self, work: Deferred[T], idle_seconds: float = 0.0) -> T:
        """The result of `work` once everything it waits on moved; time may pass up to
        `idle_seconds` (timer by timer) when nothing else is left to move."""
        deadline = self.reactor.seconds() + idle_seconds
        for _ in range(_MAX_TURNS):
            if work.called:
                return await work
            if self.settle() or work.called:
                continue
            upcoming = [call.getTime() for call in self.reactor.getDelayedCalls()]
            if upcoming and min(upcoming) <= deadline:
                self.reactor.advance(min(upcoming) - self.reactor.seconds())
        raise AssertionError(f"{work!r} waits on something that is not in memory")

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass, timer by timer, delivering after each what it made happen."""
        end = self.reactor.seconds() + seconds
        self.quiesce()
        while due := [c.getTime() for c in self.reactor.getDelayedCalls() if c.getTime() <= end]:
            self.reactor.advance(max(0.0, min(due) - self.reactor.seconds()))
            self.quiesce()
        self.reactor.advance(end - self.reactor.seconds())
        self.quiesce()

    def quiesce(self) -> None:
        """Turn until nothing moves (what is due now ran, every byte arrived)."""
        for _ in range(_MAX_TURNS):
            if not self.settle():
                return
        raise AssertionError("the memory server never went quiet")

    def client(self) -> MemoryClient:
        return MemoryClient(self)

    async def websocket(
        self, token: str | None, path: str = "/ws?since=now", origin: str | None = None
    ) -> MemorySocket:
        """A WebSocket opened with this session token; UpgradeRefused when the server says no.

        Autobahn's agent never fires for a refused upgrade (its client only closes), so the
        protocol is kept as it is made, to read why it closed."""
        headers = {} if token is None else {"Cookie": f"{COOKIE_NAME}={token}"}
        if origin is not None:
            headers["Origin"] = origin
        made: list[SocketProtocol] = []

        def protocol() -> SocketProtocol:
            made.append(SocketProtocol())
            return made[-1]

        url = f"ws://127.0.0.1:8080{path}"
        opened = self._websocket_agent.open(url, {"headers": headers}, protocol_class=protocol)
        self.quiesce()
        if not opened.called and made and made[0].socket.closed:
            raise UpgradeRefused(made[0].wasNotCleanReason or "")
        socket: MemorySocket = (await self.run(opened)).socket
        return socket


class UpgradeRefused(Exception):
    """The server answered the WebSocket upgrade with an HTTP error status."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        found = re.search(r"upgrade failed \[(\d{3})\]", reason)
        self.status = int(found[1]) if found else 0


class MemoryClient:
    """One browser: requests through StubTreq, carrying its session cookie itself."""

    def __init__(self, memory: MemoryServer) -> None:
        self._memory = memory
        self.token: str | None = None

    async def request(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> Response:
        sent = dict(headers or {})
        if self.token is not None:
            sent["Cookie"] = f"{COOKIE_NAME}={self.token}"
        kwargs: dict[str, Any] = {}
        if json is not None:
            kwargs["data"] = orjson.dumps(json)
            sent["Content-Type"] = "application/json"
        stub = self._memory.stub
        url = "http://socialhub.test" + path
        response = await self._memory.run(stub.request(method, url, headers=sent, **kwargs))
        raw = await self._memory.run(stub.content(response))
        self._keep_cookie(response.headers.getRawHeaders(b"set-cookie", []))
        return Response(response.code, response.headers, raw)

    def _keep_cookie(self, set_cookies: list[bytes]) -> None:
        """What a browser does with the session cookie: keep it, or drop it when cleared."""
        for header in set_cookies:
            cookie = SimpleCookie(header.decode("latin-1")).get(COOKIE_NAME)
            if cookie is not None:
                self.token = cookie.value or None

    async def get(self, path: str) -> Response:
        return await self.request("GET", path)

    async def post(self, path: str, json: Any = None) -> Response:
        return await self.request("POST", path, json=json)

    async def delete(self, path: str) -> Response:
        return await self.request("DELETE", path)

    async def patch(self, path: str, json: Any) -> Response:
        return await self.request("PATCH", path, json=json)


class MemorySocket:
    """The client end of one memory WebSocket: frames received so far, in order."""

    def __init__(self, protocol: SocketProtocol) -> None:
        self.protocol = protocol
        self.frames: list[Any] = []
        self.close_code: int | None = None
        self.closed = False

    def send(self, frame: Any) -> None:
        self.protocol.sendMessage(orjson.dumps(frame))

    def take(self) -> list[Any]:
        """The frames received and not taken yet."""
        taken, self.frames = self.frames, []
        return taken

    def close(self) -> None:
        if not self.closed:
            self.protocol.sendClose()


class SocketProtocol(WebSocketClientProtocol):
    """Autobahn's client protocol, keeping what arrives on its MemorySocket."""

    def __init__(self) -> None:
        super().__init__()
        self.socket = MemorySocket(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.socket.frames.append(orjson.loads(payload))

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self.socket.closed = True
        self.socket.close_code = code
