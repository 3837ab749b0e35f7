"""An upgrade whose session lookup outlives the connection: the handshake deadline cuts a
socket the database holds up, and a socket whose client is gone by the time its session is
found never opens (nothing would ever close it, and it would count as online for ever).

PostgreSQL only: a lock on the sessions table holds the lookup up for as long as the test wants.
"""

from __future__ import annotations

from contextlib import closing
from typing import Any

import psycopg2
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol, connectionDone
from twisted.internet.task import deferLater
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from trial_tests.support.chat import Person, register
from trial_tests.support.harness import RunningServer, fresh_postgres_url, start_server
from trial_tests.support.wsclient import connect

# Seconds: the server's header timeout, which is also its handshake's. Autobahn's timers fire at
# a whole second (now + timeout, rounded down), so a shorter one could cut a quick handshake too.
DEADLINE = 2.0
ANSWER_TIMEOUT = 10.0  # seconds the client waits for the server to answer or hang up
POLL = 0.05


class _Upgrade(Protocol):
    """Sends a WebSocket upgrade and collects what comes back until the connection closes;
    with `leave`, hangs up at once, as a client gone before its answer."""

    def __init__(self, request: bytes, leave: bool) -> None:
        self._request = request
        self._leave = leave
        self._received = b""
        self.done: Deferred[bytes] = Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(self._request)
        if self._leave:
            self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        self._received += data

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.done.callback(self._received)


def _upgrade_request(token: str) -> bytes:
    return (
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Cookie: socialhub_session={token}\r\n\r\n"
    ).encode()


class HandshakeDeadlineTests(TestCase):
    async def asyncSetUp(self) -> tuple[RunningServer, Person, str]:
        database = fresh_postgres_url()
        running = await start_server(self, "postgres", database, header_timeout=DEADLINE)
        return running, await register(running.url, "alice"), database

    async def upgrade(self, running: RunningServer, token: str, leave: bool) -> bytes:
        port = int(running.url.rsplit(":", 1)[1])
        exchange = _Upgrade(_upgrade_request(token), leave)
        await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), exchange)
        return await exchange.done.addTimeout(ANSWER_TIMEOUT, reactor)

    async def while_sessions_locked(
        self, database: str, running: RunningServer, token: str, leave: bool
    ) -> bytes:
        """An upgrade made while another transaction holds the sessions table, released once
        the server's lookup is seen waiting on it; returns once that lookup got its answer."""
        with closing(psycopg2.connect(database)) as locker:
            with locker.cursor() as cursor:
                cursor.execute("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE")
            answer = await self.upgrade(running, token, leave)
            await self.until_waiting(locker, True)
            locker.rollback()
            await self.until_waiting(locker, False)
        return answer

    async def until_waiting(self, locker: Any, waiting: bool) -> None:
        """Poll until a lookup waits on the sessions table's lock (or none does any more)."""
        sql = "SELECT count(*) FROM pg_locks WHERE relation = 'sessions'::regclass AND NOT granted"
        for _ in range(int(ANSWER_TIMEOUT / POLL)):
            with locker.cursor() as cursor:
                cursor.execute(sql)
                if bool(cursor.fetchone()[0]) == waiting:
                    return
            await deferLater(reactor, POLL)
        self.fail(f"a session lookup waiting on the lock: never {waiting}")

    async def open_sockets_after_one_more(self, running: RunningServer, person: Person) -> str:
        """The open-connections gauge once a new socket of `person` is open and answered."""
        socket = await connect(running.url, person.token, path="/ws?since=now")
        self.addCleanup(socket.close)
        self.assertEqual((await socket.next())["type"], "resumed")
        metrics = (await running.client().get("/metrics")).raw.decode()
        return next(
            line
            for line in metrics.splitlines()
            if line.startswith("socialhub_websocket_connections ")
        )

    async def test_a_handshake_the_database_holds_up_is_cut_at_the_deadline(self) -> None:
        running, alice, database = await self.asyncSetUp()
        answer = await self.while_sessions_locked(database, running, alice.token, leave=False)
        self.assertEqual(answer, b"", "the server hung up without an answer")
        gauge = await self.open_sockets_after_one_more(running, alice)
        self.assertEqual(gauge, "socialhub_websocket_connections 1.0")

    async def test_a_client_gone_before_its_session_is_found_never_opens(self) -> None:
        running, alice, database = await self.asyncSetUp()
        await self.while_sessions_locked(database, running, alice.token, leave=True)
        gauge = await self.open_sockets_after_one_more(running, alice)
        self.assertEqual(gauge, "socialhub_websocket_connections 1.0")
