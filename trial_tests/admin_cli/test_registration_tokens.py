"""socialhub-admin registration-token create, list and delete, run as processes on the
database of a running server with `--registration token`, which then takes or refuses the
tokens; each making and deletion is in the audit log as the operator's."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import TestCase

from trial_tests.support.accounts import seed_user
from trial_tests.support.admin_cli import Finished, run_admin
from trial_tests.support.harness import (
    Client,
    PostgresEngine,
    Response,
    RunningServer,
    SqliteEngine,
    start_server,
)
from trial_tests.support.mixins import EngineTestMixin

EXPIRES = "2100-01-01T00:00:00Z"


class RegistrationTokenCommandTests(EngineTestMixin):
    timeout = 300  # each command is a process of its own
    running: RunningServer

    async def start(self) -> tuple[Client, int]:
        """A server that registers with a token only, and an administrator (made in the
        store: nobody registers without a token): their client and id."""
        self.running = await start_server(self, self.engine, registration="token")
        root = await seed_user(self.running, "root", is_admin=True)
        return root, (await root.get("/api/auth/me")).json["id"]

    def expect(self, response: Response, status: int) -> Any:
        self.assertEqual(response.status, status, response.raw)
        return response.json

    def refused(self, response: Response) -> None:
        self.assertEqual(response.status, 403, response.raw)
        self.assertEqual(response.json["error"], "invalid_registration_token")

    async def audit(self, root: Client) -> list[Any]:
        entries: list[Any] = self.expect(await root.get("/api/admin/audit"), 200)
        return entries

    async def tokens(self, *arguments: str) -> Finished:
        database = self.running.server.config.database
        return await run_admin("--database", database, "registration-token", *arguments)

    async def done(self, *arguments: str) -> list[str]:
        """The lines a command that must succeed printed."""
        finished = await self.tokens(*arguments)
        self.assertEqual((finished.code, finished.err), (0, ""), finished)
        return finished.out.splitlines()

    async def register(self, username: str, token: str) -> Response:
        body = {
            "username": username,
            "email": f"{username}@example.org",
            "password": "a long enough secret",
            "token": token,
        }
        return await self.running.client().post("/api/auth/register", body)

    async def test_create_list_delete(self) -> None:
        """A token made by the tool registers as many as its uses; list shows its uses, and
        the token made over REST; a deleted one registers nobody."""
        root, root_id = await self.start()
        head, secret = await self.done("create", "--uses", "1", "--expires", EXPIRES)
        self.assertRegex(
            head, rf"^created registration token (\d+): used 0 of 1, expires {EXPIRES}$"
        )
        limited = int(head.split()[3].rstrip(":"))
        unlimited_head, unlimited = await self.done("create")
        self.assertIn("used 0 of unlimited, expires never", unlimited_head)
        unlimited_id = int(unlimited_head.split()[3].rstrip(":"))
        made = self.expect(await root.post("/api/admin/registration-tokens", {}), 201)
        self.expect(await self.register("alice", secret), 201)
        self.refused(await self.register("bob", secret))
        listed = await self.done("list")
        self.assertEqual(len(listed), 3, listed)
        self.assertRegex(
            listed[0], rf"^{limited}: used 1 of 1, expires {EXPIRES}; created \S+Z by the operator$"
        )
        self.assertTrue(listed[2].startswith(f"{made['id']}: used 0 of unlimited"), listed)
        self.assertTrue(listed[2].endswith(f" by user {root_id}"), listed)
        self.assertNotIn(unlimited, "\n".join(listed))  # the secret is shown once
        self.assertEqual(
            await self.done("delete", str(unlimited_id)),
            [f"registration token {unlimited_id} is deleted"],
        )
        self.refused(await self.register("carol", unlimited))
        entries = await self.audit(root)
        recorded = [(e["actor_id"], e["action"], e["target_kind"], e["target_id"]) for e in entries]
        kind = "registration_token"
        self.assertEqual(
            recorded,
            [
                (None, "delete_registration_token", kind, unlimited_id),
                (root_id, "create_registration_token", kind, made["id"]),
                (None, "create_registration_token", kind, unlimited_id),
                (None, "create_registration_token", kind, limited),
            ],
        )
        limits = {"uses_allowed": 1, "expires_at": 4102444800}
        self.assertEqual(entries[-1]["detail"], limits)

    async def test_refusals(self) -> None:
        """Bad limits are refused as the REST route refuses them; an unknown id is refused;
        nothing is made or recorded. An empty list says so."""
        root, _ = await self.start()
        refusals: list[tuple[list[str], str]] = [
            (["create", "--uses", "0"], "uses_allowed must be"),
            (["create", "--expires", "tomorrow"], "expires_at must be"),
            (["create", "--expires", "2001-01-01T00:00:00Z"], "expires_at must be in the future"),
            (["delete", "999999"], "no such registration token"),
        ]
        for arguments, message in refusals:
            finished = await self.tokens(*arguments)
            self.assertEqual((finished.code, finished.out), (1, ""), finished)
            self.assertIn(message, finished.err)
        self.assertEqual(await self.done("list"), ["no registration tokens"])
        self.assertEqual(await self.audit(root), [])
        for arguments in (["create", "--uses", "many"], ["delete"], []):
            usage: Any = await self.tokens(*arguments)
            self.assertEqual(usage.code, 2, usage)


class RegistrationTokenCommandSqliteTests(SqliteEngine, RegistrationTokenCommandTests, TestCase):
    pass


class RegistrationTokenCommandPostgresTests(
    PostgresEngine, RegistrationTokenCommandTests, TestCase
):
    pass
