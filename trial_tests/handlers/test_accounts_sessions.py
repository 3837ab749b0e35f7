"""A user's sessions end to end, on both engines: listing them, revoking one of them."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import TestCase

from trial_tests.support.accounts import PASSWORD
from trial_tests.support.chat import ChatTestMixin, Person
from trial_tests.support.harness import Client, PostgresEngine, SqliteEngine
from trial_tests.support.wsclient import connect

FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
CHROMIUM = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chromium/120.0.6099.109 Chrome/120.0.6099.109 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
SESSION_KEYS = {"id", "created_at", "last_used_at", "client", "current"}


class SessionsTests(ChatTestMixin):
    async def sign_in(self, person: Person, user_agent: str | None) -> Client:
        """Another browser of `person`, logging in with this User-Agent (none when None)."""
        client = Client(self.running.url)
        headers = {} if user_agent is None else {"User-Agent": user_agent}
        body = {"username": person.username, "password": PASSWORD}
        response = await client.request("POST", "/api/auth/login", json=body, headers=headers)
        self.assertEqual(response.status, 200, response.raw)
        return client

    async def sessions(self, client: Client) -> list[dict[str, Any]]:
        response = await client.get("/api/auth/sessions")
        self.assertEqual(response.status, 200, response.raw)
        found: list[dict[str, Any]] = response.json
        return found

    async def test_list_newest_first_with_client_and_current(self) -> None:
        """Each session with its client's description, newest first, the caller's marked."""
        (alice,) = await self.start("alice")
        firefox = await self.sign_in(alice, FIREFOX)
        await self.sign_in(alice, CHROMIUM)
        await self.sign_in(alice, IPHONE)
        await self.sign_in(alice, "curl/8.5.0")
        listed = await self.sessions(firefox)
        for session in listed:
            self.assertEqual(set(session), SESSION_KEYS)
            self.assertRegex(session["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertEqual(session["last_used_at"], session["created_at"])
        self.assertEqual(
            [(s["client"], s["current"]) for s in listed],
            [
                ("curl", False),
                ("Safari on iOS", False),
                ("Chromium on Linux", False),
                ("Firefox on Linux", True),
                ("unknown client", False),  # the registration sent no User-Agent
            ],
        )
        ids = [s["id"] for s in listed]
        self.assertEqual(ids, sorted(ids, reverse=True))

    async def test_only_ones_own_sessions(self) -> None:
        """A user lists their own sessions only."""
        alice, bob = await self.start("alice", "bob")
        await self.sign_in(bob, FIREFOX)
        self.assertEqual(len(await self.sessions(alice.client)), 1)
        self.assertEqual(len(await self.sessions(bob.client)), 2)

    async def test_revoke_closes_exactly_that_sessions_socket(self) -> None:
        """Revoking a session ends its cookie and closes its sockets with 4001; the caller's
        own session and its socket stay."""
        (alice,) = await self.start("alice")
        other = await self.sign_in(alice, FIREFOX)
        other_token = other.session_token()
        doomed = await connect(self.running.url, other_token)
        self.addCleanup(doomed.close)
        kept = await self.open(alice)
        (doomed_session,) = [s for s in await self.sessions(other) if s["current"]]
        revoked = await alice.client.request("DELETE", f"/api/auth/sessions/{doomed_session['id']}")
        self.assertEqual(revoked.status, 204, revoked.raw)
        self.assertEqual(await doomed.closed, 4001)
        self.assertEqual((await other.get("/api/auth/me")).status, 401)
        (left,) = await self.sessions(alice.client)
        self.assertNotEqual(left["id"], doomed_session["id"])
        self.assertTrue(left["current"])
        kept.send({"type": "still-open?"})
        self.assertEqual((await kept.next_of("error"))["code"], "unknown_type")
        self.assertFalse(kept.closed.called)

    async def test_revoke_someone_elses_or_unknown_session_is_404(self) -> None:
        """Another user's session, an unknown id or a malformed one: 404, nothing revoked."""
        alice, bob = await self.start("alice", "bob")
        (bobs,) = await self.sessions(bob.client)
        for path in (str(bobs["id"]), "999999", "abc", "0"):
            response = await alice.client.request("DELETE", f"/api/auth/sessions/{path}")
            self.assertEqual(response.status, 404, (path, response.raw))
            self.assertEqual(response.json["error"], "not_found")
        self.assertEqual((await bob.client.get("/api/auth/me")).status, 200)

    async def test_sessions_need_a_session(self) -> None:
        await self.start()
        anonymous = Client(self.running.url)
        self.assertEqual((await anonymous.get("/api/auth/sessions")).status, 401)
        self.assertEqual((await anonymous.request("DELETE", "/api/auth/sessions/1")).status, 401)


class SessionsSqliteTests(SqliteEngine, SessionsTests, TestCase):
    pass


class SessionsPostgresTests(PostgresEngine, SessionsTests, TestCase):
    pass
