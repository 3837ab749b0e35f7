"""One HTTP connection: what Twisted refuses before any Request is answered (a request line
or header too long or malformed, headers too large) is the contract's JSON 400 too."""

from __future__ import annotations

from twisted.internet.interfaces import IDelayedCall
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure

from socialhub._compat.twisted import RefusingChannel
from socialhub.errors import InvalidRequest
from socialhub.http.request import DRAIN_SECONDS, raw_error


class JsonChannel(RefusingChannel):
    """Answers Twisted's refusals with a JSON 400, then drains what the client still sends
    for a moment before closing, so the client reads the answer instead of a reset."""

    _refused = False
    _drain_timer: IDelayedCall | None = None

    def refuse(self, message: str) -> None:
        self._refused = True
        self.clearLineBuffer()
        assert self.transport is not None
        self.transport.write(raw_error(InvalidRequest(message)))
        # The site's factory gives each channel its reactor's callLater.
        self._drain_timer = self.callLater(DRAIN_SECONDS, self.transport.loseConnection)

    def dataReceived(self, data: bytes) -> None:
        if not self._refused:
            super().dataReceived(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._drain_timer is not None and self._drain_timer.active():
            self._drain_timer.cancel()
        super().connectionLost(reason)
