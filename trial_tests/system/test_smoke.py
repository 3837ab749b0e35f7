"""A first end-to-end check of the harness: register and read back on both engines."""

from twisted.trial.unittest import TestCase

from trial_tests.support.harness import PostgresEngine, SqliteEngine, start_server


class SmokeTests:
    engine: str

    async def test_register_then_me(self) -> None:
        """A registered user's cookie opens /api/auth/me."""
        running = await start_server(self, self.engine)  # type: ignore[arg-type]
        client = running.client()
        user = await client.register("alice")
        me = await client.get("/api/auth/me")
        self.assertEqual(me.status, 200)  # type: ignore[attr-defined]
        self.assertEqual(me.json["id"], user["id"])  # type: ignore[attr-defined]


class SmokeSqliteTests(SqliteEngine, SmokeTests, TestCase):
    pass


class SmokePostgresTests(PostgresEngine, SmokeTests, TestCase):
    pass
