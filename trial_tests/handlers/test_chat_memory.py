"""Private and group messages over memory WebSockets, and the per-user frame rate limit on
the memory clock."""

from __future__ import annotations

from typing import Any

from trial_tests.support.case import A_MOMENT, MemoryCase, Person
from trial_tests.support.memory import MemorySocket


def private(to: Person, content: str, client_id: str) -> dict[str, Any]:
    return {"type": "private", "to": to.id, "content": content, "id": client_id}


def kinds(frames: list[Any]) -> list[tuple[str, str | None]]:
    """Each frame's type and client id (for acks and errors) or content (for deliveries)."""
    return [(frame["type"], frame.get("content", frame.get("id"))) for frame in frames]


class PrivateChatTests(MemoryCase):
    async def test_a_message_is_acked_and_reaches_every_socket_but_the_sending_one(self) -> None:
        alice, bob, carol = await self.start("alice", "bob", "carol")
        sending, other_tab = await self.socket(alice), await self.socket(alice)
        bobs, carols = await self.socket(bob), await self.socket(carol)
        self.exchange(sending, private(bob, "hi", "m1"))
        (ack,) = sending.take()
        self.assertEqual((ack["type"], ack["id"]), ("ack", "m1"))
        for socket in (bobs, other_tab):
            (frame,) = socket.take()
            self.assertEqual(
                (frame["type"], frame["id"], frame["from"], frame["to"], frame["content"]),
                ("private", ack["message_id"], alice.id, bob.id, "hi"),
            )
        self.assertEqual(carols.take(), [])
        history = self.expect(await bob.client.get(f"/api/messages/private?user={alice.id}"), 200)
        self.assertEqual([message["id"] for message in history], [ack["message_id"]])

    async def test_a_private_profile_takes_messages_from_accepted_followers_only(self) -> None:
        alice, bob = await self.start("alice", "bob")
        await self.make_private(alice)
        bobs = await self.socket(bob)
        self.exchange(bobs, private(alice, "hello?", "s"))
        (error,) = bobs.take()
        self.assertEqual(
            (error["type"], error.get("code"), error["id"]), ("error", "forbidden", "s")
        )
        self.expect(await self.follow(bob, alice), 202)
        self.exchange(bobs, private(alice, "please", "p"))
        self.assertEqual(kinds(bobs.take()), [("error", "p")])
        self.expect(await alice.client.post(f"/api/follow-requests/{bob.id}/accept"), 204)
        self.exchange(bobs, private(alice, "thanks", "f"))
        (accepted, ack) = bobs.take()
        self.assertEqual(accepted["subtype"], "friend_accept")
        self.assertEqual(kinds([ack]), [("ack", "f")])
        self.expect(await self.unfollow(bob, alice), 204)
        self.exchange(bobs, private(alice, "again?", "u"))
        self.assertEqual(kinds(bobs.take()), [("error", "u")])

    async def test_oneself_and_unknown_users(self) -> None:
        (alice,) = await self.start("alice")
        sockets = await self.socket(alice)
        self.exchange(sockets, private(alice, "me", "self"))
        self.exchange(sockets, {"type": "private", "to": 999, "content": "?", "id": "nobody"})
        errors = [(frame["code"], frame["id"]) for frame in sockets.take()]
        self.assertEqual(errors, [("invalid_frame", "self"), ("not_found", "nobody")])

    async def test_a_reply_answers_a_message_of_its_own_conversation(self) -> None:
        """A reply to a message of the conversation is stored; to one of another conversation,
        or to none at all, it is not_found."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        alices = await self.socket(alice)
        self.exchange(alices, private(bob, "to bob", "b"), private(carol, "to carol", "c"))
        to_bob, to_carol = (ack["message_id"] for ack in alices.take())
        replies = [(to_bob, "same"), (to_carol, "other"), (to_carol + 1000, "missing")]
        self.exchange(
            alices, *({**private(bob, "re", id_), "reply_to": id_to} for id_to, id_ in replies)
        )
        answers = [(frame["type"], frame.get("code"), frame["id"]) for frame in alices.take()]
        self.assertEqual(
            answers,
            [
                ("ack", None, "same"),
                ("error", "not_found", "other"),
                ("error", "not_found", "missing"),
            ],
        )


class GroupChatTests(MemoryCase):
    async def test_a_group_frame_reaches_exactly_the_accepted_members(self) -> None:
        """Every socket of every accepted member but the sending one; invitees, requesters and
        strangers get nothing and may not send (forbidden)."""
        owner, member, invitee, requester, outsider = await self.start(
            "owner", "member", "invitee", "requester", "outsider"
        )
        group_id = await self.create_group(owner)
        await self.add_member(owner, group_id, member)
        self.expect(await self.invite(owner, group_id, invitee), 201)
        self.expect(await requester.client.post(f"/api/groups/{group_id}/join"), 202)
        sending, other_tab, owners = [await self.socket(p) for p in (member, member, owner)]
        silent = [await self.socket(p) for p in (invitee, requester, outsider)]
        frame = {"type": "group", "group_id": str(group_id), "content": "hi", "id": "g"}
        self.exchange(sending, frame)
        (ack,) = sending.take()
        for socket in (owners, other_tab):
            (delivered,) = socket.take()
            self.assertEqual(
                (delivered["type"], delivered["id"], delivered["from"], delivered["content"]),
                ("group", ack["message_id"], member.id, "hi"),
            )
        self.assertEqual([socket.take() for socket in silent], [[], [], []])
        for socket in silent[::2]:
            self.exchange(socket, frame)
            self.assertEqual([(f["code"], f["id"]) for f in socket.take()], [("forbidden", "g")])
        self.assertEqual((owners.take(), sending.take()), ([], []))


class RateLimitTests(MemoryCase):
    """--rate-limit 2: two frames a second per user, bursts of five."""

    def send_many(self, socket: MemorySocket, to: Person, *client_ids: str) -> list[Any]:
        """Send the frames at one instant; the sender's answers as (type, client id)."""
        self.exchange(socket, *(private(to, "m", client_id) for client_id in client_ids))
        return [(frame["type"], frame["id"]) for frame in socket.take()]

    async def test_a_burst_then_the_rate(self) -> None:
        """Seven frames at once: five acked, two refused; half a second later one more goes,
        a second later two."""
        alice, bob = await self.start("alice", "bob", rate_limit=2)
        sockets = await self.socket(alice)
        answers = self.send_many(sockets, bob, *"abcdefg")
        self.assertEqual(
            sorted(answers), [("ack", c) for c in "abcde"] + [("error", "f"), ("error", "g")]
        )
        self.memory.advance(0.5 - A_MOMENT)  # each exchange lets A_MOMENT pass
        self.assertEqual(
            sorted(self.send_many(sockets, bob, "h", "i")), [("ack", "h"), ("error", "i")]
        )
        self.memory.advance(1.0 - A_MOMENT)
        answers = self.send_many(sockets, bob, "j", "k", "l")
        self.assertEqual(sorted(answers), [("ack", "j"), ("ack", "k"), ("error", "l")])

    async def test_the_budget_is_the_users_and_every_frame_counts(self) -> None:
        """Invalid frames use it up too; alice's second socket shares it; bob keeps his."""
        alice, bob = await self.start("alice", "bob", rate_limit=2)
        first, second, bobs = (
            await self.socket(alice),
            await self.socket(alice),
            await self.socket(bob),
        )
        for _ in range(5):
            first.protocol.sendMessage(b"not json")
        self.memory.quiesce()
        self.assertEqual([frame["code"] for frame in first.take()], ["invalid_json"] * 5)
        self.assertEqual(self.send_many(second, bob, "late"), [("error", "late")])
        self.assertEqual(self.send_many(bobs, alice, "b"), [("ack", "b")])

    async def test_zero_turns_the_limit_off(self) -> None:
        alice, bob = await self.start("alice", "bob", rate_limit=0)
        sockets = await self.socket(alice)
        answers = self.send_many(sockets, bob, *(str(n) for n in range(40)))
        self.assertEqual(sorted(answers), sorted(("ack", str(n)) for n in range(40)))
