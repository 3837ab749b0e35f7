"""The router of one process: user id -> that user's open connections, and delivery to them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import orjson
from twisted.internet.defer import Deferred

from socialhub.metrics import Metrics
from socialhub.router.delivery import Connection


class Router:
    """Open connections by user, implementing Delivery within one process."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._by_user: dict[int, set[Connection]] = {}
        self._waiting_for_empty: list[Deferred[None]] = []

    def add(self, connection: Connection) -> None:
        self._by_user.setdefault(connection.user_id, set()).add(connection)
        self._metrics.open_connections.inc()

    def remove(self, connection: Connection) -> None:
        connections = self._by_user.get(connection.user_id)
        if connections is None or connection not in connections:
            return
        connections.discard(connection)
        if not connections:
            del self._by_user[connection.user_id]
        self._metrics.open_connections.dec()
        if not self._by_user:
            waiting, self._waiting_for_empty = self._waiting_for_empty, []
            for empty in waiting:
                empty.callback(None)

    def is_online(self, user_id: int) -> bool:
        return user_id in self._by_user

    def emptied(self) -> Deferred[None]:
        """Fires once no connection is open (at once if none is)."""
        empty: Deferred[None] = Deferred()
        if self._by_user:
            self._waiting_for_empty.append(empty)
        else:
            empty.callback(None)
        return empty

    def close_all(self, code: int, reason: str) -> None:
        """Close every open connection (shutdown: 1001)."""
        for connections in list(self._by_user.values()):
            for connection in list(connections):
                connection.close_with(code, reason)

    def to_users(
        self,
        user_ids: Collection[int],
        frame: Mapping[str, Any],
        exclude: Connection | None = None,
    ) -> None:
        payload = orjson.dumps(frame)
        for user_id in user_ids:
            self._send(self._by_user.get(user_id, ()), payload, exclude)
        self._metrics.frames_out.labels(frame["type"]).inc()

    def to_everyone(self, frame: Mapping[str, Any], exclude: Connection | None = None) -> None:
        payload = orjson.dumps(frame)
        for connections in list(self._by_user.values()):
            self._send(connections, payload, exclude)
        self._metrics.frames_out.labels(frame["type"]).inc()

    def close_sessions(self, session_ids: Collection[int], code: int, reason: str) -> None:
        wanted = set(session_ids)
        for connections in list(self._by_user.values()):
            for connection in list(connections):
                if connection.session_id in wanted:
                    connection.close_with(code, reason)

    def _send(
        self, connections: Collection[Connection], payload: bytes, exclude: Connection | None
    ) -> None:
        for connection in list(connections):
            if connection is not exclude:
                connection.send_payload(payload)
                self._metrics.deliveries.inc()
