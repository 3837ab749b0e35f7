"""Groups (events aside), end to end on both storage engines."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from socialhub.errors import Forbidden, NotFound
from trial_tests.support.groups import RFC3339, SocialTestMixin
from trial_tests.support.harness import PostgresEngine, SqliteEngine

USER_SUMMARY_KEYS = {"id", "username", "display_name", "avatar_url"}
GROUP_KEYS = {"id", "name", "description", "owner_id", "member_count", "created_at", "membership"}


class GroupTests(SocialTestMixin):
    async def test_create_makes_the_creator_owner_and_first_member(self) -> None:
        """POST /api/groups answers 201 with the group; its creator owns it and is its member."""
        (alice,) = await self.start("alice")
        group = await self.create_group(alice, "Developers", description="We write code")
        self.assertEqual(set(group), GROUP_KEYS)
        self.assertEqual(group["name"], "Developers")
        self.assertEqual(group["description"], "We write code")
        self.assertEqual(group["owner_id"], alice.id)
        self.assertEqual(group["member_count"], 1)
        self.assertEqual(group["membership"], "owner")
        self.assertRegex(group["created_at"], RFC3339)
        fetched = self.expect(await alice.client.get(f"/api/groups/{group['id']}"), 200)
        self.assertEqual(fetched, group)

    async def test_create_keeps_text_verbatim_and_defaults_the_description(self) -> None:
        """Names are stored untrimmed; a missing or null description is the empty string."""
        (alice,) = await self.start("alice")
        group = await self.create_group(alice, "  spaced <b>name</b> ")
        self.assertEqual(group["name"], "  spaced <b>name</b> ")
        self.assertEqual(group["description"], "")
        other = await self.create_group(alice, "x" * 100, description=None)
        self.assertEqual(other["description"], "")

    async def test_create_refuses_invalid_fields(self) -> None:
        """A missing, empty, too long, non-string or control-character name is 400, and so is a
        description over 2,000 characters."""
        (alice,) = await self.start("alice")
        for body in (
            {},
            {"name": ""},
            {"name": "x" * 101},
            {"name": 5},
            {"name": "bad\x00name"},
            {"name": "ok", "description": "d" * 2001},
            {"name": "ok", "description": 7},
        ):
            response = await alice.client.post("/api/groups", body)
            self.expect_error(response, 400, "invalid_request")

    async def test_every_route_needs_a_session(self) -> None:
        """Without a session cookie every group route answers 401."""
        (alice,) = await self.start("alice")
        group = await self.create_group(alice)
        anonymous = self.running.client()
        gid = group["id"]
        for method, path in (
            ("GET", "/api/groups"),
            ("POST", "/api/groups"),
            ("POST", "/api/groups/invite"),
            ("GET", f"/api/groups/{gid}"),
            ("PATCH", f"/api/groups/{gid}"),
            ("DELETE", f"/api/groups/{gid}"),
            ("GET", f"/api/groups/{gid}/members"),
            ("DELETE", f"/api/groups/{gid}/members/{alice.id}"),
            ("POST", f"/api/groups/{gid}/join"),
            ("POST", f"/api/groups/{gid}/leave"),
            ("GET", f"/api/groups/{gid}/requests"),
            ("POST", f"/api/groups/{gid}/requests/{alice.id}/accept"),
            ("POST", f"/api/groups/{gid}/requests/{alice.id}/decline"),
            ("POST", f"/api/groups/{gid}/invitation/accept"),
            ("POST", f"/api/groups/{gid}/invitation/decline"),
        ):
            response = await anonymous.request(method, path)
            self.expect_error(response, 401, "unauthorized")

    async def test_unknown_or_invalid_group_ids_are_404(self) -> None:
        """A group that does not exist, or a path id that is not a valid id, is 404 everywhere."""
        (alice,) = await self.start("alice")
        await self.create_group(alice)
        for gid in ("999", "abc", "0", "-1", "1.5", "99999999999999999999", "9223372036854775808"):
            for method, path in (
                ("GET", f"/api/groups/{gid}"),
                ("PATCH", f"/api/groups/{gid}"),
                ("DELETE", f"/api/groups/{gid}"),
                ("GET", f"/api/groups/{gid}/members"),
                ("POST", f"/api/groups/{gid}/join"),
                ("POST", f"/api/groups/{gid}/leave"),
                ("GET", f"/api/groups/{gid}/requests"),
                ("POST", f"/api/groups/{gid}/requests/{alice.id}/accept"),
                ("POST", f"/api/groups/{gid}/invitation/accept"),
                ("POST", f"/api/groups/{gid}/invitation/decline"),
            ):
                response = await alice.client.request(method, path)
                self.expect_error(response, 404, "not_found")

    async def test_membership_is_the_viewers(self) -> None:
        """The group object's membership says owner, member, invited, requested or null."""
        alice, bob, carol, dave, erin = await self.start("alice", "bob", "carol", "dave", "erin")
        gid = (await self.create_group(alice))["id"]
        await self.add_member(alice, gid, bob)
        self.expect(await self.invite(alice, gid, carol), 201)
        await self.request_to_join(dave, gid)
        expected = {alice: "owner", bob: "member", carol: "invited", dave: "requested", erin: None}
        for person, membership in expected.items():
            self.assertEqual(await self.membership(person, gid), membership, person.username)
        group = self.expect(await erin.client.get(f"/api/groups/{gid}"), 200)
        self.assertEqual(group["member_count"], 2)

    async def test_list_is_newest_first_and_paged(self) -> None:
        """GET /api/groups lists every group, newest first, with limit and offset."""
        alice, bob = await self.start("alice", "bob")
        ids = [(await self.create_group(alice, f"group {n}"))["id"] for n in range(3)]
        listed = self.expect(await bob.client.get("/api/groups"), 200)
        self.assertEqual([group["id"] for group in listed], ids[::-1])
        self.assertEqual({group["membership"] for group in listed}, {None})
        page = self.expect(await bob.client.get("/api/groups?limit=1&offset=1"), 200)
        self.assertEqual([group["id"] for group in page], [ids[1]])
        self.assertEqual(self.expect(await bob.client.get("/api/groups?limit=0"), 200), [])
        mine = self.expect(await alice.client.get("/api/groups?limit=1"), 200)
        self.assertEqual(mine[0]["membership"], "owner")
        for query in ("limit=abc", "limit=-1", "offset=-1", "offset=1.5"):
            response = await bob.client.get("/api/groups?" + query)
            self.expect_error(response, 400, "invalid_request")

    async def test_search_is_case_insensitive_for_all_of_unicode(self) -> None:
        """`q` matches a substring of the name after case folding: üb finds Über, straße STRASSE."""
        (alice,) = await self.start("alice")
        uber = (await self.create_group(alice, "Über Coders"))["id"]
        strasse = (await self.create_group(alice, "STRASSE fans"))["id"]
        await self.create_group(alice, "Other")
        for query, expected in (
            ("%C3%BCb", [uber]),  # üb
            ("%C3%9CB", [uber]),  # ÜB
            ("stra%C3%9Fe", [strasse]),  # straße
            ("coders", [uber]),
            ("nothing", []),
            ("", None),
        ):
            found = self.expect(await alice.client.get("/api/groups?q=" + query), 200)
            if expected is None:
                self.assertEqual(len(found), 3)
            else:
                self.assertEqual([group["id"] for group in found], expected, query)

    async def test_search_takes_wildcards_literally(self) -> None:
        """`%`, `_` and `\\` in `q` match only themselves."""
        (alice,) = await self.start("alice")
        percent = (await self.create_group(alice, "100% real"))["id"]
        await self.create_group(alice, "1000 real")
        underscore = (await self.create_group(alice, "a_b"))["id"]
        await self.create_group(alice, "axb")
        backslash = (await self.create_group(alice, "back\\slash"))["id"]
        await self.create_group(alice, "backslash")
        for query, expected in (
            ("%25", [percent]),
            ("0%25 r", [percent]),
            ("_", [underscore]),
            ("a_b", [underscore]),
            ("%5C", [backslash]),
            ("k%5Cs", [backslash]),
        ):
            found = self.expect(await alice.client.get("/api/groups?q=" + query), 200)
            self.assertEqual([group["id"] for group in found], expected, query)

    async def test_search_refuses_control_characters(self) -> None:
        """A `q` with a NUL or other control character is 400, not a database error."""
        (alice,) = await self.start("alice")
        response = await alice.client.get("/api/groups?q=a%00b")
        self.expect_error(response, 400, "invalid_request")

    async def test_members_are_listed_to_members_only(self) -> None:
        """GET members lists accepted members as user-summaries, newest first; others get 403."""
        alice, bob, carol, dave, erin = await self.start("alice", "bob", "carol", "dave", "erin")
        gid = (await self.create_group(alice))["id"]
        await self.add_member(alice, gid, bob)
        self.expect(await self.invite(alice, gid, carol), 201)
        await self.request_to_join(dave, gid)
        members = self.expect(await bob.client.get(f"/api/groups/{gid}/members"), 200)
        self.assertEqual([member["id"] for member in members], [bob.id, alice.id])
        self.assertEqual(set(members[0]), USER_SUMMARY_KEYS)
        self.assertEqual(members[0]["username"], "bob")
        self.assertIsNone(members[0]["avatar_url"])
        paged = self.expect(await alice.client.get(f"/api/groups/{gid}/members?offset=1"), 200)
        self.assertEqual([member["id"] for member in paged], [alice.id])
        for outsider in (carol, dave, erin):
            response = await outsider.client.get(f"/api/groups/{gid}/members")
            self.expect_error(response, 403, "forbidden")

    async def test_invite_creates_an_invitation_and_its_notification(self) -> None:
        """POST /api/groups/invite answers 201; the invitee's notification names the stored group,
        whatever `group_name` the inviter sent."""
        alice, bob = await self.start("alice", "bob")
        gid = (await self.create_group(alice, "Developers"))["id"]
        body = {"group_id": str(gid), "user_id": str(bob.id), "group_name": "Wrong name"}
        response = await alice.client.post("/api/groups/invite", body)
        self.assertEqual(
            self.expect(response, 201), {"group_id": gid, "user_id": bob.id, "status": "invited"}
        )
        self.assertEqual(await self.membership(bob, gid), "invited")
        (notification,) = await self.notifications(bob)
        self.assertEqual(notification["type"], "group_invite")
        self.assertEqual(notification["message"], "You were invited to join group 'Developers'")
        self.assertEqual(notification["group_id"], gid)
        self.assertEqual(notification["actor_id"], alice.id)
        self.assertEqual(await self.notifications(alice), [])

    async def test_any_accepted_member_may_invite(self) -> None:
        """The inviter need not be the owner, only an accepted member."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        gid = (await self.create_group(alice))["id"]
        await self.add_member(alice, gid, bob)
        self.expect(await self.invite(bob, gid, carol), 201)
        self.assertEqual(await self.membership(carol, gid), "invited")

    async def test_invite_refusals(self) -> None:
        """Invite: unknown group or user 404 (before 403), non-member inviter 403, bad ids 400,
        an existing member or invitee 409."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        gid = (await self.create_group(alice))["id"]
        self.expect(await self.invite(alice, gid, bob), 201)
        cases = [
            (carol, {"group_id": gid + 100, "user_id": dave.id}, 404),
            (carol, {"group_id": gid, "user_id": dave.id + 100}, 404),
            (carol, {"group_id": gid, "user_id": dave.id}, 403),
            (bob, {"group_id": gid, "user_id": dave.id}, 403),  # invited, not accepted
            (alice, {"group_id": gid, "user_id": bob.id}, 409),  # already invited
            (alice, {"group_id": gid, "user_id": alice.id}, 409),  # already a member
            (alice, {"user_id": dave.id}, 400),
            (alice, {"group_id": gid}, 400),
        ]
        for bad in (True, 1.5, "abc", 0, -3, 2**63, None, [gid]):
            cases.append((alice, {"group_id": bad, "user_id": dave.id}, 400))
            cases.append((alice, {"group_id": gid, "user_id": bad}, 400))
        codes = {400: "invalid_request", 403: "forbidden", 404: "not_found", 409: "conflict"}
        for inviter, body, status in cases:
            response = await inviter.client.post("/api/groups/invite", body)
            self.expect_error(response, status, codes[status])
        self.assertEqual(await self.membership(dave, gid), None)
        self.assertEqual(len(await self.notifications(bob)), 1)

    async def test_an_invitation_is_one_transaction(self) -> None:
        """Its checks (group, invitee, membership, block, row) and its write share one
        transaction, so nothing committed between a check and the write slips through; the
        session lookup of the request is the only other statement."""
        alice, bob = await self.start("alice", "bob")
        gid = (await self.create_group(alice))["id"]
        asked = self.record_transactions()
        self.expect(await self.invite(alice, gid, bob), 201)
        self.assertEqual(asked, ["invite_to_group"])

    async def test_an_owners_action_is_one_transaction(self) -> None:
        """Accepting and declining join requests, changing the group, removing a member and
        deleting the group each read the owner in the transaction of their write: a former
        owner cannot act."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        gid = (await self.create_group(alice))["id"]
        for person in (bob, carol):
            await self.request_to_join(person, gid)
        asked = self.record_transactions()
        actions = [
            ("POST", f"/api/groups/{gid}/requests/{bob.id}/accept", 204),
            ("POST", f"/api/groups/{gid}/requests/{carol.id}/decline", 204),
            ("PATCH", f"/api/groups/{gid}", 200),
            ("DELETE", f"/api/groups/{gid}/members/{bob.id}", 204),
            ("DELETE", f"/api/groups/{gid}", 204),
        ]
        for method, path, status in actions:
            body = {"description": "renamed"} if method == "PATCH" else None
            self.expect(await alice.client.request(method, path, body), status)
        self.assertEqual(
            asked,
            [
                "accept_join_request",
                "remove_membership",
                "update_group",
                "remove_membership",
                "delete_group",
            ],
        )

    async def test_the_owner_inviting_someone_who_asked_to_join_accepts_them(self) -> None:
        """The owner's invitation answers a pending join request: 200, member, and
        group_join_accept."""
        alice, carol = await self.start("alice", "carol")
        gid = (await self.create_group(alice, "Developers"))["id"]
        await self.request_to_join(carol, gid)
        response = await self.invite(alice, gid, carol)
        self.assertEqual(
            self.expect(response, 200), {"group_id": gid, "user_id": carol.id, "status": "member"}
        )
        self.assertEqual(await self.membership(carol, gid), "member")
        (notification,) = await self.notifications(carol)
        self.assertEqual(notification["type"], "group_join_accept")
        self.assertEqual(notification["actor_id"], alice.id)
        requests = self.expect(await alice.client.get(f"/api/groups/{gid}/requests"), 200)
        self.assertEqual(requests, [])

    async def test_a_member_inviting_someone_who_asked_to_join_is_409(self) -> None:
        """Only the owner turns a join request into a membership: a member's invitation of a
        requester is 409 and leaves the request pending, with nothing notified."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        gid = (await self.create_group(alice, "Developers"))["id"]
        await self.add_member(alice, gid, bob)
        await self.request_to_join(carol, gid)
        self.expect_error(await self.invite(bob, gid, carol), 409, "conflict")
        self.assertEqual(await self.membership(carol, gid), "requested")
        self.assertEqual(await self.notifications(carol), [])
        requests = self.expect(await alice.client.get(f"/api/groups/{gid}/requests"), 200)
        self.assertEqual([request["user"]["id"] for request in requests], [carol.id])

    async def test_join_asks_the_owner(self) -> None:
        """Joining without an invitation is a request (202) and notifies the owner."""
        alice, bob = await self.start("alice", "bob")
        gid = (await self.create_group(alice, "Developers"))["id"]
        response = await bob.client.post(f"/api/groups/{gid}/join")
        self.assertEqual(self.expect(response, 202), {"status": "requested"})
        self.assertEqual(await self.membership(bob, gid), "requested")
        (notification,) = await self.notifications(alice)
        self.assertEqual(notification["type"], "group_join_request")
        self.assertEqual(notification["message"], "bob asked to join group 'Developers'")
        self.assertEqual(notification["actor_id"], bob.id)
        self.assertEqual(notification["group_id"], gid)

    async def test_join_with_an_invitation_accepts_it(self) -> None:
        """Joining while invited makes one a member at once (200), with no request."""
        alice, bob = await self.start("alice", "bob")
        gid = (await self.create_group(alice))["id"]
        self.expect(await self.invite(alice, gid, bob), 201)
        response = await bob.client.post(f"/api/groups/{gid}/join")
        self.assertEqual(self.expect(response, 200), {"status": "member"})
        group = self.expect(await bob.client.get(f"/api/groups/{gid}"), 200)
        self.assertEqual((group["membership"], group["member_count"]), ("member", 2))
        self.assertEqual(await self.notifications(alice), [])

    async def test_join_twice_or_as_member_is_409(self) -> None:
        """A second join request, or a join by a member or the owner, is 409."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        gid = (await self.create_group(alice))["id"]
        await self.add_member(alice, gid, bob)
        await self.request_to_join(carol, gid)
        for person in (alice, bob, carol):
            response = await person.client.post(f"/api/groups/{gid}/join")
            self.expect_error(response, 409, "conflict")
        self.assertEqual(len(await self.notifications(alice)), 1)

    async def test_join_requests_are_listed_to_the_owner_only(self) -> None:
        """GET requests lists pending requests (user-summary, created_at) to the owner; 403 else."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        gid = (await self.create_group(alice))["id"]
        await self.add_member(alice, gid, bob)
        await self.request_to_join(carol, gid)
        await self.request_to_join(dave, gid)
        requests = self.expect(await alice.client.get(f"/api/groups/{gid}/requests"), 200)
        self.assertEqual([request["user"]["id"] for request in requests], [dave.id, carol.id])
        self.assertEqual(set(requests[0]), {"user", "created_at"})
        self.assertEqual(set(requests[0]["user"]), USER_SUMMARY_KEYS)
        self.assertRegex(requests[0]["created_at"], RFC3339)
        limited = self.expect(await alice.client.get(f"/api/groups/{gid}/requests?limit=1"), 200)
        self.assertEqual(len(limited), 1)
        for person in (bob, carol):
            response = await person.client.get(f"/api/groups/{gid}/requests")
            self.expect_error(response, 403, "forbidden")

    async def test_accepting_a_request_makes_a_member_and_notifies(self) -> None:
        """The owner accepts a request (204): a member, notified group_join_accept."""
        alice, bob = await self.start("alice", "bob")
        gid = (await self.create_group(alice, "Developers"))["id"]
        await self.request_to_join(bob, gid)
        response = await alice.client.post(f"/api/groups/{gid}/requests/{bob.id}/accept")
        self.expect(response, 204)
        self.assertEqual(await self.membership(bob, gid), "member")
        (notification,) = await self.notifications(bob)
        self.assertEqual(notification["type"], "group_join_accept")
        self.assertEqual(
            notification["message"], "Your request to join group 'Developers' was accepted"
        )
        self.assertEqual((notification["group_id"], notification["actor_id"]), (gid, alice.id))
        again = await alice.client.post(f"/api/groups/{gid}/requests/{bob.id}/accept")
        self.expect_error(again, 404, "not_found")

    async def test_request_answers_are_the_owners(self) -> None:
        """Accept or decline by a non-owner is 403; with no such request, or a bad user id, 404."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        gid = (await self.create_group(alice))["id"]
        await self.add_member(alice, gid, bob)
        await self.request_to_join(carol, gid)
        for verb in ("accept", "decline"):
            response = await bob.client.post(f"/api/groups/{gid}/requests/{carol.id}/{verb}")
            self.expect_error(response, 403, "forbidden")
            for user_id in (bob.id, 999, "abc", 0):
                response = await alice.client.post(f"/api/groups/{gid}/requests/{user_id}/{verb}")
                self.expect_error(response, 404, "not_found")
        self.assertEqual(await self.membership(carol, gid), "requested")

    async def test_declining_a_request_removes_it(self) -> None:
        """The owner declines a request (204): it is gone, and the user may ask again."""
        alice, bob = await self.start("alice", "bob")
        gid = (await self.create_group(alice))["id"]
        await self.request_to_join(bob, gid)
        response = await alice.client.post(f"/api/groups/{gid}/requests/{bob.id}/decline")
        self.expect(response, 204)
        self.assertIsNone(await self.membership(bob, gid))
        again = await alice.client.post(f"/api/groups/{gid}/requests/{bob.id}/decline")
        self.expect_error(again, 404, "not_found")
        self.assertEqual(await self.notifications(bob), [])
        await self.request_to_join(bob, gid)

    async def test_owner_removes_members_and_withdraws_invitations(self) -> None:
        """DELETE members/{user_id} removes a member or an invitation (204), nothing else (404)."""
        alice, bob, carol, dave, erin = await self.start("alice", "bob", "carol", "dave", "erin")
        gid = (await self.create_group(alice))["id"]
        await self.add_member(alice, gid, bob)
        self.expect(await self.invite(alice, gid, carol), 201)
        await self.request_to_join(dave, gid)
        for person in (bob, carol):
            response = await alice.client.request(
                "DELETE", f"/api/groups/{gid}/members/{person.id}"
            )
            self.expect(response, 204)
            self.assertIsNone(await self.membership(person, gid))
        accept = await carol.client.post(f"/api/groups/{gid}/invitation/accept")
        self.expect_error(accept, 404, "not_found")
        for user_id in (dave.id, erin.id, 999, "abc"):
            response = await alice.client.request("DELETE", f"/api/groups/{gid}/members/{user_id}")
            self.expect_error(response, 404, "not_found")
        self.assertEqual(await self.membership(dave, gid), "requested")
        group = self.expect(await alice.client.get(f"/api/groups/{gid}"), 200)
        self.assertEqual(group["member_count"], 1)

    async def test_removing_is_the_owners_and_not_of_the_owner(self) -> None:
        """A member cannot remove anyone (403); the owner cannot remove themself (409)."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        gid = (await self.create_group(alice))["id"]
        await self.add_member(alice, gid, bob)
        await self.add_member(alice, gid, carol)
        response = await bob.client.request("DELETE", f"/api/groups/{gid}/members/{carol.id}")
        self.expect_error(response, 403, "forbidden")
        response = await alice.client.request("DELETE", f"/api/groups/{gid}/members/{alice.id}")
        self.expect_error(response, 409, "conflict")
        self.assertEqual(await self.membership(carol, gid), "member")
        self.assertEqual(await self.membership(alice, gid), "owner")

    async def test_owner_updates_name_and_description(self) -> None:
        """PATCH changes what it is given (200 group); search follows the new name."""
        (alice,) = await self.start("alice")
        gid = (await self.create_group(alice, "Old", description="first"))["id"]
        response = await alice.client.request("PATCH", f"/api/groups/{gid}", json={"name": "Neu"})
        group = self.expect(response, 200)
        self.assertEqual((group["name"], group["description"]), ("Neu", "first"))
        body = {"description": "second"}
        response = await alice.client.request("PATCH", f"/api/groups/{gid}", json=body)
        self.assertEqual(self.expect(response, 200)["description"], "second")
        unchanged = await alice.client.request("PATCH", f"/api/groups/{gid}", json={})
        self.assertEqual(self.expect(unchanged, 200)["name"], "Neu")
        self.assertEqual(self.expect(await alice.client.get("/api/groups?q=old"), 200), [])
        found = self.expect(await alice.client.get("/api/groups?q=NEU"), 200)
        self.assertEqual([group["id"] for group in found], [gid])

    async def test_update_refusals_in_order(self) -> None:
        """PATCH by a non-owner is 403 even with a bad body; the owner's bad fields are 400."""
        alice, bob = await self.start("alice", "bob")
        gid = (await self.create_group(alice))["id"]
        await self.add_member(alice, gid, bob)
        bad = {"name": ""}
        response = await bob.client.request("PATCH", f"/api/groups/{gid}", json=bad)
        self.expect_error(response, 403, "forbidden")
        for body in (
            {"name": ""},
            {"name": "x" * 101},
            {"description": "d" * 2001},
            {"owner_id": "me"},
            {"owner_id": True},
        ):
            response = await alice.client.request("PATCH", f"/api/groups/{gid}", json=body)
            self.expect_error(response, 400, "invalid_request")

    async def test_ownership_goes_only_to_an_accepted_member(self) -> None:
        """owner_id hands the group to an accepted member; an invitee or stranger is 400."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        gid = (await self.create_group(alice))["id"]
        await self.add_member(alice, gid, bob)
        self.expect(await self.invite(alice, gid, carol), 201)
        for owner_id in (carol.id, dave.id, 999):
            body = {"owner_id": owner_id}
            response = await alice.client.request("PATCH", f"/api/groups/{gid}", json=body)
            self.expect_error(response, 400, "invalid_request")
        transfer = {"owner_id": str(bob.id)}
        group = self.expect(
            await alice.client.request("PATCH", f"/api/groups/{gid}", json=transfer), 200
        )
        self.assertEqual((group["owner_id"], group["membership"]), (bob.id, "member"))
        self.assertEqual(await self.membership(bob, gid), "owner")
        response = await alice.client.request("PATCH", f"/api/groups/{gid}", json={"name": "x"})
        self.expect_error(response, 403, "forbidden")
        self.expect(await alice.client.post(f"/api/groups/{gid}/leave"), 204)

    async def test_owner_deletes_the_group_and_what_refers_to_it(self) -> None:
        """DELETE /api/groups/{id} (owner, 204) removes the group, its memberships and its
        notifications; a member is refused with 403."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        gid = (await self.create_group(alice))["id"]
        kept = (await self.create_group(alice, "Kept"))["id"]
        await self.add_member(alice, gid, bob)
        self.expect(await self.invite(alice, gid, carol), 201)
        self.expect(await self.invite(alice, kept, carol), 201)
        response = await bob.client.request("DELETE", f"/api/groups/{gid}")
        self.expect_error(response, 403, "forbidden")
        self.expect(await alice.client.request("DELETE", f"/api/groups/{gid}"), 204)
        self.expect_error(await bob.client.get(f"/api/groups/{gid}"), 404, "not_found")
        self.expect_error(
            await alice.client.request("DELETE", f"/api/groups/{gid}"), 404, "not_found"
        )
        remaining = await self.notifications(carol)
        self.assertEqual([notification["group_id"] for notification in remaining], [kept])
        self.assertEqual(await self.running.server.handlers.membership.member_ids(gid), [])

    async def test_accepting_an_invitation(self) -> None:
        """invitation/accept answers 200 member; without an invitation it is 404."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        gid = (await self.create_group(alice))["id"]
        self.expect(await self.invite(alice, gid, bob), 201)
        await self.request_to_join(carol, gid)
        response = await bob.client.post(f"/api/groups/{gid}/invitation/accept")
        self.assertEqual(self.expect(response, 200), {"status": "member"})
        self.assertEqual(await self.membership(bob, gid), "member")
        for person in (bob, carol, alice):
            response = await person.client.post(f"/api/groups/{gid}/invitation/accept")
            self.expect_error(response, 404, "not_found")
        self.assertEqual(await self.membership(carol, gid), "requested")

    async def test_declining_an_invitation(self) -> None:
        """invitation/decline answers 204 and removes it; without an invitation it is 404."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        gid = (await self.create_group(alice))["id"]
        self.expect(await self.invite(alice, gid, bob), 201)
        await self.add_member(alice, gid, carol)
        self.expect(await bob.client.post(f"/api/groups/{gid}/invitation/decline"), 204)
        self.assertIsNone(await self.membership(bob, gid))
        for person in (bob, carol, alice):
            response = await person.client.post(f"/api/groups/{gid}/invitation/decline")
            self.expect_error(response, 404, "not_found")
        self.assertEqual(await self.membership(carol, gid), "member")

    async def test_leaving(self) -> None:
        """A member leaves (204); leaving again or as a stranger or invitee is 404; the owner
        cannot leave (409)."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        gid = (await self.create_group(alice))["id"]
        await self.add_member(alice, gid, bob)
        self.expect(await self.invite(alice, gid, carol), 201)
        self.expect(await bob.client.post(f"/api/groups/{gid}/leave"), 204)
        self.assertIsNone(await self.membership(bob, gid))
        for person in (bob, carol, dave):
            response = await person.client.post(f"/api/groups/{gid}/leave")
            self.expect_error(response, 404, "not_found")
        self.expect_error(await alice.client.post(f"/api/groups/{gid}/leave"), 409, "conflict")
        group = self.expect(await alice.client.get(f"/api/groups/{gid}"), 200)
        self.assertEqual((group["member_count"], group["membership"]), (1, "owner"))
        self.assertEqual(await self.membership(carol, gid), "invited")

    async def test_leaving_withdraws_a_join_request(self) -> None:
        """One who asked to join may take it back with leave (204)."""
        alice, bob = await self.start("alice", "bob")
        gid = (await self.create_group(alice))["id"]
        await self.request_to_join(bob, gid)
        self.expect(await bob.client.post(f"/api/groups/{gid}/leave"), 204)
        self.assertEqual(
            self.expect(await alice.client.get(f"/api/groups/{gid}/requests"), 200), []
        )

    async def test_membership_rules_for_group_frames(self) -> None:
        """member_ids and chat_recipients answer what the WebSocket layer asks."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        gid = (await self.create_group(alice))["id"]
        await self.add_member(alice, gid, bob)
        self.expect(await self.invite(alice, gid, carol), 201)
        await self.request_to_join(dave, gid)
        membership = self.running.server.handlers.membership
        self.assertEqual(await membership.member_ids(gid), sorted([alice.id, bob.id]))
        self.assertEqual(await membership.chat_recipients(gid, bob.id), sorted([alice.id, bob.id]))
        with self.assertRaises(Forbidden):
            await membership.chat_recipients(gid, carol.id)
        with self.assertRaises(NotFound):
            await membership.chat_recipients(gid + 1, alice.id)


class GroupSqliteTests(SqliteEngine, GroupTests, TestCase):
    pass


class GroupPostgresTests(PostgresEngine, GroupTests, TestCase):
    pass
