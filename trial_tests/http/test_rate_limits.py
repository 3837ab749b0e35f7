"""The REST rate limits on a real server, both engines: 429 with Retry-After per user and per
client address (the trusted proxy's X-Forwarded-For included), each class its own budget,
nothing stored when refused, reads never limited."""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from trial_tests.support.harness import (
    Client,
    PostgresEngine,
    Response,
    SqliteEngine,
    start_server,
)
from trial_tests.support.mixins import EngineTestMixin
from trial_tests.support.rate_limits import assert_rate_limited

PASSWORD = "correct horse"


class RestLimitTests(EngineTestMixin):
    async def server(self, **overrides: Any) -> str:
        running = await start_server(self, self.engine, **overrides)
        return running.url

    def assert_limited(self, response: Response, period: int, since: float) -> None:
        assert_rate_limited(self, response, period, since)

    async def post(self, client: Client, content: str) -> Response:
        return await client.post("/api/posts", {"content": content})

    async def register(self, client: Client, name: str, forwarded: str | None = None) -> Response:
        body = {"username": name, "email": f"{name}@example.org", "password": PASSWORD}
        headers = {"X-Forwarded-For": forwarded} if forwarded else None
        return await client.post("/api/auth/register", body, headers=headers)

    async def test_per_user(self) -> None:
        """--rest-rate-limit 6: six posts at once, then 429 for ten seconds (a token every 10 s);
        the refused post is not stored, reads go on, another user has a budget of their own."""
        url = await self.server(rest_rate_limit=6)
        alice, bob = Client(url), Client(url)
        alice_id = (await alice.register("alice"))["id"]
        await bob.register("bob")
        since = reactor.seconds()
        for n in range(6):
            self.assertEqual((await self.post(alice, f"p{n}")).status, 201)
        self.assert_limited(await self.post(alice, "one too many"), 10, since)
        posts = await alice.get(f"/api/users/{alice_id}/posts")
        self.assertEqual(posts.status, 200)
        self.assertEqual(len(posts.json), 6)
        self.assertEqual((await self.post(bob, "mine")).status, 201)

    async def test_what_lands_on_others_has_a_stricter_budget(self) -> None:
        """Follows and unfollows share half of --rest-rate-limit: three of six, then 429 for
        twenty seconds, while posting still has its own budget."""
        url = await self.server(rest_rate_limit=6)
        alice, bob = Client(url), Client(url)
        await alice.register("alice")
        bob_id = (await bob.register("bob"))["id"]
        follow = f"/api/users/{bob_id}/follow"
        since = reactor.seconds()
        self.assertEqual((await alice.post(follow)).status, 201)
        self.assertEqual((await alice.request("DELETE", follow)).status, 204)
        self.assertEqual((await alice.post(follow)).status, 201)
        self.assert_limited(await alice.request("DELETE", follow), 20, since)
        self.assertEqual((await self.post(alice, "still posting")).status, 201)

    async def test_per_address(self) -> None:
        """--address-rate-limit 1: one address may register twice a minute (a fifth of
        --rest-rate-limit 10) and log in no more; its users share one user's worth of posts."""
        url = await self.server(rest_rate_limit=10, address_rate_limit=1)
        alice, bob = Client(url), Client(url)
        since = reactor.seconds()
        self.assertEqual((await self.register(alice, "alice")).status, 201)
        self.assertEqual((await self.register(bob, "bob")).status, 201)
        self.assert_limited(await self.register(Client(url), "carol"), 30, since)
        login = {"username": "alice", "password": PASSWORD}
        self.assert_limited(await Client(url).post("/api/auth/login", login), 30, since)
        since = reactor.seconds()
        for n in range(10):
            self.assertEqual((await self.post(alice, f"p{n}")).status, 201)
        self.assert_limited(await self.post(bob, "same address"), 6, since)

    async def test_the_trusted_proxys_clients_are_apart(self) -> None:
        """Behind the trusted proxy each forwarded address has its own budget."""
        url = await self.server(rest_rate_limit=10, address_rate_limit=1, trusted_proxy="127.0.0.1")
        since = reactor.seconds()
        for name in ("alice", "bob"):
            registered = await self.register(Client(url), name, "203.0.113.1")
            self.assertEqual(registered.status, 201)
        self.assert_limited(await self.register(Client(url), "carol", "203.0.113.1"), 30, since)
        registered = await self.register(Client(url), "carol", "203.0.113.2")
        self.assertEqual(registered.status, 201)


class RestLimitSqliteTests(SqliteEngine, RestLimitTests, TestCase):
    pass


class RestLimitPostgresTests(PostgresEngine, RestLimitTests, TestCase):
    pass
