"""socialhub/_compat/autobahn.py against the installed Autobahn, on a real server protocol
after a real opening handshake (over an in-memory transport): every frame, whichever way it
takes, reaches onMessage as Autobahn would deliver it. Fails if Autobahn moves the state or
the methods the short way reads and calls."""

from __future__ import annotations

import ast
import inspect
import itertools
import random
import textwrap
from typing import Any

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket import xormasker
from autobahn.websocket.types import ConnectionDeny
from twisted.internet.error import ConnectionLost
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from socialhub._compat.autobahn import LeanServerProtocol, unmasked
from trial_tests.support.sockets import Producer
from trial_tests.support.wsclient import client_frame

_UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


class _Recording(LeanServerProtocol):
    """Records what reaches onMessage, how many frames took Autobahn's way, and what the
    transport held each time Autobahn was about to write a frame of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[bytes, bool]] = []
        self.autobahns_frames = 0
        self.before_own: list[bytes] = []

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.messages.append((payload, isBinary))

    def onFrameBegin(self) -> None:
        self.autobahns_frames += 1
        super().onFrameBegin()

    def before_own_frame(self) -> None:
        transport: StringTransport = self.transport  # type: ignore[assignment]
        self.before_own.append(transport.value())


def opened() -> tuple[_Recording, StringTransport]:
    """A protocol past the opening handshake; its transport emptied of the answer."""
    factory = WebSocketServerFactory()
    factory.protocol = _Recording
    factory.setProtocolOptions(openHandshakeTimeout=0, closeHandshakeTimeout=0, failByDrop=False)
    protocol: _Recording = factory.buildProtocol(None)  # type: ignore[assignment]
    transport = StringTransport()
    transport.registerProducer(Producer(), True)  # dropping the connection unregisters it
    protocol.makeConnection(transport)
    protocol.dataReceived(_UPGRADE)
    assert transport.value().startswith(b"HTTP/1.1 101"), transport.value()
    assert protocol.accepting
    assert protocol.before_own == [b""], "the handshake's answer goes through sendData too"
    transport.clear()
    protocol.before_own.clear()
    return protocol, transport


def masked(first: int, payload: bytes, mask: bytes = b"\x01\x02\x03\x04") -> bytes:
    """A masked client frame of any length (RFC 6455 5.2)."""
    size = len(payload)
    if size < 126:
        length = bytes([0x80 | size])
    elif size < 65536:
        length = bytes([0x80 | 126]) + size.to_bytes(2, "big")
    else:
        length = bytes([0x80 | 127]) + size.to_bytes(8, "big")
    return bytes([first]) + length + mask + unmasked(mask, payload)


def split(data: bytes, rng: random.Random) -> list[bytes]:
    """`data` cut at random places, as TCP reads may cut it (empty pieces too)."""
    cuts = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randrange(6)))
    return [data[a:b] for a, b in itertools.pairwise([0, *cuts, len(data)])]


class ConnectionTests(TestCase):
    def test_every_frame_reaches_on_message_however_split(self) -> None:
        """Text frames of a one- and a two-byte length (the short way), and one of an
        eight-byte length, a fragmented message with a ping inside it and a binary frame
        (Autobahn's way), in random reads: the messages in
        order, as sent; only the others go through Autobahn's frame events."""
        rng = random.Random(7)
        long_text = "é".encode() * 200
        huge_text = b"x" * 70_000  # a length in eight bytes
        stream = [
            (masked(0x81, b'{"a": 1}'), [(b'{"a": 1}', False)], 0),
            (masked(0x81, long_text), [(long_text, False)], 0),
            (masked(0x81, huge_text), [(huge_text, False)], 1),
            (
                masked(0x01, b"frag") + masked(0x89, b"ping") + masked(0x80, b"ment"),
                [(b"fragment", False)],
                3,
            ),
            (masked(0x82, b"\x00\xff"), [(b"\x00\xff", True)], 1),
            (masked(0x81, "héllo".encode()), [("héllo".encode(), False)], 0),
        ]
        for _ in range(20):
            protocol, _ = opened()
            for piece in split(b"".join(frames for frames, _, _ in stream), rng):
                protocol.dataReceived(piece)
            self.assertEqual(protocol.messages, [m for _, ms, _ in stream for m in ms])
            self.assertEqual(protocol.autobahns_frames, sum(n for _, _, n in stream))
            self.assertEqual(protocol.data, b"")

    def test_invalid_utf8_is_autobahns_to_refuse(self) -> None:
        """A small frame that is not UTF-8 takes Autobahn's way, which fails the connection
        with 1007 and delivers nothing."""
        protocol, transport = opened()
        protocol.dataReceived(masked(0x81, b"\xff\xfe"))
        self.assertEqual(protocol.messages, [])
        self.assertTrue(transport.value().startswith(b"\x88"))
        self.assertEqual(int.from_bytes(transport.value()[2:4], "big"), 1007)

    def test_a_small_frame_answers_a_pending_ping(self) -> None:
        """Like any frame through Autobahn's way, a short-way frame cancels the pending auto
        ping's timeout."""
        protocol, _ = opened()
        timeout = Clock().callLater(5, lambda: None)
        protocol.autoPingTimeoutCall = timeout  # type: ignore[assignment]
        protocol.dataReceived(masked(0x81, b"{}"))
        self.assertEqual(protocol.messages, [(b"{}", False)])
        self.assertFalse(timeout.active())
        self.assertIsNone(protocol.autoPingTimeoutCall)

    def test_a_lost_connection_stops_waiting_for_the_close_answer(self) -> None:
        """A connection that ends before the client answered the server's close leaves no
        timer behind (Autobahn cancels the others it set, not this one)."""
        protocol, _ = opened()
        timeout = Clock().callLater(5, lambda: None)
        protocol.closeHandshakeTimeoutCall = timeout  # type: ignore[assignment]
        protocol.connectionLost(Failure(ConnectionLost()))
        self.assertFalse(timeout.active())
        self.assertIsNone(protocol.closeHandshakeTimeoutCall)

    def test_autobahns_own_frames_come_after_before_own_frame(self) -> None:
        """A ping, a pong and a close (any code) reach the transport through sendData, after
        before_own_frame."""
        protocol, transport = opened()
        protocol.sendPing(b"p")
        protocol.sendPong(b"q")
        protocol.close_with(1001, "going")
        frames = transport.value()
        self.assertEqual(frames[:3], b"\x89\x01p")
        self.assertEqual(frames[3:6], b"\x8a\x01q")
        self.assertEqual(frames[6:], b"\x88\x07\x03\xe9going")
        self.assertEqual(protocol.before_own, [b"", frames[:3], frames[:6]])

    def test_framed_is_what_send_message_writes(self) -> None:
        protocol, transport = opened()
        payload = b'{"type": "message"}' * 10
        protocol.sendMessage(payload)
        self.assertEqual(protocol.framed(payload), transport.value())

    def test_data_received_only_leaves_out_a_debug_line(self) -> None:
        """Autobahn's dataReceived is a log call, then _dataReceived(data)."""
        source = textwrap.dedent(inspect.getsource(WebSocketServerProtocol.dataReceived))
        function = ast.parse(source).body[0]
        assert isinstance(function, ast.FunctionDef)
        body = [ast.unparse(statement) for statement in function.body]
        self.assertEqual(len(body), 2, body)
        self.assertTrue(body[0].startswith("self.log.debug("), body)
        self.assertEqual(body[1], "self._dataReceived(data)")


class SmallMessageTests(TestCase):
    """Which frames the short way takes; it leaves every other to Autobahn."""

    def small(self, data: bytes, **state: object) -> tuple[bytes, int] | None:
        protocol, _ = opened()
        for name, value in state.items():
            setattr(protocol, name, value)
        protocol.data = data
        return protocol.small_message()

    def test_a_whole_small_text_frame(self) -> None:
        """Its payload, unmasked, and where it ends: the next frame is left in the buffer."""
        frame = client_frame("héllo".encode())
        self.assertEqual(self.small(frame + b"\x81"), ("héllo".encode(), len(frame)))
        self.assertEqual(self.small(client_frame(b"")), (b"", 6))

    def test_a_whole_text_frame_with_a_two_byte_length(self) -> None:
        """126 to 65,535 bytes: the length in the two bytes after the second, then the mask."""
        for size in (126, 4000, 65_535):
            payload = b"y" * size
            frame = masked(0x81, payload)
            self.assertEqual(self.small(frame + b"\x81"), (payload, len(frame)), size)

    def test_every_other_frame_is_left_to_autobahn(self) -> None:
        """Invalid UTF-8, a cut frame, binary, a fragment, a ping, unmasked, a two-byte length
        that is not the shortest encoding, 65,536 bytes or more, a frame or message already
        under way, a closing connection: None."""
        text = client_frame(b'{"type": "private"}')
        self.assertIsNone(self.small(client_frame(b"\xff\xfe")))
        self.assertIsNone(self.small(text[:-1]))
        self.assertIsNone(self.small(text[:5]))
        self.assertIsNone(self.small(client_frame(b"x", first=0x82)))
        self.assertIsNone(self.small(client_frame(b"x", first=0x01)))
        self.assertIsNone(self.small(client_frame(b"x", first=0x89)))
        self.assertIsNone(self.small(client_frame(b"x", masked=False)))
        self.assertIsNone(self.small(bytes([0x81, 0x80 | 126, 0, 125]) + bytes(129)))
        self.assertIsNone(self.small(masked(0x81, b"z" * 65_536)))
        self.assertIsNone(self.small(masked(0x81, b"z" * 4000)[:-1]))
        self.assertIsNone(self.small(text, current_frame=object()))
        self.assertIsNone(self.small(text, inside_message=True))
        self.assertIsNone(self.small(text, state=LeanServerProtocol.STATE_CLOSING))


class UnmaskedTests(TestCase):
    def test_same_bytes_as_autobahns_masker(self) -> None:
        """Every size a small frame has, and more, with random masks."""
        rng = random.Random(9)
        for size in [*range(70), 125, 500, 1500]:
            mask, payload = rng.randbytes(4), rng.randbytes(size)
            self.assertEqual(
                unmasked(mask, payload),
                # Defined in a try/except of the module, which mypy does not see as exported.
                xormasker.create_xor_masker(mask, size).process(payload),  # type: ignore[attr-defined]
                size,
            )


class _Refusing(LeanServerProtocol):
    def onConnect(self, request: Any) -> None:
        raise ConnectionDeny(403, "Forbidden")


class RefusalTests(TestCase):
    def test_refused_upgrade_answers_and_closes_without_autobahns_warning(self) -> None:
        """A refused handshake answers its status line and closes the connection, and Autobahn
        logs nothing about it (socialhub logs the refusal itself, at info)."""
        events: list[dict[str, Any]] = []
        observer: Any = events.append
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        factory = WebSocketServerFactory()
        factory.protocol = _Refusing
        factory.setProtocolOptions(openHandshakeTimeout=0, closeHandshakeTimeout=0)
        protocol: _Refusing = factory.buildProtocol(None)  # type: ignore[assignment]
        transport = StringTransport()
        transport.registerProducer(Producer(), True)  # dropping the connection unregisters it
        protocol.makeConnection(transport)
        protocol.dataReceived(_UPGRADE)
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 403 Forbidden\r\n"))
        self.assertTrue(transport.disconnecting)
        autobahns = [e for e in events if "autobahn" in e.get("log_namespace", "")]
        self.assertEqual(
            [e["log_level"].name for e in autobahns if e["log_level"] > LogLevel.debug], []
        )
