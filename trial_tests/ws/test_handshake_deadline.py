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
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from trial_tests.support.chat import Person, register
from trial_tests.support.harness import RunningServer, fresh_postgres_url, start_server
from trial_tests.support.raw_http import raw_bytes, upgrade_request
from trial_tests.support.wsclient import connect

# Seconds: the server's header timeout, which is also its handshake's. Autobahn's timers fire at
# a whole second (now + timeout, rounded down), so a shorter one could cut a quick handshake too.
DEADLINE = 2.0
POLL = 0.05  # seconds between looks at the lock
POLLS = 200


class HandshakeDeadlineTests(TestCase):
    async def started(self) -> tuple[RunningServer, Person, str]:
        """A server on a database of its own, with alice registered."""
        database = fresh_postgres_url()
        running = await start_server(self, "postgres", database, header_timeout=DEADLINE)
        return running, await register(running.url, "alice"), database

    async def while_sessions_locked(
        self, database: str, running: RunningServer, token: str, leave: bool
    ) -> bytes:
        """An upgrade made while another transaction holds the sessions table, released once
        the server's lookup is seen waiting on it; returns once that lookup got its answer."""
        with closing(psycopg2.connect(database)) as locker:
            with locker.cursor() as cursor:
                cursor.execute("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE")
            answer = await raw_bytes(running, upgrade_request(token), leave)
            await self.until_waiting(locker, True)
            locker.rollback()
            await self.until_waiting(locker, False)
        return answer

    async def until_waiting(self, locker: Any, waiting: bool) -> None:
        """Poll until a lookup waits on the sessions table's lock (or none does any more)."""
        sql = "SELECT count(*) FROM pg_locks WHERE relation = 'sessions'::regclass AND NOT granted"
        for _ in range(POLLS):
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
        running, alice, database = await self.started()
        answer = await self.while_sessions_locked(database, running, alice.token, leave=False)
        self.assertEqual(answer, b"", "the server hung up without an answer")
        gauge = await self.open_sockets_after_one_more(running, alice)
        self.assertEqual(gauge, "socialhub_websocket_connections 1.0")

    async def test_a_client_gone_before_its_session_is_found_never_opens(self) -> None:
        running, alice, database = await self.started()
        await self.while_sessions_locked(database, running, alice.token, leave=True)
        gauge = await self.open_sockets_after_one_more(running, alice)
        self.assertEqual(gauge, "socialhub_websocket_connections 1.0")
