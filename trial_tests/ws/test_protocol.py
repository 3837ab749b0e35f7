"""The WebSocket end to end, on both engines: the /ws upgrade, and what the server does with frames.

Every test talks to a real server over a real socket with a real Autobahn client.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import orjson
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.trial.unittest import TestCase

from socialhub.storage.database import Transaction
from socialhub.ws.protocol import ChatProtocol
from trial_tests.support.chat import ChatTestMixin, Person
from trial_tests.support.harness import PostgresEngine, SqliteEngine
from trial_tests.support.wsclient import WsClient, WsRefused, client_frame, connect

MAX_MESSAGE = 64 * 1024


class _Raw(Protocol):
    """Everything a server sends until it closes the connection."""

    def __init__(self) -> None:
        self.received = b""
        self.done: Deferred[bytes] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Any = None) -> None:
        self.done.callback(self.received)


async def raw_upgrade(url: str, headers: str) -> bytes:
    """Send a WebSocket upgrade request by hand; the server's whole answer."""
    port = int(url.rsplit(":", 1)[1])
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    raw = await connectProtocol(endpoint, _Raw())
    assert raw.transport is not None
    raw.transport.write(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"Sec-WebSocket-Version: 13\r\n{headers}\r\n"
        ).encode()
    )
    response: bytes = await raw.done.addTimeout(10, reactor)
    return response


