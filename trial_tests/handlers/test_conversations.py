"""Conversations end to end, on both engines: the list's shape and order, unread counts, read
markers (sending moves one's own, joining a group starts at its newest message, marking read
moves forward only) and the `read` frame, over real HTTP and WebSockets."""

from __future__ import annotations

import secrets
from typing import Any

from twisted.trial.unittest import TestCase

from trial_tests.support.follows import FollowTestMixin
from trial_tests.support.groups import Person
from trial_tests.support.harness import PostgresEngine, SqliteEngine
from trial_tests.support.wsclient import WsClient

CONVERSATION_KEYS = {"kind", "user", "group", "last_message", "unread_count", "read_up_to"}


class ConversationTestMixin(FollowTestMixin):
    sockets: dict[int, WsClient]

    async def sent(self, sender: Person, **frame: Any) -> int:
        """`sender` sends a private (`to`) or group (`group_id`) message from a socket of
        their own, opened once; its id, from the ack."""
        if not hasattr(self, "sockets"):
            self.sockets = {}
        if sender.id not in self.sockets:
            self.sockets[sender.id] = await self.socket(sender)
        ws = self.sockets[sender.id]
        client_id = secrets.token_hex(8)
        kind = "group" if "group_id" in frame else "private"
        ws.send({"type": kind, "content": "hello", **frame, "id": client_id})
        ack = await ws.next_of("ack")
        self.assertEqual(ack["id"], client_id, ack)
        message_id: int = ack["message_id"]
        return message_id

    async def conversations(self, person: Person, query: str = "") -> Any:
        return self.expect(await person.client.get("/api/conversations" + query), 200)

    async def unread_total(self, person: Person) -> Any:
        return self.expect(await person.client.get("/api/conversations/unread"), 200)

    async def with_user(self, person: Person, other: Person) -> Any:
        """`person`'s conversation with `other`, from their list."""
        found = [
            c for c in await self.conversations(person) if (c["user"] or {}).get("id") == other.id
        ]
        self.assertEqual(len(found), 1, found)
        return found[0]

    async def in_group(self, person: Person, group_id: int) -> Any:
        found = [
            c for c in await self.conversations(person) if (c["group"] or {}).get("id") == group_id
        ]
        self.assertEqual(len(found), 1, found)
        return found[0]

    async def read(self, person: Person, body: Any) -> Any:
        return await person.client.post("/api/conversations/read", body)

    async def history_item(self, person: Person, message_id: int, query: str) -> Any:
        """The history object of a message, as `person` reads it (query: user= or group=)."""
        path = "private" if query.startswith("user=") else "group"
        page = self.expect(await person.client.get(f"/api/messages/{path}?{query}"), 200)
        (item,) = [m for m in page if m["id"] == message_id]
        return item


