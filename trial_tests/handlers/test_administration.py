"""The administration API on accounts, end to end on both engines: who may call it, listing and
creating accounts, deactivation, sessions, the administrator role, and the audit of each."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, gatherResults
from twisted.trial.unittest import TestCase

from trial_tests.support.accounts import PASSWORD
from trial_tests.support.administration import (
    ACCOUNT_KEYS,
    AUDIT_KEYS,
    AdministrationTestMixin,
)
from trial_tests.support.groups import RFC3339
from trial_tests.support.harness import (
    Client,
    PostgresEngine,
    SqliteEngine,
    database_url,
    start_server,
)

# Every administration route with a body it would accept: (method, path, body).
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/admin/users", None),
    ("POST", "/api/admin/users", {"username": "x1", "email": "x1@x.org", "password": PASSWORD}),
    ("POST", "/api/admin/users/{id}/deactivate", None),
    ("POST", "/api/admin/users/{id}/reactivate", None),
    ("POST", "/api/admin/users/{id}/sessions/revoke", None),
    ("POST", "/api/admin/users/{id}/admin", None),
    ("DELETE", "/api/admin/users/{id}/admin", None),
    ("DELETE", "/api/admin/posts/{post}", None),
    ("DELETE", "/api/admin/comments/{comment}", None),
    ("DELETE", "/api/admin/messages/{message}", None),
    ("DELETE", "/api/admin/groups/{group}", None),
    ("GET", "/api/admin/reports", None),
    ("POST", "/api/admin/reports/{report}/resolve", {"note": "done"}),
    ("GET", "/api/admin/audit", None),
    ("DELETE", "/api/admin/users/{id}", None),
    ("POST", "/api/admin/users/{id}/password-reset", None),
    ("POST", "/api/admin/registration-tokens", {"uses_allowed": 1}),
    ("GET", "/api/admin/registration-tokens", None),
    ("DELETE", "/api/admin/registration-tokens/1", None),
]


class AdministrationTests(AdministrationTestMixin):
    async def login(self, username: str, password: str = PASSWORD) -> Any:
        return await self.running.client().post(
            "/api/auth/login", {"username": username, "password": password}
        )

    async def test_only_administrators_reach_the_routes(self) -> None:
        """Every /api/admin route: 401 without a session, 403 for a user who is not an
        administrator (before the body is read), and nothing done or recorded either way."""
        _, alice, bob = await self.start("alice", "bob")
        post = await self.post(bob)
        comment = self.expect(await self.try_comment(bob, post["id"]), 201)
        group = await self.create_group(bob)
        message = await self.message(bob, alice)
        report = await bob.client.post(
            "/api/reports", {"kind": "user", "id": alice.id, "reason": "spam"}
        )
        ids = {
            "id": bob.id,
            "post": post["id"],
            "comment": comment["id"],
            "message": message,
            "group": group["id"],
            "report": self.expect(report, 201)["id"],
        }
        anonymous = self.running.client()
        for method, path, body in ROUTES:
            url = path.format(**ids)
            self.expect_error(await anonymous.request(method, url, json=body), 401, "unauthorized")
            self.expect_error(await alice.client.request(method, url, json=body), 403, "forbidden")
            not_json = await alice.client.request(method, url, data=b"{")
            self.expect_error(not_json, 403, "forbidden")
        self.assertEqual(await self.audit_count(), 0)
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM users"), 3)
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM posts"), 1)
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM comments"), 1)
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM groups"), 1)
        deleted = "SELECT COUNT(*) FROM messages WHERE deleted_at IS NOT NULL"
        self.assertEqual(await self.count_rows(deleted), 0)
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM sessions"), 3)
        self.assertEqual((await self.user_seen_by(alice, bob))["is_admin"], False)

    # Listing and creating accounts.

    async def test_list_and_search_accounts(self) -> None:
        """Newest first, with status, role, creation and last use of a session; `q` matches
        username, display name or email in any case; limit and offset page."""
        root, _, bob = await self.start("alice", "bob")
        self.expect(await self.patch_me(bob, {"display_name": "Robert Smith"}), 200)
        listed = self.expect(await self.admin(root, "GET", "/users"), 200)
        self.assertEqual([user["username"] for user in listed], ["bob", "alice", "root"])
        first = listed[0]
        self.assertEqual(set(first), ACCOUNT_KEYS)
        self.assertEqual((first["status"], first["is_admin"]), ("active", False))
        self.assertEqual(first["email"], "bob@example.org")
        self.assertRegex(first["created_at"], RFC3339)
        self.assertRegex(first["last_seen"], RFC3339)
        self.assertIs(listed[2]["is_admin"], True)
        for query, expected in [("SMITH", ["bob"]), ("alice@EXAMPLE", ["alice"]), ("zz", [])]:
            found = self.expect(await self.admin(root, "GET", f"/users?q={query}"), 200)
            self.assertEqual([user["username"] for user in found], expected, query)
        paged = self.expect(await self.admin(root, "GET", "/users?limit=1&offset=1"), 200)
        self.assertEqual([user["username"] for user in paged], ["alice"])
        for bad in ("limit=x", "offset=-1"):
            self.expect_error(
                await self.admin(root, "GET", f"/users?{bad}"), 400, "invalid_request"
            )

    async def test_create_an_account(self) -> None:
        """201 with the account; its owner logs in with the password; is_admin is honoured;
        a taken username is 409 and a bad field 400, with nothing written or recorded."""
        (root,) = await self.start()
        body = {"username": "carol", "email": "carol@example.org", "password": PASSWORD}
        created = self.expect(await self.admin(root, "POST", "/users", body), 201)
        self.assertEqual(set(created), ACCOUNT_KEYS)
        self.assertEqual((created["username"], created["status"]), ("carol", "active"))
        self.assertEqual((created["is_admin"], created["last_seen"]), (False, None))
        self.expect(await self.login("carol"), 200)
        admin_body = {**body, "username": "dave", "email": "dave@example.org", "is_admin": True}
        dave = self.expect(await self.admin(root, "POST", "/users", admin_body), 201)
        self.assertIs(dave["is_admin"], True)
        entries = await self.audit(root)
        self.assertEqual([entry["action"] for entry in entries], ["create_user", "create_user"])
        self.assertEqual([entry["target_id"] for entry in entries], [dave["id"], created["id"]])
        self.assertEqual(entries[0]["detail"], {"username": "dave", "is_admin": True})
        self.assertEqual(entries[0]["actor_id"], root.id)
        users = await self.count_rows("SELECT COUNT(*) FROM users")
        taken = await self.admin(root, "POST", "/users", {**body, "email": "new@example.org"})
        self.expect_error(taken, 409, "conflict")
        for bad in (
            {**body, "username": "x"},
            {**body, "username": "erin", "email": "nope"},
            {**body, "username": "erin", "password": "short"},
            {**body, "username": "erin", "is_admin": "yes"},
            {"email": "erin@example.org", "password": PASSWORD},
        ):
            response = await self.admin(root, "POST", "/users", bad)
            self.expect_error(response, 400, "invalid_request")
        self.assertEqual(await self.count_rows("SELECT COUNT(*) FROM users"), users)
        self.assertEqual(await self.audit_count(), 2)

    # Deactivation.

    async def test_deactivation_closes_sessions_and_hides_the_account(self) -> None:
        """The user's sockets close with 4001, their cookie no longer authenticates, login is
        403 account_disabled, their profile and posts are 404 to others (not to root), and
        reactivation restores all of it but the revoked sessions."""
        root, alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.follows(alice, bob)
        post = await self.post(bob, "visible")
        self.assertEqual(await self.feed(alice), [post["id"]])
        socket = await self.socket_of(bob)
        self.expect(await self.admin(root, "POST", f"/users/{bob.id}/deactivate"), 204)
        self.assertEqual(await socket.closed, 4001)
        self.expect_error(await bob.client.get("/api/auth/me"), 401, "unauthorized")
        self.expect_error(await self.login("bob"), 403, "account_disabled")
        self.expect_error(await self.login("bob", "wrong password"), 401, "unauthorized")
        for path in (f"/api/users/{bob.id}", f"/api/users/{bob.id}/posts"):
            self.expect_error(await alice.client.get(path), 404, "not_found")
            self.expect(await root.client.get(path), 200)
        self.expect_error(await self.get_post(alice, post["id"]), 404, "not_found")
        self.assertEqual(await self.feed(alice), [])
        found = self.expect(await alice.client.get("/api/users?q=bob"), 200)
        self.assertEqual(found, [])
        listed = self.expect(await self.admin(root, "GET", "/users?q=bob"), 200)
        self.assertEqual(listed[0]["status"], "deactivated")
        # Nor can anyone write to the hidden account, which would tell it exists.
        self.expect_error(await carol.client.post(f"/api/users/{bob.id}/follow"), 404, "not_found")
        ws = await self.socket_of(alice)
        ws.send({"type": "private", "to": bob.id, "content": "there?", "id": "p"})
        self.assertEqual((await ws.next_of("error"))["code"], "not_found")
        self.expect(await self.admin(root, "POST", f"/users/{bob.id}/reactivate"), 204)
        self.expect_error(await bob.client.get("/api/auth/me"), 401, "unauthorized")
        self.expect(await self.login("bob"), 200)
        self.expect(await alice.client.get(f"/api/users/{bob.id}"), 200)
        self.assertEqual((await self.seen(alice, post["id"]))["content"], "visible")
        actions = [(e["action"], e["target_id"]) for e in await self.audit(root)]
        self.assertEqual(actions, [("reactivate_user", bob.id), ("deactivate_user", bob.id)])

    async def test_unknown_accounts_and_bad_ids(self) -> None:
        """An unknown or malformed user id is 404 for every action on an account; nothing is
        recorded."""
        (root,) = await self.start()
        for action in ("deactivate", "reactivate", "sessions/revoke", "admin"):
            for user_id in ("999", "abc", "0"):
                response = await self.admin(root, "POST", f"/users/{user_id}/{action}")
                self.expect_error(response, 404, "not_found")
        self.expect_error(await self.admin(root, "DELETE", "/users/999/admin"), 404, "not_found")
        self.assertEqual(await self.audit_count(), 0)

    async def test_revoke_sessions(self) -> None:
        """Every session of the user goes and its sockets close with 4001; the account stays
        active: its owner logs in again."""
        root, alice = await self.start("alice")
        second = Client(self.running.url)
        self.expect(
            await second.post("/api/auth/login", {"username": "alice", "password": PASSWORD}), 200
        )
        socket = await self.socket_of(alice)
        self.expect(await self.admin(root, "POST", f"/users/{alice.id}/sessions/revoke"), 204)
        self.assertEqual(await socket.closed, 4001)
        for client in (alice.client, second):
            self.expect_error(await client.get("/api/auth/me"), 401, "unauthorized")
        self.expect(await self.login("alice"), 200)
        (entry,) = await self.audit(root)
        self.assertEqual((entry["action"], entry["target_kind"]), ("revoke_sessions", "user"))

    # The administrator role.

    async def test_grant_and_revoke_the_role(self) -> None:
        """A granted administrator reaches the API; a revoked one is 403 again; the last active
        administrator can be neither revoked nor deactivated (409, nothing recorded)."""
        root, alice = await self.start("alice")
        self.expect(await self.admin(root, "POST", f"/users/{alice.id}/admin"), 204)
        self.expect(await self.admin(alice, "GET", "/users"), 200)
        self.expect(await self.admin(alice, "DELETE", f"/users/{root.id}/admin"), 204)
        self.expect_error(await self.admin(root, "GET", "/users"), 403, "forbidden")
        self.expect_error(
            await self.admin(alice, "DELETE", f"/users/{alice.id}/admin"), 409, "conflict"
        )
        self.expect_error(
            await self.admin(alice, "POST", f"/users/{alice.id}/deactivate"), 409, "conflict"
        )
        self.assertIs((await self.user_seen_by(alice, alice))["is_admin"], True)
        entries = await self.audit(alice)
        self.assertEqual(set(entries[0]), AUDIT_KEYS)
        actions = [(e["action"], e["actor_id"], e["target_id"]) for e in entries]
        expected = [("revoke_admin", alice.id, root.id), ("grant_admin", root.id, alice.id)]
        self.assertEqual(actions, expected)

    async def test_a_revoked_role_ends_on_open_sockets_too(self) -> None:
        """An administrator's socket opened before the role was revoked can no longer
        broadcast: the role is read when the frame arrives, not when the socket opened."""
        root, alice = await self.start("alice")
        self.expect(await self.admin(root, "POST", f"/users/{alice.id}/admin"), 204)
        socket = await self.socket_of(alice)
        socket.send({"type": "broadcast", "content": "while an administrator", "id": "1"})
        self.assertEqual((await socket.next_of("ack"))["id"], "1")
        self.expect(await self.admin(root, "DELETE", f"/users/{alice.id}/admin"), 204)
        socket.send({"type": "broadcast", "content": "after", "id": "2"})
        refused = await socket.next_of("error")
        self.assertEqual((refused["id"], refused["code"]), ("2", "forbidden"))

    async def test_the_last_administrator_is_not_deleted(self) -> None:
        """Neither the admin route nor the account's own deletion removes the last active
        administrator (409, nothing deleted); with another one, the route deletes it and the
        audit log says who did."""
        root, alice = await self.start("alice")
        self.expect_error(await self.admin(root, "DELETE", f"/users/{root.id}"), 409, "conflict")
        own = await root.client.request("DELETE", "/api/users/me", json={"password": PASSWORD})
        self.expect_error(own, 409, "conflict")
        self.expect(await self.admin(root, "POST", f"/users/{alice.id}/admin"), 204)
        self.expect(await self.admin(alice, "DELETE", f"/users/{root.id}"), 204)
        (entry, *_) = await self.audit(alice)
        self.assertEqual(
            (entry["action"], entry["actor_id"], entry["target_id"]),
            ("delete_user", alice.id, root.id),
        )

    async def test_a_listed_name_freed_by_a_deletion_grants_nothing(self) -> None:
        """--admin names the first administrator at registration; once the server has an
        active administrator, registering a listed name (here root's, after root's account
        was deleted) grants nothing."""
        root, alice = await self.start("alice")
        self.assertIs((await self.user_seen_by(root, root))["is_admin"], True)
        self.expect(await self.admin(root, "POST", f"/users/{alice.id}/admin"), 204)
        self.expect(await self.admin(alice, "DELETE", f"/users/{root.id}"), 204)
        again = await Client(self.running.url).register("ROOT")
        self.assertIs(again["is_admin"], False)

    async def test_two_administrators_revoking_each_other_at_once(self) -> None:
        """Sent together, one revocation applies and the other is refused: its target is the
        last active administrator (409), or its sender is no administrator any more by the
        time it is authenticated (403). The server never ends up without one."""
        root, alice = await self.start("alice")
        self.expect(await self.admin(root, "POST", f"/users/{alice.id}/admin"), 204)
        revocations = [
            Deferred.fromCoroutine(self.admin(root, "DELETE", f"/users/{alice.id}/admin")),
            Deferred.fromCoroutine(self.admin(alice, "DELETE", f"/users/{root.id}/admin")),
        ]
        answers = await gatherResults(revocations)
        self.assertIn(sorted(answer.status for answer in answers), ([204, 403], [204, 409]))
        admins = "SELECT COUNT(*) FROM users WHERE is_admin"
        self.assertEqual(await self.count_rows(admins), 1)

    async def test_the_role_survives_a_restart_without_the_option(self) -> None:
        """A role granted through the API, and one given by --admin, stay when the server
        starts again without --admin; a role revoked through the API stays revoked when the
        server starts again with --admin for someone else."""
        url = database_url(self, self.engine)
        self.running = await start_server(self, self.engine, url, admins=frozenset({"root"}))
        root, alice = Client(self.running.url), Client(self.running.url)
        root_id = (await root.register("root"))["id"]
        alice_id = (await alice.register("alice"))["id"]
        granted = await root.request("POST", f"/api/admin/users/{alice_id}/admin")
        self.assertEqual(granted.status, 204, granted.raw)
        await self.running.stop()
        self.running = await start_server(self, self.engine, url)
        for client in (root, alice):
            again = client.on(self.running.url)
            self.assertIs((await again.get("/api/auth/me")).json["is_admin"], True)
        revoked = await alice.on(self.running.url).request(
            "DELETE", f"/api/admin/users/{root_id}/admin"
        )
        self.assertEqual(revoked.status, 204, revoked.raw)
        await self.running.stop()
        self.running = await start_server(self, self.engine, url, admins=frozenset({"alice"}))
        me = await root.on(self.running.url).get("/api/auth/me")
        self.assertIs(me.json["is_admin"], False)

    async def test_audit_pages_newest_first(self) -> None:
        """`before` takes the entries older than an entry id; `limit` caps the page; a bad
        `before` is 400."""
        root, alice, bob = await self.start("alice", "bob")
        for person in (alice, bob, alice):
            path = f"/users/{person.id}/sessions/revoke"
            self.expect(await self.admin(root, "POST", path), 204)
        entries = await self.audit(root)
        self.assertEqual([e["target_id"] for e in entries], [alice.id, bob.id, alice.id])
        self.assertEqual(
            [e["id"] for e in entries], sorted((e["id"] for e in entries), reverse=True)
        )
        older = await self.audit(root, f"?before={entries[0]['id']}&limit=1")
        self.assertEqual([e["id"] for e in older], [entries[1]["id"]])
        self.assertRegex(older[0]["created_at"], RFC3339)
        for bad in ("before=x", "before=0", "limit=-1"):
            self.expect_error(
                await self.admin(root, "GET", f"/audit?{bad}"), 400, "invalid_request"
            )


class AdministrationSqliteTests(SqliteEngine, AdministrationTests, TestCase):
    pass


class AdministrationPostgresTests(PostgresEngine, AdministrationTests, TestCase):
    pass
