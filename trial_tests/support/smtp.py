"""A real SMTP server on loopback (aiosmtpd) whose received messages reach the test.

aiosmtpd's Controller runs an asyncio loop on a thread of its own; each message it accepts is
handed to the reactor with `callFromThread`, where `MailBox.next` gives it to the waiting test.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredQueue
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

MAIL_TIMEOUT = 10.0
_reactor: Any = reactor  # its stub lacks callFromThread
_LINK = re.compile(r"(https?://\S+)\?token=([A-Za-z0-9_-]+)")


class MailBox:
    """The messages an SMTP server received, in order."""

    def __init__(self) -> None:
        self.received: DeferredQueue[EmailMessage] = DeferredQueue()
        self.url = ""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook, on the server's thread: hand the message to the reactor."""
        content = bytes(envelope.content)
        recipients = list(envelope.rcpt_tos)
        _reactor.callFromThread(self._deliver, content, recipients)
        return "250 Message accepted"

    def _deliver(self, content: bytes, recipients: list[str]) -> None:
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ", ".join(recipients)
        self.received.put(message)

    async def next(self) -> EmailMessage:
        waiting: Deferred[EmailMessage] = self.received.get()
        return await waiting.addTimeout(MAIL_TIMEOUT, reactor)

    def pending(self) -> int:
        return len(self.received.pending)


def link_of(message: EmailMessage) -> tuple[str, str]:
    """The link a message carries: its URL before the query, and its token."""
    body = message.get_body(("plain",))
    assert body is not None
    found = _LINK.search(body.get_content())
    assert found is not None, body.get_content()
    return found.group(1), found.group(2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def smtp_server(testcase: TestCase) -> MailBox:
    """Start an SMTP server on loopback for this test (stopped when it ends); `url` is the
    --smtp value that reaches it."""
    box = MailBox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    await deferToThread(controller.start)
    testcase.addCleanup(deferToThread, controller.stop)
    box.url = f"smtp://127.0.0.1:{controller.port}"
    return box
