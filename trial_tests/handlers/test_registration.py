"""Registration modes and registration tokens end to end, on both engines."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from twisted.internet.defer import Deferred, gatherResults
from twisted.python import usage
from twisted.trial.unittest import TestCase

from socialhub.config import Config, ConfigError
from socialhub.tap import Options
from trial_tests.support.accounts import PASSWORD, register_body, run_sql, seed_user, table_rows
from trial_tests.support.harness import (
    Client,
    PostgresEngine,
    Response,
    RunningServer,
    SqliteEngine,
    start_server,
)
from trial_tests.support.mixins import EngineTestMixin

TOKENS = "/api/admin/registration-tokens"


class RegistrationTests(EngineTestMixin):
    """Who may register, and the tokens administrators hand out."""

    def assertError(self, response: Response, status: int, code: str) -> None:
        self.assertEqual(response.status, status, response.raw)
        self.assertEqual(response.json["error"], code, response.raw)

    async def _server(self, **overrides: Any) -> RunningServer:
        return await start_server(self, self.engine, **overrides)

    async def _admin(self, running: RunningServer) -> Client:
        return await seed_user(running, "root", is_admin=True)

    async def _token(self, admin: Client, **fields: Any) -> dict[str, Any]:
        response = await admin.post(TOKENS, fields)
        self.assertEqual(response.status, 201, response.raw)
        made: dict[str, Any] = response.json
        return made

    async def _register(self, client: Client, username: str, **fields: Any) -> Response:
        return await client.post("/api/auth/register", register_body(username, **fields))

    async def _users(self, running: RunningServer) -> int:
        return len(await table_rows(running, "users"))

    async def test_describe(self) -> None:
        """GET /api/auth/registration, without a session: the mode and what mail offers."""
        running = await self._server()
        described = await running.client().get("/api/auth/registration")
        self.assertEqual(described.status, 200, described.raw)
        expected = {"mode": "open", "email_verification": False, "password_reset": False}
        self.assertEqual(described.json, expected)
        running = await self._server(registration="token", smtp="smtp://127.0.0.1:1")
        described = await running.client().get("/api/auth/registration")
        expected = {"mode": "token", "email_verification": False, "password_reset": True}
        self.assertEqual(described.json, expected)

    async def test_open_ignores_a_token(self) -> None:
        """Open registration needs no token and ignores one sent."""
        running = await self._server()
        response = await self._register(running.client(), "alice", token="whatever")
        self.assertEqual(response.status, 201, response.raw)

    async def test_closed(self) -> None:
        """Closed: every registration is 403 registration_closed (a bad body too), nothing is
        written; existing accounts still log in."""
        running = await self._server(registration="closed")
        await seed_user(running, "alice")
        client = running.client()
        self.assertError(await self._register(client, "bob"), 403, "registration_closed")
        self.assertError(await self._register(client, "b"), 403, "registration_closed")
        self.assertEqual(await self._users(running), 1)
        login = await client.post("/api/auth/login", {"username": "alice", "password": PASSWORD})
        self.assertEqual(login.status, 200, login.raw)

    async def test_token_required(self) -> None:
        """Token mode: no token is 400, an unknown one 403; neither writes an account."""
        running = await self._server(registration="token")
        client = running.client()
        self.assertError(await self._register(client, "alice"), 400, "invalid_request")
        for bad in ("", 5, None, "x" * 129):
            response = await self._register(client, "alice", token=bad)
            self.assertError(response, 400, "invalid_request")
        unknown = await self._register(client, "alice", token="not-a-token")
        self.assertError(unknown, 403, "invalid_registration_token")
        self.assertEqual(await self._users(running), 0)

    async def test_token_uses_counted(self) -> None:
        """A token of 2 uses registers two accounts, then is refused; its list entry counts
        them, and its secret is shown once and stored only as a hash."""
        running = await self._server(registration="token")
        admin = await self._admin(running)
        made = await self._token(admin, uses_allowed=2)
        self.assertEqual(made["uses_allowed"], 2)
        self.assertEqual(made["uses"], 0)
        self.assertIsNone(made["expires_at"])
        secret = made["token"]
        self.assertGreaterEqual(len(secret), 43)
        for name in ("alice", "bob"):
            response = await self._register(running.client(), name, token=secret)
            self.assertEqual(response.status, 201, response.raw)
        third = await self._register(running.client(), "carol", token=secret)
        self.assertError(third, 403, "invalid_registration_token")
        (listed,) = (await admin.get(TOKENS)).json
        self.assertEqual(listed["uses"], 2)
        self.assertNotIn("token", listed)
        (row,) = await table_rows(running, "registration_tokens")
        self.assertNotIn(secret, [str(value) for value in row])
        self.assertIn(hashlib.sha256(secret.encode()).hexdigest(), row)

    async def test_unlimited_token(self) -> None:
        """uses_allowed null (or absent) is unlimited."""
        running = await self._server(registration="token")
        secret = (await self._token(await self._admin(running), uses_allowed=None))["token"]
        for name in ("alice", "bob", "carol"):
            response = await self._register(running.client(), name, token=secret)
            self.assertEqual(response.status, 201, response.raw)

    async def test_taken_username_uses_nothing(self) -> None:
        """A registration refused for a taken username (409) does not count a use."""
        running = await self._server(registration="token")
        admin = await self._admin(running)
        secret = (await self._token(admin, uses_allowed=1))["token"]
        taken = await self._register(running.client(), "root", token=secret)
        self.assertError(taken, 409, "conflict")
        self.assertEqual((await admin.get(TOKENS)).json[0]["uses"], 0)
        response = await self._register(running.client(), "alice", token=secret)
        self.assertEqual(response.status, 201, response.raw)

    async def test_token_expiry(self) -> None:
        """A token past its expires_at is refused; expires_at is shown in RFC 3339."""
        running = await self._server(registration="token")
        admin = await self._admin(running)
        made = await self._token(admin, expires_at="2100-01-01T00:00:00Z")
        self.assertEqual(made["expires_at"], "2100-01-01T00:00:00Z")
        past = int(time.time()) - 1
        await run_sql(running, "UPDATE registration_tokens SET expires_at = ?", (past,))
        response = await self._register(running.client(), "alice", token=made["token"])
        self.assertError(response, 403, "invalid_registration_token")
        self.assertEqual(await self._users(running), 1)

    async def test_delete_token(self) -> None:
        """A deleted token registers nobody; deleting it again, or an unknown id, is 404.
        Making and deleting it are in the audit log, by the administrator; the 404s are not."""
        running = await self._server(registration="token")
        admin = await self._admin(running)
        admin_id = (await admin.get("/api/auth/me")).json["id"]
        made = await self._token(admin, uses_allowed=3)
        deleted = await admin.request("DELETE", f"{TOKENS}/{made['id']}")
        self.assertEqual(deleted.status, 204, deleted.raw)
        response = await self._register(running.client(), "alice", token=made["token"])
        self.assertError(response, 403, "invalid_registration_token")
        again = await admin.request("DELETE", f"{TOKENS}/{made['id']}")
        self.assertError(again, 404, "not_found")
        self.assertError(await admin.request("DELETE", f"{TOKENS}/abc"), 404, "not_found")
        self.assertEqual((await admin.get(TOKENS)).json, [])
        audit = (await admin.get("/api/admin/audit")).json
        recorded = [(e["actor_id"], e["action"], e["target_kind"], e["target_id"]) for e in audit]
        about = ("registration_token", made["id"])
        self.assertEqual(
            recorded,
            [
                (admin_id, "delete_registration_token", *about),
                (admin_id, "create_registration_token", *about),
            ],
        )
        self.assertEqual(audit[1]["detail"], {"uses_allowed": 3, "expires_at": None})

    async def test_admins_only(self) -> None:
        """Anyone else is 403 on every token route (before a bad body's 400); no session, 401."""
        running = await self._server(registration="token")
        admin = await self._admin(running)
        made = await self._token(admin)
        user = await seed_user(running, "alice")
        for response in (
            await user.post(TOKENS, {}),
            await user.post(TOKENS, {"uses_allowed": 0}),
            await user.get(TOKENS),
            await user.request("DELETE", f"{TOKENS}/{made['id']}"),
        ):
            self.assertError(response, 403, "forbidden")
        anonymous = running.client()
        self.assertError(await anonymous.get(TOKENS), 401, "unauthorized")
        self.assertError(await anonymous.post(TOKENS, {}), 401, "unauthorized")
        self.assertEqual(len(await table_rows(running, "registration_tokens")), 1)

    async def test_bad_token_bodies(self) -> None:
        """Each bad field is 400 and makes no token."""
        running = await self._server(registration="token")
        admin = await self._admin(running)
        for body in (
            {"uses_allowed": 0},
            {"uses_allowed": -1},
            {"uses_allowed": "3"},
            {"uses_allowed": 1.5},
            {"uses_allowed": True},
            {"uses_allowed": 1_000_001},
            {"expires_at": "tomorrow"},
            {"expires_at": 1_900_000_000},
            {"expires_at": "2001-01-01T00:00:00Z"},
        ):
            response = await admin.post(TOKENS, body)
            self.assertError(response, 400, "invalid_request")
        self.assertEqual(await table_rows(running, "registration_tokens"), [])
        self.assertEqual(await table_rows(running, "audit_log"), [])

    async def test_racing_for_the_last_use(self) -> None:
        """Six registrations at once with a one-use token: exactly one account is made."""
        running = await self._server(registration="token")
        secret = (await self._token(await self._admin(running), uses_allowed=1))["token"]
        names = [f"racer{number}" for number in range(6)]
        responses = await gatherResults(
            [self._race(running, name, secret) for name in names], consumeErrors=True
        )
        statuses = sorted(response.status for response in responses)
        self.assertEqual(statuses, [201, 403, 403, 403, 403, 403])
        self.assertEqual(await self._users(running), 2)
        (row,) = await table_rows(running, "registration_tokens")
        self.assertEqual(row[2:4], (1, 1))  # uses_allowed, uses

    def _race(self, running: RunningServer, name: str, secret: str) -> Deferred[Response]:
        return Deferred.fromCoroutine(self._register(running.client(), name, token=secret))


class RegistrationSqliteTests(SqliteEngine, RegistrationTests, TestCase):
    pass


class RegistrationPostgresTests(PostgresEngine, RegistrationTests, TestCase):
    pass


class RegistrationOptionsTests(TestCase):
    """The options that set registration and mail up, and their checks at start."""

    def test_modes(self) -> None:
        """--registration, or SOCIALHUB_REGISTRATION; open by default."""
        self.assertEqual(Options().to_config({}).registration, "open")
        options = Options()
        options.parseOptions(["--registration", "token"])
        self.assertEqual(options["config"].registration, "token")
        environ = {"SOCIALHUB_REGISTRATION": "closed"}
        self.assertEqual(Options().to_config(environ).registration, "closed")

    def test_bad_values_refused(self) -> None:
        """A bad mode, a bad --smtp or --public-url, or verification without mail."""
        for arguments in (
            ["--registration", "maybe"],
            ["--smtp", "http://mail.example.org"],
            ["--smtp", "smtp://"],
            ["--public-url", "example.org"],
            ["--require-email-verification"],
        ):
            with self.assertRaises(usage.UsageError, msg=arguments):
                Options().parseOptions(arguments)
        with self.assertRaises(ConfigError):
            Options().to_config({"SOCIALHUB_REGISTRATION": "Open"})

    def test_base_url(self) -> None:
        """Links use --public-url, or else the address --listen names."""
        self.assertEqual(Config().base_url, "http://127.0.0.1:9000")
        self.assertEqual(Config(listen="tcp:8080").base_url, "http://localhost:8080")
        listen = "ssl:8443:privateKey=k.pem:interface=0.0.0.0"
        self.assertEqual(Config(listen=listen).base_url, "https://localhost:8443")
        listen = "tcp6:port=9000:interface=\\:\\:1"
        self.assertEqual(Config(listen=listen).base_url, "http://localhost")
        listen = "systemd:domain=INET:index=0"
        self.assertEqual(Config(listen=listen).base_url, "http://localhost")
        config = Config(public_url="https://social.example.org/")
        self.assertEqual(config.base_url, "https://social.example.org")
        options = Options()
        options.parseOptions(
            ["--smtp", "smtps://u:p@mail.example.org:465", "--require-email-verification"]
        )
        self.assertTrue(options["config"].require_email_verification)