class ConversationListTests(ConversationTestMixin):
    async def test_shape_and_order(self) -> None:
        """Private conversations once they hold a message and every accepted group, by their
        last message, newest first, then groups without messages, most recently joined first;
        each with its user-summary or {id, name}, its last message as history shows it, its
        unread count and read marker. Invitations and requests are not listed."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        quiet_old = (await self.create_group(alice, "Quiet old"))["id"]
        busy = (await self.create_group(alice, "Busy"))["id"]
        quiet_new = (await self.create_group(alice, "Quiet new"))["id"]
        invited = (await self.create_group(dave, "Invited"))["id"]
        self.expect(await self.invite(dave, invited, alice), 201)
        requested = (await self.create_group(dave, "Requested"))["id"]
        await self.request_to_join(alice, requested)
        from_bob = await self.sent(bob, to=alice.id, content="hi alice")
        in_busy = await self.sent(alice, group_id=str(busy), content="in busy")
        to_carol = await self.sent(alice, to=carol.id, content="hi carol")

        listed = await self.conversations(alice)
        self.assertEqual([set(c) for c in listed], [CONVERSATION_KEYS] * 5)
        self.assertEqual(
            [(c["kind"], (c["user"] or c["group"])["id"]) for c in listed],
            [
                ("private", carol.id),
                ("group", busy),
                ("private", bob.id),
                ("group", quiet_new),
                ("group", quiet_old),
            ],
        )
        with_carol, in_busy_group, with_bob, quiet, _ = listed
        carol_user = self.expect(await alice.client.get(f"/api/users/{carol.id}"), 200)
        self.assertEqual(
            with_carol["user"],
            {key: carol_user[key] for key in ("id", "username", "display_name", "avatar_url")},
        )
        self.assertIsNone(with_carol["group"])
        self.assertEqual(in_busy_group["group"], {"id": busy, "name": "Busy"})
        self.assertIsNone(in_busy_group["user"])
        self.assertEqual(
            with_carol["last_message"], await self.history_item(alice, to_carol, f"user={carol.id}")
        )
        self.assertEqual(
            in_busy_group["last_message"], await self.history_item(alice, in_busy, f"group={busy}")
        )
        self.assertEqual(
            with_bob["last_message"], await self.history_item(alice, from_bob, f"user={bob.id}")
        )
        self.assertEqual(
            [(c["unread_count"], c["read_up_to"]) for c in listed],
            [(0, to_carol), (0, in_busy), (1, None), (0, None), (0, None)],
        )
        self.assertIsNone(quiet["last_message"])
        # The other side of a conversation lists it too: carol has one unread message.
        (for_carol,) = await self.conversations(carol)
        self.assertEqual(
            (for_carol["user"]["id"], for_carol["unread_count"], for_carol["read_up_to"]),
            (alice.id, 1, None),
        )

    async def test_paging(self) -> None:
        """limit and offset page the same order; limit=0 is []; a bad one is 400."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        group_id = (await self.create_group(alice, "G"))["id"]
        await self.sent(bob, to=alice.id)
        await self.sent(carol, to=alice.id)
        everything = await self.conversations(alice)
        self.assertEqual(len(everything), 3)
        self.assertEqual(await self.conversations(alice, "?limit=2"), everything[:2])
        self.assertEqual(await self.conversations(alice, "?limit=2&offset=2"), everything[2:])
        self.assertEqual(everything[2]["group"]["id"], group_id)
        self.assertEqual(await self.conversations(alice, "?limit=0"), [])
        self.assertEqual(await self.conversations(alice, "?limit=500"), everything)
        for query in ("?limit=x", "?limit=-1", "?offset=-1", "?offset=1.5"):
            response = await alice.client.get("/api/conversations" + query)
            self.expect_error(response, 400, "invalid_request")

    async def test_needs_a_session(self) -> None:
        await self.start()
        client = self.running.client()
        self.expect_error(await client.get("/api/conversations"), 401, "unauthorized")
        self.expect_error(await client.get("/api/conversations/unread"), 401, "unauthorized")
        response = await client.post("/api/conversations/read", {"user": 1, "up_to": 1})
        self.expect_error(response, 401, "unauthorized")


class UnreadTests(ConversationTestMixin):
    async def test_sending_moves_the_senders_marker(self) -> None:
        """Messages from others above the marker are unread; one's own never are, and sending
        moves one's marker to it: what came before is read."""
        alice, bob = await self.start("alice", "bob")
        first = await self.sent(bob, to=alice.id)
        await self.sent(bob, to=alice.id)
        third = await self.sent(bob, to=alice.id)
        self.assertEqual(await self.unread_total(alice), {"messages": 3, "conversations": 1})
        self.assertEqual(await self.unread_total(bob), {"messages": 0, "conversations": 0})
        by_bob = await self.with_user(bob, alice)
        self.assertEqual((by_bob["unread_count"], by_bob["read_up_to"]), (0, third))
        self.assertGreater(third, first)
        answer = await self.sent(alice, to=bob.id)
        by_alice = await self.with_user(alice, bob)
        self.assertEqual((by_alice["unread_count"], by_alice["read_up_to"]), (0, answer))
        by_bob = await self.with_user(bob, alice)
        self.assertEqual((by_bob["unread_count"], by_bob["read_up_to"]), (1, third))
        self.assertEqual(await self.unread_total(bob), {"messages": 1, "conversations": 1})

    async def test_totals_over_every_conversation(self) -> None:
        """`messages` sums the unread of every conversation, `conversations` counts those with
        any, beyond one page of the list."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        group_id = (await self.create_group(bob, "G"))["id"]
        await self.add_member(bob, group_id, alice)
        await self.add_member(bob, group_id, carol)
        await self.sent(bob, to=alice.id)
        await self.sent(carol, to=alice.id)
        await self.sent(carol, to=alice.id)
        await self.sent(bob, group_id=str(group_id))
        await self.sent(carol, group_id=str(group_id))
        await self.sent(alice, to=carol.id)  # reads carol's two
        self.assertEqual(await self.unread_total(alice), {"messages": 3, "conversations": 2})
        self.assertEqual(len(await self.conversations(alice, "?limit=1")), 1)

    async def test_deleted_messages_are_not_unread(self) -> None:
        """A deleted message (its row kept, deleted_at set) is not counted, but is still the
        conversation's last message."""
        alice, bob = await self.start("alice", "bob")
        await self.sent(bob, to=alice.id)
        last = await self.sent(bob, to=alice.id)
        await self.running.server.database.interaction(
            "delete",
            lambda txn: txn.run("UPDATE messages SET deleted_at = 1 WHERE id = ?", (last,)),
        )
        by_alice = await self.with_user(alice, bob)
        self.assertEqual((by_alice["unread_count"], by_alice["last_message"]["id"]), (1, last))
        self.assertEqual(await self.unread_total(alice), {"messages": 1, "conversations": 1})


