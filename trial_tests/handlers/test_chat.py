"""Sections 5 and 7 end to end, on both engines: private messages, broadcasts, acks, client ids,
the frame rate limit, sockets closed by logout and password change, and message history.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg2
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from socialhub.storage.database import Transaction
from trial_tests.support.chat import (
    LIVE_PRIVATE_FIELDS,
    PRIVATE_FIELDS,
    ChatTestMixin,
    Person,
    history_of,
    login,
    stored_part,
    transactions_of,
)
from trial_tests.support.database import (
    RETRIES,
    RETRY_DELAY,
    cut_off,
    database_of_its_own,
    set_allowed,
)
from trial_tests.support.harness import PostgresEngine, SqliteEngine, database_url, start_server
from trial_tests.support.wsclient import WsClient, WsRefused, connect

BROADCAST_FIELDS = {"type", "from", "content", "timestamp"}


async def stored_messages(running: Any) -> int:
    """How many rows the messages table holds, whoever they belong to."""

    async def count(txn: Transaction) -> int:
        row = await txn.fetchone("SELECT COUNT(*) FROM messages")
        assert row is not None
        return int(row[0])

    result: int = await running.server.database.interaction("test", count)
    return result


class PrivateTests(ChatTestMixin):
    """Private messages: stored, then delivered; acked after commit; sent once per client id."""

    async def barrier(self, sender: WsClient, to: Person, socket: WsClient, content: str) -> None:
        """`sender` messages `to`; that message must be the next frame `socket` receives.

        What the server delivered to `socket` before it has arrived by then, so this proves that
        an earlier frame was not delivered there.
        """
        sender.send({"type": "private", "to": to.id, "content": content})
        frame = await socket.next()
        self.assertEqual(frame["content"], content, f"{frame} arrived before the barrier")

    def assert_delivered(
        self, frame: dict[str, Any], ack: dict[str, Any], sender: Person, to: Person, content: str
    ) -> None:
        """`frame` is the stored private message the ack names."""
        self.assertEqual(set(frame), LIVE_PRIVATE_FIELDS, frame)
        expected = {
            "type": "private",
            "id": ack["message_id"],
            "from": sender.id,
            "to": to.id,
            "content": content,
            "timestamp": ack["timestamp"],
        }
        self.assertEqual(stored_part(frame), expected)

    async def test_delivered_to_every_connection(self) -> None:
        """Every connection of the recipient and the sender's other ones get it; not the sending
        one, nor anyone else."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        alice_phone = await login(self.running.url, alice)
        a1, a2, a3 = (await self.open(alice), await self.open(alice), await self.open(alice_phone))
        b1, b2 = await self.open(bob), await self.open(bob)
        c1 = await self.open(carol)
        ack = await self.send_private(a1, bob.id, "hello bob", "m1")
        self.assertIsInstance(ack["message_id"], int)
        for socket in (a2, a3, b1, b2):
            self.assert_delivered(await socket.next(), ack, alice, bob, "hello bob")
        await self.barrier(b1, alice, a1, "barrier for alice")
        await self.barrier(b1, carol, c1, "barrier for carol")

    async def test_not_echoed_by_a_catch_up(self) -> None:
        """A catch-up from the database (after a bus outage or a gap) never sends the sending
        connection its own message: it had it, as its ack."""
        alice, bob = await self.start("alice", "bob")
        a1, b1 = await self.open(alice), await self.open(bob)
        await self.send_private(a1, bob.id, "mine", "m1")
        self.assertEqual((await b1.next())["content"], "mine")
        await self.running.server.delivery.fanout.catch_up()
        await self.barrier(b1, alice, a1, "barrier")

    async def test_without_client_id(self) -> None:
        """A message without `id` is stored and delivered, and no ack is sent for it."""
        alice, bob = await self.start("alice", "bob")
        a1, b1 = await self.open(alice), await self.open(bob)
        a1.send({"type": "private", "to": bob.id, "content": "no id"})
        ack = await self.send_private(a1, bob.id, "with id", "m2")
        self.assertEqual((await b1.next())["content"], "no id")
        self.assertEqual((await b1.next())["id"], ack["message_id"])
        page = await self.history(bob, alice.id)
        self.assertEqual([message["content"] for message in page], ["with id", "no id"])

    async def test_ack_after_commit(self) -> None:
        """When the ack (or a delivery) arrives, the message is already in history."""
        alice, bob = await self.start("alice", "bob")
        a1, b1 = await self.open(alice), await self.open(bob)
        for n in range(5):
            ack = await self.send_private(a1, bob.id, f"commit {n}", f"c{n}")
            (newest, *_) = await self.history(alice, bob.id, "&limit=1")
            self.assertEqual(newest["id"], ack["message_id"])
            self.assertEqual(newest["timestamp"], ack["timestamp"])
            delivered = await b1.next()
            self.assertEqual(stored_part(delivered), newest)
        b1.send({"type": "private", "to": alice.id, "content": "reply"})
        delivered = await a1.next()
        (newest, *_) = await self.history(alice, bob.id, "&limit=1")
        self.assertEqual(stored_part(delivered), newest)

    async def test_resend_on_another_connection(self) -> None:
        """The same client id again, from another connection, gets the original ack; the
        message is neither stored nor delivered twice."""
        alice, bob = await self.start("alice", "bob")
        alice_phone = await login(self.running.url, alice)
        a1, a2 = await self.open(alice), await self.open(alice_phone)
        b1 = await self.open(bob)
        first = await self.send_private(a1, bob.id, "first", "dup")
        self.assertEqual((await a2.next())["id"], first["message_id"])
        self.assertEqual((await b1.next())["id"], first["message_id"])
        for socket in (a1, a2):
            again = await self.send_private(socket, bob.id, "second", "dup")
            self.assertEqual(again, first)
        await self.barrier(a1, bob, b1, "after the resends")
        self.assertEqual((await a2.next())["content"], "after the resends")
        await self.barrier(b1, alice, a1, "to alice")
        page = await self.history(alice, bob.id)
        self.assertEqual([m["content"] for m in page], ["to alice", "after the resends", "first"])

    async def test_resend_at_once(self) -> None:
        """Two connections sending the same client id at the same moment store it once."""
        alice, bob = await self.start("alice", "bob")
        sockets = [await self.open(alice) for _ in range(4)]
        b1 = await self.open(bob)
        for socket in sockets:
            socket.send({"type": "private", "to": bob.id, "content": "race", "id": "race"})
        acks = [await socket.next_of("ack") for socket in sockets]
        self.assertEqual(len({ack["message_id"] for ack in acks}), 1, acks)
        self.assertEqual((await b1.next())["id"], acks[0]["message_id"])
        await self.barrier(sockets[0], bob, b1, "after the race")
        page = await self.history(bob, alice.id)
        self.assertEqual([m["content"] for m in page], ["after the race", "race"])

    async def test_resend_after_restart(self) -> None:
        """A client id is remembered across a restart: the original ack, nothing new stored or
        delivered."""
        database = database_url(self, self.engine)
        alice, bob = await self.start("alice", "bob", database=database)
        first = await self.send_private(await self.open(alice), bob.id, "before", "kept")
        await self.running.stop()
        self.running = await start_server(self, self.engine, database=database)
        alice.move_to(self.running.url)
        a1, b1 = await self.open(alice), await self.open(bob)
        again = await self.send_private(a1, bob.id, "after", "kept")
        self.assertEqual(again, first)
        await self.barrier(a1, bob, b1, "new message")
        page = await self.history(alice, bob.id)
        self.assertEqual([m["content"] for m in page], ["new message", "before"])

    async def test_client_id_forgotten_after_a_day(self) -> None:
        """A client id last used more than 24 hours ago names a new message."""
        alice, bob = await self.start("alice", "bob")
        a1, b1 = await self.open(alice), await self.open(bob)
        first = await self.send_private(a1, bob.id, "yesterday", "daily")
        self.assertEqual((await b1.next())["content"], "yesterday")

        async def age(txn: Transaction) -> None:
            await txn.run("UPDATE messages SET created_at = created_at - 86401")

        await self.running.server.database.interaction("test", age)
        second = await self.send_private(a1, bob.id, "today", "daily")
        self.assertNotEqual(second["message_id"], first["message_id"])
        self.assertEqual((await b1.next())["id"], second["message_id"])
        self.assertEqual(await self.send_private(a1, bob.id, "again", "daily"), second)
        page = await self.history(alice, bob.id)
        self.assertEqual([m["content"] for m in page], ["today", "yesterday"])

    async def test_client_ids_per_user(self) -> None:
        """Two users may use the same client id: each gets their own message stored."""
        alice, bob = await self.start("alice", "bob")
        a1, b1 = await self.open(alice), await self.open(bob)
        from_alice = await self.send_private(a1, bob.id, "from alice", "same")
        self.assertEqual((await b1.next())["content"], "from alice")
        from_bob = await self.send_private(b1, alice.id, "from bob", "same")
        self.assertEqual((await a1.next())["content"], "from bob")
        self.assertNotEqual(from_alice["message_id"], from_bob["message_id"])
        page = await self.history(alice, bob.id)
        self.assertEqual([m["content"] for m in page], ["from bob", "from alice"])

    async def test_refused_frame_keeps_client_id(self) -> None:
        """A refused frame does not use up its client id: the corrected frame is stored."""
        alice, bob = await self.start("alice", "bob")
        a1, b1 = await self.open(alice), await self.open(bob)
        a1.send({"type": "private", "to": bob.id + 100, "content": "lost", "id": "retry"})
        await self.error_of(a1, "not_found", "retry")
        a1.send({"type": "private", "to": bob.id, "content": "", "id": "retry"})
        await self.error_of(a1, "invalid_frame", "retry")
        ack = await self.send_private(a1, bob.id, "found", "retry")
        self.assertEqual((await b1.next())["id"], ack["message_id"])
        self.assertEqual([m["content"] for m in await self.history(alice, bob.id)], ["found"])


