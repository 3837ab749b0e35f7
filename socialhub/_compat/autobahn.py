"""Autobahn's server protocol, with the per-read, per-message and per-write costs this server
has no use for left out.

These overrides read Autobahn's protocol state (`state`, `data`, `current_frame`,
`inside_message`, `message_data`, `failedByMe`, the auto-ping calls) and call its
`_dataReceived` and `_cancelAutoPingTimeoutCall`, none of them public API:
trial_tests/_compat/test_autobahn.py fails if Autobahn changes them.
"""

from __future__ import annotations

from autobahn.twisted.websocket import WebSocketServerProtocol
from twisted.python.failure import Failure

# A client text frame's header (RFC 6455 5.2): FIN and the text opcode; the mask bit and a
# length below 126, or 126 and the length in the next two bytes; then the 4-byte mask.
_FIN_TEXT = 0x81
_MASKED = 0x80
_TWO_BYTE_LENGTH = 126
_MASK_SIZE = 4
_OPEN = WebSocketServerProtocol.STATE_OPEN


def unmasked(mask: bytes, data: bytes) -> bytes:
    """`data` XOR-ed with the 4-byte `mask` repeated (RFC 6455 5.3), as one integer: 1.4 µs for
    a 200-byte frame, where Autobahn's native masker object costs 5.8 (4.5 against 6.1 at 1 KB)."""
    size = len(data)
    key = mask * (size // 4 + 1)
    masked = int.from_bytes(data, "little") ^ int.from_bytes(key[:size], "little")
    return masked.to_bytes(size, "little")


def _is_utf8(payload: bytes) -> bool:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class LeanServerProtocol(WebSocketServerProtocol):
    """WebSocketServerProtocol for a server that takes whole text messages and sends
    prepared, uncompressed frames."""

    # Autobahn's receiving side does two things per read or per message that this server never
    # uses, together about 5 µs per private message: the two methods below leave them out.

    def dataReceived(self, data: bytes) -> None:
        """Autobahn's, without its debug line: its arguments (click styling of the method's
        name, 3 µs) are built on every read even with debug logging off."""
        self._dataReceived(data)

    def onMessageEnd(self) -> None:
        """Autobahn's, without firing its "message" event: nothing here listens to it, yet each
        firing built and resolved a txaio future (1.6 µs per message)."""
        if not self.failedByMe:
            self.onMessage(b"".join(self.message_data), self.message_is_binary)
        self.message_data = []  # let the chunks go, as Autobahn does

    def failHandshake(
        self, reason: str, code: int = 400, responseHeaders: list[tuple[str, str]] | None = None
    ) -> None:
        """Autobahn's, without its two log lines (the second a warning about an unclean drop):
        refusing an upgrade is this server's decision, which its caller logs."""
        self.wasNotCleanReason = reason
        self.sendHttpErrorResponse(code, reason, responseHeaders)
        self.wasClean = True  # dropConnection warns about a connection that was not
        self.dropConnection(abort=False)

    def processData(self) -> bool:
        """Autobahn's, with a short way for the usual frame: a whole message in one masked
        text frame of less than 64 KiB, complete in the buffer, while the connection is open and no
        fragmented message is under way. Its payload goes straight to onMessage, skipping
        Autobahn's masker and its frame and message events (begin, data and end, each through
        its Twisted adapter, with per-frame UTF-8 state: 21% of the server's samples with the
        masker, in the private relay's profile). Anything else, invalid UTF-8 included, takes
        Autobahn's way: its checks and errors stay its own."""
        small = self.small_message()
        if small is None:
            return bool(super().processData())
        payload, end = small
        self.data = self.data[end:]
        if self.autoPingTimeoutCall and self.autoPingRestartOnAnyTraffic:
            self._cancelAutoPingTimeoutCall()  # any frame counts as the answer to a ping
        self.onMessage(payload, False)
        return len(self.data) > 0

    def small_message(self) -> tuple[bytes, int] | None:
        """The unmasked payload of such a frame at the start of the buffer, and where the frame
        ends; None when the buffer does not start with one. Frames of up to 65,535 bytes (a
        length in one or two bytes) qualify: a chat message of 4,000 characters fits."""
        data = self.data
        if (
            self.current_frame is not None
            or self.inside_message
            or not self.accepting
            or len(data) < 2 + _MASK_SIZE
            or data[0] != _FIN_TEXT
        ):
            return None
        size = data[1] - _MASKED  # negative when unmasked; 127 announces an 8-byte length
        start = 2 + _MASK_SIZE
        if size == _TWO_BYTE_LENGTH:
            size = int.from_bytes(data[2:4], "big")
            if size < _TWO_BYTE_LENGTH:
                return None  # not the shortest encoding: Autobahn refuses it
            start += 2
        elif not 0 <= size < _TWO_BYTE_LENGTH:
            return None
        end = start + size
        if end > len(data):
            return None
        payload = unmasked(data[start - _MASK_SIZE : start], data[start:end])
        return (payload, end) if _is_utf8(payload) else None

    @property
    def accepting(self) -> bool:
        """Open: neither still in the handshake nor closing. (Read for every frame sent, so
        kept to one comparison.)"""
        is_open: bool = self.state == _OPEN
        return is_open

    def framed(self, payload: bytes) -> bytes:
        """A text frame's bytes on the wire: Autobahn's prepared message, never compressed
        (this server negotiates no compression), so the same bytes suit every connection.
        Writing them to the transport is sendPreparedMessage without what sendData adds per
        write and this server never uses: the arguments of a debug line (click styling, built
        even with debug off, costing more than the rest of a copy), Autobahn's traffic
        counters, and its queue of chopped or synchronous writes (never asked for here)."""
        prepared = self.factory.prepareMessage(payload, isBinary=False, doNotCompress=True)
        wire: bytes = prepared.payloadHybi
        return wire

    def sendData(self, data: bytes, sync: bool = False, chopsize: int | None = None) -> None:
        """Autobahn's own frames (close, ping, pong; the handshake's answer) go to the
        transport through here: `before_own_frame` runs first."""
        self.before_own_frame()
        super().sendData(data, sync, chopsize)

    def before_own_frame(self) -> None:
        """Called before Autobahn writes bytes of its own: a subclass that keeps frames back
        sends them here, so that a close never overtakes them."""

    def close_with(self, code: int, reason: str) -> None:
        """Send a close frame with any code (sendClose refuses 1001, 1003 and 1009)."""
        self.sendCloseFrame(code=code, reasonUtf8=reason.encode("utf-8"), isReply=False)

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        """Autobahn's, also cancelling the wait for the client's answer to a close, which
        Autobahn leaves to fire after a connection that ended without that answer."""
        super().connectionLost(reason)
        if self.closeHandshakeTimeoutCall is not None:
            self.closeHandshakeTimeoutCall.cancel()
            self.closeHandshakeTimeoutCall = None
