"""Faults end to end: Redis going away under two real processes, PostgreSQL backends killed
under a sender, and a reader that stops reading.

Every wait is a bounded poll on the real reactor; nothing is mocked. Redis is a private
redis-server of the test's own (trial_tests/support/redis_server.py); PostgreSQL outages only
ever touch a database the test created for itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from socialhub.ws.backpressure import ABORT_AFTER, MAX_QUEUED, SlowReaderGuard
from trial_tests.support.chat import Person, all_history, register
from trial_tests.support.database import admin_sql, database_of_its_own, set_allowed
from trial_tests.support.harness import (
    PostgresEngine,
    Response,
    SqliteEngine,
    fresh_postgres_url,
    start_server,
)
from trial_tests.support.mixins import EngineTestMixin
from trial_tests.support.processes import ServerProcess, start_process
from trial_tests.support.redis_server import RedisServer, start_redis
from trial_tests.support.wsclient import WsClient, connect

POLL = 0.1
# Redis reconnects with a backoff capped at 5 s; PostgreSQL's pool with one up to 10 s.
RECOVERY_SECONDS = 30.0
# How long a frame that must not arrive during a Redis outage is given to arrive anyway.
QUIET_SECONDS = 0.5
# The slow reader's messages: 4,000 characters (the limit) of 4 bytes each, 16 KB a frame;
# enough of them to fill the kernel's socket buffers and then 1 MiB inside the server, but
# fewer than the 1,000 a resume replays.
BIG = "\U0001f600" * 4000
SLOW_BATCH = 25
MAX_SLOW_MESSAGES = 950


async def pause(seconds: float) -> None:
    await deferLater(reactor, seconds, lambda: None)


async def until(
    condition: Callable[[], Awaitable[bool]], what: str, seconds: float = RECOVERY_SECONDS
) -> None:
    """Poll `condition` every POLL seconds; fail the test after `seconds`."""
    for _ in range(int(seconds / POLL)):
        if await condition():
            return
        await pause(POLL)
    raise AssertionError(f"{what}: not within {seconds} s")


def position_of(cursor: str) -> int:
    """The stream position inside a cursor. Cursors are opaque to clients; the tests read them
    only to check the order frames arrive in."""
    return int(cursor.rpartition("-")[2])


async def open_socket(testcase: TestCase, url: str, person: Person) -> tuple[WsClient, str]:
    """A socket opened with `since=now`, and the cursor its `resumed` frame gave."""
    socket = await connect(url, person.token, path="/ws?since=now")
    testcase.addCleanup(socket.close)
    resumed = await socket.next()
    testcase.assertEqual(resumed["type"], "resumed", resumed)
    return socket, resumed["cursor"]


async def send(socket: WsClient, to: Person, content: str) -> dict[str, Any]:
    """A private message with its content as client id; the answer to it (ack or error)."""
    socket.send({"type": "private", "to": to.id, "content": content, "id": content})
    while True:
        frame: dict[str, Any] = await socket.next()
        if frame["type"] in ("ack", "error") and frame.get("id") == content:
            return frame


class RedisOutageTests(TestCase):
    """Two processes on one PostgreSQL database (SQLite serves one process, and --redis needs
    PostgreSQL) and a private Redis that the tests stop and start again."""

    timeout = 180

    async def start_cluster(self) -> tuple[RedisServer, ServerProcess, ServerProcess]:
        redis = await start_redis(self)
        database = fresh_postgres_url()
        options = ("--redis", redis.url, "--rate-limit", "0")
        one = await start_process(self, database, *options)
        two = await start_process(self, database, *options)
        return redis, one, two

    async def health_becomes(self, process: ServerProcess, status: int, bus: str) -> Response:
        """Poll /healthz of `process` until it answers `status` with this bus state."""
        client = process.client()
        answer: list[Response] = []

        async def matches() -> bool:
            answer[:] = [await client.get("/healthz")]
            return (answer[0].status, answer[0].json["bus"]) == (status, bus)

        await until(matches, f"/healthz of {process.url} becoming {status} {bus}")
        health = answer[0]
        self.assertEqual(health.json["database"], "ok")
        if status == 503:
            self.assertEqual((health.json["error"], health.json["status"]), ("unavailable",) * 2)
        return health

    async def stop_redis(self, redis: RedisServer, *processes: ServerProcess) -> None:
        await redis.stop()
        for process in processes:
            await self.health_becomes(process, 503, "down")

    async def start_redis_again(self, redis: RedisServer, *processes: ServerProcess) -> None:
        await redis.start()
        for process in processes:
            await self.health_becomes(process, 200, "ok")

    async def assert_quiet_during_outage(self, socket: WsClient) -> None:
        """No frame reaches a socket on the process that did not store it for QUIET_SECONDS.

        No barrier can be ordered after that frame: only the bus (stopped) would bring it, and
        a marker stored by the socket's own process would make it read the frame from the
        database first and deliver it, the very thing checked here."""
        await pause(QUIET_SECONDS)
        self.assertEqual(socket.pending(), [])

    async def assert_next_is_marker(
        self, sender: WsClient, to: Person, socket: WsClient, marker: str
    ) -> None:
        """Nothing reached `to`'s socket so far: its next frame is a message sent to them now,
        which comes after anything the server would have sent that socket before it."""
        self.assertEqual((await send(sender, to, marker))["type"], "ack")
        frame = await socket.next()
        self.assertEqual((frame["type"], frame["content"]), ("private", marker), frame)

    async def test_outage_serves_locally_then_catches_up(self) -> None:
        """With Redis stopped both processes answer /healthz 503 "bus": "down" within seconds.
        Meanwhile a message between two users of process A is stored, acked, delivered at
        once and in history; a message from A to bob on B is stored and acked but does not
        reach bob. Once Redis is back, both answer 200 "bus": "ok", bob receives the message
        exactly once with its cursor, and later traffic crosses processes both ways. Resuming
        from bob's last cursor from before the outage replays exactly what came after it."""
        redis, one, two = await self.start_cluster()
        alice, carol = await register(one.url, "alice"), await register(one.url, "carol")
        bob = await register(two.url, "bob")
        alice_ws, _ = await open_socket(self, one.url, alice)
        carol_ws, _ = await open_socket(self, one.url, carol)
        bob_ws, _ = await open_socket(self, two.url, bob)
        self.assertEqual((await send(alice_ws, bob, "before"))["type"], "ack")
        before = await bob_ws.next()
        self.assertEqual(before["content"], "before")

        await self.stop_redis(redis, one, two)
        local = await send(alice_ws, carol, "local")
        self.assertEqual(local["type"], "ack", local)
        got = await carol_ws.next()
        self.assertEqual(
            (got["type"], got["id"], got["content"]), ("private", local["message_id"], "local")
        )
        self.assertIn("cursor", got)
        carol.client.url = two.url  # history through the other process: both read the database
        self.assertEqual([m["content"] for m in await all_history(carol, alice.id)], ["local"])
        stored = await send(alice_ws, bob, "outage")
        self.assertEqual(stored["type"], "ack", stored)
        self.assertEqual(
            [m["content"] for m in await all_history(bob, alice.id)], ["outage", "before"]
        )
        await self.assert_next_is_marker(alice_ws, carol, carol_ws, "carol-during")
        await self.assert_quiet_during_outage(bob_ws)

        await self.start_redis_again(redis, one, two)
        caught_up = await bob_ws.next()
        self.assertEqual(
            (caught_up["type"], caught_up["id"], caught_up["content"]),
            ("private", stored["message_id"], "outage"),
        )
        self.assertGreater(position_of(caught_up["cursor"]), position_of(before["cursor"]))
        self.assertEqual((await send(alice_ws, bob, "after"))["type"], "ack")
        after = await bob_ws.next()
        self.assertEqual(after["content"], "after")  # nothing came twice in between
        self.assertEqual((await send(bob_ws, alice, "reply"))["type"], "ack")
        self.assertEqual((await alice_ws.next())["content"], "reply")

        again = await connect(two.url, bob.token, path=f"/ws?since={before['cursor']}")
        self.addCleanup(again.close)
        replay = [await again.next() for _ in range(4)]
        self.assertEqual(
            [(f["type"], f.get("content")) for f in replay],
            [("private", "outage"), ("private", "after"), ("private", "reply"), ("resumed", None)],
        )
        self.assertEqual(replay[0]["cursor"], caught_up["cursor"])
        self.assertEqual(replay[3]["missed"], 3)
        # nothing came twice since: the next frame on each socket is a fresh marker
        await self.assert_next_is_marker(alice_ws, bob, bob_ws, "bob-after")
        await self.assert_next_is_marker(alice_ws, carol, carol_ws, "carol-after")

    async def test_outage_writes_of_both_processes_reach_everyone(self) -> None:
        """During the outage bob on B writes to carol on A, then alice on A writes to carol.
        carol ends up with both, each exactly once and in cursor order, although the bus
        never carried bob's message (the earlier position): a direct local delivery must not
        let carol's connection skip over what another process stored before it."""
        redis, one, two = await self.start_cluster()
        alice, carol = await register(one.url, "alice"), await register(one.url, "carol")
        bob = await register(two.url, "bob")
        alice_ws, _ = await open_socket(self, one.url, alice)
        carol_ws, _ = await open_socket(self, one.url, carol)
        bob_ws, _ = await open_socket(self, two.url, bob)

        await self.stop_redis(redis, one, two)
        from_b = await send(bob_ws, carol, "from-b")
        from_a = await send(alice_ws, carol, "from-a")
        self.assertEqual((from_b["type"], from_a["type"]), ("ack", "ack"))
        await self.start_redis_again(redis, one, two)

        received: list[dict[str, Any]] = []

        async def both_arrived() -> bool:
            while carol_ws.pending():
                received.append(await carol_ws.next())
            return len(received) >= 2

        try:
            await until(both_arrived, "carol receiving both outage messages")
        except AssertionError as error:
            self.fail(f"{error}; she got {received}")
        self.assertEqual(
            [(f["type"], f["content"]) for f in received],
            [("private", "from-b"), ("private", "from-a")],
        )
        self.assertLess(position_of(received[0]["cursor"]), position_of(received[1]["cursor"]))
        self.assertEqual((await send(alice_ws, carol, "marker"))["type"], "ack")
        self.assertEqual((await carol_ws.next())["content"], "marker")

    async def test_group_joined_during_outage(self) -> None:
        """carol, connected to B, accepts a group invitation through A while Redis is down (so
        B never hears of it). A group message sent meanwhile reaches her once the bus is
        back, from the database; and later group messages reach her socket on B live, because
        B subscribes the group's channel for her when it catches up."""
        redis, one, two = await self.start_cluster()
        owner = await register(one.url, "owner")
        carol = await register(two.url, "carol")
        owner_ws, _ = await open_socket(self, one.url, owner)
        carol_ws, _ = await open_socket(self, two.url, carol)
        group = (await owner.client.post("/api/groups", {"name": "g"})).json
        await owner.client.post(
            "/api/groups/invite", {"group_id": group["id"], "user_id": carol.id}
        )
        await carol_ws.next_of("notification")
        await self.stop_redis(redis, one, two)
        through_one = carol.client.on(one.url)
        accepted = await through_one.post(f"/api/groups/{group['id']}/invitation/accept")
        self.assertEqual(accepted.status, 200)
        owner_ws.send(
            {"type": "group", "group_id": str(group["id"]), "content": "during", "id": "d"}
        )
        await owner_ws.next_of("ack")
        await self.start_redis_again(redis, one, two)
        self.assertEqual((await carol_ws.next_of("group"))["content"], "during")
        owner_ws.send({"type": "group", "group_id": str(group["id"]), "content": "live", "id": "x"})
        await owner_ws.next_of("ack")
        self.assertEqual((await carol_ws.next_of("group"))["content"], "live")
        # nothing came twice: carol's next frame is a group message sent now
        owner_ws.send({"type": "group", "group_id": str(group["id"]), "content": "end", "id": "e"})
        await owner_ws.next_of("ack")
        end = await carol_ws.next()
        self.assertEqual((end["type"], end["content"]), ("group", "end"), end)

    async def test_logout_during_outage_closes_sockets_elsewhere_after(self) -> None:
        """alice logs out through A while Redis is down, so B never hears the 4001 close; once
        the bus is back B looks its sockets' sessions up again and closes hers with 4001."""
        redis, one, two = await self.start_cluster()
        alice = await register(one.url, "alice")
        alice_ws, _ = await open_socket(self, two.url, alice)
        await self.stop_redis(redis, one, two)
        self.assertEqual((await alice.client.post("/api/auth/logout")).status, 204)
        self.assertFalse(alice_ws.closed.called)
        await self.start_redis_again(redis, one, two)
        self.assertEqual(await alice_ws.closed, 4001)

    async def test_block_during_outage_applies_elsewhere_at_once(self) -> None:
        """bob writes to alice through B; alice blocks him through A while Redis is down, so B
        hears no news of it: B refuses bob's next message all the same, the bus still down (the
        rule is asked in the write that would store it)."""
        redis, one, two = await self.start_cluster()
        alice, bob = await register(one.url, "alice"), await register(two.url, "bob")
        bob_ws, _ = await open_socket(self, two.url, bob)
        message = {"type": "private", "to": alice.id, "content": "hi"}
        bob_ws.send({**message, "id": "before"})
        self.assertEqual((await bob_ws.next())["type"], "ack")
        await self.stop_redis(redis, one, two)
        self.assertEqual((await alice.client.post(f"/api/users/{bob.id}/block")).status, 204)
        bob_ws.send({**message, "id": "after"})
        answer = await bob_ws.next()
        self.assertEqual((answer["type"], answer.get("code")), ("error", "forbidden"), answer)
        await self.start_redis_again(redis, one, two)


