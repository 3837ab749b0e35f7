"""The rate limits of a deployment: two real server processes on one Redis share a user's
budget, and a server whose Redis is gone falls back to its own buckets."""

from __future__ import annotations

from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from trial_tests.support.harness import Client, Response, fresh_postgres_url, start_server
from trial_tests.support.processes import start_process
from trial_tests.support.rate_limits import assert_rate_limited
from trial_tests.support.redis_server import start_redis

# --rest-rate-limit 6: six posts at once per user, then one every ten seconds.
BUDGET = 6


class SharedLimitTests(TestCase):
    timeout = 120

    def assert_limited(self, response: Response, since: float) -> None:
        assert_rate_limited(self, response, 10, since)

    async def post(self, client: Client, content: str) -> Response:
        return await client.post("/api/posts", {"content": content})

    async def test_two_processes_share_a_users_budget(self) -> None:
        """Half the budget through each process spends all of it: the next post is refused
        by both (each alone would allow six)."""
        redis = await start_redis(self)
        database = fresh_postgres_url()
        options = ("--redis", redis.url, "--rest-rate-limit", str(BUDGET))
        one, two = [await start_process(self, database, *options) for _ in range(2)]
        alice = one.client()
        await alice.register("alice")
        since = reactor.seconds()
        for n in range(BUDGET):
            client = alice if n % 2 else alice.on(two.url)
            self.assertEqual((await self.post(client, f"p{n}")).status, 201)
        self.assert_limited(await self.post(alice, "through one"), since)
        self.assert_limited(await self.post(alice.on(two.url), "through two"), since)

    async def test_without_redis_the_process_limits_alone(self) -> None:
        """Redis gone: requests are neither refused for it nor let through unlimited; the
        process's own buckets give the budget."""
        redis = await start_redis(self)
        running = await start_server(self, "postgres", redis=redis.url, rest_rate_limit=BUDGET)
        alice = running.client()
        await alice.register("alice")
        await redis.stop()
        since = reactor.seconds()
        for n in range(BUDGET):
            self.assertEqual((await self.post(alice, f"p{n}")).status, 201)
        self.assert_limited(await self.post(alice, "one too many"), since)
