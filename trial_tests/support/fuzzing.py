"""Fuzz targets: hostile input sent to a live server, and what must hold after each case.

A target sends one drawn case (a WebSocket message, an HTTP request) and reports how it was
refused (a status, an error or close code), or that it was taken. The runner (`run_target`)
fingerprints the database before and after each case and, when the case was refused, requires
it unchanged; then the target checks that its connection still answers. Every answer is
checked as it arrives: no 5xx or `internal_error`, no traceback or Python repr, every error in
the contract's shape with a code docs/api/errors.md documents.

Hypothesis drives the cases from a worker thread; each case runs on the reactor thread
(`blockingCallFromThread`), the fingerprints on the worker thread (they block).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import orjson
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.task import deferLater
from twisted.internet.threads import blockingCallFromThread

from socialhub.reactor import as_reactor
from socialhub.ws.dispatch import chat_frames
from trial_tests.support.fingerprint import Fingerprinter, differences
from trial_tests.support.fuzz_strategies import HttpCase, Payload, http_cases, payloads
from trial_tests.support.harness import Client, Response, RunningServer
from trial_tests.support.keep_alive import KeepAlive, open_keep_alive, request_bytes
from trial_tests.support.wsclient import WsClient, connect

ERRORS_DOC = Path(__file__).resolve().parents[2] / "docs" / "api" / "errors.md"
# A traceback or a Python repr: what no answer may hold.
LEAK = re.compile(r"Traceback \(most recent|File \"/| object at 0x[0-9a-f]+|<class '|<bound method")
# The server's options for fuzzing: no frame rate limit (every case sends three frames).
SERVER_OPTIONS: dict[str, Any] = {"rate_limit": 0}
BATCHED_TIMER_WAIT = 2.5  # seconds: txaio's buckets are whole seconds, the close timeout 1 s
STARTS_AT = "2030-01-01T12:00:00Z"
_names = itertools.count()
T = TypeVar("T")


def documented_codes() -> tuple[dict[int, set[str]], set[str]]:
    """The HTTP codes by status and the error frames' codes, as docs/api/errors.md lists them."""
    text = ERRORS_DOC.read_text()
    by_status: dict[int, set[str]] = {}
    for status, code in re.findall(r"(?m)^\| (\d{3}) \| `([a-z_]+)` \|", text):
        by_status.setdefault(int(status), set()).add(code)
    frame_codes = set(re.findall(r"(?m)^\| `([a-z_]+)` \|", text))
    return by_status, frame_codes


HTTP_CODES, FRAME_CODES = documented_codes()