class PrivateSqliteTests(SqliteEngine, PrivateTests, TestCase):
    pass


class PrivatePostgresTests(PostgresEngine, PrivateTests, TestCase):
    pass


class OutageTests(PostgresEngine, ChatTestMixin, TestCase):
    """While PostgreSQL refuses connections, /ws says so and stores nothing; then recovers."""

    async def test_unavailable(self) -> None:
        """A frame sent during an outage gets `unavailable` (with its client id), is neither
        stored nor delivered, and the socket stays open; an upgrade is refused with 503. Once
        the database is back, the same client id is stored and delivered once."""
        url, name = database_of_its_own(self)
        alice, bob = await self.start("alice", "bob", database=url)
        a1, b1 = await self.open(alice), await self.open(bob)
        await self.send_private(a1, bob.id, "before", "before")
        self.assertEqual((await b1.next())["content"], "before")
        cut_off(name)
        a1.send({"type": "private", "to": bob.id, "content": "lost", "id": "outage"})
        await self.error_of(a1, "unavailable", "outage")
        upgrade = Deferred.fromCoroutine(connect(self.running.url, bob.token))
        refusal: Any = await self.assertFailure(upgrade, WsRefused)
        self.assertEqual(refusal.status, 503)
        set_allowed(name, True)
        for _ in range(RETRIES):
            a1.send({"type": "private", "to": bob.id, "content": "back", "id": "outage"})
            answer = await a1.next()
            if answer["type"] == "ack":
                break
            self.assertEqual((answer["code"], answer["id"]), ("unavailable", "outage"))
            await deferLater(reactor, RETRY_DELAY, lambda: None)
        else:
            self.fail("frames were never stored again")
        self.assertEqual(answer["id"], "outage")
        delivered = await b1.next()
        self.assertEqual((delivered["id"], delivered["content"]), (answer["message_id"], "back"))
        for _ in range(RETRIES):  # the pool's other connections may still be reconnecting
            response = await history_of(alice, bob.id)
            if response.status == 200:
                break
            self.assertEqual(response.status, 503, response.raw)
            await deferLater(reactor, RETRY_DELAY, lambda: None)
        self.assertEqual([m["content"] for m in response.json], ["back", "before"])
        self.assertFalse(a1.closed.called or b1.closed.called)
        self.flushLoggedErrors(psycopg2.OperationalError, psycopg2.InterfaceError)


