"""One HTTP connection: what Twisted refuses before any Request is answered (a request line
or header too long or malformed, headers too large) is the contract's JSON 400 too, and a
request whose headers or body arrive too slowly is answered 408.

Twisted's own idle timeout (`timeOut`) restarts with every byte received, so a client sending
its headers a byte at a time holds a connection for ever; here each request gets deadlines
instead: its line and headers within `header` seconds of its first byte, its body within
`body` seconds of the end of its headers. No deadline runs while a request is answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from twisted.internet.interfaces import IDelayedCall
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure
from twisted.web.http import Request

from socialhub._compat.twisted import RefusingChannel
from socialhub.errors import InvalidRequest, RequestTimeout, SocialHubError
from socialhub.http.request import DRAIN_SECONDS, raw_error


@dataclass(frozen=True)
class Deadlines:
    """Seconds a request's line and headers, and then its body, may take to arrive."""

    header: float
    body: float


class JsonChannel(RefusingChannel):
    """Answers Twisted's refusals with a JSON 400 and a request too slow to arrive with a JSON
    408, then drains what the client still sends for a moment before closing, so the client
    reads the answer instead of a reset."""

    _refused = False
    _answering = False  # a whole request is in and being answered
    _drain_timer: IDelayedCall | None = None
    _deadline: IDelayedCall | None = None

    def __init__(self, deadlines: Deadlines) -> None:
        super().__init__()
        self._deadlines = deadlines

    def refuse(self, message: str) -> None:
        self._answer(InvalidRequest(message))

    def _answer(self, error: SocialHubError) -> None:
        self._refused = True
        self._stop_deadline()
        self.clearLineBuffer()
        assert self.transport is not None
        self.transport.write(raw_error(error))
        # The site's factory gives each channel its reactor's callLater.
        self._drain_timer = self.callLater(DRAIN_SECONDS, self.transport.loseConnection)

    def dataReceived(self, data: bytes) -> None:
        if self._refused:
            return
        if self._deadline is None and not self._answering:
            self._start_deadline(self._deadlines.header, "the request line and headers")
        super().dataReceived(data)

    def allHeadersReceived(self) -> None:
        self._stop_deadline()
        self._start_deadline(self._deadlines.body, "the request body")
        super().allHeadersReceived()

    def allContentReceived(self) -> None:
        self._stop_deadline()
        self._answering = True
        super().allContentReceived()

    def requestDone(self, request: Request) -> None:
        self._answering = False
        super().requestDone(request)

    def _start_deadline(self, seconds: float, what: str) -> None:
        self._deadline = self.callLater(seconds, partial(self._expired, seconds, what))

    def _stop_deadline(self) -> None:
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None

    def _expired(self, seconds: float, what: str) -> None:
        """408, unless the request was answered already (its body refused as too large)."""
        self._deadline = None
        request = self.requests[-1] if self.requests else None
        if not getattr(request, "refused", False):
            self._answer(RequestTimeout(f"{what} did not arrive within {seconds:g} seconds"))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._stop_deadline()
        if self._drain_timer is not None and self._drain_timer.active():
            self._drain_timer.cancel()
        super().connectionLost(reason)