def on_reactor(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on the reactor thread and wait for its result (from a worker thread)."""
    result: T = blockingCallFromThread(as_reactor(reactor), lambda: Deferred.fromCoroutine(make()))  # type: ignore[arg-type]
    return result


def _no_leak(raw: bytes, what: object) -> None:
    text = raw.decode("utf-8", "replace")
    assert not LEAK.search(text), f"a traceback or repr in the answer to {what}: {text[:500]}"


def check_response(response: Response, what: object) -> None:
    """No 5xx, no leak, and an error is the contract's JSON with a documented code."""
    assert response.status < 500, f"{response.status} for {what}: {response.raw[:500]!r}"
    _no_leak(response.raw, what)
    if response.status < 400:
        return
    types = response.headers.getRawHeaders(b"content-type")
    assert types == [b"application/json"], f"error type {types} for {what}"
    body = orjson.loads(response.raw)
    assert isinstance(body, dict) and set(body) == {"error", "message"}, (what, body)
    assert body["error"] in HTTP_CODES.get(response.status, set()), (what, response.status, body)
    assert isinstance(body["message"], str) and body["message"], (what, body)


def check_frame(frame: Any, what: object) -> None:
    """An error frame is {type, code, message, id?} with a documented code, never internal."""
    _no_leak(orjson.dumps(frame), what)
    if frame.get("type") != "error":
        return
    assert {"type", "code", "message"} <= set(frame) <= {"type", "code", "message", "id"}, frame
    assert frame["code"] in FRAME_CODES - {"internal_error"}, (what, frame)
    assert isinstance(frame["message"], str) and frame["message"], (what, frame)


async def _ok(response: Any, *statuses: int) -> Any:
    result = await response
    assert result.status in statuses, (result.status, result.raw)
    return result.json if result.raw else None


@dataclass
class World:
    """What the fuzzed ids can name: users (one private), a group, a post and its comment, an
    event, a private and a group message; the first user is an administrator."""

    running: RunningServer
    admin: Client = field(init=False)

    async def populate(self) -> None:
        url = self.running.url
        self.admin = await register_admin(self.running)
        peer, private = Client(url), Client(url)
        peer_id = (await peer.register(f"fuzzpeer{next(_names)}"))["id"]
        await private.register(f"fuzzprivate{next(_names)}")
        await _ok(private.request("PATCH", "/api/users/me", json={"is_private": True}), 200)
        group = (await _ok(self.admin.post("/api/groups", {"name": "fuzz"}), 201))["id"]
        await _ok(
            self.admin.post("/api/groups/invite", {"group_id": group, "user_id": peer_id}), 201
        )
        await _ok(peer.post(f"/api/groups/{group}/invitation/accept"), 200)
        post = (await _ok(self.admin.post("/api/posts", {"content": "fuzz"}), 201))["id"]
        await _ok(peer.post(f"/api/posts/{post}/comments", {"content": "a comment"}), 201)
        event = {"title": "fuzz", "starts_at": STARTS_AT}
        await _ok(self.admin.post(f"/api/groups/{group}/events", event), 201)
        socket = await connect(url, self.admin.session_token())
        for number, frame in enumerate(
            [{"type": "private", "to": peer_id}, {"type": "group", "group_id": str(group)}]
        ):
            socket.send({**frame, "content": "hello", "id": f"world{number}"})
            assert (await socket.next_of("ack"))["id"] == f"world{number}"
        await socket.close()


async def register_admin(running: RunningServer) -> Client:
    """A new user, logged in, made an administrator by the operator (as `socialhub-admin`
    does: whoever else is an administrator by then)."""
    client = running.client()
    user = await client.register(f"fuzzer{next(_names)}")
    await running.server.handlers.administration.set_admin(None, user["id"], True)
    return client


async def outlive_batched_timers() -> None:
    """Wait for the delayed calls due within BATCHED_TIMER_WAIT seconds to fire.

    Autobahn's handshake timers live in txaio's batched timer, whose delayed call per whole
    second stays until that second even when every timer in it was cancelled: after a close
    the server started, one is left for up to two seconds, and trial counts it as dirty."""
    now = reactor.seconds()
    due = [call.getTime() for call in reactor.getDelayedCalls() if call.active()]
    soon = [time for time in due if time - now <= BATCHED_TIMER_WAIT]
    if soon:
        await deferLater(reactor, max(soon) - now + 0.01, lambda: None)


class Target(Protocol):
    """One kind of input, sent to a live server."""

    name: str
    kinds: tuple[str, ...]  # what its cases are of: frame types, or routes ("METHOD path")

    def cases(self, kinds: tuple[str, ...]) -> st.SearchStrategy[Any]:
        """Cases of these kinds."""

    async def run(self, case: Any) -> str | None:
        """Send `case`, check every answer; how it was refused (nothing may be written then:
        an error code, a close code) or None when it was taken."""

    async def still_usable(self) -> None:
        """Check that the connection still answers (and make it answer again if the case
        legitimately ended it)."""

    async def close(self) -> None: ...


class FrameTarget:
    """Messages on one WebSocket of an administrator (so that broadcasts may succeed).

    After the fuzzed message a probe (a broadcast with a client id) is sent: its ack means the
    fuzzed one was placed; then, once the dispatcher has no frame in flight, a second probe's
    ack means every answer to the fuzzed one has arrived (one TCP stream keeps the order)."""

    name = "frames"

    def __init__(self, running: RunningServer, admin: Client) -> None:
        self.running = running
        self.admin = admin
        self.socket: WsClient | None = None
        self._probes = itertools.count()
        server = running.server
        table = chat_frames(
            server.handlers.chat, server.handlers.typing, server.handlers.message_changes
        )
        self.kinds = tuple(sorted(table))

    def cases(self, kinds: tuple[str, ...]) -> st.SearchStrategy[Payload]:
        """Messages mostly of these frame types."""
        return payloads(kinds)

    async def open(self) -> None:
        socket = await connect(self.running.url, self.admin.session_token())

        def closed(code: int | None) -> int | None:
            socket.frames.put({"type": "closed", "code": code})
            return code

        socket.closed.addCallback(closed)
        self.socket = socket

    async def run(self, case: Payload) -> str | None:
        if self.socket is None or self.socket.closed.called:
            await self.open()  # an earlier case closed it (and failed or expected it)
        assert self.socket is not None
        self.socket.send_raw(case.data, case.binary)
        answers = await self._until_probe(case)
        await self.running.server.dispatcher.drain()
        if answers and answers[-1]["type"] == "closed":
            code = answers[-1]["code"]
            assert code == case.closes_with, f"closed with {code} after {case!r}"
            return f"close {code}"
        assert case.closes_with is None, f"still open after {case!r}"
        answers += await self._until_probe(case)
        assert answers[-1]["type"] != "closed", f"closed after {case!r}: {answers}"
        errors = [answer["code"] for answer in answers if answer["type"] == "error"]
        return errors[0] if errors else None

    async def still_usable(self) -> None:
        """Checked in `run`: the second probe is a valid frame, acked on the same socket."""

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()

    async def _until_probe(self, case: Payload) -> list[dict[str, Any]]:
        """Frames received until a probe's ack, checked; the last is `closed` if it closed."""
        assert self.socket is not None
        probe = f"probe {next(self._probes)}"
        if not self.socket.closed.called:
            self.socket.send({"type": "broadcast", "content": "probe", "id": probe})
        answers = []
        while True:
            frame = await self.socket.next()
            answers.append(frame)
            if frame["type"] == "closed" or (frame["type"] == "ack" and frame["id"] == probe):
                return answers
            check_frame(frame, case)


class HttpTarget:
    """Requests on one keep-alive connection, with an administrator's session (so that the
    administrators' routes are reached)."""

    name = "rest"

    def __init__(self, running: RunningServer, admin: Client) -> None:
        self.running = running
        self.admin = admin
        self.connection: KeepAlive | None = None
        rules = running.server.api.app.url_map.iter_rules()
        # Api.route names each route's endpoint "METHOD path".
        self.kinds = tuple(sorted({rule.endpoint for rule in rules if " " in rule.endpoint}))

    def cases(self, kinds: tuple[str, ...]) -> st.SearchStrategy[HttpCase]:
        """Requests to these routes ("METHOD path")."""
        return http_cases(kinds)

    async def open(self) -> None:
        self.connection = await open_keep_alive(self.running.url)

    async def run(self, case: HttpCase) -> str | None:
        headers = {"Cookie": f"socialhub_session={self.admin.session_token()}"}
        if case.content_type is not None:
            headers["Content-Type"] = case.content_type
        response = await self._exchange(request_bytes(case.method, case.target, headers, case.body))
        check_response(response, case)
        return str(response.status) if response.status >= 400 else None

    async def still_usable(self) -> None:
        """The same connection answers; a case that ended the session (a logout, a password
        change, an account deleted) or the role (once a second administrator was made) is
        followed by a new administrator."""
        headers = {"Cookie": f"socialhub_session={self.admin.session_token()}"}
        response = await self._exchange(request_bytes("GET", "/api/auth/me", headers))
        assert response.status in (200, 401), (response.status, response.raw)
        if response.status == 401 or not orjson.loads(response.raw)["is_admin"]:
            self.admin = await register_admin(self.running)

    async def close(self) -> None:
        if self.connection is not None:
            self.connection.close()

    async def _exchange(self, request: bytes) -> Response:
        """The answer on the connection; when an earlier case got it closed (a failure that
        was reported), on a new one, so that one failure does not fail every later case."""
        if self.connection is None or not self.connection.open:
            await self.open()
        assert self.connection is not None
        try:
            return await self.connection.exchange(request)
        except ConnectionDone as error:
            raise AssertionError(f"the server closed the connection: {error}") from None


async def open_target(name: str, world: World) -> Target:
    """The target `frames` or `rest` on the world's server, connected."""
    target: FrameTarget | HttpTarget
    if name == FrameTarget.name:
        target = FrameTarget(world.running, world.admin)
    else:
        target = HttpTarget(world.running, world.admin)
    await target.open()
    return target


@dataclass
class Failure:
    case: str
    error: str


@dataclass
class Tally:
    """What a run did: cases, how many of them each answer had (`taken`, or the refusal's
    status or code), and the failures recorded (when not raised)."""

    cases: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)