class BroadcastTests(ChatTestMixin):
    """Broadcasts: administrators only, to every other open connection, acked, never stored."""

    async def test_not_admin(self) -> None:
        """A non-administrator's broadcast gets forbidden and reaches nobody."""
        alice, bob = await self.start("alice", "bob", admins=frozenset({"root"}))
        a1, a2, b1 = await self.open(alice), await self.open(alice), await self.open(bob)
        a1.send({"type": "broadcast", "content": "hear me", "id": "b"})
        await self.error_of(a1, "forbidden", "b")
        a1.send({"type": "broadcast", "content": "no id"})
        await self.error_of(a1, "forbidden")
        ack = await self.send_private(a1, bob.id, "after", "p")
        for socket in (a2, b1):
            self.assertEqual((await socket.next())["id"], ack["message_id"])

    async def test_admin(self) -> None:
        """An administrator's broadcast reaches every other connection (their own other ones
        too) with from/content/timestamp, is acked with message_id null, and is not stored."""
        root, alice, bob = await self.start("root", "alice", "bob", admins=frozenset({"root"}))
        r1, r2 = await self.open(root), await self.open(root)
        a1, b1, b2 = await self.open(alice), await self.open(bob), await self.open(bob)
        before = int(time.time())
        r1.send({"type": "broadcast", "content": "maintenance at noon", "id": "bc", "timestamp": 9})
        ack = await self.ack_of(r1, "bc")
        self.assertIsNone(ack["message_id"])
        self.assertTrue(before <= ack["timestamp"] <= time.time(), ack)
        expected = {
            "type": "broadcast",
            "from": root.id,
            "content": "maintenance at noon",
            "timestamp": ack["timestamp"],
        }
        for socket in (r2, a1, b1, b2):
            frame = await socket.next()
            self.assertEqual(set(frame), BROADCAST_FIELDS, frame)
            self.assertEqual(frame, expected)
        a1.send({"type": "private", "to": root.id, "content": "barrier"})
        self.assertEqual((await r1.next())["content"], "barrier")
        self.assertEqual(await stored_messages(self.running), 1)
        self.assertEqual(await self.history(root, bob.id), [])

    async def test_admin_not_deduplicated(self) -> None:
        """A broadcast resent with the same client id is acked and delivered again."""
        root, alice = await self.start("root", "alice", admins=frozenset({"root"}))
        r1, a1 = await self.open(root), await self.open(alice)
        for content in ("once", "twice"):
            r1.send({"type": "broadcast", "content": content, "id": "same"})
            await self.ack_of(r1, "same")
            self.assertEqual((await a1.next())["content"], content)

    async def test_admin_bad_content(self) -> None:
        """An administrator's broadcast with empty content gets invalid_frame and reaches nobody."""
        root, alice = await self.start("root", "alice", admins=frozenset({"root"}))
        r1, a1 = await self.open(root), await self.open(alice)
        r1.send({"type": "broadcast", "content": "  ", "id": "empty"})
        await self.error_of(r1, "invalid_frame", "empty")
        r1.send({"type": "broadcast", "content": "real"})
        self.assertEqual((await a1.next())["content"], "real")


