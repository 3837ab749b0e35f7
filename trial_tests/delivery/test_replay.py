"""Resuming end to end: cursors, `/ws?since=`, `resumed`, `resync_required`, exact delivery."""

from __future__ import annotations

import random
import re
from typing import Any

from twisted.internet.defer import Deferred, gatherResults
from twisted.trial.unittest import TestCase

from trial_tests.support.chat import ChatTestMixin, Person, register
from trial_tests.support.harness import PostgresEngine, SqliteEngine, fresh_postgres_url
from trial_tests.support.processes import start_process
from trial_tests.support.redis_server import start_redis
from trial_tests.support.wsclient import WsClient, connect


class ResumeTests(ChatTestMixin):
    async def say(self, socket: WsClient, to: Person, content: str, client_id: str) -> None:
        """Send a private message and wait for its ack, skipping frames that arrive meanwhile."""
        socket.send({"type": "private", "to": to.id, "content": content, "id": client_id})
        await socket.next_of("ack")

    async def resume(self, person: Person, since: str, url: str | None = None) -> WsClient:
        socket = await connect(url or self.running.url, person.token, path=f"/ws?since={since}")
        self.addCleanup(socket.close)
        return socket

    async def private_frames_received(self, person: Person) -> float:
        """socialhub_frames_in_total of private frames, from /metrics."""
        text = (await person.client.get("/metrics")).raw.decode("utf-8")
        found = re.search(r'^socialhub_frames_in_total\{type="private"\} (\S+)$', text, re.M)
        return 0.0 if found is None else float(found[1])

    async def test_since_now_gives_a_cursor_before_the_first_frame(self) -> None:
        """`since=now` replays nothing and answers `resumed` with the current position."""
        alice, bob = await self.start("alice", "bob")
        bob_ws = await self.resume(bob, "now")
        resumed = await bob_ws.next()
        self.assertEqual((resumed["type"], resumed["missed"]), ("resumed", 0))
        self.assertIsInstance(resumed["cursor"], str)
        await self.send_private(await self.open(alice), bob.id, "first", "1")
        frame = await bob_ws.next()
        self.assertEqual(frame["content"], "first")
        self.assertNotEqual(frame["cursor"], resumed["cursor"])

    async def test_frames_sent_while_resuming_wait_for_the_replay(self) -> None:
        """Messages sent on a resuming connection before its `resumed` are stored after the
        replay was read: `resumed` comes first and counts none of them, each is acked, and none
        comes back to the connection that sent it."""
        alice, bob = await self.start("alice", "bob")
        cursor = (await (await self.resume(alice, "now")).next())["cursor"]
        replays = self.running.server.delivery.fanout._replays
        position, registering = replays.position, Deferred[None]()

        async def held_up() -> tuple[str, int]:  # the read of the position to replay up to
            await registering
            read: tuple[str, int] = await position()
            return read

        replays.position = held_up
        alice_ws = await connect(self.running.url, alice.token, path=f"/ws?since={cursor}")
        self.addCleanup(alice_ws.close)
        for n in range(20):
            alice_ws.send({"type": "private", "to": bob.id, "content": f"early {n}", "id": str(n)})
        while await self.private_frames_received(alice) < 20:
            pass  # each look is a request to the server: the frames are on their way
        del replays.position
        registering.callback(None)
        resumed = await alice_ws.next()
        self.assertEqual((resumed["type"], resumed["missed"]), ("resumed", 0))
        frames = [await alice_ws.next() for _ in range(20)]
        self.assertEqual(
            [(f["type"], f["id"]) for f in frames], [("ack", str(n)) for n in range(20)]
        )
        await self.send_private(await self.open(bob), alice.id, "after", "b1")
        self.assertEqual((await alice_ws.next())["content"], "after")  # nothing came before it

    async def test_without_since_there_is_no_resumed_frame(self) -> None:
        """Clients that never pass `since` see no `resumed` frame; stored frames still carry a
        cursor."""
        alice, bob = await self.start("alice", "bob")
        bob_ws = await self.open(bob)
        await self.send_private(await self.open(alice), bob.id, "hi", "1")
        frame = await bob_ws.next()
        self.assertEqual((frame["type"], frame["content"]), ("private", "hi"))
        self.assertIn("cursor", frame)

    async def test_replay_of_what_was_missed_then_live(self) -> None:
        """A client reconnecting with its last cursor first gets every stored frame it missed,
        in order and exactly once (its own messages from another connection and notifications
        included), then `resumed` with the position after them, then live frames."""
        alice, bob = await self.start("alice", "bob")
        alice_ws, bob_ws = await self.open(alice), await self.open(bob)
        await self.send_private(alice_ws, bob.id, "seen", "1")
        last = (await bob_ws.next())["cursor"]
        await bob_ws.close()
        await self.say(alice_ws, bob, "missed 1", "2")
        bob_other = await self.open(bob)
        await self.say(bob_other, alice, "own from elsewhere", "3")
        group = (await alice.client.post("/api/groups", {"name": "g"})).json
        invite = {"group_id": group["id"], "user_id": bob.id}
        self.assertEqual((await alice.client.post("/api/groups/invite", invite)).status, 201)
        await self.say(alice_ws, bob, "missed 3", "4")
        resumed_ws = await self.resume(bob, last)
        replayed = [await resumed_ws.next() for _ in range(4)]
        kinds = [(f["type"], f.get("content") or f.get("subtype")) for f in replayed]
        self.assertEqual(
            kinds,
            [
                ("private", "missed 1"),
                ("private", "own from elsewhere"),
                ("notification", "group_invite"),
                ("private", "missed 3"),
            ],
        )
        cursors = [frame["cursor"] for frame in replayed]
        self.assertEqual(len(set(cursors)), 4)
        resumed = await resumed_ws.next()
        self.assertEqual((resumed["type"], resumed["missed"]), ("resumed", 4))
        await self.say(alice_ws, bob, "live", "5")
        live = await resumed_ws.next()
        self.assertEqual(live["content"], "live")
        again = await self.resume(bob, cursors[-1])
        self.assertEqual((await again.next())["content"], "live")  # only what came after
        self.assertEqual((await again.next())["type"], "resumed")

    async def test_same_cursor_for_every_recipient(self) -> None:
        """A stored frame carries the same cursor on every connection that receives it."""
        alice, bob = await self.start("alice", "bob")
        alice_ws, alice_other, bob_ws = (
            await self.open(alice),
            await self.open(alice),
            await self.open(bob),
        )
        await self.send_private(alice_ws, bob.id, "one", "1")
        self.assertEqual((await bob_ws.next())["cursor"], (await alice_other.next())["cursor"])

    async def test_unknown_cursor_requires_a_resync(self) -> None:
        """A cursor this server never gave, or garbage, gets `resync_required`, then live."""
        alice, bob = await self.start("alice", "bob")
        for since in ("deadbeef-1", "garbage", "x-99999999"):
            socket = await self.resume(bob, since)
            self.assertEqual(await socket.next(), {"type": "resync_required"}, since)
        await self.send_private(await self.open(alice), bob.id, "after", "1")
        self.assertEqual((await socket.next())["content"], "after")

    async def test_more_than_a_thousand_missed_requires_a_resync(self) -> None:
        """Past 1,000 missed frames the server asks for a resync instead of replaying."""
        alice, bob = await self.start("alice", "bob", rate_limit=0)
        alice_ws, bob_ws = await self.open(alice), await self.open(bob)
        await self.send_private(alice_ws, bob.id, "seen", "seen")
        last = (await bob_ws.next())["cursor"]
        await bob_ws.close()
        for n in range(1001):
            alice_ws.send({"type": "private", "to": bob.id, "content": f"m{n}", "id": str(n)})
        for _ in range(1001):
            await alice_ws.next_of("ack")
        socket = await self.resume(bob, last)
        self.assertEqual(await socket.next(), {"type": "resync_required"})


