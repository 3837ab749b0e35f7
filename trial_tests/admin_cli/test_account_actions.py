"""socialhub-admin's actions on accounts, each run as a process on the database of a running
server: the server closes the sockets of the sessions the tool revoked within its check's
interval (the tool has no bus), and the audit log shows each action as the operator's."""

from __future__ import annotations

import json
import os
import stat
from typing import Any

from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from trial_tests.support.accounts import PASSWORD
from trial_tests.support.admin_cli import Finished, run_admin
from trial_tests.support.administration import AdministrationTestMixin
from trial_tests.support.groups import Person
from trial_tests.support.harness import PostgresEngine, SqliteEngine
from trial_tests.support.smtp import link_of, smtp_server
from trial_tests.support.wsclient import WsClient

# The server's check of its sockets' sessions, lowered from 5 s so that a test is quick.
CHECK_INTERVAL = 0.2
# The most the server may take to close a revoked session's socket: the brief's promise.
NOTICED_WITHIN = 10.0
PUBLIC_URL = "https://social.example.org"
NEW_PASSWORD = "battery staple"


class AccountActionsTests(AdministrationTestMixin):
    timeout = 300  # each command is a process of its own: ~1 s of CPU, more on a busy machine

    async def start(self, *names: str, **overrides: Any) -> list[Person]:
        overrides.setdefault("session_check_interval", CHECK_INTERVAL)
        return await super().start(*names, public_url=PUBLIC_URL, **overrides)

    async def tool(self, *arguments: str, **options: Any) -> Finished:
        """The command with the running server's database, media directory and public URL."""
        config = self.running.server.config
        media = os.path.abspath(config.media_dir)  # the command runs in another directory
        server = ("--database", config.database, "--media-dir", media, "--public-url", PUBLIC_URL)
        return await run_admin(*server, *arguments, **options)

    async def done(self, *arguments: str, **options: Any) -> str:
        """The standard output of a command that must succeed."""
        finished = await self.tool(*arguments, **options)
        self.assertEqual((finished.code, finished.err), (0, ""), finished)
        return finished.out

    def assert_failed(self, finished: Finished, message: str) -> None:
        """Exit status 1 with one line on standard error that says why, nothing on stdout."""
        self.assertEqual((finished.code, finished.out), (1, ""), finished)
        self.assertEqual(finished.err.count("\n"), 1, finished.err)
        self.assertIn(message, finished.err)

    async def revoked(self, socket: WsClient) -> None:
        """The socket closes with 4001 within the promised time."""
        closed = socket.closed.addTimeout(NOTICED_WITHIN, reactor)
        self.assertEqual(await closed, 4001)

    async def login(self, person: Person, password: str = PASSWORD) -> Any:
        return await self.running.client().post(
            "/api/auth/login", {"username": person.username, "password": password}
        )

    async def operator_did(self, root: Person, *expected: tuple[str, int]) -> list[Any]:
        """The audit log, newest first, is these (action, target id) by the operator."""
        entries = await self.audit(root)
        recorded = [(entry["actor_id"], entry["action"], entry["target_id"]) for entry in entries]
        self.assertEqual(recorded, [(None, *entry) for entry in expected])
        return entries

    async def test_deactivate_and_reactivate(self) -> None:
        """deactivate: the running server closes the user's socket (4001) and refuses their
        login; reactivate lets them log in again. Both are in the audit log."""
        root, alice, bob = await self.start("alice", "bob")
        alice_socket, bob_socket = await self.socket_of(alice), await self.socket_of(bob)
        out = await self.done("deactivate", "Alice")
        self.assertEqual(out, "alice is deactivated; their sessions are revoked\n")
        await self.revoked(alice_socket)
        self.expect_error(await self.login(alice), 403, "account_disabled")
        self.assertEqual(await self.done("reactivate", "alice"), "alice is active\n")
        self.expect(await self.login(alice), 200)
        await self.operator_did(root, ("reactivate_user", alice.id), ("deactivate_user", alice.id))
        self.assertFalse(bob_socket.closed.called)

    async def test_reset_password_prints_a_link(self) -> None:
        """Without --smtp the link is printed; the user's socket closes and the link sets the
        password once."""
        root, alice = await self.start("alice")
        socket = await self.socket_of(alice)
        out = await self.done("reset-password", "alice")
        head, link = out.splitlines()
        self.assertEqual(head, "alice's sessions are revoked")
        prefix = f"reset link (valid for an hour, once): {PUBLIC_URL}/reset-password?token="
        self.assertTrue(link.startswith(prefix), link)
        await self.revoked(socket)
        confirm = {"token": link.removeprefix(prefix), "password": NEW_PASSWORD}
        client = self.running.client()
        self.expect(await client.post("/api/auth/password-reset/confirm", confirm), 204)
        self.expect(await self.login(alice, NEW_PASSWORD), 200)
        (entry,) = await self.operator_did(root, ("reset_password", alice.id))
        self.assertEqual(entry["detail"], {"mailed": False})

    async def test_reset_password_mails_with_smtp(self) -> None:
        """With the server's --smtp (here from its environment) the link is mailed: the
        command waits for the send, and says so."""
        mail = await smtp_server(self)
        root, alice = await self.start("alice")
        out = await self.done("reset-password", "alice", environment={"SOCIALHUB_SMTP": mail.url})
        self.assertEqual(
            out, "alice's sessions are revoked\na reset link was mailed to alice@example.org\n"
        )
        self.assertEqual(mail.pending(), 1)  # sent before the command ended
        message = await mail.next()
        self.assertEqual(message["To"], "alice@example.org")
        self.assertEqual(link_of(message)[0], f"{PUBLIC_URL}/reset-password")
        (entry,) = await self.operator_did(root, ("reset_password", alice.id))
        self.assertEqual(entry["detail"], {"mailed": True})

    async def test_export_is_the_users_own_document(self) -> None:
        """export writes what GET /api/users/me/export gives the user: on standard output, or
        in a new file only its owner can read; an existing file is not overwritten."""
        _, alice = await self.start("alice")
        await self.post(alice, "my post")
        own = self.expect(await alice.client.get("/api/users/me/export"), 200)
        printed = json.loads(await self.done("export", "alice"))
        self.assertEqual(printed, own)
        self.assertEqual(printed["posts"][0]["content"], "my post")
        path = os.path.abspath(self.mktemp())
        out = await self.done("export", "ALICE", "--output", path)
        self.assertEqual(out, f"alice's data written to {path}\n")
        with open(path, "rb") as file:
            self.assertEqual(json.loads(file.read()), own)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        again = await self.tool("export", "alice", "--output", path)
        self.assert_failed(again, f"cannot create {path}: File exists")

    async def test_delete_user(self) -> None:
        """delete-user refuses without --yes; with it the account and its data go, the running
        server closes the user's socket, and the deletion is in the audit log."""
        root, alice = await self.start("alice")
        await self.post(alice, "my post")
        socket = await self.socket_of(alice)
        refused = await self.tool("delete-user", "alice")
        self.assert_failed(refused, "deleting alice cannot be undone: add --yes to confirm")
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM posts"), 1)
        out = await self.done("delete-user", "alice", "--yes")
        self.assertEqual(out, f"alice (id {alice.id}) and their data are deleted\n")
        await self.revoked(socket)
        self.expect_error(await self.login(alice), 401, "unauthorized")
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM posts"), 0)
        await self.operator_did(root, ("delete_user", alice.id))

    async def test_refusals_change_nothing(self) -> None:
        """An unknown user, or the last administrator's deactivation: exit 1, one line, and
        nothing done or recorded."""
        root, alice = await self.start("alice")
        socket = await self.socket_of(alice)
        for command in ("deactivate", "reactivate", "reset-password", "export"):
            self.assert_failed(await self.tool(command, "nobody"), "no user is named 'nobody'")
        unknown = await self.tool("delete-user", "nobody", "--yes")
        self.assert_failed(unknown, "no user is named 'nobody'")
        last = await self.tool("deactivate", "root")
        self.assert_failed(last, "the last active administrator must stay one")
        self.assertEqual(await self.audit_count(), 0)
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM account_tokens"), 0)
        self.expect(await self.login(root), 200)
        self.assertFalse(socket.closed.called)


class AccountActionsSqliteTests(SqliteEngine, AccountActionsTests, TestCase):
    pass


class AccountActionsPostgresTests(PostgresEngine, AccountActionsTests, TestCase):
    pass
