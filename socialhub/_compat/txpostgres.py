"""What socialhub relies on of txpostgres beyond its public API.

A connection's interactions and statement batches replace txpostgres' `_runInteraction` and
`_runQuery` (the private methods its public `runInteraction` and `runQuery` call, behind the
dead-connection check and the connection's lock); its cursors hand results over through their
`reactor` attribute; its dead-connection detector is extended through `startReconnecting`,
`reconnectionIterator`, `reconnect` and `reconnectable`; the pool is built from its `reactor`
and `connectionFactory` class attributes and keeps its connections in `connections`.
trial_tests/_compat/test_txpostgres.py fails if txpostgres changes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorCore, IReactorTime
from twisted.internet.task import Cooperator
from txpostgres import reconnection, txpostgres


class _AtOnce:
    """The reactor as txpostgres' cursors see it, but with their zero-delay calls made at once.

    A cursor hands each query's result to its caller with callLater(0) (txpostgres' guard
    against re-entrance from doRead), so every round trip also waited for the reactor's next
    turn: behind every other socket's work under load, five times per stored batch. The result
    is final when it is handed over (the cursor has already cleared its state), so calling back
    at once is safe: a caller that starts the next statement starts a new poll cycle.
    """

    def __init__(self, reactor: IReactorTime) -> None:
        self._reactor = reactor

    def callLater(self, delay: float, function: Callable[..., object], *args: object) -> None:
        if delay:
            raise ValueError("txpostgres' cursors only call back at once")
        function(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)


class Cursor(txpostgres.Cursor):
    """A txpostgres cursor whose results are handed over at once (see _AtOnce)."""

    def __init__(self, cursor: Any, connection: Any) -> None:
        super().__init__(cursor, connection)
        self.reactor = _AtOnce(connection.reactor)


class Detector(reconnection.DeadConnectionDetector):
    """txpostgres's detector, with reconnection attempts that stop when the pool is closed.

    The stock one retries forever on timers nobody can cancel, so a pool closed while
    PostgreSQL was down would open its connections again afterwards.
    """

    def __init__(self, reactor: IReactorTime | None) -> None:
        super().__init__(reactor=reactor)
        self._delays: Iterator[float] = iter(())
        self._timer: IDelayedCall | None = None
        self._stopped = False

    def startReconnecting(self, failure: Any) -> None:
        self._delays = self.reconnectionIterator()
        self._schedule()

    def hurry(self) -> None:
        """Make the pending attempt now: another connection to the same server just got
        through, so this one would too. Without it, each connection waits out its own backoff
        (up to 10 s), and a request given one still waiting fails while PostgreSQL is back."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
            self._attempt()

    def stop(self) -> None:
        self._stopped = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()

    def _schedule(self, _: object = None) -> None:
        if not self._stopped:
            self._timer = self.reactor.callLater(next(self._delays), self._attempt)

    def _attempt(self) -> None:
        self._timer = None
        self.reconnect().addCallbacks(self._connected, self._schedule)

    def _connected(self, _: object) -> None:
        if self._stopped:  # closed while this attempt was connecting
            self.reconnectable.close()
        else:
            self.connectionRecovered()


class Connection(txpostgres.Connection):
    """A pooled connection that reconnects by itself once it finds it has died (Detector), and
    runs interactions and statement batches as a subclass says, each on a new Cursor, behind
    txpostgres' dead-connection check and lock (txpostgres' own interactions send BEGIN on
    their own)."""

    cursorFactory = Cursor
    detector: Detector

    def __init__(
        self, reactor: IReactorTime | None = None, cooperator: Cooperator | None = None
    ) -> None:
        super().__init__(reactor=reactor, cooperator=cooperator, detector=Detector(reactor))

    def interaction(self, cursor: Cursor, body: Any) -> Deferred[Any]:
        """Run `body` as one transaction on `cursor` (what pool.runInteraction(body) does)."""
        raise NotImplementedError

    def query(self, cursor: Cursor, statements: Any) -> Deferred[Any]:
        """Send `statements` on `cursor` (what pool.runQuery(statements) does)."""
        raise NotImplementedError

    def _runInteraction(self, body: Any) -> Deferred[Any]:
        return self.interaction(self.cursor(), body)

    def _runQuery(self, statements: Any) -> Deferred[Any]:
        return self.query(self.cursor(), statements)


class Pool(txpostgres.ConnectionPool):
    """txpostgres' pool of `connectionFactory` connections (a Connection subclass), on the
    given reactor, whose reconnection attempts stop when it is closed. When one connection
    recovers, the others waiting to try again try at once (Detector.hurry)."""

    connectionFactory: type[Connection] = Connection
    connections: set[Connection]

    def __init__(self, reactor: IReactorCore, dsn: str, connections: int) -> None:
        self.reactor = reactor
        super().__init__(None, dsn, min=connections)
        self._members = tuple(self.connections)  # `connections` lacks those in use
        for connection in self._members:
            connection.detector.addRecoveryHandler(self._hurry)

    def _hurry(self) -> None:
        for connection in self._members:
            connection.detector.hurry()

    def close(self) -> None:
        for connection in self.connections:
            connection.detector.stop()
        super().close()
