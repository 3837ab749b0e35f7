"""The connections of one process: user id -> that user's open sockets, and sending to them."""

from __future__ import annotations

from collections.abc import Collection

from twisted.internet.defer import Deferred

from socialhub.metrics import Metrics
from socialhub.router.delivery import Connection


class Router:
    """Open connections by user, and local delivery of serialized frames."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._by_user: dict[int, set[Connection]] = {}
        self._waiting_for_empty: list[Deferred[None]] = []

    def add(self, connection: Connection) -> bool:
        """Register a connection; True when it is the user's first one here."""
        connections = self._by_user.setdefault(connection.user_id, set())
        connections.add(connection)
        self._metrics.open_connections.inc()
        return len(connections) == 1

    def remove(self, connection: Connection) -> bool:
        """Forget a connection; True when it was the user's last one here."""
        connections = self._by_user.get(connection.user_id)
        if connections is None or connection not in connections:
            return False
        connections.discard(connection)
        self._metrics.open_connections.dec()
        if connections:
            return False
        del self._by_user[connection.user_id]
        if not self._by_user:
            waiting, self._waiting_for_empty = self._waiting_for_empty, []
            for empty in waiting:
                empty.callback(None)
        return True

    def is_online(self, user_id: int) -> bool:
        return user_id in self._by_user

    def connections_of(self, user_id: int) -> set[Connection]:
        return set(self._by_user.get(user_id, ()))

    def deliver(self, user_ids: Collection[int], payload: bytes, exclude: str | None) -> None:
        """Send a serialized frame to every local connection of these users."""
        for user_id in user_ids:
            connections = self._by_user.get(user_id)
            if connections:
                self._send(connections, payload, exclude)

    def deliver_everyone(self, payload: bytes, exclude: str | None) -> None:
        for connections in list(self._by_user.values()):
            self._send(connections, payload, exclude)

    def close_sessions(self, session_ids: Collection[int], code: int, reason: str) -> None:
        wanted = set(session_ids)
        for connections in list(self._by_user.values()):
            for connection in list(connections):
                if connection.session_id in wanted:
                    connection.close_with(code, reason)

    def close_all(self, code: int, reason: str) -> None:
        """Close every open connection (shutdown: 1001)."""
        for connections in list(self._by_user.values()):
            for connection in list(connections):
                connection.close_with(code, reason)

    def emptied(self) -> Deferred[None]:
        """Fires once no connection is open (at once if none is)."""
        empty: Deferred[None] = Deferred()
        if self._by_user:
            self._waiting_for_empty.append(empty)
        else:
            empty.callback(None)
        return empty

    def _send(
        self, connections: Collection[Connection], payload: bytes, exclude: str | None
    ) -> None:
        for connection in list(connections):
            if connection.connection_id != exclude:
                connection.send_payload(payload)
                self._metrics.deliveries.inc()