def run_target(
    target: Target,
    strategy: st.SearchStrategy[Any],
    database: str,
    options: Callable[[Any], Any],
    tally: Tally,
    record: bool = False,
) -> None:
    """Run the cases Hypothesis draws with `options` (a settings object) against `target`.

    With `record`, a failed case is counted in `tally` and the run goes on (the long run);
    otherwise it raises and Hypothesis shrinks it (the test)."""
    fingerprinter = Fingerprinter(database)

    def checked(case: Any) -> None:
        tally.cases += 1
        before = fingerprinter.take()
        refused = on_reactor(lambda: target.run(case))
        tally.answers[refused or "taken"] += 1
        if refused is not None:
            after = fingerprinter.take()
            assert before == after, f"refused but wrote: {differences(before, after)}"
        on_reactor(target.still_usable)

    def one(case: Any) -> None:
        """The case named in the failure: trial shows no Hypothesis note."""
        try:
            checked(case)
        except Exception as error:
            message = f"{target.name}: {case!r}: {type(error).__name__}: {error}"
            raise AssertionError(message) from None

    def recorded(case: Any) -> None:
        try:
            checked(case)
        except Exception as error:
            tally.failures.append(Failure(repr(case), f"{type(error).__name__}: {error}"[:2000]))

    try:
        options(given(strategy)(recorded if record else one))()
    finally:
        fingerprinter.close()