class JoinTests(ConversationTestMixin):
    async def group_with_history(self) -> tuple[Person, Person, int, int]:
        """An owner, another person, and a group with two messages: (owner, other, group,
        newest message)."""
        owner, other = await self.start("owner", "other")
        group_id = (await self.create_group(owner, "G"))["id"]
        await self.sent(owner, group_id=str(group_id))
        newest = await self.sent(owner, group_id=str(group_id))
        return owner, other, group_id, newest

    async def joined_at_newest(self, person: Person, group_id: int, newest: int) -> None:
        """No backlog: the marker at the newest message; a new message is then one unread."""
        joined = await self.in_group(person, group_id)
        self.assertEqual((joined["unread_count"], joined["read_up_to"]), (0, newest))
        self.assertEqual(await self.unread_total(person), {"messages": 0, "conversations": 0})

    async def test_accepting_an_invitation(self) -> None:
        owner, other, group_id, newest = await self.group_with_history()
        await self.add_member(owner, group_id, other)
        await self.joined_at_newest(other, group_id, newest)
        await self.sent(owner, group_id=str(group_id))
        self.assertEqual((await self.in_group(other, group_id))["unread_count"], 1)

    async def test_joining_with_a_pending_invitation(self) -> None:
        owner, other, group_id, newest = await self.group_with_history()
        self.expect(await self.invite(owner, group_id, other), 201)
        self.expect(await other.client.post(f"/api/groups/{group_id}/join"), 200)
        await self.joined_at_newest(other, group_id, newest)

    async def test_the_owner_accepting_a_request(self) -> None:
        owner, other, group_id, newest = await self.group_with_history()
        await self.request_to_join(other, group_id)
        self.assertEqual(await self.conversations(other), [])
        accepted = await owner.client.post(f"/api/groups/{group_id}/requests/{other.id}/accept")
        self.expect(accepted, 204)
        await self.joined_at_newest(other, group_id, newest)

    async def test_an_invitation_answering_a_request(self) -> None:
        owner, other, group_id, newest = await self.group_with_history()
        await self.request_to_join(other, group_id)
        self.assertEqual(
            self.expect(await self.invite(owner, group_id, other), 200)["status"], "member"
        )
        await self.joined_at_newest(other, group_id, newest)

    async def test_rejoining_starts_at_the_newest_again(self) -> None:
        """Messages sent while one was away are not unread after rejoining."""
        owner, other, group_id, _ = await self.group_with_history()
        await self.add_member(owner, group_id, other)
        self.expect(await other.client.post(f"/api/groups/{group_id}/leave"), 204)
        self.assertEqual(await self.conversations(other), [])
        newest = await self.sent(owner, group_id=str(group_id))
        await self.add_member(owner, group_id, other)
        await self.joined_at_newest(other, group_id, newest)

    async def test_groups_without_messages_by_when_joined(self) -> None:
        """Joining an older group later lists it first among the groups without messages (a
        minute later: the time of joining is kept in seconds)."""
        owner, other = await self.start("owner", "other")
        older = (await self.create_group(owner, "Older"))["id"]
        newer = (await self.create_group(other, "Newer"))["id"]
        await self.running.server.database.interaction(
            "a minute ago",
            lambda txn: txn.run("UPDATE group_members SET joined_at = joined_at - 60"),
        )
        await self.add_member(owner, older, other)
        listed = await self.conversations(other)
        self.assertEqual([c["group"]["id"] for c in listed], [older, newer])
        self.assertEqual([c["read_up_to"] for c in listed], [None, None])


