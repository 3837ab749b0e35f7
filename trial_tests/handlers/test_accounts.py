"""Accounts end to end, on both engines: accounts, sessions and their cookie."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults
from twisted.trial.unittest import TestCase

from socialhub.storage.database import Transaction
from socialhub.tap import Options
from trial_tests.support.accounts import PASSWORD, register_body
from trial_tests.support.follows import OWN_USER_KEYS
from trial_tests.support.harness import (
    Client,
    PostgresEngine,
    Response,
    RunningServer,
    SqliteEngine,
    database_url,
    start_server,
)
from trial_tests.support.mixins import EngineTestMixin

COOKIE = "socialhub_session"
HINT = "socialhub_signed_in"
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def session_cookie(response: Response, cookie: str = COOKIE) -> tuple[str, dict[str, str]]:
    """A cookie a response sets (the session's unless named): its value and its attributes
    (lower-cased names)."""
    for header in response.headers.getRawHeaders(b"set-cookie") or []:
        name_value, *parts = [part.strip() for part in header.decode("latin-1").split(";")]
        name, _, value = name_value.partition("=")
        if name == cookie:
            attributes = {}
            for part in parts:
                key, _, attribute = part.partition("=")
                attributes[key.lower()] = attribute
            return value, attributes
    raise AssertionError(f"no {cookie} cookie in {response.headers}")


def with_token(token: str) -> dict[str, str]:
    """Headers that present `token` as the session cookie (for a client without a jar entry)."""
    return {"Cookie": f"{COOKIE}={token}"}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


async def session_rows(running: RunningServer) -> list[tuple[Any, ...]]:
    """Every row of the sessions table, all columns."""

    async def select(txn: Transaction) -> list[tuple[Any, ...]]:
        return await txn.fetch("SELECT * FROM sessions ORDER BY id")

    rows: list[tuple[Any, ...]] = await running.server.database.interaction("test", select)
    return rows


async def set_last_used(running: RunningServer, token: str, last_used_at: int) -> None:
    """Age a session by rewriting when it was last used, as if that much time had passed."""

    async def update(txn: Transaction) -> None:
        changed = await txn.run(
            "UPDATE sessions SET last_used_at = ? WHERE token_hash = ?",
            (last_used_at, token_hash(token)),
        )
        assert changed == 1

    await running.server.database.interaction("test", update)


async def last_used(running: RunningServer, token: str) -> int | None:
    async def select(txn: Transaction) -> int | None:
        row = await txn.fetchone(
            "SELECT last_used_at FROM sessions WHERE token_hash = ?", (token_hash(token),)
        )
        return None if row is None else int(row[0])

    result: int | None = await running.server.database.interaction("test", select)
    return result


class AccountsTests(EngineTestMixin):
    """Every account rule, run once per storage engine."""

    def assertError(self, response: Response, status: int, code: str) -> None:
        self.assertEqual(response.status, status, response.raw)
        self.assertEqual(response.json["error"], code, response.raw)

    async def _server(self, **overrides: Any) -> RunningServer:
        return await start_server(self, self.engine, **overrides)

    async def _register(self, client: Client, username: str, **fields: Any) -> Response:
        return await client.post("/api/auth/register", register_body(username, **fields))

    async def _login(self, client: Client, password: str = PASSWORD, **login: Any) -> Response:
        headers = login.pop("headers", None)
        return await client.post(
            "/api/auth/login", {**login, "password": password}, headers=headers
        )

    # Registering.

    async def test_register(self) -> None:
        """201 with the user object (email included, display_name defaulted) and the cookie."""
        client = (await self._server()).client()
        response = await self._register(client, "Alice")
        self.assertEqual(response.status, 201, response.raw)
        user = response.json
        self.assertEqual(set(user), OWN_USER_KEYS)
        self.assertEqual(user["username"], "Alice")
        self.assertEqual(user["display_name"], "Alice")
        self.assertEqual(user["email"], "Alice@example.org")
        self.assertEqual(user["about"], "")
        self.assertIs(user["is_private"], False)
        self.assertIs(user["is_admin"], False)
        self.assertEqual((user["followers_count"], user["following_count"]), (0, 0))
        self.assertRegex(user["created_at"], RFC3339_UTC)
        self.assertIsInstance(user["id"], int)
        me = await client.get("/api/auth/me")
        self.assertEqual(me.status, 200)
        self.assertEqual(me.json, user)

    async def test_cookie_attributes(self) -> None:
        """The cookie is HttpOnly, SameSite=Lax, Path=/, Max-Age = TTL, not Secure, >= 256 bits."""
        client = (await self._server()).client()
        token, attributes = session_cookie(await self._register(client, "alice"))
        self.assertGreaterEqual(len(token), 43)  # 32 bytes in URL-safe base64
        self.assertIn("httponly", attributes)
        self.assertEqual(attributes["samesite"].lower(), "lax")
        self.assertEqual(attributes["path"], "/")
        self.assertEqual(attributes["max-age"], str(30 * 86400))
        self.assertNotIn("secure", attributes)

    async def test_signed_in_hint(self) -> None:
        """Beside the session cookie, a hint the page's script can read: "1", not HttpOnly, with
        the session cookie's lifetime and attributes. Logging out clears it; it authenticates
        nothing (a client with the hint alone is 401)."""
        running = await self._server(secure_cookies=True)
        registered = await self._register(running.client(), "alice")
        token, _ = session_cookie(registered)
        value, attributes = session_cookie(registered, HINT)
        self.assertEqual(value, "1")
        self.assertNotIn("httponly", attributes)
        self.assertEqual(attributes["samesite"].lower(), "lax")
        self.assertEqual(attributes["path"], "/")
        self.assertEqual(attributes["max-age"], str(30 * 86400))
        self.assertIn("secure", attributes)
        hinted = await running.client().get("/api/auth/me", headers={"Cookie": f"{HINT}=1"})
        self.assertError(hinted, 401, "unauthorized")
        logout = await running.client().post("/api/auth/logout", headers=with_token(token))
        value, attributes = session_cookie(logout, HINT)
        self.assertEqual((value, attributes["max-age"]), ("", "0"))

    async def test_cookie_follows_settings(self) -> None:
        """Max-Age follows --session-ttl, and --secure-cookies adds Secure."""
        client = (await self._server(session_ttl_days=2, secure_cookies=True)).client()
        _, attributes = session_cookie(await self._register(client, "alice"))
        self.assertEqual(attributes["max-age"], str(2 * 86400))
        self.assertIn("secure", attributes)

    async def test_display_name_given(self) -> None:
        """A given display_name is kept as sent."""
        client = (await self._server()).client()
        response = await self._register(client, "alice", display_name="Alice Liddell")
        self.assertEqual(response.json["display_name"], "Alice Liddell")

    async def test_duplicates_are_case_insensitive(self) -> None:
        """A username or email taken in another case is 409; the first account keeps its case."""
        client = (await self._server()).client()
        self.assertEqual((await self._register(client, "Alice")).status, 201)
        for duplicate in (
            register_body("ALICE", email="other@example.org"),
            register_body("alice", email="other@example.org"),
            register_body("bob", email="ALICE@EXAMPLE.ORG"),
            register_body("bob", email="alice@example.org"),
        ):
            response = await client.post("/api/auth/register", duplicate)
            self.assertError(response, 409, "conflict")
        response = await client.post("/api/auth/login", {"username": "alice", "password": PASSWORD})
        self.assertEqual(response.json["username"], "Alice")

    async def test_invalid_fields(self) -> None:
        """Each invalid field is 400 and creates no account."""
        client = (await self._server()).client()
        cases = [
            register_body("ab"),
            register_body("a" * 33),
            register_body("al ice"),
            register_body("alíce"),
            register_body("al@ice"),
            register_body("al/ice"),
            {"email": "x@example.org", "password": PASSWORD},
            {**register_body("alice"), "username": 12345},
            register_body("alice", email="alice.example.org"),
            register_body("alice", email="alice@@example.org"),
            register_body("alice", email="al@ice@example.org"),
            register_body("alice", email="@example.org"),
            register_body("alice", email="alice@"),
            register_body("alice", email="al ice@example.org"),
            register_body("alice", email="a" * 243 + "@example.org"),  # 255 characters
            register_body("alice", email=None),
            {"username": "alice", "password": PASSWORD},
            register_body("alice", password="x" * 7),
            register_body("alice", password="x" * 1025),
            register_body("alice", password=12345678),
            {"username": "alice", "email": "alice@example.org"},
            register_body("alice", display_name="x" * 65),
            register_body("alice", display_name=""),
            register_body("alice", display_name=5),
        ]
        for case in cases:
            response = await client.post("/api/auth/register", case)
            self.assertEqual(response.status, 400, (case, response.raw))
            self.assertEqual(response.json["error"], "invalid_request")
        login = await client.post("/api/auth/login", {"username": "alice", "password": PASSWORD})
        self.assertEqual(login.status, 401)

    async def test_field_limits_accepted(self) -> None:
        """The longest and shortest valid values are accepted."""
        client = (await self._server()).client()
        cases = [
            register_body("a_."),
            register_body("b" * 32),
            register_body("c-1", email="c" * 242 + "@example.org"),  # 254 characters
            register_body("d.2", password="x" * 8),
            register_body("e_3", password="é" * 1024),
            register_body("f-4", display_name="é" * 64),
        ]
        for case in cases:
            response = await self._register(Client(client.url), case.pop("username"), **case)
            self.assertEqual(response.status, 201, (case, response.raw))

    # Logging in and out.

    async def test_login_by_username_or_email_in_any_case(self) -> None:
        """Login by username or email, whatever the case, returns the user and a cookie."""
        running = await self._server()
        user = (await self._register(running.client(), "Alice")).json
        for login in (
            {"username": "Alice"},
            {"username": "aLiCe"},
            {"email": "alice@example.org"},
            {"email": "ALICE@Example.ORG"},
        ):
            response = await self._login(running.client(), **login)
            self.assertEqual(response.status, 200, (login, response.raw))
            self.assertEqual(response.json, user)
            token, attributes = session_cookie(response)
            self.assertEqual(attributes["max-age"], str(30 * 86400))
            me = await running.client().get("/api/auth/me", headers=with_token(token))
            self.assertEqual(me.json["id"], user["id"])

    async def test_wrong_password_and_unknown_user_look_the_same(self) -> None:
        """A wrong password and an unknown user or email get the same 401 body."""
        client = (await self._server()).client()
        await self._register(client, "alice")
        wrong = await self._login(client, "wrong password", username="alice")
        unknown = await self._login(client, "wrong password", username="nobody")
        unknown_email = await self._login(client, PASSWORD, email="nobody@example.org")
        self.assertError(wrong, 401, "unauthorized")
        self.assertEqual(unknown.status, 401)
        self.assertEqual(unknown.raw, wrong.raw)
        self.assertEqual(unknown_email.raw, wrong.raw)
        self.assertIsNone(wrong.headers.getRawHeaders(b"set-cookie"))

    async def test_login_opens_a_new_session(self) -> None:
        """Login gives a new token; the earlier session stays valid."""
        running = await self._server()
        first = running.client()
        await first.register("alice")
        second = running.client()
        await self._login(second, username="alice")
        self.assertNotEqual(first.session_token(), second.session_token())
        self.assertEqual((await first.get("/api/auth/me")).status, 200)
        self.assertEqual((await second.get("/api/auth/me")).status, 200)
        self.assertEqual(len(await session_rows(running)), 2)

    async def test_logout(self) -> None:
        """Logout is 204, clears the cookie and revokes this session only."""
        running = await self._server()
        first = running.client()
        await first.register("alice")
        token = first.session_token()
        assert token is not None
        second = running.client()
        await self._login(second, username="alice")
        response = await first.post("/api/auth/logout")
        self.assertEqual(response.status, 204, response.raw)
        self.assertEqual(response.raw, b"")
        value, attributes = session_cookie(response)
        self.assertEqual(value, "")
        self.assertEqual(attributes["max-age"], "0")
        self.assertEqual(attributes["path"], "/")
        again = await running.client().get("/api/auth/me", headers=with_token(token))
        self.assertError(again, 401, "unauthorized")
        logout_again = await running.client().post("/api/auth/logout", headers=with_token(token))
        self.assertError(logout_again, 401, "unauthorized")
        self.assertEqual((await second.get("/api/auth/me")).status, 200)

    async def test_me_needs_a_valid_session(self) -> None:
        """/me without a cookie, or with an unknown one, is 401."""
        client = (await self._server()).client()
        await self._register(client, "alice")
        anonymous = Client(client.url)
        self.assertError(await anonymous.get("/api/auth/me"), 401, "unauthorized")
        for token in ("garbage", "x" * 43, ""):
            response = await anonymous.get("/api/auth/me", headers=with_token(token))
            self.assertError(response, 401, "unauthorized")

    # Changing the password.

    async def test_password_change(self) -> None:
        """204; the other sessions are revoked, this one stays; only the new password works."""
        running = await self._server()
        current = running.client()
        await current.register("alice")
        other = running.client()
        await self._login(other, username="alice")
        response = await current.post(
            "/api/auth/password", {"old_password": PASSWORD, "new_password": "battery staple"}
        )
        self.assertEqual(response.status, 204, response.raw)
        self.assertEqual((await current.get("/api/auth/me")).status, 200)
        self.assertError(await other.get("/api/auth/me"), 401, "unauthorized")
        self.assertEqual(len(await session_rows(running)), 1)
        old = await self._login(running.client(), PASSWORD, username="alice")
        self.assertError(old, 401, "unauthorized")
        new = await self._login(running.client(), "battery staple", username="alice")
        self.assertEqual(new.status, 200)

    async def test_password_change_refused(self) -> None:
        """A wrong old password (403) or a too short new one (400) changes nothing."""
        running = await self._server()
        current = running.client()
        await current.register("alice")
        other = running.client()
        await self._login(other, username="alice")
        wrong = await current.post(
            "/api/auth/password", {"old_password": "not it", "new_password": "battery staple"}
        )
        self.assertError(wrong, 403, "forbidden")
        short = await current.post(
            "/api/auth/password", {"old_password": PASSWORD, "new_password": "x" * 7}
        )
        self.assertError(short, 400, "invalid_request")
        self.assertEqual((await other.get("/api/auth/me")).status, 200)
        new = await self._login(running.client(), "battery staple", username="alice")
        self.assertError(new, 401, "unauthorized")
        old = await self._login(running.client(), PASSWORD, username="alice")
        self.assertEqual(old.status, 200)

    # The login failure limit.

    async def test_login_limit(self) -> None:
        """After 10 failures: 429 with Retry-After, even with the right password.

        Other usernames from that address, and that username from another address (the
        trusted proxy's X-Forwarded-For), may still log in. The count ignores case.
        """
        running = await self._server(trusted_proxy="127.0.0.1")
        client = running.client()
        await self._register(client, "alice")
        await self._register(running.client(), "bob")
        first = {"X-Forwarded-For": "203.0.113.1"}
        for attempt in range(10):
            name = "alice" if attempt % 2 else "ALICE"
            response = await self._login(client, "wrong", username=name, headers=first)
            self.assertError(response, 401, "unauthorized")
        limited = await self._login(client, PASSWORD, username="alice", headers=first)
        self.assertError(limited, 429, "rate_limited")
        retry_after = limited.headers.getRawHeaders(b"retry-after")
        self.assertIsNotNone(retry_after)
        self.assertTrue(1 <= int(retry_after[0]) <= 15 * 60, retry_after)
        self.assertIsNone(limited.headers.getRawHeaders(b"set-cookie"))
        bob = await self._login(client, PASSWORD, username="bob", headers=first)
        self.assertEqual(bob.status, 200, bob.raw)
        second = {"X-Forwarded-For": "203.0.113.2"}
        elsewhere = await self._login(client, PASSWORD, username="alice", headers=second)
        self.assertEqual(elsewhere.status, 200, elsewhere.raw)

    async def test_login_limit_holds_against_parallel_guesses(self) -> None:
        """60 wrong passwords at once for one name from one address: at most 10 are weighed
        (401), the rest refused (429 with Retry-After); the right password is refused then."""
        running = await self._server()
        await self._register(running.client(), "alice")
        guesses = [self._login(running.client(), "wrong", username="alice") for _ in range(60)]
        answers = await gatherResults([Deferred.fromCoroutine(guess) for guess in guesses])
        statuses = sorted(answer.status for answer in answers)
        self.assertLessEqual(statuses.count(401), 10, statuses)
        self.assertEqual(statuses.count(401) + statuses.count(429), 60, statuses)
        for answer in answers:
            if answer.status == 429:
                self.assertError(answer, 429, "rate_limited")
                self.assertIsNotNone(answer.headers.getRawHeaders(b"retry-after"))
        limited = await self._login(running.client(), PASSWORD, username="alice")
        self.assertError(limited, 429, "rate_limited")

    async def test_login_limit_ignores_untrusted_forwarded_for(self) -> None:
        """Without --trusted-proxy a client cannot escape the limit by inventing X-Forwarded-For."""
        running = await self._server()
        client = running.client()
        await self._register(client, "alice")
        for attempt in range(10):
            headers = {"X-Forwarded-For": f"198.51.100.{attempt}"}
            response = await self._login(client, "wrong", username="alice", headers=headers)
            self.assertEqual(response.status, 401)
        headers = {"X-Forwarded-For": "198.51.100.99"}
        limited = await self._login(client, PASSWORD, username="alice", headers=headers)
        self.assertError(limited, 429, "rate_limited")

    async def test_successful_login_resets_the_count(self) -> None:
        """Failures before a successful login no longer count."""
        running = await self._server()
        client = running.client()
        await self._register(client, "alice")
        for _ in range(9):
            await self._login(client, "wrong", username="alice")
        self.assertEqual((await self._login(client, username="alice")).status, 200)
        for _ in range(9):
            await self._login(client, "wrong", username="alice")
        self.assertEqual((await self._login(client, username="alice")).status, 200)

    # Session lifetime and storage.

    async def test_session_expires_after_ttl_without_use(self) -> None:
        """A session unused for the TTL (1 day here) is refused and deleted.

        The server's clock is the real reactor, so instead of moving time forward the test
        moves the session's last use back, straight in the database: the same age either way.
        """
        running = await self._server(session_ttl_days=1)
        client = running.client()
        await client.register("alice")
        token = client.session_token()
        assert token is not None
        await set_last_used(running, token, int(reactor.seconds()) - 86400 - 1)
        self.assertError(await client.get("/api/auth/me"), 401, "unauthorized")
        self.assertEqual(await session_rows(running), [])

    async def test_session_use_keeps_it_alive(self) -> None:
        """A session used within the TTL stays valid, and that use is recorded.

        Last use is written at most once an hour: a use 10 minutes after the last leaves the
        row alone, a use 23 hours after it moves last_used_at to now.
        """
        running = await self._server(session_ttl_days=1)
        client = running.client()
        await client.register("alice")
        token = client.session_token()
        assert token is not None
        now = int(reactor.seconds())
        await set_last_used(running, token, now - 600)
        self.assertEqual((await client.get("/api/auth/me")).status, 200)
        self.assertEqual(await last_used(running, token), now - 600)
        await set_last_used(running, token, now - 23 * 3600)
        self.assertEqual((await client.get("/api/auth/me")).status, 200)
        used = await last_used(running, token)
        assert used is not None
        self.assertGreaterEqual(used, now)

    async def test_sessions_survive_a_restart(self) -> None:
        """A new server process on the same database accepts the old cookie."""
        url = database_url(self, self.engine)
        first = await self._server(database=url)
        client = first.client()
        user = await client.register("alice")
        token = client.session_token()
        assert token is not None
        await first.stop()
        second = await self._server(database=url)
        me = await second.client().get("/api/auth/me", headers=with_token(token))
        self.assertEqual(me.status, 200, me.raw)
        self.assertEqual(me.json["id"], user["id"])

    async def test_only_the_token_hash_is_stored(self) -> None:
        """The sessions table holds sha256(token) and never the token itself."""
        running = await self._server()
        client = running.client()
        await client.register("alice")
        token = client.session_token()
        assert token is not None
        rows = await session_rows(running)
        self.assertEqual(len(rows), 1)
        values = [str(value) for value in rows[0]]
        self.assertIn(token_hash(token), values)
        self.assertFalse([value for value in values if token in value])

    # Administrators.

    async def test_admin_role_is_granted_by_the_admin_option_and_lasts(self) -> None:
        """--admin makes a user admin at registration (any case) or at the next start; starting
        without the option leaves every role as it was."""
        url = database_url(self, self.engine)
        options = Options()
        options.parseOptions(["--admin", "Alice"])
        first = await self._server(database=url, admins=options["config"].admins)
        alice = first.client()
        self.assertIs((await alice.register("alice"))["is_admin"], True)
        bob = first.client()
        self.assertIs((await bob.register("bob"))["is_admin"], False)
        await first.stop()
        second = await self._server(database=url)
        alice_token, bob_token = alice.session_token(), bob.session_token()
        assert alice_token is not None and bob_token is not None
        me = await second.client().get("/api/auth/me", headers=with_token(alice_token))
        self.assertIs(me.json["is_admin"], True)
        await second.stop()
        third = await self._server(database=url, admins=frozenset({"bob"}))
        me = await third.client().get("/api/auth/me", headers=with_token(bob_token))
        self.assertIs(me.json["is_admin"], True)
        me = await third.client().get("/api/auth/me", headers=with_token(alice_token))
        self.assertIs(me.json["is_admin"], True)

    async def test_admin_names_are_case_insensitive(self) -> None:
        """An --admin name given in another case than the registered username still applies."""
        client = (await self._server(admins=frozenset({"Alice"}))).client()
        self.assertIs((await client.register("aLiCe"))["is_admin"], True)


class AccountsSqliteTests(SqliteEngine, AccountsTests, TestCase):
    pass


class AccountsPostgresTests(PostgresEngine, AccountsTests, TestCase):
    pass
