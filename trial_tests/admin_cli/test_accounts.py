"""socialhub-admin's account commands, run as processes on the database of a running server,
whose API then shows what they did."""

from __future__ import annotations

import os
from importlib.metadata import version
from typing import Any

from twisted.trial.unittest import TestCase

from trial_tests.support.admin_cli import CHEAP_HASHING, Finished, run_admin
from trial_tests.support.harness import (
    Client,
    PostgresEngine,
    RunningServer,
    SqliteEngine,
    database_url,
    postgres_base_url,
    start_server,
)
from trial_tests.support.mixins import EngineTestMixin

PASSWORD = "a long enough secret"


class AdminAccountsTests(EngineTestMixin):
    timeout = 300  # each command is a process of its own: ~1 s of CPU, more on a busy machine
    running: RunningServer

    async def admin(self, *arguments: str, stdin: bytes | None = None) -> Finished:
        """The command on the running server's database."""
        database = self.running.server.config.database
        return await run_admin("--database", database, *arguments, stdin=stdin)

    async def setUp(self) -> None:  # type: ignore[override]
        self.running = await start_server(self, self.engine)

    def password_file(self, password: str = PASSWORD) -> str:
        path: str = os.path.abspath(self.mktemp())  # the command runs in another directory
        with open(path, "w", encoding="utf-8") as file:
            file.write(password + "\n")
        return path

    async def login(self, username: str, password: str = PASSWORD) -> tuple[int, Any]:
        client = self.running.client()
        response = await client.post(
            "/api/auth/login", {"username": username, "password": password}
        )
        return response.status, response.json

    def assert_failed(self, finished: Finished, message: str) -> None:
        """Exit status 1 with one line on standard error that says why, nothing on stdout."""
        self.assertEqual(finished.code, 1, finished)
        self.assertEqual(finished.err.count("\n"), 1, finished.err)
        self.assertTrue(finished.err.startswith("socialhub-admin: error: "), finished.err)
        self.assertIn(message, finished.err)
        self.assertEqual(finished.out, "")

    async def test_a_created_user_logs_in_with_the_password(self) -> None:
        """create-user hashes the password as registration does: the server takes it."""
        created = await self.admin(
            "create-user", "Alice", "--email", "alice@example.org",
            "--password-file", self.password_file(), *CHEAP_HASHING,
        )  # fmt: skip
        self.assertEqual(created.code, 0, created)
        self.assertIn("created user Alice (id ", created.out)
        status, user = await self.login("alice")
        self.assertEqual(status, 200, user)
        self.assertEqual((user["username"], user["display_name"]), ("Alice", "Alice"))
        self.assertIs(user["is_admin"], False)
        self.assertEqual((await self.login("alice", "another password"))[0], 401)

    async def test_the_password_comes_from_standard_input(self) -> None:
        """Without --password-file the first line of standard input is the password; --admin
        and --display-name are taken."""
        created = await self.admin(
            "create-user", "root", "--email", "root@example.org", "--admin",
            "--display-name", "The Root", stdin=PASSWORD.encode() + b"\nignored\n",
        )  # fmt: skip
        self.assertEqual(created.code, 0, created)
        self.assertIn("(administrator)", created.out)
        status, user = await self.login("root")
        self.assertEqual(status, 200, user)
        self.assertEqual((user["display_name"], user["is_admin"]), ("The Root", True))

    async def test_grant_and_revoke_the_administrator_role(self) -> None:
        """grant-admin and revoke-admin (any case of the name) change what the server says."""
        client = self.running.client()
        await client.register("bob")
        await self.running.client().register("carol")
        self.assertEqual((await self.admin("grant-admin", "carol")).code, 0)
        granted = await self.admin("grant-admin", "BOB")
        self.assertEqual((granted.code, granted.out), (0, "bob is an administrator\n"), granted)
        self.assertIs((await self.me(client))["is_admin"], True)
        revoked = await self.admin("revoke-admin", "bob")
        self.assertEqual(revoked.code, 0, revoked)
        self.assertEqual(revoked.out, "bob is no longer an administrator\n")
        self.assertIs((await self.me(client))["is_admin"], False)
        last = await self.admin("revoke-admin", "carol")
        self.assert_failed(last, "the last active administrator must stay one")

    async def test_options_come_from_the_environment_or_after_the_command(self) -> None:
        """SOCIALHUB_DATABASE stands in for --database, as for the server; the options may
        follow the command's name; a bad value from the environment is refused in one line."""
        client = self.running.client()
        await client.register("bob")
        await self.running.client().register("carol")
        self.assertEqual((await self.admin("grant-admin", "carol")).code, 0)
        database = {"SOCIALHUB_DATABASE": self.running.server.config.database}
        granted = await run_admin("grant-admin", "bob", environment=database)
        self.assertEqual(granted.code, 0, granted)
        self.assertIs((await self.me(client))["is_admin"], True)
        url = database["SOCIALHUB_DATABASE"]
        revoked = await run_admin("revoke-admin", "bob", "--database", url)
        self.assertEqual(revoked.code, 0, revoked)
        self.assertIs((await self.me(client))["is_admin"], False)
        bad_cost = {**database, "SOCIALHUB_PASSWORD_TIME_COST": "many"}
        refused = await run_admin(
            "create-user", "erin", "--email", "erin@example.org", stdin=b"long enough\n",
            environment=bad_cost,
        )  # fmt: skip
        self.assert_failed(refused, "SOCIALHUB_PASSWORD_TIME_COST: 'many' is not a valid value")

    async def test_the_server_configuration_file_is_read(self) -> None:
        """--config reads the server's TOML file: its database, and its --admin list, which
        makes a user created by the tool an administrator as registration would."""
        path = os.path.abspath(self.mktemp())
        with open(path, "w", encoding="utf-8") as file:
            file.write(f'database = "{self.running.server.config.database}"\nadmin = ["Frank"]\n')
        created = await run_admin(
            "--config", path, "create-user", "frank", "--email", "frank@example.org",
            *CHEAP_HASHING, stdin=PASSWORD.encode(),
        )  # fmt: skip
        self.assertEqual(created.code, 0, created)
        status, user = await self.login("frank")
        self.assertEqual((status, user["is_admin"]), (200, True), user)

    async def me(self, client: Client) -> Any:
        response = await client.get("/api/auth/me")
        self.assertEqual(response.status, 200, response.raw)
        return response.json

    async def test_bad_input_fails_in_one_line_and_changes_nothing(self) -> None:
        """Each refusal exits 1 with the reason, and no account is created or changed."""
        client = self.running.client()
        await client.register("carol")
        password = self.password_file()
        create = ("--password-file", password)
        refusals = [
            (["create-user", "a b", "--email", "x@example.org", *create], "username must be"),
            (["create-user", "dave", "--email", "no-at-sign", *create], "email must be"),
            (["create-user", "dave", "--email", "carol@example.org", *create], "already taken"),
            (["create-user", "carol", "--email", "other@example.org", *create], "already taken"),
            (["grant-admin", "nobody"], "no user is named 'nobody'"),
            (["revoke-admin", "nobody"], "no user is named 'nobody'"),
        ]
        for arguments, message in refusals:
            self.assert_failed(await self.admin(*arguments), message)
        short = await self.admin(
            "create-user", "dave", "--email", "dave@example.org", stdin=b"short\n"
        )
        self.assert_failed(short, "password must be")
        missing = await self.admin(
            "create-user", "dave", "--email", "dave@example.org", "--password-file", "/nowhere"
        )
        self.assert_failed(missing, "cannot read the password file")
        for name in ("dave", "x"):
            self.assertEqual((await self.login(name))[0], 401)
        found = await client.get("/api/users?q=")
        self.assertEqual([user["username"] for user in found.json], ["carol"])
        self.assertIs((await self.me(client))["is_admin"], False)

    async def test_a_usage_error_exits_2(self) -> None:
        """A missing argument or an unknown command is argparse's usage error."""
        for arguments in (["create-user", "erin"], ["no-such-command"], []):
            finished = await self.admin(*arguments)
            self.assertEqual(finished.code, 2, finished)
            self.assertIn("usage: socialhub-admin", finished.err)

    async def test_a_database_without_the_schema_is_refused(self) -> None:
        """The tool never migrates: a database the server has not migrated is refused, and a
        SQLite path that names no file is not created."""
        url = database_url(self, self.engine)
        finished = await run_admin("--database", url, "grant-admin", "anyone")
        if self.engine == "sqlite":
            self.assert_failed(finished, "no SQLite database at")
            self.assertFalse(os.path.exists(url.removeprefix("sqlite:")))
        else:
            self.assert_failed(finished, "lacks migrations 0001, 0002")


class AdminAccountsSqliteTests(SqliteEngine, AdminAccountsTests, TestCase):
    pass


class AdminAccountsPostgresTests(PostgresEngine, AdminAccountsTests, TestCase):
    pass


class VersionTests(TestCase):
    timeout = 120

    async def test_an_unreachable_database_fails_in_one_line(self) -> None:
        """No traceback and no library log (txpostgres logs a refused connection's failure
        too): the reason PostgreSQL gave, on one line."""
        url = postgres_base_url().rsplit("/", 1)[0] + "/socialhub_no_such_database"
        finished = await run_admin("--database", url, "grant-admin", "anyone")
        self.assertEqual(finished.code, 1, finished)
        self.assertEqual(finished.out, "")
        self.assertRegex(
            finished.err, r"^socialhub-admin: error: cannot connect to PostgreSQL: [^\n]+\n$"
        )

    async def test_version(self) -> None:
        """--version prints the installed package's version and exits 0."""
        finished = await run_admin("--version")
        self.assertEqual(
            (finished.code, finished.out), (0, f"socialhub-admin {version('socialhub')}\n")
        )
