"""Mailed links end to end, on both engines: password reset (by the owner and by an
administrator) and email verification, with a real SMTP server on loopback."""

from __future__ import annotations

import time
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.trial.unittest import TestCase
from zope.interface import implementer

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
from trial_tests.support.smtp import MailBox, link_of, smtp_server
from trial_tests.support.wsclient import connect

PUBLIC_URL = "https://social.example.org"
NEW_PASSWORD = "battery staple"
RESET = "/api/auth/password-reset"
CONFIRM = "/api/auth/password-reset/confirm"


class AccountLinksTests(EngineTestMixin):
    """Resets and verification through the mail an SMTP server receives."""

    def assertError(self, response: Response, status: int, code: str) -> None:
        self.assertEqual(response.status, status, response.raw)
        self.assertEqual(response.json["error"], code, response.raw)

    async def _server(self, mail: MailBox | None, **overrides: Any) -> RunningServer:
        if mail is not None:
            overrides = {"smtp": mail.url, "mail_from": "hub@example.org", **overrides}
        return await start_server(self, self.engine, public_url=PUBLIC_URL, **overrides)

    async def _login(self, client: Client, password: str = PASSWORD) -> Response:
        return await client.post("/api/auth/login", {"username": "alice", "password": password})

    async def _reset_token(self, mail: MailBox, to: str = "alice@example.org") -> str:
        """The token of the next message, which must be a reset link mailed to `to`."""
        message = await mail.next()
        self.assertEqual(message["To"], to)
        self.assertEqual(message["X-Envelope-To"], to)
        self.assertEqual(message["From"], "hub@example.org")
        self.assertEqual(message["Subject"], "Reset your password")
        url, token = link_of(message)
        self.assertEqual(url, f"{PUBLIC_URL}/reset-password")
        return token

    async def test_reset_end_to_end(self) -> None:
        """202; the mailed link sets the password (204), revokes every session, closes their
        sockets with 4001, and works once."""
        mail = await smtp_server(self)
        running = await self._server(mail)
        alice = await seed_user(running, "alice")
        socket = await connect(running.url, alice.session_token())
        self.addCleanup(socket.close)
        asked = await running.client().post(RESET, {"email": "ALICE@example.org"})
        self.assertEqual(asked.status, 202, asked.raw)
        token = await self._reset_token(mail)
        confirm = {"token": token, "password": NEW_PASSWORD}
        done = await running.client().post(CONFIRM, confirm)
        self.assertEqual(done.status, 204, done.raw)
        self.assertEqual(await socket.closed, 4001)
        self.assertError(await alice.get("/api/auth/me"), 401, "unauthorized")
        self.assertError(await self._login(running.client()), 401, "unauthorized")
        self.assertEqual((await self._login(running.client(), NEW_PASSWORD)).status, 200)
        again = await running.client().post(CONFIRM, {**confirm, "password": "third password"})
        self.assertError(again, 400, "invalid_token")
        self.assertEqual((await self._login(running.client(), NEW_PASSWORD)).status, 200)

    async def test_a_reset_ends_older_links(self) -> None:
        """Of two reset links, using one makes the other unusable."""
        mail = await smtp_server(self)
        running = await self._server(mail)
        await seed_user(running, "alice")
        await running.client().post(RESET, {"email": "alice@example.org"})
        first = await self._reset_token(mail)
        await running.client().post(RESET, {"email": "alice@example.org"})
        second = await self._reset_token(mail)
        done = await running.client().post(CONFIRM, {"token": second, "password": NEW_PASSWORD})
        self.assertEqual(done.status, 204, done.raw)
        older = await running.client().post(CONFIRM, {"token": first, "password": PASSWORD})
        self.assertError(older, 400, "invalid_token")
        self.assertEqual(await table_rows(running, "account_tokens"), [])

    async def test_unknown_email_answers_alike(self) -> None:
        """An email nobody has is 202 too, and mails nothing."""
        mail = await smtp_server(self)
        running = await self._server(mail)
        await seed_user(running, "alice")
        client = running.client()
        self.assertEqual((await client.post(RESET, {"email": "nobody@example.org"})).status, 202)
        self.assertEqual((await client.post(RESET, {"email": "alice@example.org"})).status, 202)
        await self._reset_token(mail)
        self.assertEqual(len(await table_rows(running, "account_tokens")), 1)
        self.assertEqual(mail.pending(), 0)

    async def test_expired_reset_refused(self) -> None:
        """A reset link an hour old is refused and changes nothing."""
        mail = await smtp_server(self)
        running = await self._server(mail)
        alice = await seed_user(running, "alice")
        await running.client().post(RESET, {"email": "alice@example.org"})
        token = await self._reset_token(mail)
        (row,) = await table_rows(running, "account_tokens")
        self.assertLessEqual(row[4] - time.time(), 3600)  # expires_at
        past = int(time.time()) - 1
        await run_sql(running, "UPDATE account_tokens SET expires_at = ?", (past,))
        refused = await running.client().post(CONFIRM, {"token": token, "password": NEW_PASSWORD})
        self.assertError(refused, 400, "invalid_token")
        self.assertEqual((await alice.get("/api/auth/me")).status, 200)
        self.assertEqual((await self._login(running.client())).status, 200)

    async def test_bad_inputs(self) -> None:
        """Each bad body is 400 and writes nothing: the token still works afterwards."""
        mail = await smtp_server(self)
        running = await self._server(mail)
        alice = await seed_user(running, "alice")
        client = running.client()
        emails: list[dict[str, object]] = [{}, {"email": "not an email"}, {"email": 5}]
        for email in emails:
            self.assertError(await client.post(RESET, email), 400, "invalid_request")
        await client.post(RESET, {"email": "alice@example.org"})
        token = await self._reset_token(mail)
        for body in (
            {"token": token},
            {"token": token, "password": "short"},
            {"token": token, "password": 12345678},
            {"password": NEW_PASSWORD},
            {"token": "", "password": NEW_PASSWORD},
            {"token": 5, "password": NEW_PASSWORD},
        ):
            self.assertError(await client.post(CONFIRM, body), 400, "invalid_request")
        wrong = await client.post(CONFIRM, {"token": "nope", "password": NEW_PASSWORD})
        self.assertError(wrong, 400, "invalid_token")
        self.assertEqual((await alice.get("/api/auth/me")).status, 200)
        tokens: list[dict[str, object]] = [{}, {"token": 5}]
        for token_body in tokens:
            response = await client.post("/api/auth/verify-email", token_body)
            self.assertError(response, 400, "invalid_request")
        done = await client.post(CONFIRM, {"token": token, "password": NEW_PASSWORD})
        self.assertEqual(done.status, 204, done.raw)

    async def test_admin_reset_without_mail(self) -> None:
        """Without --smtp the administrator gets the link; the user's sessions are revoked and
        their sockets closed, and the link sets a password."""
        running = await self._server(None)
        admin = await seed_user(running, "root", is_admin=True)
        alice = await seed_user(running, "alice")
        user_id = (await alice.get("/api/auth/me")).json["id"]
        socket = await connect(running.url, alice.session_token())
        self.addCleanup(socket.close)
        response = await admin.post(f"/api/admin/users/{user_id}/password-reset")
        self.assertEqual(response.status, 200, response.raw)
        self.assertIs(response.json["mailed"], False)
        link = response.json["reset_url"]
        self.assertTrue(link.startswith(f"{PUBLIC_URL}/reset-password?token="), link)
        self.assertEqual(await socket.closed, 4001)
        self.assertError(await alice.get("/api/auth/me"), 401, "unauthorized")
        self.assertEqual((await admin.get("/api/auth/me")).status, 200)
        token = link.rpartition("=")[2]
        done = await running.client().post(CONFIRM, {"token": token, "password": NEW_PASSWORD})
        self.assertEqual(done.status, 204, done.raw)
        self.assertEqual((await self._login(running.client(), NEW_PASSWORD)).status, 200)
        await self._audited(admin, user_id, mailed=False)

    async def _audited(self, admin: Client, user_id: int, mailed: bool) -> None:
        """The audit log holds the reset alone, by the administrator."""
        admin_id = (await admin.get("/api/auth/me")).json["id"]
        (entry,) = (await admin.get("/api/admin/audit")).json
        self.assertEqual(
            (entry["actor_id"], entry["action"], entry["target_kind"], entry["target_id"]),
            (admin_id, "reset_password", "user", user_id),
        )
        self.assertEqual(entry["detail"], {"mailed": mailed})

    async def test_admin_reset_mails(self) -> None:
        """With --smtp the link is mailed to the user, not shown to the administrator."""
        mail = await smtp_server(self)
        running = await self._server(mail)
        admin = await seed_user(running, "root", is_admin=True)
        alice = await seed_user(running, "alice")
        user_id = (await alice.get("/api/auth/me")).json["id"]
        response = await admin.post(f"/api/admin/users/{user_id}/password-reset")
        self.assertEqual(response.json, {"mailed": True, "reset_url": None})
        token = await self._reset_token(mail)
        done = await running.client().post(CONFIRM, {"token": token, "password": NEW_PASSWORD})
        self.assertEqual(done.status, 204, done.raw)
        await self._audited(admin, user_id, mailed=True)

    async def test_admin_reset_refused(self) -> None:
        """Not an administrator: 403, nothing revoked; an unknown user: 404."""
        running = await self._server(None)
        admin = await seed_user(running, "root", is_admin=True)
        alice = await seed_user(running, "alice")
        admin_id = (await admin.get("/api/auth/me")).json["id"]
        refused = await alice.post(f"/api/admin/users/{admin_id}/password-reset")
        self.assertError(refused, 403, "forbidden")
        self.assertEqual((await admin.get("/api/auth/me")).status, 200)
        missing = await admin.post("/api/admin/users/999999/password-reset")
        self.assertError(missing, 404, "not_found")
        self.assertEqual(await table_rows(running, "account_tokens"), [])
        self.assertEqual(await table_rows(running, "audit_log"), [])

    async def test_verification(self) -> None:
        """With --require-email-verification: registering makes no session and mails a link;
        login is 403 email_not_verified until the link is followed, which works once."""
        mail = await smtp_server(self)
        running = await self._server(mail, require_email_verification=True)
        described = (await running.client().get("/api/auth/registration")).json
        self.assertIs(described["email_verification"], True)
        client = running.client()
        registered = await client.post("/api/auth/register", register_body("alice"))
        self.assertEqual(registered.status, 201, registered.raw)
        self.assertEqual(registered.json["username"], "alice")
        self.assertIsNone(client.session_token())
        message = await mail.next()
        self.assertEqual(message["To"], "alice@example.org")
        url, token = link_of(message)
        self.assertEqual(url, f"{PUBLIC_URL}/verify-email")
        self.assertError(await self._login(client), 403, "email_not_verified")
        self.assertError(await self._login(client, "wrong password"), 401, "unauthorized")
        verified = await client.post("/api/auth/verify-email", {"token": token})
        self.assertEqual(verified.status, 204, verified.raw)
        self.assertEqual((await self._login(client)).status, 200)
        again = await client.post("/api/auth/verify-email", {"token": token})
        self.assertError(again, 400, "invalid_token")

    async def test_reset_verifies(self) -> None:
        """A reset link, mailed to the address, verifies it too (for an expired verification)."""
        mail = await smtp_server(self)
        running = await self._server(mail, require_email_verification=True)
        await running.client().post("/api/auth/register", register_body("alice"))
        await mail.next()
        await running.client().post(RESET, {"email": "alice@example.org"})
        token = await self._reset_token(mail)
        await running.client().post(CONFIRM, {"token": token, "password": NEW_PASSWORD})
        self.assertEqual((await self._login(running.client(), NEW_PASSWORD)).status, 200)

    async def test_failed_send_logged(self) -> None:
        """A mail the SMTP server cannot take is logged with its recipient; the request
        answered anyway."""
        running = await self._server(None, smtp="smtp://127.0.0.1:1")
        await seed_user(running, "alice")
        logged: Deferred[LogEvent] = Deferred()

        @implementer(ILogObserver)
        def observe(event: LogEvent) -> None:
            if event.get("log_namespace") == "socialhub.mail" and not logged.called:
                logged.callback(event)

        globalLogPublisher.addObserver(observe)
        self.addCleanup(globalLogPublisher.removeObserver, observe)
        asked = await running.client().post(RESET, {"email": "alice@example.org"})
        self.assertEqual(asked.status, 202)
        event = await logged
        self.assertEqual(event["to"], "alice@example.org")
        self.assertIn("not sent", event["log_format"])


class AccountLinksSqliteTests(SqliteEngine, AccountLinksTests, TestCase):
    pass


class AccountLinksPostgresTests(PostgresEngine, AccountLinksTests, TestCase):
    pass
