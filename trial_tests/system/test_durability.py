"""An acked message is never lost (sections 7 and 8), with real `twistd socialhub` processes on
both engines: killed with SIGKILL, or stopped with SIGTERM while messages are in flight.
"""

from __future__ import annotations

import signal
from typing import Any

from twisted.internet import reactor
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.trial.unittest import TestCase

from trial_tests.support.chat import ChatTestMixin, Person, all_history, register
from trial_tests.support.harness import PostgresEngine, SqliteEngine, database_url
from trial_tests.support.processes import ServerProcess, start_process
from trial_tests.support.wsclient import WsClient, connect

COUNT = 200
# The rate limit is off so that COUNT frames sent at once are all handled.
OPTIONS = ("--rate-limit", "0")
# SIGTERM closes sockets, waits at most 2 s for them, then closes the database.
EXIT_TIMEOUT = 15.0


class DurabilityTests(ChatTestMixin):
    """What was acked is in history after the process is gone, however it went."""

    database: str

    async def first_process(self) -> tuple[ServerProcess, Person, Person]:
        """A server process on a fresh database, with alice and bob registered on it."""
        self.database = database_url(self, self.engine)
        process = await start_process(self, self.database, *OPTIONS)
        return process, await register(process.url, "alice"), await register(process.url, "bob")

    async def socket(self, process: ServerProcess, person: Person) -> WsClient:
        socket = await connect(process.url, person.token)
        self.addCleanup(socket.close)
        return socket

    def send_all(self, socket: WsClient, to: Person) -> None:
        """COUNT private messages m0.. with client ids m0.., sent at once."""
        for n in range(COUNT):
            socket.send({"type": "private", "to": to.id, "content": f"m{n}", "id": f"m{n}"})

    async def restarted(self, *people: Person) -> ServerProcess:
        """A new process on the same database; `people` now talk to it."""
        process = await start_process(self, self.database, *OPTIONS)
        for person in people:
            person.move_to(process.url)
        return process

    async def assert_in_history(self, person: Person, other: Person, acks: list[Any]) -> None:
        """Every acked message is in the conversation, once, with its content and time."""
        stored = {message["id"]: message for message in await all_history(person, other.id)}
        self.assertEqual(len(stored), len(await all_history(other, person.id)))
        for ack in acks:
            self.assertIn(ack["message_id"], stored, f"acked {ack} is not in history")
            message = stored[ack["message_id"]]
            self.assertEqual(message["content"], ack["id"])  # content and client id are m{n}
            self.assertEqual(message["timestamp"], ack["timestamp"])
        contents = [message["content"] for message in stored.values()]
        self.assertEqual(len(contents), len(set(contents)), "a message was stored twice")

    async def test_sigkill_after_acks(self) -> None:
        """COUNT messages acked, then SIGKILL: a new process finds every one of them."""
        process, alice, bob = await self.first_process()
        socket = await self.socket(process, alice)
        self.send_all(socket, bob)
        acks = [await socket.next() for _ in range(COUNT)]
        self.assertEqual([ack["id"] for ack in acks], [f"m{n}" for n in range(COUNT)])
        ended = await process.signal("KILL")
        self.assertIsInstance(ended, ProcessTerminated)
        await socket.closed
        await self.restarted(alice, bob)
        await self.assert_in_history(alice, bob, acks)
        self.assertEqual(len(await all_history(alice, bob.id)), COUNT)

    async def test_sigkill_in_flight(self) -> None:
        """SIGKILL while messages are in flight: every acked one survives, and resending every
        client id afterwards stores each message exactly once, the acked ones keeping their id."""
        process, alice, bob = await self.first_process()
        socket = await self.socket(process, alice)
        self.send_all(socket, bob)
        acks = [await socket.next() for _ in range(COUNT // 4)]
        assert process.transport is not None
        process.transport.signalProcess("KILL")
        await process.ended
        await socket.closed
        acks += socket.pending()
        self.assertEqual({frame["type"] for frame in acks}, {"ack"})
        second = await self.restarted(alice, bob)
        await self.assert_in_history(alice, bob, acks)
        again = await self.socket(second, alice)
        self.send_all(again, bob)
        resent = {ack["id"]: ack for ack in [await again.next() for _ in range(COUNT)]}
        for ack in acks:
            self.assertEqual(resent[ack["id"]], ack)
        await self.assert_in_history(alice, bob, list(resent.values()))
        self.assertEqual(len(await all_history(alice, bob.id)), COUNT)

    async def test_sigterm_drains(self) -> None:
        """SIGTERM with sockets open and messages in flight: every socket gets 1001, every acked
        message is in history after a restart, and the process exits successfully."""
        process, alice, bob = await self.first_process()
        sender, other = await self.socket(process, alice), await self.socket(process, alice)
        receiver = await self.socket(process, bob)
        self.send_all(sender, bob)
        acks = [await sender.next()]
        assert process.transport is not None
        process.transport.signalProcess("TERM")
        for socket in (sender, other, receiver):
            self.assertEqual(await socket.closed, 1001)
        acks += sender.pending()
        self.assertEqual({frame["type"] for frame in acks}, {"ack"})
        ended = await process.ended.addTimeout(EXIT_TIMEOUT, reactor)
        terminated = isinstance(ended, ProcessTerminated) and ended.signal == signal.SIGTERM
        self.assertTrue(isinstance(ended, ProcessDone) or terminated, ended)
        await self.restarted(alice, bob)
        await self.assert_in_history(alice, bob, acks)


class DurabilitySqliteTests(SqliteEngine, DurabilityTests, TestCase):
    pass


class DurabilityPostgresTests(PostgresEngine, DurabilityTests, TestCase):
    pass
