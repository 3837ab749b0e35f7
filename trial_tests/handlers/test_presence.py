"""Presence end to end, over real WebSockets and HTTP: who is told when a user comes and goes,
the grace that keeps a reload from flickering, blocks, show_presence and GET /api/presence with
each of its refusals. On both engines with the in-process bus, on PostgreSQL with Redis, and
across two servers sharing Redis."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from trial_tests.support.follows import FollowTestMixin
from trial_tests.support.groups import Person
from trial_tests.support.harness import (
    PostgresEngine,
    RunningServer,
    SqliteEngine,
    start_server,
)
from trial_tests.support.redis_server import start_redis
from trial_tests.support.wsclient import WsClient, connect

GRACE = 0.3  # the servers' grace here: short for a test
# The reload tests' grace: a socket closed and another opened must fit in it on a loaded machine.
RELOAD_GRACE = 2.0
# Past a grace by this much, a leave it ended has been announced.
MARGIN = 0.6
_MARKERS = itertools.count()


class PresenceTests(FollowTestMixin):
    grace: float

    async def start(self, *names: str, **overrides: Any) -> list[Person]:
        self.grace = overrides.setdefault("presence_grace", GRACE)
        return await super().start(*names, **overrides)

    async def live(self, person: Person, url: str | None = None) -> WsClient:
        """A socket of `person` that keeps presence frames, registered (`resumed`)."""
        socket = await connect(
            url or self.running.url,
            person.client.session_token(),
            path="/ws?since=now",
            presence=True,
        )
        self.addCleanup(socket.close)
        await socket.next_of("resumed")  # an announcement still on its way may come first
        return socket

    async def next_presence(self, socket: WsClient) -> tuple[int, str]:
        frame = await socket.next()
        self.assertEqual(set(frame), {"type", "user", "status"}, frame)
        self.assertEqual(frame["type"], "presence", frame)
        return frame["user"], frame["status"]

    async def presence_barrier(self, *watchers: tuple[Person, WsClient]) -> None:
        """Prove that each watcher's socket got no frame until now: someone new whom every
        watcher follows comes online, and that must be the next frame on each socket."""
        marker = await self.register_person(f"marker{next(_MARKERS)}")
        for watcher, _ in watchers:
            await self.follows(watcher, marker)
        await self.live(marker)
        for _, socket in watchers:
            self.assertEqual(await self.next_presence(socket), (marker.id, "online"))

    async def register_person(self, name: str) -> Person:
        client = self.running.client()
        return Person(client, (await client.register(name))["id"], name)

    async def statuses(self, viewer: Person, query: str) -> Any:
        return self.expect(await viewer.client.get(f"/api/presence?users={query}"), 200)

    async def past_the_grace(self) -> None:
        await deferLater(reactor, self.grace + MARGIN, lambda: None)

    async def test_the_audience_sees_the_first_connection_and_the_last(self) -> None:
        """bob follows alice, alice follows carol: both see her come (once, for two sockets)
        and go (once the last closed, after the grace); dave, a stranger, sees nothing."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        await self.follows(bob, alice)
        await self.follows(alice, carol)
        watchers = [(person, await self.live(person)) for person in (bob, carol, dave)]
        first, second = await self.live(alice), await self.live(alice)
        for _, socket in watchers[:2]:
            self.assertEqual(await self.next_presence(socket), (alice.id, "online"))
        await first.close()
        await self.past_the_grace()
        await self.presence_barrier(*watchers)
        await second.close()
        for _, socket in watchers[:2]:
            self.assertEqual(await self.next_presence(socket), (alice.id, "offline"))
        await self.presence_barrier(*watchers)

    async def test_a_pending_request_is_no_audience(self) -> None:
        alice, bob = await self.start("alice", "bob")
        await self.make_private(alice)
        await self.asks(bob, alice)
        bob_socket = await self.live(bob)
        await self.live(alice)
        self.assertEqual(await self.statuses(bob, str(alice.id)), {str(alice.id): "offline"})
        await self.presence_barrier((bob, bob_socket))

    async def test_a_reload_within_the_grace_does_not_flicker(self) -> None:
        alice, bob = await self.start("alice", "bob", presence_grace=RELOAD_GRACE)
        await self.follows(bob, alice)
        bob_socket = await self.live(bob)
        await (await self.live(alice)).close()
        await self.live(alice)
        self.assertEqual(await self.next_presence(bob_socket), (alice.id, "online"))
        await self.past_the_grace()
        await self.presence_barrier((bob, bob_socket))
        self.assertEqual(await self.statuses(bob, str(alice.id)), {str(alice.id): "online"})

    async def test_a_block_hides_presence_both_ways(self) -> None:
        """A block removes the follows between the two, and with them the audience: neither
        is told of the other nor sees the other online."""
        alice, bob = await self.start("alice", "bob")
        await self.follows(bob, alice)
        await self.follows(alice, bob)
        self.expect(await alice.client.post(f"/api/users/{bob.id}/block"), 204)
        alice_socket, bob_socket = await self.live(alice), await self.live(bob)
        self.assertEqual(await self.statuses(bob, str(alice.id)), {str(alice.id): "offline"})
        self.assertEqual(await self.statuses(alice, str(bob.id)), {str(bob.id): "offline"})
        await self.presence_barrier((alice, alice_socket), (bob, bob_socket))

    async def test_conversation_partners_are_in_the_audience(self) -> None:
        """alice wrote to bob, whose profile is public: no follow, but a conversation."""
        alice, bob = await self.start("alice", "bob")
        alice_socket = await self.live(alice)
        alice_socket.send({"type": "private", "to": bob.id, "content": "hi", "id": "c1"})
        self.assertEqual((await alice_socket.next_of("ack"))["id"], "c1")
        self.assertEqual(await self.statuses(bob, str(alice.id)), {str(alice.id): "online"})

    async def test_hiding_and_showing_presence(self) -> None:
        """Hiding while online is an offline frame (and GET says offline); repeating it is
        nothing; a hidden user's last close is nothing; showing while online is online."""
        alice, bob = await self.start("alice", "bob")
        await self.follows(bob, alice)
        bob_socket = await self.live(bob)
        alice_socket = await self.live(alice)
        self.assertEqual(await self.next_presence(bob_socket), (alice.id, "online"))
        hidden = self.expect(await self.patch_me(alice, {"show_presence": False}), 200)
        self.assertIs(hidden["show_presence"], False)
        self.assertEqual(await self.next_presence(bob_socket), (alice.id, "offline"))
        self.assertEqual(await self.statuses(bob, str(alice.id)), {str(alice.id): "offline"})
        self.expect(await self.patch_me(alice, {"show_presence": False}), 200)
        await self.presence_barrier((bob, bob_socket))
        self.assertNotIn("show_presence", await self.user_seen_by(bob, alice))
        self.assertIs((await self.user_seen_by(alice, alice))["show_presence"], False)
        self.expect(await self.patch_me(alice, {"show_presence": True}), 200)
        self.assertEqual(await self.next_presence(bob_socket), (alice.id, "online"))
        self.assertEqual(await self.statuses(bob, str(alice.id)), {str(alice.id): "online"})
        self.expect(await self.patch_me(alice, {"show_presence": False}), 200)
        self.assertEqual(await self.next_presence(bob_socket), (alice.id, "offline"))
        await alice_socket.close()
        await self.past_the_grace()
        await self.live(alice)  # comes back hidden
        await self.presence_barrier((bob, bob_socket))

    async def test_show_presence_must_be_a_boolean_and_refuses_the_whole_edit(self) -> None:
        (alice,) = await self.start("alice")
        for value in ("no", 0, None, [False]):
            body = {"display_name": "Changed", "show_presence": value}
            self.expect_error(await self.patch_me(alice, body), 400, "invalid_request")
        user = await self.user_seen_by(alice, alice)
        self.assertEqual((user["display_name"], user["show_presence"]), ("alice", True))

    async def test_get_presence_answers_for_every_listed_id(self) -> None:
        """Online only for a user online whose audience the viewer is in; offline for the
        others: offline, strangers, unknown ids; a repeated id once; oneself is no audience."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        await self.follows(alice, bob)
        await self.follows(carol, alice)
        for person in (bob, carol, dave):
            await self.live(person)
        await self.live(alice)
        unknown = dave.id + 100
        query = f"{bob.id},{carol.id},{dave.id},{alice.id},{unknown},{bob.id}"
        self.assertEqual(
            await self.statuses(alice, query),
            {
                str(bob.id): "online",
                str(carol.id): "online",
                str(dave.id): "offline",
                str(alice.id): "offline",
                str(unknown): "offline",
            },
        )

    async def test_get_presence_refusals(self) -> None:
        (alice,) = await self.start("alice")
        too_many = ",".join(str(n) for n in range(1, 102))
        hundred = ",".join(str(n) for n in range(1, 101))
        for query in ("", "?users=", "?users=1,", "?users=,1", "?users=abc", "?users=0",
                      "?users=-1", "?users=1.5", "?users=9223372036854775808",
                      f"?users={too_many}"):  # fmt: skip
            response = await alice.client.get("/api/presence" + query)
            self.expect_error(response, 400, "invalid_request")
        self.assertEqual(len(await self.statuses(alice, hundred)), 100)
        response = await self.running.client().get("/api/presence?users=1")
        self.expect_error(response, 401, "unauthorized")
        response = await alice.client.post("/api/presence?users=1")
        self.expect_error(response, 405, "method_not_allowed")


class PresenceSqliteTests(SqliteEngine, PresenceTests, TestCase):
    pass


class PresencePostgresTests(PostgresEngine, PresenceTests, TestCase):
    pass


class PresenceRedisTests(PostgresEngine, PresenceTests, TestCase):
    """The same, with the roster and the frames going through Redis."""

    async def start(self, *names: str, **overrides: Any) -> list[Person]:
        redis = await start_redis(self)
        return await super().start(*names, redis=redis.url, **overrides)


class PresenceAcrossServersTests(PostgresEngine, PresenceTests, TestCase):
    """Two servers in this process on one database and one Redis: a user's sockets on one
    count with those on the other."""

    async def start(self, *names: str, **overrides: Any) -> list[Person]:
        redis = self.redis = await start_redis(self)
        people = await super().start(*names, redis=redis.url, **overrides)
        self.first = self.running
        self.other = await start_server(
            self, self.engine, self.running.server.config.database,
            **{**overrides, "presence_grace": self.grace}, redis=redis.url,
        )  # fmt: skip
        return people

    async def test_the_audience_on_another_server_sees_the_first_connection_and_the_last(
        self,
    ) -> None:
        alice, bob = await self.start("alice", "bob")
        await self.follows(bob, alice)
        bob_socket = await self.live(bob, self.other.url)
        on_first, on_other = await self.live(alice), await self.live(alice, self.other.url)
        self.assertEqual(await self.next_presence(bob_socket), (alice.id, "online"))
        self.assertEqual(await self.statuses(bob, str(alice.id)), {str(alice.id): "online"})
        await on_first.close()
        await self.past_the_grace()
        await self.presence_barrier((bob, bob_socket))
        await on_other.close()
        self.assertEqual(await self.next_presence(bob_socket), (alice.id, "offline"))

    async def test_a_reload_onto_the_other_server_does_not_flicker(self) -> None:
        alice, bob = await self.start("alice", "bob", presence_grace=RELOAD_GRACE)
        await self.follows(bob, alice)
        bob_socket = await self.live(bob)
        await (await self.live(alice)).close()
        await self.live(alice, self.other.url)
        self.assertEqual(await self.next_presence(bob_socket), (alice.id, "online"))
        await self.past_the_grace()
        await self.presence_barrier((bob, bob_socket))

    async def test_after_a_redis_outage_the_roster_is_rebuilt(self) -> None:
        """alice connects while Redis is away (and restarts empty): once it is back, her
        server registers her again, and bob's server sees her online, well before the next
        refresh would have found the roster lost."""
        alice, bob = await self.start("alice", "bob", presence_refresh=25.0, presence_expiry=30.0)
        await self.follows(bob, alice)
        await self.redis.stop()
        await until(lambda: self.bus_is(self.first, "down"), "the bus noticing Redis is gone")
        await self.live(alice)
        await self.redis.start()

        async def online() -> bool:
            answer = await bob.client.on(self.other.url).get(f"/api/presence?users={alice.id}")
            return bool(answer.json == {str(alice.id): "online"})

        await until(online, "alice online again on the other server")

    async def bus_is(self, server: RunningServer, state: str) -> bool:
        health = await server.server.check_health()
        return bool(health["bus"] == state)


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `condition` every 0.1 s; fail after 10 s."""
    for _ in range(100):
        if await condition():
            return
        await deferLater(reactor, 0.1, lambda: None)
    raise AssertionError(f"{what}: not within 10 s")