class BroadcastSqliteTests(SqliteEngine, BroadcastTests, TestCase):
    pass


class BroadcastPostgresTests(PostgresEngine, BroadcastTests, TestCase):
    pass


class RateLimitTests(ChatTestMixin):
    """--rate-limit N: N frames per second per user, bursts of 2.5 N; every frame counts."""

    async def answers(self, socket: WsClient, count: int) -> list[dict[str, Any]]:
        """The next `count` frames on `socket` (acks and errors)."""
        return [await socket.next() for _ in range(count)]

    async def test_burst_then_limited(self) -> None:
        """Ten frames at once with a limit of 2/s (burst 5): some acked, the rest rate_limited;
        only the acked ones are stored and delivered."""
        alice, bob = await self.start("alice", "bob", rate_limit=2)
        a1, b1 = await self.open(alice), await self.open(bob)
        for n in range(10):
            a1.send({"type": "private", "to": bob.id, "content": f"m{n}", "id": f"m{n}"})
        answers = await self.answers(a1, 10)
        acked = [frame for frame in answers if frame["type"] == "ack"]
        limited = [frame for frame in answers if frame["type"] == "error"]
        # The burst (the first five) is taken at once; refusals are answered as frames arrive,
        # before the accepted ones are stored, and at least one of the last five is refused.
        self.assertLessEqual({f"m{n}" for n in range(5)}, {frame["id"] for frame in acked})
        self.assertTrue(limited, answers)
        self.assertEqual(len(acked) + len(limited), 10)
        self.assertEqual({frame["code"] for frame in limited}, {"rate_limited"})
        self.assertEqual(
            sorted(frame["id"] for frame in answers), sorted(f"m{n}" for n in range(10))
        )
        delivered = [(await b1.next())["id"] for _ in acked]
        self.assertEqual(delivered, [frame["message_id"] for frame in acked])
        page = await self.history(bob, alice.id)
        self.assertEqual(sorted(m["id"] for m in page), sorted(delivered))

    async def test_invalid_frames_count(self) -> None:
        """Invalid frames use up the budget too: after five, a valid frame is rate_limited."""
        alice, bob = await self.start("alice", "bob", rate_limit=2)
        a1 = await self.open(alice)
        for _ in range(5):
            a1.send_raw(b"not json")
        a1.send({"type": "private", "to": bob.id, "content": "late", "id": "late"})
        answers = [await a1.next() for _ in range(6)]  # a refusal is answered on arrival
        codes = sorted(frame["code"] for frame in answers)
        self.assertEqual(codes, ["invalid_json"] * 5 + ["rate_limited"])
        self.assertEqual([f.get("id") for f in answers if f["code"] == "rate_limited"], ["late"])
        self.assertEqual(await self.history(alice, bob.id), [])

    async def test_per_user(self) -> None:
        """The budget is the user's, shared by their connections; other users keep their own."""
        alice, bob = await self.start("alice", "bob", rate_limit=2)
        a1, a2, b1 = await self.open(alice), await self.open(alice), await self.open(bob)
        for n in range(5):
            a1.send({"type": "private", "to": bob.id, "content": f"m{n}", "id": f"m{n}"})
        for n in range(5):
            await self.ack_of(a1, f"m{n}")
        # At once: the burst refills a token in half a second, which reading a2 could outlast.
        a2.send({"type": "private", "to": bob.id, "content": "more", "id": "more"})
        frames = [await a2.next() for _ in range(6)]  # alice's five messages and the refusal
        refused = [(f["code"], f["id"]) for f in frames if f["type"] == "error"]
        self.assertEqual(refused, [("rate_limited", "more")], frames)
        contents = [f["content"] for f in frames if f["type"] == "private"]
        self.assertEqual(contents, [f"m{n}" for n in range(5)], frames)
        b1.send({"type": "private", "to": alice.id, "content": "bob is fine", "id": "b"})
        self.assertEqual((await b1.next_of("ack"))["id"], "b")

    async def test_per_address(self) -> None:
        """--address-rate-limit 1: one address may spend one user's worth, whoever sends; every
        frame type counts against it."""
        alice, bob = await self.start("alice", "bob", rate_limit=2, address_rate_limit=1)
        a1, b1 = await self.open(alice), await self.open(bob)
        for n in range(4):
            a1.send({"type": "private", "to": bob.id, "content": f"m{n}", "id": f"m{n}"})
        a1.send({"type": "typing", "to": bob.id, "id": "t"})
        acked = [(await a1.next_of("ack"))["id"] for _ in range(5)]
        self.assertEqual(sorted(acked), ["m0", "m1", "m2", "m3", "t"])
        b1.send({"type": "private", "to": alice.id, "content": "same address", "id": "b"})
        refused = await b1.next_of("error")  # after alice's messages and typing
        self.assertEqual((refused["code"], refused["id"]), ("rate_limited", "b"))

    async def test_off(self) -> None:
        """--rate-limit 0 turns the limit off: sixty frames at once are all acked."""
        alice, bob = await self.start("alice", "bob", rate_limit=0)
        a1 = await self.open(alice)
        for n in range(60):
            a1.send({"type": "private", "to": bob.id, "content": f"m{n}", "id": f"m{n}"})
        for n in range(60):
            await self.ack_of(a1, f"m{n}")
        self.assertEqual(len(await self.history(alice, bob.id, "&limit=100")), 60)


