"""Profiles: reading, searching and editing users, end to end on both
storage engines."""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from socialhub.reactor import as_reactor
from socialhub.storage.database import Transaction
from socialhub.storage.engines import open_database
from socialhub.storage.migrations import migrate
from trial_tests.support.follows import (
    INVALID_IDS,
    OTHER_USER_KEYS,
    OWN_USER_KEYS,
    FollowTestMixin,
    ids,
)
from trial_tests.support.groups import RFC3339, Person
from trial_tests.support.harness import PostgresEngine, SqliteEngine, database_url, start_server


class UserTests(FollowTestMixin):
    async def named(self, username: str, display_name: str) -> Person:
        """Register `username` with a display name of its own."""
        client = self.running.client()
        body = {
            "username": username,
            "email": f"{username}@example.org",
            "password": "correct horse",
            "display_name": display_name,
        }
        user = self.expect(await client.post("/api/auth/register", body), 201)
        return Person(client, user["id"], username)

    async def search(self, viewer: Person, query: str) -> list[int]:
        """The ids GET /api/users?<query> answers `viewer`."""
        return ids(self.expect(await viewer.client.get("/api/users?" + query), 200))

    async def test_profile_of_someone_else(self) -> None:
        """Another viewer gets the contract's fields with follow_status and without email."""
        alice, bob = await self.start("alice", "bob")
        user = await self.user_seen_by(bob, alice)
        self.assertEqual(set(user), OTHER_USER_KEYS)
        self.assertEqual(user["id"], alice.id)
        self.assertEqual((user["username"], user["display_name"]), ("alice", "alice"))
        self.assertEqual(user["about"], "")
        self.assertEqual((user["is_private"], user["is_admin"]), (False, False))
        self.assertRegex(user["created_at"], RFC3339)
        self.assertEqual((user["followers_count"], user["following_count"]), (0, 0))
        self.assertEqual(user["follow_status"], "none")

    async def test_own_profile_has_email_and_no_follow_status(self) -> None:
        """The user themself gets `email` and no follow_status, in GET /api/users/{id} as in
        /api/auth/me."""
        (alice,) = await self.start("alice")
        user = await self.user_seen_by(alice, alice)
        self.assertEqual(set(user), OWN_USER_KEYS)
        self.assertEqual(user["email"], "alice@example.org")
        self.assertEqual(self.expect(await alice.client.get("/api/auth/me"), 200), user)

    async def test_unknown_or_invalid_user_ids_are_404(self) -> None:
        """A user that does not exist, or a path id that is not a valid id, is 404; so is
        GET /api/users/me, which is not a user id."""
        (alice,) = await self.start("alice")
        for user_id in (*INVALID_IDS, "me"):
            response = await alice.client.get(f"/api/users/{user_id}")
            self.expect_error(response, 404, "not_found")

    async def test_routes_need_a_session(self) -> None:
        """Without a session every user route answers 401, whatever the id."""
        (alice,) = await self.start("alice")
        anonymous = self.running.client()
        for method, path in (
            ("GET", "/api/users"),
            ("GET", f"/api/users/{alice.id}"),
            ("GET", "/api/users/999"),
            ("PATCH", "/api/users/me"),
            ("POST", f"/api/users/{alice.id}/follow"),
            ("DELETE", f"/api/users/{alice.id}/follow"),
            ("GET", f"/api/users/{alice.id}/followers"),
            ("GET", f"/api/users/{alice.id}/following"),
            ("GET", "/api/follow-requests"),
            ("POST", f"/api/follow-requests/{alice.id}/accept"),
            ("POST", f"/api/follow-requests/{alice.id}/decline"),
        ):
            response = await anonymous.request(method, path)
            self.expect_error(response, 401, "unauthorized")

    async def test_patch_only_on_me(self) -> None:
        """PATCH is for one's own profile: /api/users/{id} does not take it (405)."""
        (alice,) = await self.start("alice")
        response = await alice.client.request("PATCH", f"/api/users/{alice.id}", json={})
        self.expect_error(response, 405, "method_not_allowed")

    async def test_patch_changes_the_profile(self) -> None:
        """PATCH answers 200 with the changed user object, kept verbatim, as others then see it."""
        alice, bob = await self.start("alice", "bob")
        body = {"display_name": "  Alice <b>", "about": "line one\nline two\t", "is_private": True}
        user = self.expect(await self.patch_me(alice, body), 200)
        self.assertEqual(set(user), OWN_USER_KEYS)
        self.assertEqual({key: user[key] for key in body}, body)
        seen = await self.user_seen_by(bob, alice)
        self.assertEqual({key: seen[key] for key in body}, body)
        public = await self.make_private(alice, False)
        self.assertEqual(public["display_name"], "  Alice <b>")

    async def test_patch_ignores_unknown_fields_and_an_empty_body(self) -> None:
        """Unknown fields (email, is_admin, username...) are ignored; an empty object or no body
        at all changes nothing and answers 200 with the user."""
        (alice,) = await self.start("alice")
        before = await self.user_seen_by(alice, alice)
        for body in ({}, None, {"is_admin": True, "username": "mallory", "email": "m@x.org"}):
            self.assertEqual(self.expect(await self.patch_me(alice, body), 200), before)
        changed = self.expect(await self.patch_me(alice, {"about": "hi", "avatar": 1}), 200)
        self.assertEqual(changed, {**before, "about": "hi"})

    async def test_patch_refuses_invalid_fields(self) -> None:
        """Bad display names (empty, 65 characters, not a string, control characters), a too
        long about, and an is_private that is not a JSON boolean are 400; nothing is changed,
        not even the valid fields of the same body."""
        (alice,) = await self.start("alice")
        before = await self.user_seen_by(alice, alice)
        for body in (
            {"display_name": ""},
            {"display_name": "x" * 65},
            {"display_name": 5},
            {"display_name": None},
            {"display_name": "bad\x00name"},
            {"display_name": "bad\x1bname"},
            {"about": "a" * 2001},
            {"about": ["list"]},
            {"is_private": "true"},
            {"is_private": 1},
            {"is_private": None},
            {"about": "valid", "is_private": "false"},
        ):
            self.expect_error(await self.patch_me(alice, body), 400, "invalid_request")
        self.assertEqual(await self.user_seen_by(alice, alice), before)

    async def test_patch_counts_characters_not_bytes(self) -> None:
        """64 'é' is a valid display name and 2,000 emoji a valid about."""
        (alice,) = await self.start("alice")
        body = {"display_name": "é" * 64, "about": "\N{GRINNING FACE}" * 2000}
        user = self.expect(await self.patch_me(alice, body), 200)
        self.assertEqual(
            (user["display_name"], user["about"]), (body["display_name"], body["about"])
        )

    async def test_patch_body_must_be_json(self) -> None:
        """A body that is not JSON is 415; malformed JSON is 400."""
        (alice,) = await self.start("alice")
        plain = await alice.client.request(
            "PATCH", "/api/users/me", data=b"x", headers={"Content-Type": "text/plain"}
        )
        self.expect_error(plain, 415, "unsupported_media_type")
        broken = await alice.client.request(
            "PATCH", "/api/users/me", data=b"{", headers={"Content-Type": "application/json"}
        )
        self.expect_error(broken, 400, "invalid_request")

    async def test_search_matches_username_or_display_name_in_any_case(self) -> None:
        """`q` is a substring of the username or of the display name, whatever the case."""
        self.running = await start_server(self, self.engine)
        alice = await self.named("alice", "Wonderland Queen")
        bob = await self.named("bobby", "Builder")
        self.assertEqual(await self.search(alice, "q=LIC"), [alice.id])
        self.assertEqual(await self.search(alice, "q=queen"), [alice.id])
        self.assertEqual(await self.search(alice, "q=BoB"), [bob.id])
        self.assertEqual(await self.search(alice, "q=UILD"), [bob.id])
        self.assertEqual(await self.search(alice, "q=nobody"), [])
        self.assertEqual(await self.search(alice, "q="), [bob.id, alice.id])
        self.assertEqual(await self.search(alice, ""), [bob.id, alice.id])

    async def test_search_case_folds_all_of_unicode(self) -> None:
        """Display names are compared case-folded: STRASSE finds Straße (ß folds to ss), üb
        finds ÜBER, and a renamed user is found by the new name only."""
        self.running = await start_server(self, self.engine)
        strasse = await self.named("street", "Straße")
        uber = await self.named("above", "ÜBER")
        for query, expected in (
            ("STRASSE", [strasse.id]),
            ("stra%C3%9Fe", [strasse.id]),  # straße
            ("%C3%BCb", [uber.id]),  # üb
        ):
            self.assertEqual(await self.search(strasse, "q=" + query), expected, query)
        self.expect(await self.patch_me(uber, {"display_name": "ΣΟΦΊΑ"}), 200)
        self.assertEqual(await self.search(strasse, "q=%CF%83%CE%BF%CF%86"), [uber.id])  # σοφ
        self.assertEqual(await self.search(strasse, "q=%C3%BCb"), [])

    async def test_search_takes_wildcards_literally(self) -> None:
        """`%` and `_` in q match only themselves, and so does a backslash."""
        self.running = await start_server(self, self.engine)
        percent = await self.named("percent", "100% real")
        underscore = await self.named("under", "snake_case")
        backslash = await self.named("slash", "back\\slash")
        await self.named("plain", "Plain")
        self.assertEqual(await self.search(percent, "q=%25"), [percent.id])
        self.assertEqual(await self.search(percent, "q=_"), [underscore.id])
        self.assertEqual(await self.search(percent, "q=%5C"), [backslash.id])
        self.assertEqual(await self.search(percent, "q=0%25%20r"), [percent.id])
        self.assertEqual(await self.search(percent, "q=e_c"), [underscore.id])
        self.assertEqual(await self.search(percent, "q=k%5Cs"), [backslash.id])

    async def test_search_is_newest_first_and_paged(self) -> None:
        """Results are newest first, 20 by default, with limit and offset; limit=0 is []."""
        people = await self.start(*(f"user{n:02}" for n in range(22)))
        newest_first = [person.id for person in reversed(people)]
        viewer = people[0]
        self.assertEqual(await self.search(viewer, "q=user"), newest_first[:20])
        self.assertEqual(await self.search(viewer, "q=user&limit=5&offset=20"), newest_first[20:])
        self.assertEqual(await self.search(viewer, "limit=3&offset=1"), newest_first[1:4])
        self.assertEqual(await self.search(viewer, "limit=0"), [])
        self.assertEqual(await self.search(viewer, "limit=1000"), newest_first)

    async def test_search_refuses_bad_parameters(self) -> None:
        """A non-integer or negative limit or offset, or a q with a control character, is 400."""
        (alice,) = await self.start("alice")
        for query in ("limit=abc", "limit=-1", "offset=-1", "offset=1.5", "q=a%00b"):
            response = await alice.client.get("/api/users?" + query)
            self.expect_error(response, 400, "invalid_request")

    async def test_search_results_are_user_objects_for_the_viewer(self) -> None:
        """Each result has the viewer's follow_status, real counts, and email only for the
        viewer themself."""
        alice, bob = await self.start("alice", "bob")
        await self.follows(alice, bob)
        found = self.expect(await alice.client.get("/api/users"), 200)
        by_id = {user["id"]: user for user in found}
        self.assertEqual(set(by_id[alice.id]), OWN_USER_KEYS)
        self.assertEqual(set(by_id[bob.id]), OTHER_USER_KEYS)
        self.assertEqual(by_id[bob.id]["follow_status"], "following")
        self.assertEqual(by_id[bob.id]["followers_count"], 1)
        self.assertEqual(by_id[alice.id]["following_count"], 1)

    async def test_login_and_me_carry_the_real_counts(self) -> None:
        """/api/auth/me and the login answer count accepted follows only."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        await self.make_private(carol)
        await self.follows(bob, alice)
        await self.follows(alice, bob)
        await self.asks(alice, carol)
        me = self.expect(await alice.client.get("/api/auth/me"), 200)
        self.assertEqual((me["followers_count"], me["following_count"]), (1, 1))
        login = await self.running.client().post(
            "/api/auth/login", {"username": "alice", "password": "correct horse"}
        )
        self.assertEqual(self.expect(login, 200), me)

    async def test_display_names_from_before_the_migration_are_searchable(self) -> None:
        """Users stored before migration 0004 get a search key for their display name."""
        url = database_url(self, self.engine)
        database = open_database(as_reactor(reactor), url)
        await database.open()
        await migrate(database, up_to=3)

        async def insert(txn: Transaction) -> Any:
            return await txn.fetchone(
                "INSERT INTO users (username, username_key, email, email_key, password_hash,"
                " display_name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                ("old", "old", "old@example.org", "old@example.org", "x", "Old Timer", 0),
            )

        (old_id,) = await database.interaction("insert_old_user", insert)
        await database.close()
        self.running = await start_server(self, self.engine, database=url)
        newcomer = await self.named("newcomer", "New")
        self.assertEqual(await self.search(newcomer, "q=TIMER"), [old_id])


class UserSqliteTests(SqliteEngine, UserTests, TestCase):
    pass


class UserPostgresTests(PostgresEngine, UserTests, TestCase):
    pass
