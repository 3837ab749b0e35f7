"""The in-process bus: the default when there is no --redis.

Every LocalBus attached to one LocalHub hears the others, so tests can run several "processes"
in one; in production each process has a hub of its own, and the bus only loops back.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.defer import Deferred, succeed

from socialhub.bus.interface import MessageHandler


class LocalHub:
    """Channel subscriptions of the buses attached to it."""

    def __init__(self) -> None:
        self.subscribers: dict[bytes, set[LocalBus]] = {}


class LocalBus:
    """A Bus whose messages never leave the process."""

    def __init__(self, hub: LocalHub | None = None) -> None:
        self._hub = hub or LocalHub()
        self._handler: MessageHandler | None = None

    def set_handler(self, handler: MessageHandler) -> None:
        self._handler = handler

    async def start(self) -> None:
        """Nothing to connect to."""

    async def stop(self) -> None:
        for subscribers in self._hub.subscribers.values():
            subscribers.discard(self)

    def subscribe(self, channel: bytes) -> Deferred[None]:
        self._hub.subscribers.setdefault(channel, set()).add(self)
        return succeed(None)

    def unsubscribe(self, channel: bytes) -> None:
        subscribers = self._hub.subscribers.get(channel)
        if subscribers is not None:
            subscribers.discard(self)
            if not subscribers:
                del self._hub.subscribers[channel]

    def publish(self, channel: bytes, message: bytes) -> None:
        for bus in list(self._hub.subscribers.get(channel, ())):
            if bus._handler is not None:
                bus._handler(channel, message)

    def on_reconnect(self, callback: Callable[[], object]) -> None:
        """The in-process bus is never away."""

    def state(self) -> str:
        return "disabled"
