"""Group roles: what the owner, a member, an invitee, a requester and a stranger may do."""

from __future__ import annotations

from trial_tests.support.case import MemoryCase, Person


class GroupRoleTests(MemoryCase):
    async def cast(self) -> tuple[int, list[Person]]:
        """alice's group: bob a member, carol invited, dave asked to join, erin a stranger."""
        people = await self.start("alice", "bob", "carol", "dave", "erin")
        alice, bob, carol, dave, _ = people
        group_id = await self.create_group(alice)
        await self.add_member(alice, group_id, bob)
        self.expect(await self.invite(alice, group_id, carol), 201)
        joined = await dave.client.post(f"/api/groups/{group_id}/join")
        self.assertEqual(self.expect(joined, 202), {"status": "requested"})
        return group_id, people

    async def test_membership_is_the_viewers(self) -> None:
        group_id, people = await self.cast()
        roles = [await self.membership(person, group_id) for person in people]
        self.assertEqual(roles, ["owner", "member", "invited", "requested", None])
        group = self.expect(await people[4].client.get(f"/api/groups/{group_id}"), 200)
        self.assertEqual(group["member_count"], 2)

    async def test_members_are_listed_to_members_only(self) -> None:
        group_id, (alice, bob, carol, dave, erin) = await self.cast()
        for member in (alice, bob):
            members = self.expect(await member.client.get(f"/api/groups/{group_id}/members"), 200)
            self.assertEqual([user["id"] for user in members], [bob.id, alice.id])
        for outsider in (carol, dave, erin):
            response = await outsider.client.get(f"/api/groups/{group_id}/members")
            self.expect_error(response, 403, "forbidden")

    async def test_join_requests_are_the_owners_to_list_and_answer(self) -> None:
        group_id, (alice, bob, _, dave, _) = await self.cast()
        (request,) = self.expect(await alice.client.get(f"/api/groups/{group_id}/requests"), 200)
        self.assertEqual(request["user"]["id"], dave.id)
        self.expect_error(
            await bob.client.get(f"/api/groups/{group_id}/requests"), 403, "forbidden"
        )
        answer = f"/api/groups/{group_id}/requests/{dave.id}/accept"
        self.expect_error(await bob.client.post(answer), 403, "forbidden")
        self.assertEqual(await self.membership(dave, group_id), "requested")
        self.expect(await alice.client.post(answer), 204)
        self.assertEqual(await self.membership(dave, group_id), "member")

    async def test_joining(self) -> None:
        """An invitee joins at once (200); a member, the owner or a requester again is 409."""
        group_id, (alice, bob, carol, dave, _) = await self.cast()
        joined = await carol.client.post(f"/api/groups/{group_id}/join")
        self.assertEqual(self.expect(joined, 200), {"status": "member"})
        for person in (alice, bob, dave):
            response = await person.client.post(f"/api/groups/{group_id}/join")
            self.expect_error(response, 409, "conflict")

    async def test_only_accepted_members_invite(self) -> None:
        """bob (member) may invite; carol (invited), dave (requester) and erin may not; inviting
        a member or an invitee again is 409."""
        group_id, (alice, bob, carol, dave, erin) = await self.cast()
        for outsider in (carol, dave):
            self.expect_error(await self.invite(outsider, group_id, erin), 403, "forbidden")
        self.expect_error(await self.invite(erin, group_id, alice), 403, "forbidden")
        self.expect(await self.invite(bob, group_id, erin), 201)
        self.expect_error(await self.invite(alice, group_id, bob), 409, "conflict")
        self.expect_error(await self.invite(alice, group_id, carol), 409, "conflict")

    async def test_inviting_a_requester_accepts_them(self) -> None:
        group_id, (alice, _, _, dave, _) = await self.cast()
        self.expect(await self.invite(alice, group_id, dave), 200)
        self.assertEqual(await self.membership(dave, group_id), "member")

    async def test_removing_and_leaving(self) -> None:
        """Only the owner removes (a member or an invitation); the owner can neither be removed
        nor leave (409); a member leaves, a stranger or invitee has nothing to leave (404)."""
        group_id, (alice, bob, carol, _, erin) = await self.cast()
        members = f"/api/groups/{group_id}/members"
        self.expect_error(await bob.client.delete(f"{members}/{carol.id}"), 403, "forbidden")
        self.expect_error(await alice.client.delete(f"{members}/{alice.id}"), 409, "conflict")
        self.expect_error(await alice.client.post(f"/api/groups/{group_id}/leave"), 409, "conflict")
        for outsider in (carol, erin):
            left = await outsider.client.post(f"/api/groups/{group_id}/leave")
            self.expect_error(left, 404, "not_found")
        self.expect(await alice.client.delete(f"{members}/{carol.id}"), 204)
        self.assertIsNone(await self.membership(carol, group_id))
        self.expect(await bob.client.post(f"/api/groups/{group_id}/leave"), 204)
        self.assertIsNone(await self.membership(bob, group_id))

    async def test_only_the_owner_edits_or_deletes(self) -> None:
        group_id, (alice, bob, *_) = await self.cast()
        path = f"/api/groups/{group_id}"
        self.expect_error(await bob.client.patch(path, {"name": "Mine"}), 403, "forbidden")
        self.expect_error(await bob.client.delete(path), 403, "forbidden")
        self.assertEqual(
            self.expect(await alice.client.patch(path, {"name": "Ours"}), 200)["name"], "Ours"
        )
        self.expect(await alice.client.delete(path), 204)
        self.expect_error(await alice.client.get(path), 404, "not_found")