class RateLimitSqliteTests(SqliteEngine, RateLimitTests, TestCase):
    pass


class RateLimitPostgresTests(PostgresEngine, RateLimitTests, TestCase):
    pass


class RevocationTests(ChatTestMixin):
    """Revoked sessions lose their sockets (4001); other sessions keep theirs."""

    async def still_open(self, socket: WsClient, to: Person, client_id: str) -> None:
        """The socket still works: a frame sent on it is acked."""
        socket.send({"type": "private", "to": to.id, "content": "still here", "id": client_id})
        self.assertEqual((await socket.next_of("ack"))["id"], client_id)
        self.assertFalse(socket.closed.called)

    async def test_logout(self) -> None:
        """Logout closes that session's sockets with 4001, not the user's other session's."""
        alice, bob = await self.start("alice", "bob")
        alice_phone = await login(self.running.url, alice)
        a1, a2 = await self.open(alice), await self.open(alice)
        phone, b1 = await self.open(alice_phone), await self.open(bob)
        self.assertEqual((await alice.client.post("/api/auth/logout")).status, 204)
        self.assertEqual(await a1.closed, 4001)
        self.assertEqual(await a2.closed, 4001)
        await self.still_open(phone, bob, "phone")
        await self.still_open(b1, alice, "bob")
        self.assertEqual((await phone.next())["content"], "still here")

    async def test_password_change(self) -> None:
        """A password change closes the user's other sessions' sockets with 4001, not the
        current session's."""
        alice, bob = await self.start("alice", "bob")
        alice_phone = await login(self.running.url, alice)
        a1 = await self.open(alice)
        p1, p2 = await self.open(alice_phone), await self.open(alice_phone)
        body = {"old_password": "correct horse", "new_password": "battery staple"}
        self.assertEqual((await alice.client.post("/api/auth/password", body)).status, 204)
        self.assertEqual(await p1.closed, 4001)
        self.assertEqual(await p2.closed, 4001)
        await self.still_open(a1, bob, "a1")
        self.assertEqual((await alice_phone.client.get("/api/auth/me")).status, 401)


