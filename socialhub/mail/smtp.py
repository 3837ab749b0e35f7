"""Sending one message over SMTP, off the request path.

`SmtpMailer.send` starts the delivery and returns at once: a request answers before its mail
is sent. A failed send is logged with the recipient and the reason. The sends under way are
counted, and `stop` waits for them (a moment at most) so a shutdown does not cut one off.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from io import BytesIO
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from twisted.internet.defer import Deferred
from twisted.internet.ssl import optionsForClientTLS
from twisted.logger import Logger
from twisted.mail.smtp import ESMTPSenderFactory
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure

from socialhub.in_flight import InFlight
from socialhub.reactor import Reactor

# How long a send may wait on the server, and how often a refused connection is tried again.
SMTP_TIMEOUT = 60
RETRIES = 2
# How long a stopping server waits for the sends under way.
STOP_WAIT = 5.0

log = Logger(namespace="socialhub.mail")


class Mailer(Protocol):
    """What the handlers send mail through."""

    def send(self, to: str, subject: str, body: str) -> None:
        """Start sending a plain-text message to `to`; failures are logged, not raised."""


@dataclass(frozen=True)
class SmtpServer:
    """Where mail goes, read from a `smtp://user:password@host:port` or `smtps://` URL."""

    host: str
    port: int
    tls: bool  # smtps: TLS from the first byte; smtp uses STARTTLS when the server offers it
    username: bytes | None
    password: bytes | None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if tls else 25),
            tls=tls,
            username=unquote(parts.username).encode() if parts.username else None,
            password=unquote(parts.password).encode() if parts.password else None,
        )


class _SenderFactory(ESMTPSenderFactory):
    """twisted.mail's sender of one message, which also says when its last connection has
    closed (`sent` fires on the server's answer, before the connection's QUIT)."""

    def __init__(self, server: SmtpServer, sender: str, to: str, message: bytes) -> None:
        self.sent: Deferred[Any] = Deferred()  # twisted.mail forgets its own once it fired
        self.closed: Deferred[None] = Deferred()
        super().__init__(
            server.username,
            server.password,
            sender,
            [to],
            BytesIO(message),
            self.sent,
            retries=RETRIES,
            timeout=SMTP_TIMEOUT,
            heloFallback=True,
            requireAuthentication=server.username is not None,
            requireTransportSecurity=False,
            hostname=server.host,
        )

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        super().clientConnectionLost(connector, reason)
        self._settle()

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        super().clientConnectionFailed(connector, reason)
        self._settle()

    def _settle(self) -> None:
        """Closed for good once the message is sent or given up (else it is retried)."""
        if self.sent.called and not self.closed.called:
            self.closed.callback(None)


class SmtpMailer:
    """Mail from `sender` through one SMTP server."""

    def __init__(self, reactor: Reactor, url: str, sender: str) -> None:
        self._reactor = reactor
        self._server = SmtpServer.from_url(url)
        self._sender = sender
        self._in_flight = InFlight()

    def send(self, to: str, subject: str, body: str) -> None:
        server = self._server
        sender = _SenderFactory(server, self._sender, to, self._message(to, subject, body))
        sender.sent.addCallbacks(
            lambda _: log.info("mail sent to {to}", to=to),
            lambda failure: log.error(
                "mail to {to} not sent: {reason}", to=to, reason=failure.getErrorMessage()
            ),
        )
        self._in_flight.started()
        sender.closed.addBoth(lambda _: self._in_flight.finished())
        factory: Any = sender
        if server.tls:
            factory = TLSMemoryBIOFactory(optionsForClientTLS(server.host), True, sender)
        self._reactor.connectTCP(server.host, server.port, factory, timeout=SMTP_TIMEOUT)

    def _message(self, to: str, subject: str, body: str) -> bytes:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(self._reactor.seconds())
        message["Message-ID"] = make_msgid(domain=self._sender.rpartition("@")[2] or "localhost")
        message.set_content(body)
        return message.as_bytes()

    async def stop(self) -> None:
        """Wait a moment for the sends under way."""
        waiting = self._in_flight.none().addTimeout(STOP_WAIT, self._reactor)
        await waiting.addErrback(lambda _: None)
