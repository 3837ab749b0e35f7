"""Presence across real server processes on one PostgreSQL database and a private Redis: a
user's sockets on every process count together, and a process killed with SIGKILL takes its
users offline on the others (here within a few seconds: short refresh and expiry options; the
defaults give at most 40 s)."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from twisted.trial.unittest import TestCase

from trial_tests.support import wsclient
from trial_tests.support.harness import Client, fresh_postgres_url
from trial_tests.support.processes import ServerProcess, start_process
from trial_tests.support.redis_server import start_redis

FAST_PRESENCE = ("--presence-grace", "0.3", "--presence-refresh", "0.5", "--presence-expiry", "2")
_MARKERS = itertools.count()


@dataclasses.dataclass
class Member:
    client: Client
    id: int


class ClusterPresenceTests(TestCase):
    timeout = 120

    async def start_cluster(self, count: int) -> list[ServerProcess]:
        redis = await start_redis(self)
        database = fresh_postgres_url()
        args = ("--redis", redis.url, *FAST_PRESENCE)
        return [await start_process(self, database, *args) for _ in range(count)]

    async def user(self, process: ServerProcess, name: str, *follows: Member) -> Member:
        """A new user, who follows `follows` (public profiles: at once)."""
        client = process.client()
        member = Member(client, (await client.register(name))["id"])
        for followee in follows:
            self.assertEqual((await client.post(f"/api/users/{followee.id}/follow")).status, 201)
        return member

    async def live(self, process: ServerProcess, member: Member) -> wsclient.WsClient:
        """A socket that keeps presence frames, once the process has registered it."""
        token = member.client.session_token()
        ws = await wsclient.connect(process.url, token, path="/ws?since=now", presence=True)
        self.addCleanup(ws.close)
        await ws.next_of("resumed")  # an announcement still on its way may come first
        return ws

    async def presence(self, ws: wsclient.WsClient, timeout: float = 10.0) -> tuple[Any, Any]:
        frame = await ws.next(timeout)
        self.assertEqual(frame["type"], "presence", frame)
        return frame["user"], frame["status"]

    async def barrier(self, process: ServerProcess, *watchers: Any) -> None:
        """No frame came to these (member, socket) pairs until now: someone they all follow
        comes online, and that is the next frame on each."""
        marker = await self.user(process, f"marker{next(_MARKERS)}")
        for member, _ in watchers:
            response = await member.client.on(process.url).post(f"/api/users/{marker.id}/follow")
            self.assertEqual(response.status, 201)
        await self.live(process, marker)
        for _, ws in watchers:
            self.assertEqual(await self.presence(ws), (marker.id, "online"))

    async def test_presence_crosses_processes(self) -> None:
        """alice comes and goes on one process; bob, watching on the other, is told once each;
        a socket on each process makes one online user."""
        one, two = await self.start_cluster(2)
        alice = await self.user(one, "alice")
        bob = await self.user(two, "bob", alice)
        bob_ws = await self.live(two, bob)
        alice_one = await self.live(one, alice)
        self.assertEqual(await self.presence(bob_ws), (alice.id, "online"))
        alice_two = await self.live(two, alice)
        await alice_one.close()
        await self.barrier(one, (bob, bob_ws))
        await alice_two.close()
        self.assertEqual(await self.presence(bob_ws), (alice.id, "offline"))
        answer = await bob.client.get(f"/api/presence?users={alice.id}")
        self.assertEqual(answer.json, {str(alice.id): "offline"})

    async def test_a_killed_process_takes_its_users_offline_on_the_others(self) -> None:
        """Process three dies with SIGKILL: alice, connected there only, goes offline for bob
        and dave on the two others, once each; carol, connected on one too, stays online."""
        one, two, three = await self.start_cluster(3)
        alice, carol = await self.user(three, "alice"), await self.user(three, "carol")
        bob = await self.user(one, "bob", alice, carol)
        dave = await self.user(two, "dave", alice, carol)
        watchers = [(bob, await self.live(one, bob)), (dave, await self.live(two, dave))]
        await self.live(three, alice)
        await self.live(one, carol)
        await self.live(three, carol)
        for _, ws in watchers:  # announced by two processes: in either order
            arrived = {await self.presence(ws), await self.presence(ws)}
            self.assertEqual(arrived, {(alice.id, "online"), (carol.id, "online")})
        await three.signal("KILL")
        for _, ws in watchers:
            self.assertEqual(await self.presence(ws, timeout=60), (alice.id, "offline"))
        await self.barrier(two, *watchers)
        answer = await bob.client.get(f"/api/presence?users={alice.id},{carol.id}")
        self.assertEqual(answer.json, {str(alice.id): "offline", str(carol.id): "online"})