class UpgradeTests(ChatTestMixin):
    """Who may open /ws: a live session, an acceptable Origin, the exact path."""

    async def refused(self, token: str | None, **options: Any) -> int:
        """The HTTP status an upgrade is refused with (the test fails if it is accepted)."""
        refusal: Any = await self.assertFailure(
            Deferred.fromCoroutine(connect(self.running.url, token, **options)), WsRefused
        )
        status: int = refusal.status
        return status

    async def usable(self, person: Person, socket: WsClient, to: int) -> None:
        """The socket is open for `person` and its frames are handled (a private message acked)."""
        self.addCleanup(socket.close)
        ack = await self.send_private(socket, to, "hello", "usable")
        self.assertIsInstance(ack["message_id"], int)

    def origin(self) -> str:
        """The server's own origin, as a browser on this page would send it."""
        return self.running.url

    async def test_missing_cookie(self) -> None:
        """An upgrade without a session cookie is refused with 401."""
        await self.start()
        self.assertEqual(await self.refused(None), 401)

    async def test_unknown_cookie(self) -> None:
        """An upgrade with a cookie that is no session's token is refused with 401."""
        await self.start("alice")
        self.assertEqual(await self.refused("x" * 43), 401)
        self.assertEqual(await self.refused(""), 401)

    async def test_logged_out_session(self) -> None:
        """The token of a session that logged out no longer opens a socket (401)."""
        (alice,) = await self.start("alice")
        token = alice.token
        self.assertEqual((await alice.client.post("/api/auth/logout")).status, 204)
        self.assertEqual(await self.refused(token), 401)

    async def test_expired_session(self) -> None:
        """A session unused for longer than the session lifetime no longer opens a socket."""
        (alice,) = await self.start("alice")

        async def age(txn: Transaction) -> None:
            await txn.run("UPDATE sessions SET last_used_at = 0 WHERE user_id = ?", (alice.id,))

        await self.running.server.database.interaction("test", age)
        self.assertEqual(await self.refused(alice.token), 401)

    async def test_foreign_origin(self) -> None:
        """A browser Origin that is not the server's own is refused with 403."""
        (alice,) = await self.start("alice")
        port = self.running.url.rsplit(":", 1)[1]
        for origin in ("http://evil.example", f"http://127.0.0.1:{int(port) + 1}", "null"):
            self.assertEqual(await self.refused(alice.token, origin=origin), 403, origin)

    async def test_own_origin(self) -> None:
        """An Origin whose host:port is the request's Host is accepted, whatever its scheme."""
        alice, bob = await self.start("alice", "bob")
        for scheme in ("http", "https"):
            origin = self.origin().replace("http", scheme, 1)
            await self.usable(alice, await connect(self.running.url, alice.token, origin), bob.id)

    async def test_listed_origin(self) -> None:
        """An Origin listed with --allowed-origin is accepted; others still are not."""
        alice, bob = await self.start("alice", "bob", allowed_origins=("http://app.example",))
        socket = await connect(self.running.url, alice.token, origin="http://app.example")
        await self.usable(alice, socket, bob.id)
        self.assertEqual(await self.refused(alice.token, origin="http://other.example"), 403)

    async def test_no_origin(self) -> None:
        """A request without Origin (not a browser) is accepted."""
        alice, bob = await self.start("alice", "bob")
        await self.usable(alice, await connect(self.running.url, alice.token), bob.id)

    async def test_sub_path(self) -> None:
        """/ws/anything is not a WebSocket endpoint: the upgrade is refused."""
        (alice,) = await self.start("alice")
        for path in ("/ws/anything", "/ws/", "/wsx"):
            status = await self.refused(alice.token, path=path)
            self.assertEqual(status, 404, path)

    async def test_refusal_is_a_bare_status(self) -> None:
        """A refused upgrade carries only its status line: no headers, no body, no reason."""
        (alice,) = await self.start("alice")
        cases = {
            "": b"401 Unauthorized",
            "Cookie: socialhub_session=nonsense\r\n": b"401 Unauthorized",
            f"Cookie: socialhub_session={alice.token}\r\nOrigin: http://evil.example\r\n": (
                b"403 Forbidden"
            ),
        }
        for headers, status in cases.items():
            answer = await raw_upgrade(self.running.url, headers)
            self.assertEqual(answer, b"HTTP/1.1 " + status + b"\r\n\r\n")

    async def test_tcp_nodelay(self) -> None:
        """The server side of a live connection has Nagle's algorithm off (TCP_NODELAY)."""
        (alice,) = await self.start("alice")
        await self.open(alice)
        connections = list(self.running.server.delivery.connections.connections_of(alice.id))
        self.assertEqual(len(connections), 1)
        handle = connections[0].transport.getHandle()
        self.assertTrue(handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    async def test_keepalive(self) -> None:
        """A live connection is pinged every 30 s and dropped when a ping goes unanswered for 60 s
        (read from the server side of the connection: the timing itself is Autobahn's)."""
        (alice,) = await self.start("alice")
        await self.open(alice)
        (connection,) = self.running.server.delivery.connections.connections_of(alice.id)
        self.assertEqual((connection.autoPingInterval, connection.autoPingTimeout), (30, 60))

    async def test_a_close_comes_after_frames_kept_by_the_cork(self) -> None:
        """While the server's sockets are corked (a batch being answered), a close frame is
        still sent after the frames the connection was given before it."""
        (alice,) = await self.start("alice")
        socket = await self.open(alice)
        (connection,) = self.running.server.delivery.connections.connections_of(alice.id)
        received: list[bytes] = []  # what reaches the client's side, in order
        client = socket.protocol
        reading = client.dataReceived

        def recorded(data: bytes) -> None:
            received.append(data)
            reading(data)

        client.dataReceived = recorded  # Autobahn's client would read a frame after a close
        with self.running.server.delivery.cork:
            connection.send_payload(b'{"type":"kept"}')
            connection.close_with(4000, "bye")
        self.assertEqual(await socket.closed, 4000)
        text = b'\x81\x0f{"type":"kept"}'  # unmasked text frame, 15 bytes
        close = b"\x88\x05\x0f\xa0bye"  # close frame: code 4000, reason "bye"
        self.assertEqual(b"".join(received), text + close)

    async def test_no_status_page(self) -> None:
        """A plain GET /ws (no upgrade) does not get Autobahn's HTML status page."""
        (alice,) = await self.start("alice")
        for token in (None, alice.token):
            headers = {"Cookie": f"socialhub_session={token}"} if token else {}
            response = await self.running.client().get("/ws", headers=headers)
            self.assertNotEqual(response.status, 200, response.raw)
            self.assertNotIn(b"<html", response.raw.lower())
            self.assertNotIn(b"autobahn", response.raw.lower())
        redirect = await self.running.client().get("/ws?redirect=http://evil.example")
        self.assertNotIn(redirect.status, (301, 302, 303, 307, 308))


class UpgradeSqliteTests(SqliteEngine, UpgradeTests, TestCase):
    pass


class UpgradePostgresTests(PostgresEngine, UpgradeTests, TestCase):
    pass


class FrameTests(ChatTestMixin):
    """Bad frames are answered with an error frame; the connection stays usable; nothing stored."""

    alice: Person
    bob: Person
    socket: WsClient
    watcher: WsClient
    sent = 0

    async def setup_pair(self, **overrides: Any) -> None:
        """alice with a socket, bob with a socket that watches what reaches him."""
        self.alice, self.bob = await self.start("alice", "bob", **overrides)
        self.socket = await self.open(self.alice)
        self.watcher = await self.open(self.bob)

    async def still_usable(self) -> None:
        """A valid frame after the bad one is acked, and is the next thing bob receives."""
        self.sent += 1
        client_id = f"valid-{self.sent}"
        content = f"valid message {self.sent}"
        ack = await self.send_private(self.socket, self.bob.id, content, client_id)
        received = await self.watcher.next()
        self.assertEqual(received["content"], content, "a refused frame reached bob")
        self.assertEqual(received["id"], ack["message_id"])

    async def refuse(self, frame: Any, code: str, client_id: str | None = None) -> None:
        """`frame` (an object, or raw bytes) gets error `code`; then the connection still works."""
        payload = frame if isinstance(frame, bytes) else orjson.dumps(frame)
        self.socket.send_raw(payload)
        await self.error_of(self.socket, code, client_id)
        await self.still_usable()

    async def assert_nothing_stored(self) -> None:
        """History holds exactly the valid messages sent by still_usable."""
        page = await self.history(self.alice, self.bob.id)
        self.assertEqual(
            [message["content"] for message in page],
            [f"valid message {n}" for n in range(self.sent, 0, -1)],
        )

    def private(self, **fields: Any) -> dict[str, Any]:
        """A private frame from alice to bob with `fields` replaced (None removes a field)."""
        frame = {"type": "private", "to": self.bob.id, "content": "hi", **fields}
        return {name: value for name, value in frame.items() if value is not None}

    async def test_invalid_json(self) -> None:
        """A text message that is not JSON gets invalid_json."""
        await self.setup_pair()
        for payload in (b"{not json", b"", b'{"type": "private"', b"{'type': 'private'}"):
            await self.refuse(payload, "invalid_json")
        await self.assert_nothing_stored()

    async def test_not_an_object(self) -> None:
        """JSON that is not an object (an array, a string, a number) gets invalid_frame."""
        await self.setup_pair()
        for frame in ([self.private()], "private", 42, None):
            await self.refuse(frame, "invalid_frame")
        await self.assert_nothing_stored()

    async def test_type_missing_or_wrong(self) -> None:
        """No `type`, or a non-string `type`, gets invalid_frame (with the client id)."""
        await self.setup_pair()
        await self.refuse(self.private(type=None, id="t1"), "invalid_frame", "t1")
        await self.refuse(self.private(type=7, id="t2"), "invalid_frame", "t2")
        await self.assert_nothing_stored()

    async def test_unknown_type(self) -> None:
        """A `type` the server does not know gets unknown_type, echoing the client id."""
        await self.setup_pair()
        await self.refuse(self.private(type="shout", id="u1"), "unknown_type", "u1")
        await self.refuse(self.private(type="ack"), "unknown_type")
        await self.assert_nothing_stored()

    async def test_bad_recipient(self) -> None:
        """`to` missing, not a positive integer id, or oneself gets invalid_frame."""
        await self.setup_pair()
        bad: list[Any] = ["abc", True, False, 1.5, 0, -1, 2**63, "", "1.0", " 1", [1], {}]
        for to in bad:
            await self.refuse(self.private(to=to, id="r"), "invalid_frame", "r")
        frame = self.private(id="missing")
        del frame["to"]
        await self.refuse(frame, "invalid_frame", "missing")
        await self.refuse(self.private(to=self.alice.id, id="self"), "invalid_frame", "self")
        await self.assert_nothing_stored()

    async def test_unknown_recipient(self) -> None:
        """`to` naming no user gets not_found."""
        await self.setup_pair()
        await self.refuse(self.private(to=self.bob.id + 1000, id="nf"), "not_found", "nf")
        await self.refuse(self.private(to=2**63 - 1), "not_found")
        await self.assert_nothing_stored()

    async def test_recipient_as_digits(self) -> None:
        """`to` as a string of digits is accepted like the integer."""
        await self.setup_pair()
        self.socket.send(self.private(to=str(self.bob.id), id="digits"))
        ack = await self.ack_of(self.socket, "digits")
        received = await self.watcher.next()
        self.assertEqual(received["to"], self.bob.id)
        self.assertEqual(received["id"], ack["message_id"])

    async def test_bad_content(self) -> None:
        """Content missing, empty, whitespace only, too long, or not a string: invalid_frame."""
        await self.setup_pair()
        bad = ("", " ", " \n\t\r ", "a" * 4001, "é" * 4001, 5, True, ["hi"], {"a": 1})
        for content in bad:
            await self.refuse(self.private(content=content, id="c"), "invalid_frame", "c")
        frame = self.private(id="none")
        del frame["content"]
        await self.refuse(frame, "invalid_frame", "none")
        await self.refuse(self.private(content="a\x00b", id="nul"), "invalid_frame", "nul")
        await self.refuse(self.private(content="a\x07b", id="bel"), "invalid_frame", "bel")
        # An unpaired surrogate escape is not text: the JSON parser refuses the whole frame.
        lone = b'{"type": "private", "to": %d, "content": "\\ud800"}' % self.bob.id
        await self.refuse(lone, "invalid_json")
        await self.assert_nothing_stored()

    async def test_longest_content(self) -> None:
        """4,000 characters is a valid message, also 4,000 'é' (characters, not bytes)."""
        await self.setup_pair()
        for n, content in enumerate(("a" * 4000, "é" * 4000, " " * 3999 + "x")):
            ack = await self.send_private(self.socket, self.bob.id, content, f"long-{n}")
            received = await self.watcher.next()
            self.assertEqual(received["content"], content)
            self.assertEqual(received["id"], ack["message_id"])
        page = await self.history(self.alice, self.bob.id)
        self.assertEqual([m["content"] for m in page], [" " * 3999 + "x", "é" * 4000, "a" * 4000])

    async def test_bad_client_id(self) -> None:
        """An `id` that is not a string of 1 to 64 characters is refused (and not echoed)."""
        await self.setup_pair()
        for client_id in (5, "", "x" * 65, True, ["a"], None):
            frame = {"type": "private", "to": self.bob.id, "content": "hi", "id": client_id}
            await self.refuse(frame, "invalid_frame")
        await self.assert_nothing_stored()
        ack = await self.send_private(self.socket, self.bob.id, "sixty-four", "x" * 64)
        self.assertIsInstance(ack["message_id"], int)

    async def test_client_timestamp_ignored(self) -> None:
        """A client `timestamp` is ignored: ack, delivery and history carry the server's time."""
        await self.setup_pair()
        before = int(time.time())
        self.socket.send(self.private(timestamp=1000, id="old"))
        ack = await self.ack_of(self.socket, "old")
        after = int(time.time())
        received = await self.watcher.next()
        (stored,) = await self.history(self.alice, self.bob.id)
        self.assertTrue(before <= ack["timestamp"] <= after, (before, ack, after))
        self.assertEqual(received["timestamp"], ack["timestamp"])
        self.assertEqual(stored["timestamp"], ack["timestamp"])

    async def test_largest_text_message(self) -> None:
        """A text message of exactly 64 KiB is read and handled."""
        await self.setup_pair()
        frame = orjson.dumps(self.private(id="big"))
        self.socket.send_raw(frame + b" " * (MAX_MESSAGE - len(frame)))
        await self.ack_of(self.socket, "big")

    async def test_fragmented_message(self) -> None:
        """The 64 KiB limit is on the whole message: 64 KiB in 1 KiB fragments is handled, one
        byte more closes the connection with 1009."""
        await self.setup_pair()
        frame = orjson.dumps(self.private(id="parts"))
        self.socket.protocol.sendMessage(
            frame + b" " * (MAX_MESSAGE - len(frame)), isBinary=False, fragmentSize=1024
        )
        await self.ack_of(self.socket, "parts")
        frame = orjson.dumps(self.private(id="too many parts"))
        self.socket.protocol.sendMessage(
            frame + b" " * (MAX_MESSAGE + 1 - len(frame)), isBinary=False, fragmentSize=1024
        )
        self.assertEqual(await self.socket.closed, 1009)
        self.assertEqual(len(await self.history(self.alice, self.bob.id)), 1)

    async def test_too_large_text_message(self) -> None:
        """A text message of 64 KiB + 1 closes the connection with 1009; nothing is stored."""
        await self.setup_pair()
        frame = orjson.dumps(self.private(id="big"))
        self.socket.send_raw(frame + b" " * (MAX_MESSAGE + 1 - len(frame)))
        self.assertEqual(await self.socket.closed, 1009)
        self.assertEqual(self.socket.pending(), [])
        await self.assert_nothing_stored()

    async def test_binary_frame(self) -> None:
        """A binary frame closes the connection with 1003; nothing is stored."""
        await self.setup_pair()
        self.socket.send_raw(orjson.dumps(self.private(id="bin")), binary=True)
        self.assertEqual(await self.socket.closed, 1003)
        self.assertEqual(self.socket.pending(), [])
        await self.assert_nothing_stored()

    async def test_small_frames_together_and_cut(self) -> None:
        """Three small frames in one write, then one cut inside its payload: each is answered,
        in order, the whole ones without Autobahn's frame events (the short way of
        socialhub/_compat/autobahn.py) and the cut one through them."""
        await self.setup_pair()
        began: list[int] = []
        original = ChatProtocol.onFrameBegin

        def counted(protocol: ChatProtocol) -> None:
            began.append(1)
            original(protocol)

        self.patch(ChatProtocol, "onFrameBegin", counted)
        frames = [
            client_frame(orjson.dumps(self.private(content=f"m{n}", id=f"c{n}"))) for n in range(4)
        ]
        transport = self.socket.protocol.transport
        transport.write(b"".join(frames[:3]) + frames[3][:8])
        acks = [await self.socket.next_of("ack") for _ in range(3)]
        self.assertEqual([ack["id"] for ack in acks], ["c0", "c1", "c2"])
        transport.write(frames[3][8:])
        self.assertEqual((await self.socket.next_of("ack"))["id"], "c3")
        self.assertEqual(began, [1], "only the cut frame goes through Autobahn's frame events")
        received = [(await self.watcher.next())["content"] for _ in range(4)]
        self.assertEqual(received, ["m0", "m1", "m2", "m3"])


class FrameSqliteTests(SqliteEngine, FrameTests, TestCase):
    pass


class FramePostgresTests(PostgresEngine, FrameTests, TestCase):
    pass