class RevocationSqliteTests(SqliteEngine, RevocationTests, TestCase):
    pass


class RevocationPostgresTests(PostgresEngine, RevocationTests, TestCase):
    pass


class HistoryTests(ChatTestMixin):
    """GET /api/messages/private?user=: one conversation, newest first, paged three ways."""

    alice: Person
    bob: Person
    carol: Person
    ids: list[int]

    async def conversation(self, count: int) -> list[int]:
        """alice and bob exchange `count` messages (alternating), and alice and carol one;
        returns the alice-bob message ids, newest first (message m{n} has id ids[-1 - n])."""
        self.alice, self.bob, self.carol = await self.start("alice", "bob", "carol", rate_limit=0)
        a1, b1 = await self.open(self.alice), await self.open(self.bob)
        ids = []
        for n in range(count):
            socket, to = (a1, self.bob) if n % 2 == 0 else (b1, self.alice)
            socket.send({"type": "private", "to": to.id, "content": f"m{n}", "id": f"m{n}"})
            ids.append((await socket.next_of("ack"))["message_id"])
        a1.send({"type": "private", "to": self.carol.id, "content": "to carol", "id": "carol"})
        await a1.next_of("ack")
        self.assertEqual(ids, sorted(ids))
        self.ids = ids[::-1]
        return self.ids

    async def page(self, query: str, person: Person | None = None) -> list[int]:
        """The ids of one history page of the alice-bob conversation."""
        viewer = person or self.alice
        other = self.bob if viewer is self.alice else self.alice
        return [message["id"] for message in await self.history(viewer, other.id, query)]

    async def test_newest_first_default_limit(self) -> None:
        """Newest first, 50 by default, both directions, other conversations excluded; both
        sides see the same conversation."""
        ids = await self.conversation(60)
        page = await self.history(self.alice, self.bob.id)
        self.assertEqual([message["id"] for message in page], ids[:50])
        self.assertEqual({message["from"] for message in page}, {self.alice.id, self.bob.id})
        self.assertNotIn("to carol", [message["content"] for message in page])
        self.assertEqual(await self.page("", self.bob), ids[:50])
        newest = page[0]
        self.assertEqual(set(newest), PRIVATE_FIELDS)
        self.assertEqual(newest["content"], "m59")
        self.assertEqual((newest["from"], newest["to"]), (self.bob.id, self.alice.id))
        carol = await self.history(self.alice, self.carol.id)
        self.assertEqual([message["content"] for message in carol], ["to carol"])

    async def test_limit_and_offset(self) -> None:
        """limit and offset page through the conversation; limit is clamped to 100."""
        ids = await self.conversation(105)
        self.assertEqual(await self.page("&limit=10"), ids[:10])
        self.assertEqual(await self.page("&limit=10&offset=95"), ids[95:])
        self.assertEqual(await self.page("&offset=100"), ids[100:])
        self.assertEqual(await self.page("&limit=0"), [])
        self.assertEqual(await self.page("&limit=1000"), ids[:100])
        self.assertEqual(await self.page("&offset=1000"), [])

    async def test_before(self) -> None:
        """before=<id> returns only older messages (smaller ids), with limit and offset."""
        ids = await self.conversation(30)
        self.assertEqual(await self.page(f"&before={ids[9]}"), ids[10:])
        self.assertEqual(await self.page(f"&before={ids[9]}&limit=5"), ids[10:15])
        self.assertEqual(await self.page(f"&before={ids[9]}&limit=5&offset=5"), ids[15:20])
        self.assertEqual(await self.page(f"&before={ids[-1]}"), [])
        self.assertEqual(await self.page(f"&before={ids[0] + 1000}"), ids)
        walked: list[int] = []
        query = "&limit=7"
        while page := await self.page(query):
            walked.extend(page)
            query = f"&limit=7&before={page[-1]}"
        self.assertEqual(walked, ids)

    async def test_a_page_is_four_single_reads(self) -> None:
        """A page costs four single reads and no transaction: the session, the user check, the
        page, its messages' reactions; for a user that does not exist, the checks (the user,
        then whether the viewer exchanged messages with a deleted one) are the last."""
        ids = await self.conversation(3)
        pages = [
            "read lookup_session",
            "read get_user",
            "read message_history",
            "read message_reactions",
        ]
        self.assertEqual(
            await transactions_of(self.running, history_of(self.alice, self.bob.id)), pages
        )
        missing = history_of(self.alice, self.carol.id + 1000)
        checks = [*pages[:2], "read conversation_exists"]
        self.assertEqual(await transactions_of(self.running, missing), checks)
        self.assertEqual(await self.page(""), ids)

    async def test_bad_query(self) -> None:
        """user missing or not an integer id, and bad limit/offset/before, are 400."""
        alice, bob = await self.start("alice", "bob")
        for query in ("", "?user=abc", "?user=1.5", "?user=0", "?user=-1", "?user="):
            response = await alice.client.get("/api/messages/private" + query)
            self.assertEqual(response.status, 400, query)
            self.assertEqual(response.json["error"], "invalid_request")
        for extra in ("&limit=x", "&limit=-1", "&offset=-1", "&offset=x", "&before=abc"):
            response = await history_of(alice, bob.id, extra)
            self.assertEqual(response.status, 400, extra)
            self.assertEqual(response.json["error"], "invalid_request")

    async def test_unknown_user(self) -> None:
        """A user that does not exist is 404, also when a paging parameter is bad too."""
        alice, bob = await self.start("alice", "bob")
        for extra in ("", "&limit=x", "&offset=-1", "&before=abc"):
            response = await history_of(alice, bob.id + 1000, extra)
            self.assertEqual(response.status, 404, extra)  # an unknown resource before a bad field
            self.assertEqual(response.json["error"], "not_found")

    async def test_without_session(self) -> None:
        """Without a session the history is 401, whatever the query."""
        (bob,) = await self.start("bob")
        for query in (f"?user={bob.id}", "", "?user=abc"):
            response = await self.running.client().get("/api/messages/private" + query)
            self.assertEqual(response.status, 401, query)
            self.assertEqual(response.json["error"], "unauthorized")


class HistorySqliteTests(SqliteEngine, HistoryTests, TestCase):
    pass


class HistoryPostgresTests(PostgresEngine, HistoryTests, TestCase):
    pass
