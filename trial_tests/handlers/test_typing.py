"""Typing indicators end to end, on both engines: who gets them, what refuses them, the
throttle; over real WebSockets."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import TestCase

from trial_tests.support.follows import FollowTestMixin
from trial_tests.support.groups import Person
from trial_tests.support.harness import PostgresEngine, SqliteEngine
from trial_tests.support.wsclient import WsClient

ACK = {"type": "ack", "message_id": None}


class TypingTests(FollowTestMixin):
    async def typing(self, ws: WsClient, client_id: str, **to: Any) -> dict[str, Any]:
        """Send a typing frame with a client id; the next frame on `ws`, its answer."""
        ws.send({"type": "typing", "id": client_id, **to})
        answer: dict[str, Any] = await ws.next()
        self.assertEqual(answer["id"], client_id, answer)
        return answer

    async def acked(self, ws: WsClient, client_id: str, **to: Any) -> None:
        """A typing frame is acked, with no message id (nothing is stored)."""
        answer = await self.typing(ws, client_id, **to)
        self.assertEqual({key: answer[key] for key in ACK}, ACK, answer)
        self.assertIsInstance(answer["timestamp"], int)

    async def refused(self, ws: WsClient, code: str, **to: Any) -> None:
        answer = await self.typing(ws, "refused", **to)
        self.assertEqual((answer["type"], answer["code"]), ("error", code), answer)

    async def message_barrier(self, sender: Person, to: Person, *sockets: WsClient) -> None:
        """`sender` messages `to`: it must be the next frame on each of `to`'s `sockets`, which
        proves that nothing was delivered to them before it."""
        ws = await self.socket(sender)
        client_id = f"barrier to {to.id}"  # one per recipient: a client id is sent once
        ws.send({"type": "private", "to": to.id, "content": "barrier", "id": client_id})
        await ws.next_of("ack")
        for socket in sockets:
            frame = await socket.next()
            self.assertEqual((frame["type"], frame.get("content")), ("private", "barrier"), frame)

    async def test_private_reaches_every_connection_of_the_recipient_only(self) -> None:
        """Both of bob's connections get it; alice's other one does not, nor anyone else."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        a1, a2 = await self.socket(alice), await self.socket(alice)
        b1, b2 = await self.socket(bob), await self.socket(bob)
        c1 = await self.socket(carol)
        await self.acked(a1, "t1", to=bob.id)
        for ws in (b1, b2):
            self.assertEqual(await ws.next(), {"type": "typing", "from": alice.id, "to": bob.id})
        await self.message_barrier(bob, alice, a2)
        await self.message_barrier(bob, carol, c1)

    async def test_group_reaches_the_other_accepted_members_only(self) -> None:
        """Accepted members get it; the sender's other tab, an invitee, an outsider do not."""
        owner, member, invitee, outsider = await self.start("owner", "member", "invitee", "out")
        group_id = (await self.create_group(owner, "Devs"))["id"]
        await self.add_member(owner, group_id, member)
        self.expect(await self.invite(owner, group_id, invitee), 201)
        sending, other_tab = await self.socket(member), await self.socket(member)
        owner_ws = await self.socket(owner)
        silent = {person.id: await self.socket(person) for person in (invitee, outsider)}
        await self.acked(sending, "g1", group_id=str(group_id))
        expected = {"type": "typing", "from": member.id, "group_id": str(group_id)}
        self.assertEqual(await owner_ws.next(), expected)
        await self.message_barrier(owner, member, other_tab)
        for person in (invitee, outsider):
            await self.message_barrier(owner, person, silent[person.id])

    async def test_refused_as_a_message_would_be(self) -> None:
        """Each refusal of a private or group message, with the client id; nothing forwarded."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave")
        group_id = (await self.create_group(dave, "Closed"))["id"]
        self.expect(await bob.client.post(f"/api/users/{alice.id}/block"), 204)
        await self.make_private(carol)
        await self.follows(carol, dave)  # so that dave may write to carol (the barrier)
        a1, b1, c1 = await self.socket(alice), await self.socket(bob), await self.socket(carol)
        await self.refused(a1, "not_found", to=dave.id + 1000)
        await self.refused(a1, "forbidden", to=bob.id)
        await self.refused(a1, "forbidden", to=carol.id)
        await self.refused(a1, "invalid_frame", to=alice.id)
        await self.refused(a1, "forbidden", group_id=group_id)
        await self.refused(a1, "not_found", group_id=group_id + 1000)
        await self.refused(a1, "invalid_frame", to=dave.id, group_id=group_id)
        await self.refused(a1, "invalid_frame")
        await self.refused(a1, "invalid_frame", to="dave")
        await self.message_barrier(dave, bob, b1)
        await self.message_barrier(dave, carol, c1)

    async def test_a_follow_lets_it_through_a_private_profile(self) -> None:
        """The rule is the private message's: a follow between the two opens a private
        profile."""
        alice, carol = await self.start("alice", "carol")
        await self.make_private(carol)
        await self.follows(carol, alice)
        a1, c1 = await self.socket(alice), await self.socket(carol)
        await self.acked(a1, "t", to=carol.id)
        self.assertEqual((await c1.next())["type"], "typing")

    async def test_one_a_second_is_forwarded(self) -> None:
        """Two frames within a second are both acked and one is forwarded; another
        conversation is not held back by it."""
        alice, bob, carol = await self.start("alice", "bob", "carol")
        a1, b1, c1 = await self.socket(alice), await self.socket(bob), await self.socket(carol)
        await self.acked(a1, "t1", to=bob.id)
        await self.acked(a1, "t2", to=bob.id)
        await self.acked(a1, "t3", to=carol.id)
        self.assertEqual(await b1.next(), {"type": "typing", "from": alice.id, "to": bob.id})
        self.assertEqual(await c1.next(), {"type": "typing", "from": alice.id, "to": carol.id})
        await self.message_barrier(alice, bob, b1)

    async def test_never_stored(self) -> None:
        """A typing frame leaves no message: the conversation's history stays empty."""
        alice, bob = await self.start("alice", "bob")
        await self.acked(await self.socket(alice), "t", to=bob.id)
        history = await alice.client.get(f"/api/messages/private?user={bob.id}")
        self.assertEqual(self.expect(history, 200), [])

    async def test_a_frame_the_throttle_drops_costs_no_read(self) -> None:
        """Within the second after a forwarded frame, the next one is acked and dropped without
        asking the database: the forwarded one was checked."""
        alice, bob = await self.start("alice", "bob")
        ws = await self.socket(alice)
        await self.acked(ws, "t1", to=bob.id)
        database = self.running.server.database
        reads: list[str] = []
        read = database.read

        def counted(description: str, *args: Any) -> Any:
            reads.append(description)
            return read(description, *args)

        database.read = counted
        self.addCleanup(delattr, database, "read")
        await self.acked(ws, "t2", to=bob.id)
        self.assertEqual(reads, [])


class TypingSqliteTests(SqliteEngine, TypingTests, TestCase):
    pass


class TypingPostgresTests(PostgresEngine, TypingTests, TestCase):
    pass
