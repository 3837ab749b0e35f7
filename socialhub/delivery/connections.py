"""The connections of one process: user id -> that user's open sockets, and sending to them.

A user holds at most `max_per_user` sockets in a process: a new one past the cap closes the
user's oldest (4002), as a chat app's new tab should work and the forgotten one give way.

Stored frames carry a stream position. `Connections` remembers, per connection, the last position
it sent, and never sends an older or equal one again; while a connection is being replayed to
(resume), frames for it are held and sent after the replay.
"""

from __future__ import annotations

from collections.abc import Collection

from twisted.internet.defer import Deferred

from socialhub.delivery.interface import Connection, SharedFrame
from socialhub.metrics import Metrics

# The close of a user's oldest socket when a newer one takes it past the cap.
DISPLACED = (4002, "too many open connections: a newer one took this one's place")


class Connections:
    """Open connections by user, and local delivery of serialized frames."""

    def __init__(self, metrics: Metrics, max_per_user: int = 0) -> None:
        self._metrics = metrics
        self._max_per_user = max_per_user  # 0: no cap
        # A tuple per user, replaced when a connection comes or goes: delivery iterates it
        # without copying, however the set changes meanwhile.
        self._by_user: dict[int, tuple[Connection, ...]] = {}
        self._waiting_for_empty: list[Deferred[None]] = []
        self._last_position: dict[Connection, int] = {}
        self._held: dict[Connection, list[tuple[int, bytes]]] = {}

    def add(self, connection: Connection, position: int = 0) -> bool:
        """Register a connection that has seen the stream up to `position`, closing the user's
        oldest past the cap; True when it is the user's first one here."""
        self._last_position[connection] = position
        connections = (*self._by_user.get(connection.user_id, ()), connection)
        self._by_user[connection.user_id] = connections
        self._metrics.open_connections.inc()
        if self._max_per_user:
            for oldest in connections[: -self._max_per_user]:
                self.remove(oldest)  # at once: its close takes a round trip to the client
                oldest.close_with(*DISPLACED)
        return len(connections) == 1

    def remove(self, connection: Connection) -> bool:
        """Forget a connection; True when it was the user's last one here."""
        connections = self._by_user.get(connection.user_id, ())
        if connection not in connections:
            return False
        self._last_position.pop(connection, None)
        self._held.pop(connection, None)
        self._metrics.open_connections.dec()
        others = tuple(c for c in connections if c is not connection)
        if others:
            self._by_user[connection.user_id] = others
            return False
        del self._by_user[connection.user_id]
        if not self._by_user:
            waiting, self._waiting_for_empty = self._waiting_for_empty, []
            for empty in waiting:
                empty.callback(None)
        return True

    def connections_of(self, user_id: int) -> set[Connection]:
        return set(self._by_user.get(user_id, ()))

    def all_connections(self) -> list[Connection]:
        return [c for connections in self._by_user.values() for c in connections]

    def last_position(self, connection: Connection) -> int:
        return self._last_position.get(connection, 0)

    def deliver(
        self,
        user_ids: Collection[int],
        payload: bytes,
        exclude: str | None,
        position: int | None = None,
    ) -> None:
        """Send a serialized frame to every local connection of these users."""
        frame = SharedFrame(payload)
        by_user = self._by_user
        sent = 0
        for user_id in user_ids:
            connections = by_user.get(user_id)
            if connections:
                sent += self._send(connections, frame, exclude, position)
        self._delivered(sent)

    def send_at(self, connection: Connection, position: int, payload: bytes) -> bool:
        """Send a stored frame unless the connection is past its position; True if sent."""
        if not self._new_to(connection, position):
            return False
        connection.send_payload(payload)
        self._delivered(1)
        return True

    def hold(self, connection: Connection) -> None:
        """Keep stored frames for this connection aside until `release` (during a replay)."""
        self._held[connection] = []

    def release(self, connection: Connection, position: int) -> None:
        """The connection has seen everything up to `position`: send what was held after it."""
        if connection not in self._last_position:
            return
        self._last_position[connection] = max(self._last_position[connection], position)
        for held_position, payload in sorted(self._held.pop(connection, [])):
            self.send_at(connection, held_position, payload)

    def deliver_everyone(self, payload: bytes, exclude: str | None) -> None:
        frame = SharedFrame(payload)
        sent = 0
        for connections in list(self._by_user.values()):
            sent += self._send(connections, frame, exclude, None)
        self._delivered(sent)

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
        self,
        connections: tuple[Connection, ...],
        frame: SharedFrame,
        exclude: str | None,
        position: int | None,
    ) -> int:
        """Send to one user's connections but `exclude`; the number of copies sent."""
        sent = 0
        for connection in connections:
            if connection.connection_id == exclude:
                if position is not None:
                    self._seen_own(connection, position)
                continue
            if position is None or self._due(connection, position, frame.payload):
                connection.send_shared(frame)
                sent += 1
        return sent

    def _due(self, connection: Connection, position: int, payload: bytes) -> bool:
        """Whether a stored frame goes to the connection now (which it then has seen): not
        while the connection is held (the frame is kept for it), nor if it is past `position`."""
        held = self._held.get(connection)
        if held is not None:
            held.append((position, payload))
            return False
        return self._new_to(connection, position)

    def _new_to(self, connection: Connection, position: int) -> bool:
        """Whether the connection is not past `position` yet; if not, it now is."""
        if position <= self._last_position.get(connection, position):
            return False
        self._last_position[connection] = position
        return True

    def _seen_own(self, connection: Connection, position: int) -> None:
        """The sending connection has its own stored frame (as its ack): a later catch-up from
        the database must not send it there. Not while the connection is held: frames before
        this one are still to come then (that case is in docs/known-gaps.md)."""
        if connection not in self._held and position > self._last_position.get(connection, 0):
            self._last_position[connection] = position

    def _delivered(self, copies: int) -> None:
        """Count copies once per fan-out: a Prometheus increment takes a lock."""
        if copies:
            self._metrics.deliveries.inc(copies)
