"""The one small interface both buses implement: publish bytes to channels, subscribe to them.

A bus knows nothing of frames or users; `delivery/fanout.py` decides what goes on which channel.
Publishing is fire-and-forget: a bus that cannot reach its broker drops the message, counts it
and reports itself down, and the process keeps serving its own connections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from twisted.internet.defer import Deferred

MessageHandler = Callable[[bytes, bytes], None]  # (channel, message)


class Bus(Protocol):
    """Pub/sub between the processes of one socialhub deployment."""

    def set_handler(self, handler: MessageHandler) -> None:
        """Where messages of subscribed channels go (set once, before start)."""

    async def start(self) -> None:
        """Connect (a bus that cannot connect yet keeps trying in the background)."""

    async def stop(self) -> None:
        """Disconnect and stop reconnecting."""

    def subscribe(self, channel: bytes) -> Deferred[None]:
        """Receive this channel's messages from now on (also after reconnecting); the Deferred
        fires once the broker has confirmed it (it never fails)."""

    def unsubscribe(self, channel: bytes) -> None:
        """Stop receiving this channel's messages."""

    def publish(self, channel: bytes, message: bytes) -> None:
        """Send a message to every subscriber of the channel, this process included. It may
        leave at the end of the reactor's turn, but messages of one bus arrive in the order
        they were published, across channels too."""

    def on_reconnect(self, callback: Callable[[], object]) -> None:
        """Call `callback` each time the bus is back after an outage."""

    def state(self) -> str:
        """ "ok", "down", or "disabled" (the in-process bus), as /healthz reports it."""