def terminate_backends_of(name: str) -> int:
    """Kill every PostgreSQL backend connected to database `name` (only the test's own);
    how many there were."""
    return len(
        admin_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
    )


async def answered(
    answers: dict[str, dict[str, Any]], kind: str, what: str, sender: Deferred[None]
) -> None:
    """Wait until a frame sent from now on is answered with `kind` ("ack" or "error"); fail
    with the sender's own failure if it stopped."""
    count = len(answers)

    async def arrived() -> bool:
        if sender.called:
            await sender
        return any(answer["type"] == kind for answer in list(answers.values())[count:])

    await until(arrived, what)


class DatabaseOutageTests(TestCase):
    """PostgreSQL backends killed under a real process while a sender keeps sending.

    PostgreSQL only: an SQLite database is a file inside the process, with no server that
    could go away.
    """

    timeout = 240

    async def test_backends_terminated_while_sending(self) -> None:
        """alice sends without pause to bob while the server's backends are terminated four
        times, then once more while PostgreSQL refuses connections for a second. Each frame is
        answered by an ack or by `unavailable`; HTTP answers 200 or 503 {"error":
        "unavailable"} (certainly 503, and /healthz "database": "down", while connections are
        refused); /healthz comes back to 200 and frames are acked again. Resending every
        refused client id stores it once. In the end every acked message is in history exactly
        once with its ack's id and time, nothing is half-written (no claimed client id without
        its message, stream positions 1..n with no gap or duplicate), and bob's socket got
        every message exactly once, in cursor order."""
        url, name = database_of_its_own(self)
        process = await start_process(self, url, "--rate-limit", "0")
        alice, bob = await register(process.url, "alice"), await register(process.url, "bob")
        bob_ws, _ = await open_socket(self, process.url, bob)
        alice_ws = await connect(process.url, alice.token)
        self.addCleanup(alice_ws.close)
        answers: dict[str, dict[str, Any]] = {}
        sending = [True]

        async def keep_sending() -> None:
            while sending[0]:
                content = f"m{len(answers)}"
                answer = await send(alice_ws, bob, content)
                if answer["type"] == "error":
                    self.assertEqual(answer["code"], "unavailable", answer)
                answers[content] = answer
                await pause(0.01 if answer["type"] == "ack" else 0.05)

        sender = Deferred.fromCoroutine(keep_sending())
        client = alice.client

        async def healthy() -> bool:
            health = await client.get("/healthz")
            if health.status == 503:
                self.assertEqual(health.json["error"], "unavailable", health.raw)
                return False
            self.assertEqual((health.status, health.json["database"]), (200, "ok"), health.raw)
            return True

        for _ in range(4):
            await pause(0.3)
            self.assertGreater(terminate_backends_of(name), 0)
            me = await client.get("/api/auth/me")
            if me.status != 200:
                self.assert_unavailable(me)
            await until(healthy, "/healthz back to 200 after the backends were terminated")
            await answered(answers, "ack", "frames acked again", sender)

        set_allowed(name, False)
        self.assertGreater(terminate_backends_of(name), 0)
        self.assert_unavailable(await client.get("/api/auth/me"))
        health = await client.get("/healthz")
        self.assertEqual((health.status, health.json["database"]), (503, "down"), health.raw)
        await answered(answers, "error", "a frame refused while connections are refused", sender)
        await pause(1.0)
        set_allowed(name, True)
        await until(healthy, "/healthz back to 200 after connections are allowed again")
        await answered(answers, "ack", "frames acked again", sender)
        sending[0] = False
        await sender

        refusals = [content for content, answer in answers.items() if answer["type"] == "error"]
        self.assertTrue(refusals)
        for content in refusals:
            for _ in range(int(RECOVERY_SECONDS / POLL)):
                answers[content] = await send(alice_ws, bob, content)
                if answers[content]["type"] == "ack":
                    break
                await pause(POLL)
            else:
                self.fail(f"{content} was never stored")

        await self.assert_stored_once(alice, bob, answers)
        self.assert_nothing_half_written(url, len(answers))
        await self.assert_delivered_once(bob_ws, alice_ws, alice, bob, len(answers))

    def assert_unavailable(self, response: Response) -> None:
        self.assertEqual(response.status, 503, response.raw)
        self.assertEqual(response.json["error"], "unavailable")
        self.assertEqual(set(response.json), {"error", "message"})

    async def assert_stored_once(
        self, alice: Person, bob: Person, acks: dict[str, dict[str, Any]]
    ) -> None:
        """History holds exactly the acked messages, once each, as their acks said."""
        history = await all_history(alice, bob.id)
        by_content = {message["content"]: message for message in history}
        self.assertEqual(len(history), len(by_content), "a message was stored twice")
        self.assertEqual(set(by_content), set(acks))
        for content, ack in acks.items():
            self.assertEqual(
                (by_content[content]["id"], by_content[content]["timestamp"]),
                (ack["message_id"], ack["timestamp"]),
            )

    def assert_nothing_half_written(self, url: str, count: int) -> None:
        """No client id is stored twice; positions are exactly 1..count."""
        twice = admin_sql(
            "SELECT count(*) FROM (SELECT 1 FROM messages WHERE client_id IS NOT NULL"
            " GROUP BY sender_id, client_id HAVING count(*) > 1) AS repeated",
            url,
        )
        self.assertEqual(twice, [(0,)])
        positions = admin_sql("SELECT stream_pos FROM messages ORDER BY stream_pos", url)
        self.assertEqual([row[0] for row in positions], list(range(1, count + 1)))
        self.assertEqual(admin_sql("SELECT position FROM stream_position", url), [(count,)])

    async def assert_delivered_once(
        self, socket: WsClient, sender: WsClient, alice: Person, bob: Person, count: int
    ) -> None:
        """bob's socket got `count` messages, each once, in cursor order, as stored. Whatever
        else it got comes before a marker alice sends last, which the server sends after it."""
        frames: list[dict[str, Any]] = []

        async def all_arrived() -> bool:
            while socket.pending():
                frames.append(await socket.next())
            return len(frames) >= count

        await until(all_arrived, "bob receiving every stored message")
        history = await all_history(bob, alice.id)
        self.assertEqual((await send(sender, bob, "marker"))["type"], "ack")
        while (frame := await socket.next()).get("content") != "marker":
            frames.append(frame)
        self.assertEqual({frame["type"] for frame in frames}, {"private"})
        ids = [frame["id"] for frame in frames]
        self.assertEqual(len(ids), len(set(ids)), "a message was delivered twice")
        self.assertEqual(sorted(ids), sorted(message["id"] for message in history))
        positions = [position_of(frame["cursor"]) for frame in frames]
        self.assertEqual(positions, sorted(positions))