class MarkReadTests(ConversationTestMixin):
    async def test_forward_only_with_a_frame_to_every_connection(self) -> None:
        """A move forward is 204 and reaches both of the viewer's connections as a `read`
        frame; at or below the marker it is 204 and changes nothing, with no frame."""
        alice, bob = await self.start("alice", "bob")
        ids = [await self.sent(bob, to=alice.id) for _ in range(3)]
        tab1, tab2 = await self.socket(alice), await self.socket(alice)
        self.expect(await self.read(alice, {"user": bob.id, "up_to": ids[1]}), 204)
        frame = {"type": "read", "user": bob.id, "up_to": ids[1]}
        self.assertEqual(await tab1.next(), frame)
        self.assertEqual(await tab2.next(), frame)
        by_alice = await self.with_user(alice, bob)
        self.assertEqual((by_alice["unread_count"], by_alice["read_up_to"]), (1, ids[1]))
        for up_to in (ids[0], ids[1]):
            self.expect(await self.read(alice, {"user": str(bob.id), "up_to": up_to}), 204)
        self.assertEqual((await self.with_user(alice, bob))["read_up_to"], ids[1])
        self.expect(await self.read(alice, {"user": bob.id, "up_to": str(ids[2])}), 204)
        frame = {"type": "read", "user": bob.id, "up_to": ids[2]}
        self.assertEqual(await tab1.next(), frame)  # the refused moves sent nothing before it
        self.assertEqual(await tab2.next(), frame)
        self.assertEqual(await self.unread_total(alice), {"messages": 0, "conversations": 0})

    async def test_a_group(self) -> None:
        """A member marks a group read; the frame names it by its string id."""
        owner, member = await self.start("owner", "member")
        group_id = (await self.create_group(owner, "G"))["id"]
        await self.add_member(owner, group_id, member)
        message = await self.sent(owner, group_id=str(group_id))
        ws = await self.socket(member)
        self.assertEqual((await self.in_group(member, group_id))["unread_count"], 1)
        self.expect(await self.read(member, {"group": group_id, "up_to": message}), 204)
        self.assertEqual(
            await ws.next(), {"type": "read", "group_id": str(group_id), "up_to": message}
        )
        self.assertEqual((await self.in_group(member, group_id))["read_up_to"], message)

    async def test_at_or_below_ones_own_message_changes_nothing(self) -> None:
        """The marker one's own message set counts: marking an older message read is 204 and
        sends no frame."""
        alice, bob = await self.start("alice", "bob")
        older = await self.sent(bob, to=alice.id)
        await self.sent(alice, to=bob.id)
        ws = await self.socket(alice)
        self.expect(await self.read(alice, {"user": bob.id, "up_to": older}), 204)
        await self.barrier(ws, alice, bob)

    async def test_refusals(self) -> None:
        """400 for a bad body; 404 for an unknown user or group; 403 outside the group; then a
        bad up_to 400; 404 for an up_to of another conversation. Nothing moves."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        group_id = (await self.create_group(carol, "G"))["id"]
        in_group = await self.sent(carol, group_id=str(group_id))
        with_bob = await self.sent(bob, to=alice.id)
        with_carol = await self.sent(carol, to=alice.id)
        for body in (
            {},
            {"up_to": with_bob},
            {"user": bob.id, "group": group_id, "up_to": with_bob},
            {"user": "x", "up_to": with_bob},
            {"user": True, "up_to": with_bob},
            {"group": 0, "up_to": in_group},
            {"user": 2**63, "up_to": with_bob},
        ):
            self.expect_error(await self.read(alice, body), 400, "invalid_request")
        for body in (
            {"user": 999_999, "up_to": "bad"},
            {"group": 999_999, "up_to": "bad"},
            {"user": bob.id, "up_to": with_carol},
            {"user": bob.id, "up_to": 999_999},
            {"user": alice.id, "up_to": with_bob},
            {"group": group_id, "up_to": with_bob},
        ):
            reader = carol if "group" in body and body["group"] == group_id else alice
            self.expect_error(await self.read(reader, body), 404, "not_found")
        self.expect_error(
            await self.read(alice, {"group": group_id, "up_to": "bad"}), 403, "forbidden"
        )
        for up_to in ("bad", None, 1.5, -1, True):
            body = {"user": bob.id, "up_to": up_to}
            self.expect_error(await self.read(alice, body), 400, "invalid_request")
        response = await alice.client.post(
            "/api/conversations/read", data=b"{", headers={"Content-Type": "application/json"}
        )
        self.expect_error(response, 400, "invalid_request")
        self.assertEqual(await self.unread_total(alice), {"messages": 2, "conversations": 2})


class ConversationSqliteTests(SqliteEngine, ConversationListTests, TestCase):
    pass


class ConversationPostgresTests(PostgresEngine, ConversationListTests, TestCase):
    pass


class UnreadSqliteTests(SqliteEngine, UnreadTests, TestCase):
    pass


class UnreadPostgresTests(PostgresEngine, UnreadTests, TestCase):
    pass


class JoinSqliteTests(SqliteEngine, JoinTests, TestCase):
    pass


class JoinPostgresTests(PostgresEngine, JoinTests, TestCase):
    pass


class MarkReadSqliteTests(SqliteEngine, MarkReadTests, TestCase):
    pass


class MarkReadPostgresTests(PostgresEngine, MarkReadTests, TestCase):
    pass
