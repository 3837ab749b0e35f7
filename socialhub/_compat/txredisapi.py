"""What socialhub relies on of txredisapi beyond its public API.

Its protocols are built with their constructor's keywords (`charset`, `replyTimeout`,
`convertNumbers`) and read `factory.isLazy`, `factory.stopTrying` and
`factory.connectionError`; replies pass through `tryConvertData` and `replyReceived`, and
commands are built by `_build_command`. trial_tests/_compat/test_txredisapi.py fails if
txredisapi changes them.
"""

from __future__ import annotations

from typing import Any

import txredisapi
from twisted.internet.protocol import Factory
from twisted.logger import Logger

_log = Logger(namespace="socialhub.bus")


class _Raw:
    """Replies as Redis sent them. The factory turns txredisapi's conversions off (no charset,
    no numbers), and then its conversion only copies every reply list, element by element."""

    def tryConvertData(self, data: Any) -> Any:
        return data


class Subscriber(_Raw, txredisapi.SubscriberProtocol):
    """txredisapi's subscriber, handing published messages to `message` at once."""

    def replyReceived(self, reply: Any) -> None:
        """Messages are nearly all the traffic of this connection (txredisapi would look at
        each one several ways first)."""
        if type(reply) is list and len(reply) == 3 and reply[0] == b"message":
            self.message(reply[1], reply[2])
        else:
            super().replyReceived(reply)

    def message(self, channel: bytes, payload: bytes) -> None:
        """A message published on a subscribed channel."""
        raise NotImplementedError


class Publisher(_Raw, txredisapi.RedisProtocol):
    """txredisapi's protocol, with commands built in one join."""

    def _build_command(self, *args: bytes | str | int, **kwargs: Any) -> bytes:
        """The command in Redis's protocol, in one join (txredisapi's extends a bytearray
        two pieces at a time, after type checks, for every argument)."""
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        return b"".join(parts)


class ProtocolFactory(Factory):
    """Builds txredisapi protocols that answer in bytes and time out unanswered commands, for
    a ClientService (which does the reconnecting, not txredisapi)."""

    def __init__(self, protocol: type[Subscriber | Publisher], reply_timeout: float) -> None:
        self._protocol = protocol
        self._reply_timeout = reply_timeout
        self.isLazy = True  # txredisapi reads this on authentication failures

    def buildProtocol(self, addr: Any) -> Any:
        protocol = self._protocol(
            charset=None, replyTimeout=self._reply_timeout, convertNumbers=False
        )
        protocol.factory = self
        return protocol

    def stopTrying(self) -> None:
        """txredisapi calls this on authentication failures; ClientService keeps trying."""

    def connectionError(self, message: str) -> None:
        _log.error("{message}", message=message)