class SlowReaderTests(EngineTestMixin):
    """A reader that stops reading is shed without hurting the sender, and resumes losslessly."""

    timeout = 180

    async def test_slow_reader_is_closed_and_resumes(self) -> None:
        """bob stops reading while alice sends him 16 KB messages. Once more than 1 MiB is
        queued for bob inside the server, his connection is sent 1008 and is gone from the
        connections within ABORT_AFTER plus a margin; alice's acks keep coming before and after.
        bob reconnects with the last cursor he saw and gets exactly the rest, in order, then
        `resumed`, then live frames."""
        running = await start_server(self, self.engine, rate_limit=0)
        alice, bob = await register(running.url, "alice"), await register(running.url, "bob")
        alice_ws = await connect(running.url, alice.token)
        self.addCleanup(alice_ws.close)
        bob_ws, first_cursor = await open_socket(self, running.url, bob)
        connections = running.server.delivery.connections
        [bobs_connection] = connections.connections_of(bob.id)
        guard = bobs_connection.transport.producer
        self.assertIsInstance(guard, SlowReaderGuard)
        bob_ws.protocol.transport.pauseProducing()

        sent: list[str] = []
        tripped_at = None
        while tripped_at is None:
            self.assertLess(len(sent), MAX_SLOW_MESSAGES, "bob's connection was never shed")
            batch = [f"{len(sent) + n:04d}" + BIG[4:] for n in range(SLOW_BATCH)]
            for content in batch:
                alice_ws.send(
                    {"type": "private", "to": bob.id, "content": content, "id": content[:4]}
                )
            for content in batch:
                ack = await alice_ws.next()
                self.assertEqual((ack["type"], ack["id"]), ("ack", content[:4]), ack)
                sent.append(content)
                if tripped_at is None and guard.tripped:
                    tripped_at = reactor.seconds()
                    self.assertEqual(bobs_connection.localCloseCode, 1008)
        self.assertGreater(len(sent), MAX_QUEUED // len(BIG.encode()))

        async def bob_gone() -> bool:
            return not connections.connections_of(bob.id)

        await until(bob_gone, "bob's connection leaving the connections", ABORT_AFTER + 2)
        self.assertLess(reactor.seconds() - tripped_at, ABORT_AFTER + 1)
        for n in range(3):  # alice was never affected
            content = f"a{n:03d}" + BIG[4:]
            alice_ws.send({"type": "private", "to": bob.id, "content": content, "id": content[:4]})
            self.assertEqual((await alice_ws.next())["id"], content[:4])
            sent.append(content)
        self.assertFalse(alice_ws.closed.called)

        bob_ws.protocol.transport.resumeProducing()
        await bob_ws.closed.addTimeout(RECOVERY_SECONDS, reactor)
        seen = [frame for frame in bob_ws.pending() if frame["type"] == "private"]
        cursor = seen[-1]["cursor"] if seen else first_cursor
        again = await connect(running.url, bob.token, path=f"/ws?since={cursor}")
        self.addCleanup(again.close)
        replayed = []
        while (frame := await again.next())["type"] != "resumed":
            replayed.append(frame)
        self.assertEqual(frame["missed"], len(replayed))
        # the replay alone is more than the limit: written at once, it must not shed bob again
        self.assertGreater(sum(len(orjson.dumps(f)) for f in replayed), MAX_QUEUED)
        self.assertEqual([f["content"] for f in seen + replayed], sent)
        positions = [position_of(f["cursor"]) for f in seen + replayed]
        self.assertEqual(positions, sorted(set(positions)))
        alice_ws.send({"type": "private", "to": bob.id, "content": "live", "id": "live"})
        self.assertEqual((await again.next())["content"], "live")


class SlowReaderSqliteTests(SqliteEngine, SlowReaderTests, TestCase):
    pass


class SlowReaderPostgresTests(PostgresEngine, SlowReaderTests, TestCase):
    pass
