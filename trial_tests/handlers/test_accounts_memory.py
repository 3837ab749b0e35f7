"""Registration, login, sessions and the login failure limit, on the memory clock."""

from __future__ import annotations

from socialhub.auth.login_limiter import MAX_FAILURES, WINDOW_SECONDS
from trial_tests.support.accounts import PASSWORD, register_body
from trial_tests.support.case import MemoryCase

DAY = 86400


class RegistrationTests(MemoryCase):
    async def test_invalid_fields_are_400_and_create_nothing(self) -> None:
        """Each invalid field is invalid_request, and no account exists afterwards."""
        await self.start()
        client = self.memory.client()
        for case in (
            register_body("ab"),
            register_body("al ice"),
            register_body("alice", email="alice.example.org"),
            register_body("alice", password="x" * 7),
            register_body("alice", display_name=""),
            {"username": "alice", "password": PASSWORD},
        ):
            response = await client.post("/api/auth/register", case)
            self.expect_error(response, 400, "invalid_request")
        self.expect_error(await self.login(client, username="alice"), 401, "unauthorized")

    async def test_duplicates_are_409_in_any_case(self) -> None:
        """A username or email taken in another case is a conflict."""
        await self.start("Alice")
        client = self.memory.client()
        for duplicate in (
            register_body("ALICE", email="other@example.org"),
            register_body("bob", email="ALICE@EXAMPLE.ORG"),
        ):
            self.expect_error(await client.post("/api/auth/register", duplicate), 409, "conflict")


class LoginTests(MemoryCase):
    async def test_wrong_password_and_unknown_user_look_the_same(self) -> None:
        """Both are 401 with the same body, and set no cookie."""
        await self.start("alice")
        client = self.memory.client()
        wrong = await self.login(client, "wrong password", username="alice")
        unknown = await self.login(client, "wrong password", username="nobody")
        self.expect_error(wrong, 401, "unauthorized")
        self.assertEqual((unknown.status, unknown.raw), (wrong.status, wrong.raw))
        self.assertIsNone(client.token)

    async def test_logout_revokes_only_that_session(self) -> None:
        (alice,) = await self.start("alice")
        other = self.memory.client()
        self.expect(await self.login(other, username="alice"), 200)
        self.expect(await alice.client.post("/api/auth/logout"), 204)
        self.assertIsNone(alice.client.token)
        self.expect(await other.get("/api/auth/me"), 200)

    async def test_a_socket_of_a_revoked_session_is_closed(self) -> None:
        """A password change closes the other sessions' sockets with 4001; its own stays."""
        (alice,) = await self.start("alice")
        other = self.memory.client()
        self.expect(await self.login(other, username="alice"), 200)
        own_socket = await self.socket(alice)
        other_socket = await self.memory.websocket(other.token)
        change = {"old_password": PASSWORD, "new_password": "battery staple"}
        self.expect(await alice.client.post("/api/auth/password", change), 204)
        self.memory.quiesce()
        self.assertEqual((other_socket.closed, other_socket.close_code), (True, 4001))
        self.assertFalse(own_socket.closed)


class SessionLifetimeTests(MemoryCase):
    async def test_an_unused_session_expires_after_the_ttl(self) -> None:
        """Valid until a day of disuse has passed, refused one second after."""
        (alice,) = await self.start("alice", session_ttl_days=1)
        self.memory.advance(DAY - 1)
        self.expect(await alice.client.get("/api/auth/me"), 200)
        self.memory.advance(DAY + 1)
        self.expect_error(await alice.client.get("/api/auth/me"), 401, "unauthorized")

    async def test_use_keeps_a_session_alive(self) -> None:
        """Used every 20 hours, a one-day session lives on for days."""
        (alice,) = await self.start("alice", session_ttl_days=1)
        for _ in range(4):
            self.memory.advance(20 * 3600)
            self.expect(await alice.client.get("/api/auth/me"), 200)


class LoginLimitTests(MemoryCase):
    async def fail_logins(self, times: int, username: str = "alice") -> None:
        client = self.memory.client()
        for _ in range(times):
            response = await self.login(client, "wrong", username=username)
            self.expect_error(response, 401, "unauthorized")

    async def test_the_limit_holds_for_its_window_then_lifts(self) -> None:
        """After MAX_FAILURES: 429 with Retry-After, even with the right password, until the
        first failure is WINDOW_SECONDS old; then the right password works again."""
        await self.start("alice", "bob")
        await self.fail_logins(MAX_FAILURES)
        limited = await self.login(self.memory.client(), username="alice")
        self.expect_error(limited, 429, "rate_limited")
        (retry_after,) = limited.headers.getRawHeaders(b"retry-after")
        self.assertEqual(int(retry_after), WINDOW_SECONDS)
        self.expect(await self.login(self.memory.client(), username="bob"), 200)
        self.memory.advance(WINDOW_SECONDS - 1)
        still = await self.login(self.memory.client(), username="alice")
        self.expect_error(still, 429, "rate_limited")
        self.assertEqual(still.headers.getRawHeaders(b"retry-after"), [b"1"])
        self.memory.advance(1)
        self.expect(await self.login(self.memory.client(), username="alice"), 200)

    async def test_one_failure_less_is_not_limited(self) -> None:
        await self.start("alice")
        await self.fail_logins(MAX_FAILURES - 1)
        self.expect(await self.login(self.memory.client(), username="alice"), 200)

    async def test_a_successful_login_resets_the_count(self) -> None:
        await self.start("alice")
        await self.fail_logins(MAX_FAILURES - 1)
        self.expect(await self.login(self.memory.client(), username="alice"), 200)
        await self.fail_logins(MAX_FAILURES - 1)
        self.expect(await self.login(self.memory.client(), username="alice"), 200)

    async def test_failures_age_out_one_by_one(self) -> None:
        """Failures spread over time leave the window one at a time: a failure made half a
        window later still counts when the first ones have expired."""
        await self.start("alice")
        await self.fail_logins(MAX_FAILURES - 1)
        self.memory.advance(WINDOW_SECONDS / 2)
        await self.fail_logins(1)
        limited = await self.login(self.memory.client(), username="alice")
        self.expect_error(limited, 429, "rate_limited")
        self.memory.advance(WINDOW_SECONDS / 2)
        await self.fail_logins(MAX_FAILURES - 1)
        self.expect_error(
            await self.login(self.memory.client(), username="alice"), 429, "rate_limited"
        )
