"""Group chat end to end: `group` frames over real WebSockets, group history, live invitations."""

from __future__ import annotations

import re
from typing import Any

import orjson
from twisted.trial.unittest import TestCase

from socialhub.ws.protocol import ChatFactory, ChatProtocol
from trial_tests.support import wsclient
from trial_tests.support.chat import transactions_of
from trial_tests.support.groups import Person, SocialTestMixin
from trial_tests.support.harness import PostgresEngine, SqliteEngine


class GroupChatTests(SocialTestMixin):
    async def socket(self, person: Person) -> wsclient.WsClient:
        ws = await wsclient.connect(self.running.url, person.client.session_token())
        self.addCleanup(ws.close)
        return ws

    async def assert_silent(
        self, watcher: wsclient.WsClient, person: Person, marker: Person
    ) -> None:
        """`watcher` (a socket of `person`) received nothing so far: the next frame is a marker."""
        marker_ws = await self.socket(marker)
        frame = {"type": "private", "to": person.id, "content": "marker", "id": f"m{person.id}"}
        marker_ws.send(frame)
        await marker_ws.next_of("ack")
        received = await watcher.next()
        self.assertEqual((received["type"], received["content"]), ("private", "marker"))

    async def group_with_everyone(self) -> tuple[list[Person], int]:
        """owner, member, invitee (pending), requester (pending), outsider, and a group."""
        people = await self.start("owner", "member", "invitee", "requester", "outsider")
        owner, member, invitee, requester, _ = people
        group = await self.create_group(owner, "Devs")
        await self.add_member(owner, group["id"], member)
        self.expect(await self.invite(owner, group["id"], invitee), 201)
        await self.request_to_join(requester, group["id"])
        return people, group["id"]

    async def test_group_frame_reaches_exactly_the_accepted_members(self) -> None:
        """Every connection of every accepted member gets it, the sender's other tab too, but
        not the sending connection; pending invitees, requesters and outsiders get nothing."""
        people, group_id = await self.group_with_everyone()
        owner, member, invitee, requester, outsider = people
        sending, other_tab = await self.socket(member), await self.socket(member)
        owner_ws = await self.socket(owner)
        silent = {p.username: await self.socket(p) for p in (invitee, requester, outsider)}
        sending.send({"type": "group", "group_id": str(group_id), "content": "hi", "id": "g1"})
        ack = await sending.next_of("ack")
        for ws in (owner_ws, other_tab):
            frame = await ws.next_of("group")
            self.assertEqual(frame["group_id"], str(group_id))
            self.assertEqual((frame["from"], frame["content"]), (member.id, "hi"))
            self.assertEqual(frame["id"], ack["message_id"])
        for person in (invitee, requester, outsider):
            await self.assert_silent(silent[person.username], person, owner)
        self.assertEqual([f for f in sending.pending() if f["type"] == "group"], [])

    async def test_fan_out_is_framed_once_and_counted_per_copy(self) -> None:
        """One group frame to several connections is encoded for the wire once, whatever the
        number of copies, and written without Autobahn's sendData (whose debug line costs more
        than the copy itself); /metrics still counts every copy delivered."""
        owner, member, other = await self.start("owner", "member", "other")
        group_id = (await self.create_group(owner, "Devs"))["id"]
        for person in (member, other):
            await self.add_member(owner, group_id, person)
        sending = await self.socket(member)
        receivers = [await self.socket(p) for p in (owner, owner, member, other)]
        before = await self.deliveries(owner)
        framed: list[bytes] = []
        prepare = ChatFactory.prepareMessage

        def counted(factory: ChatFactory, payload: bytes, *args: Any, **kwargs: Any) -> Any:
            framed.append(payload)
            return prepare(factory, payload, *args, **kwargs)

        def refused(*args: Any, **kwargs: Any) -> None:
            raise AssertionError("a frame went through Autobahn's sendData")

        self.patch(ChatFactory, "prepareMessage", counted)
        self.patch(ChatProtocol, "sendData", refused)
        sending.send({"type": "group", "group_id": str(group_id), "content": "hi", "id": "g1"})
        await sending.next_of("ack")
        for ws in receivers:
            self.assertEqual((await ws.next_of("group"))["content"], "hi")
        self.assertEqual([orjson.loads(p)["type"] for p in framed].count("group"), 1)
        self.assertEqual(await self.deliveries(owner) - before, len(receivers))

    async def deliveries(self, person: Person) -> float:
        """socialhub_deliveries_total from /metrics."""
        text = (await person.client.get("/metrics")).raw.decode("utf-8")
        found = re.search(r"^socialhub_deliveries_total (\S+)$", text, re.M)
        assert found is not None
        return float(found[1])

    async def test_group_id_as_integer_is_accepted(self) -> None:
        """`group_id` may be an integer too (an id given as digits or a number)."""
        people, group_id = await self.group_with_everyone()
        ws = await self.socket(people[1])
        ws.send({"type": "group", "group_id": group_id, "content": "n", "id": "x"})
        self.assertIsNotNone((await ws.next_of("ack"))["message_id"])

    async def test_refused_group_frames(self) -> None:
        """A non-member is forbidden, an unknown group not_found, a bad id invalid_frame; none
        of them is stored, and the connection goes on working."""
        people, group_id = await self.group_with_everyone()
        owner, _, invitee, _, outsider = people
        cases: list[tuple[Person, Any, str]] = [
            (outsider, str(group_id), "forbidden"),
            (invitee, str(group_id), "forbidden"),
            (outsider, "999999", "not_found"),
            (outsider, "abc", "invalid_frame"),
            (outsider, True, "invalid_frame"),
        ]
        for sender, target, code in cases:
            ws = await self.socket(sender)
            ws.send({"type": "group", "group_id": target, "content": "no", "id": "r"})
            error = await ws.next_of("error")
            self.assertEqual((error["code"], error["id"]), (code, "r"))
        history = await owner.client.get(f"/api/messages/group?group={group_id}")
        self.assertEqual(self.expect(history, 200), [])

    async def test_group_history_pages_and_rules(self) -> None:
        """Members read newest first with limit, offset and before; others get 403 / 404."""
        people, group_id = await self.group_with_everyone()
        owner, member, _, _, outsider = people
        ws = await self.socket(member)
        for n in range(5):
            ws.send({"type": "group", "group_id": str(group_id), "content": f"m{n}", "id": str(n)})
            await ws.next_of("ack")
        path = f"/api/messages/group?group={group_id}"
        page = self.expect(await owner.client.get(path + "&limit=2"), 200)
        self.assertEqual([m["content"] for m in page], ["m4", "m3"])
        self.assertEqual(set(page[0]), {"id", "type", "from", "group_id", "content", "timestamp"})
        self.assertEqual(page[0]["group_id"], str(group_id))
        older = self.expect(await owner.client.get(f"{path}&before={page[1]['id']}"), 200)
        self.assertEqual([m["content"] for m in older], ["m2", "m1", "m0"])
        skipped = self.expect(await owner.client.get(path + "&offset=4"), 200)
        self.assertEqual([m["content"] for m in skipped], ["m0"])
        self.expect_error(await outsider.client.get(path), 403, "forbidden")
        self.expect_error(
            await owner.client.get("/api/messages/group?group=99999"), 404, "not_found"
        )
        # An unknown group and a refused reader come before a bad paging field.
        self.expect_error(await outsider.client.get(path + "&limit=x"), 403, "forbidden")
        unknown = "/api/messages/group?group=99999&before=abc"
        self.expect_error(await owner.client.get(unknown), 404, "not_found")
        self.expect_error(await owner.client.get(path + "&offset=-1"), 400, "invalid_request")
        # The session, the membership check, the page and its reactions: four single reads.
        read = owner.client.get(path)
        self.assertEqual(
            await transactions_of(self.running, read),
            [
                "read lookup_session",
                "read get_group",
                "read message_history",
                "read message_reactions",
            ],
        )
        self.expect_error(
            await owner.client.get("/api/messages/group?group=x"), 400, "invalid_request"
        )
        self.expect_error(await owner.client.get("/api/messages/group"), 400, "invalid_request")

    async def test_invitation_notification_arrives_live(self) -> None:
        """The reference flow: an invitation is stored and pushed as a notification frame on
        every open socket of the invitee, with the stored group name."""
        owner, guest = await self.start("owner", "guest")
        group = await self.create_group(owner, "Developers")
        first, second = await self.socket(guest), await self.socket(guest)
        body = {"group_id": group["id"], "user_id": guest.id, "group_name": "Ignored"}
        self.expect(await owner.client.post("/api/groups/invite", body), 201)
        for ws in (first, second):
            frame = await ws.next_of("notification")
            self.assertEqual(frame["subtype"], "group_invite")
            self.assertEqual(frame["message"], "You were invited to join group 'Developers'")
            self.assertEqual(frame["group_id"], group["id"])
            self.assertIsInstance(frame["timestamp"], int)
        stored = await self.notifications(guest)
        self.assertEqual(stored[0]["id"], frame["id"])


class GroupChatSqliteTests(SqliteEngine, GroupChatTests, TestCase):
    pass


class GroupChatPostgresTests(PostgresEngine, GroupChatTests, TestCase):
    pass