class ResumeSqliteTests(SqliteEngine, ResumeTests, TestCase):
    pass


class ResumePostgresTests(PostgresEngine, ResumeTests, TestCase):
    pass


class ClusterResumeTests(TestCase):
    """Several real processes on one PostgreSQL database and a private Redis."""

    timeout = 300

    async def test_resume_on_another_process(self) -> None:
        """A reader leaves process A, messages are stored through process B, and resuming on B
        with the cursor it last saw on A replays exactly those."""
        redis = await start_redis(self)
        database = fresh_postgres_url()
        one = await start_process(self, database, "--redis", redis.url)
        two = await start_process(self, database, "--redis", redis.url)
        alice, bob = await register(one.url, "alice"), await register(one.url, "bob")
        bob_ws = await connect(one.url, bob.token)
        alice_ws = await connect(two.url, alice.token)
        alice_ws.send({"type": "private", "to": bob.id, "content": "before", "id": "0"})
        last = (await bob_ws.next())["cursor"]
        await bob_ws.close()
        for n in range(1, 4):
            alice_ws.send({"type": "private", "to": bob.id, "content": f"m{n}", "id": str(n)})
        for _ in range(4):
            await alice_ws.next_of("ack")
        resumed = await connect(two.url, bob.token, path=f"/ws?since={last}")
        got = [(await resumed.next())["content"] for _ in range(3)]
        self.assertEqual(got, ["m1", "m2", "m3"])
        self.assertEqual((await resumed.next())["missed"], 3)
        for socket in (resumed, alice_ws):
            await socket.close()

    async def test_concurrent_writers_reader_reconnecting(self) -> None:
        """Senders on three processes write to one reader at once; the reader keeps dropping
        and resuming with `since` on a random process. It sees every message exactly once, and
        each sender's messages in the order they were sent."""
        redis = await start_redis(self)
        database = fresh_postgres_url()
        processes = [
            await start_process(self, database, "--redis", redis.url, "--rate-limit", "0")
            for _ in range(3)
        ]
        reader = await register(processes[0].url, "reader")
        senders = [await register(p.url, f"sender{n}") for n, p in enumerate(processes)]
        per_sender = 60
        seen: list[dict[str, Any]] = []
        rng = random.Random(7)
        first = await connect(processes[0].url, reader.token, path="/ws?since=now")
        cursor = (await first.next())["cursor"]  # the position before anyone writes
        await first.close()
        writing = gatherResults(
            [
                Deferred.fromCoroutine(self._write(processes[n].url, sender, reader.id, per_sender))
                for n, sender in enumerate(senders)
            ]
        )
        while not writing.called or len(seen) < per_sender * len(senders):
            url = rng.choice(processes).url
            socket = await connect(url, reader.token, path=f"/ws?since={cursor}")
            for _ in range(rng.randint(5, 25)):
                frame = await socket.next(timeout=30)
                if frame["type"] == "private":
                    seen.append(frame)
                    cursor = frame["cursor"]
                elif frame["type"] == "resumed":
                    cursor = frame["cursor"]
                else:
                    self.fail(f"unexpected {frame}")
                if len(seen) == per_sender * len(senders):
                    break
            await socket.close()
        await writing
        self.assertEqual(len(seen), per_sender * len(senders))
        self.assertEqual(len({frame["id"] for frame in seen}), len(seen))
        for sender in senders:
            mine = [int(frame["content"]) for frame in seen if frame["from"] == sender.id]
            self.assertEqual(mine, list(range(per_sender)))

    async def _write(self, url: str, sender: Person, to: int, count: int) -> None:
        socket = await connect(url, sender.token)
        for n in range(count):
            socket.send({"type": "private", "to": to, "content": str(n), "id": str(n)})
            if n % 10 == 9:
                await socket.next_of("ack")
        while len([f for f in socket.pending() if f["type"] == "ack"]) < count % 10:
            await socket.next_of("ack")
        await socket.close()
