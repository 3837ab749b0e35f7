"""Replies, reactions, edits and deletions end to end, on both engines, over real WebSockets:
who may make each, who receives it, what history shows, and a resumed client's replay."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import TestCase

from trial_tests.support.chat import ACK_FIELDS, LIVE_PRIVATE_FIELDS, register
from trial_tests.support.follows import FollowTestMixin
from trial_tests.support.groups import Person
from trial_tests.support.harness import PostgresEngine, SqliteEngine, fresh_postgres_url
from trial_tests.support.processes import start_process
from trial_tests.support.redis_server import start_redis
from trial_tests.support.wsclient import WsClient, connect


class ChangeTestMixin(FollowTestMixin):
    """People with sockets who send frames and read what comes back."""

    herald: Person  # writes the barrier messages
    barriers = 0

    async def people(self, *names: str) -> list[Person]:
        *people, self.herald = await self.start(*names, "herald")
        return people

    async def answer_to(self, ws: WsClient, frame: dict[str, Any], client_id: str) -> Any:
        """Send `frame` with a client id; the next frame on `ws`, its answer."""
        ws.send({**frame, "id": client_id})
        answer = await ws.next()
        self.assertEqual(answer.get("id"), client_id, answer)
        return answer

    async def acked(self, ws: WsClient, frame: dict[str, Any], client_id: str = "c") -> int:
        """`frame` is acked with a message id and a timestamp; the message id."""
        ack = await self.answer_to(ws, frame, client_id)
        self.assertEqual((ack["type"], set(ack)), ("ack", ACK_FIELDS), ack)
        self.assertIsInstance(ack["timestamp"], int)
        message_id: int = ack["message_id"]
        return message_id

    async def refused(self, ws: WsClient, code: str, frame: dict[str, Any]) -> None:
        answer = await self.answer_to(ws, frame, "refused")
        self.assertEqual((answer["type"], answer["code"]), ("error", code), answer)

    async def say(self, ws: WsClient, content: str, **to: Any) -> int:
        """A private (`to=`) or group (`group_id=`) message, acked: its id."""
        kind = "group" if "group_id" in to else "private"
        return await self.acked(ws, {"type": kind, "content": content, **to}, content)

    async def quiet(self, person: Person, *sockets: WsClient) -> None:
        """Nothing reached `person`'s `sockets` until now: a message from the herald is the next
        frame on each."""
        herald = await self.socket(self.herald)
        self.barriers += 1  # a client id of its own: a resent one would not be delivered
        await self.say(herald, f"barrier {self.barriers}", to=person.id)
        for ws in sockets:
            frame = await ws.next()
            self.assertEqual((frame["type"], frame["from"]), ("private", self.herald.id), frame)

    async def history(self, person: Person, other: Person) -> list[dict[str, Any]]:
        response = await person.client.get(f"/api/messages/private?user={other.id}")
        page: list[dict[str, Any]] = self.expect(response, 200)
        return page

    async def item(self, person: Person, other: Person, message_id: int) -> dict[str, Any]:
        """The history item of one message of a private conversation, as `person` sees it."""
        (found,) = [item for item in await self.history(person, other) if item["id"] == message_id]
        return found


def without_cursor(frame: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(frame.pop("cursor"), str), frame
    return frame


class ReplyTests(ChangeTestMixin):
    async def test_a_reply_names_its_message_live_and_in_history(self) -> None:
        """A reply carries `reply_to` to every receiver and in history; a message without one
        is the frame it always was."""
        alice, bob = await self.people("alice", "bob")
        a1, a2, b1 = await self.socket(alice), await self.socket(alice), await self.socket(bob)
        first = await self.say(a1, "question", to=bob.id)
        plain = await b1.next()
        self.assertEqual(set(plain), LIVE_PRIVATE_FIELDS, plain)
        self.assertEqual((await a2.next())["id"], first)
        frame = {"type": "private", "to": alice.id, "content": "answer", "reply_to": first}
        reply = await self.acked(b1, frame, "r")
        for ws in (a1, a2):
            got = without_cursor(await ws.next())
            expected = {"type": "private", "id": reply, "from": bob.id, "to": alice.id}
            self.assertEqual(
                got,
                {**expected, "content": "answer", "timestamp": got["timestamp"], "reply_to": first},
            )
        self.assertEqual((await self.item(alice, bob, reply))["reply_to"], first)
        self.assertNotIn("reply_to", await self.item(bob, alice, first))
        nulled = {"type": "private", "to": alice.id, "content": "no reply", "reply_to": None}
        none = await self.acked(b1, nulled, "n")
        self.assertNotIn("reply_to", await self.item(alice, bob, none))

    async def test_a_group_reply(self) -> None:
        """A group message replies to a message of its group; members see `reply_to`."""
        owner, member = await self.people("owner", "member")
        group_id = (await self.create_group(owner, "Devs"))["id"]
        await self.add_member(owner, group_id, member)
        o1, m1 = await self.socket(owner), await self.socket(member)
        first = await self.say(o1, "hello", group_id=str(group_id))
        await m1.next()
        frame = {"type": "group", "group_id": group_id, "content": "hi", "reply_to": first}
        reply = await self.acked(m1, frame)
        got = await o1.next()
        self.assertEqual((got["id"], got["reply_to"]), (reply, first), got)
        page = self.expect(await owner.client.get(f"/api/messages/group?group={group_id}"), 200)
        self.assertEqual(page[0]["reply_to"], first)

    async def test_a_reply_to_no_message_of_the_conversation_is_not_found(self) -> None:
        """A message of another conversation (private or group), an unknown one and a deleted
        one are `not_found`; a bad reply_to is `invalid_frame`; nothing is stored."""
        alice, bob, carol = await self.people("alice", "bob", "carol")
        group_id = (await self.create_group(alice, "Devs"))["id"]
        await self.add_member(alice, group_id, bob)
        a1, b1 = await self.socket(alice), await self.socket(bob)
        elsewhere = await self.say(a1, "to carol", to=carol.id)
        in_group = await self.say(a1, "to the group", group_id=group_id)
        await b1.next()
        ours = await self.say(a1, "to bob", to=bob.id)
        await b1.next()
        gone = await self.say(a1, "deleted", to=bob.id)
        await b1.next()
        await self.acked(a1, {"type": "delete", "message_id": gone})
        await b1.next()
        to_bob = {"type": "private", "to": bob.id, "content": "re"}
        for reply_to in (elsewhere, in_group, gone, ours + 1000):
            await self.refused(a1, "not_found", {**to_bob, "reply_to": reply_to})
        to_group = {"type": "group", "group_id": group_id, "content": "re"}
        for reply_to in (ours, elsewhere):
            await self.refused(a1, "not_found", {**to_group, "reply_to": reply_to})
        for bad in ("x", 0, True, 1.5, [ours]):
            await self.refused(a1, "invalid_frame", {**to_bob, "reply_to": bad})
        await self.quiet(bob, b1)
        ids = [item["id"] for item in await self.history(bob, alice)]
        self.assertEqual(ids, [gone, ours])


class ReactionTests(ChangeTestMixin):
    async def test_everyone_in_the_conversation_receives_it_but_the_sending_connection(
        self,
    ) -> None:
        """Both sides' connections and the reactor's other one get the frame; the ack names the
        message."""
        alice, bob = await self.people("alice", "bob")
        a1, a2, b1 = await self.socket(alice), await self.socket(alice), await self.socket(bob)
        for content in ("first", "hi"):  # so that the message's id is not the change's
            message = await self.say(a1, content, to=bob.id)
            await a2.next(), await b1.next()
        b2 = await self.socket(bob)
        react = {"type": "reaction", "message_id": message, "emoji": "👍", "on": True}
        self.assertEqual(await self.acked(b1, react), message)
        expected = {"type": "reaction", "message_id": message, "from": bob.id, "emoji": "👍"}
        expected |= {"on": True, "to": alice.id}
        for ws in (a1, a2, b2):
            self.assertEqual(without_cursor(await ws.next()), expected)
        await self.quiet(bob, b1)

    async def test_adding_one_twice_or_removing_one_not_there_changes_nothing(self) -> None:
        """Both are acked and delivered to no one; removing it is delivered with `on` false."""
        alice, bob = await self.people("alice", "bob")
        a1, b1 = await self.socket(alice), await self.socket(bob)
        message = await self.say(a1, "hi", to=bob.id)
        await b1.next()
        react = {"type": "reaction", "message_id": message, "emoji": "🎉"}
        await self.acked(a1, {**react, "on": False}, "off first")
        await self.acked(a1, {**react, "on": True}, "on")
        self.assertEqual((await b1.next())["on"], True)
        self.assertEqual(await self.acked(a1, {**react, "on": True}, "on again"), message)
        await self.quiet(bob, b1)
        await self.acked(a1, {**react, "on": False}, "off")
        self.assertEqual((await b1.next())["on"], False)
        await self.acked(a1, {**react, "on": False}, "off again")
        await self.quiet(bob, b1)
        self.assertNotIn("reactions", await self.item(bob, alice, message))

    async def test_history_counts_them_in_order_of_first_use(self) -> None:
        """`reactions`: each emoji once, by its first use, with its count and whether the
        viewer is among them; a message without any has none."""
        alice, bob = await self.people("alice", "bob")
        a1, b1 = await self.socket(alice), await self.socket(bob)
        message = await self.say(a1, "hi", to=bob.id)
        other = await self.say(a1, "plain", to=bob.id)
        for ws, emoji in ((b1, "🎉"), (a1, "👍"), (b1, "👍"), (a1, "❤️")):
            react = {"type": "reaction", "message_id": message, "emoji": emoji, "on": True}
            ws.send({**react, "id": emoji})
            await ws.next_of("ack")
        seen = await self.item(alice, bob, message)
        self.assertEqual(
            seen["reactions"],
            [
                {"emoji": "🎉", "count": 1, "mine": False},
                {"emoji": "👍", "count": 2, "mine": True},
                {"emoji": "❤️", "count": 1, "mine": True},
            ],
        )
        mine = [
            reaction["mine"] for reaction in (await self.item(bob, alice, message))["reactions"]
        ]
        self.assertEqual(mine, [True, True, False])
        self.assertNotIn("reactions", await self.item(alice, bob, other))

    async def test_refusals(self) -> None:
        """Someone who cannot see the message, an unknown or deleted one: not_found; a bad
        emoji or field: invalid_frame. A 16-character emoji is taken."""
        alice, bob, carol = await self.people("alice", "bob", "carol")
        a1, b1, c1 = await self.socket(alice), await self.socket(bob), await self.socket(carol)
        message = await self.say(a1, "hi", to=bob.id)
        gone = await self.say(a1, "bye", to=bob.id)
        await self.acked(a1, {"type": "delete", "message_id": gone})
        for _ in range(3):
            await b1.next()
        react = {"type": "reaction", "message_id": message, "emoji": "👍", "on": True}
        await self.refused(c1, "not_found", react)
        await self.refused(a1, "not_found", {**react, "message_id": gone + 1000})
        await self.refused(b1, "not_found", {**react, "message_id": gone})
        for emoji in ("", "x" * 17, "a\nb", "\t", "\x7f", 1, None):
            await self.refused(a1, "invalid_frame", {**react, "emoji": emoji})
        for on in (None, 1, "true"):
            await self.refused(a1, "invalid_frame", {**react, "on": on})
        await self.refused(a1, "invalid_frame", {"type": "reaction", "emoji": "👍", "on": True})
        await self.acked(a1, {**react, "emoji": "x" * 16})
        self.assertEqual(
            (await self.item(bob, alice, message))["reactions"],
            [{"emoji": "x" * 16, "count": 1, "mine": False}],
        )


class EditDeleteTests(ChangeTestMixin):
    async def test_the_author_edits_and_everyone_sees_the_latest_content(self) -> None:
        """The edit frame reaches the conversation but the sending connection; history shows
        the new content with `edited` and `edited_at`; the same content again changes
        nothing."""
        alice, bob = await self.people("alice", "bob")
        a1, a2, b1 = await self.socket(alice), await self.socket(alice), await self.socket(bob)
        message = await self.say(a1, "helo", to=bob.id)
        await a2.next(), await b1.next()
        edit = {"type": "edit", "message_id": message, "content": "hello"}
        self.assertEqual(await self.acked(a1, edit), message)
        for ws in (a2, b1):
            got = without_cursor(await ws.next())
            self.assertEqual(
                got,
                {
                    "type": "edit",
                    "message_id": message,
                    "from": alice.id,
                    "content": "hello",
                    "edited_at": got["edited_at"],
                    "to": bob.id,
                },
            )
        item = await self.item(bob, alice, message)
        self.assertEqual((item["content"], item["edited"]), ("hello", True))
        self.assertEqual(item["edited_at"], got["edited_at"])
        await self.acked(a1, edit, "again")
        await self.quiet(bob, b1)

    async def test_edit_refusals(self) -> None:
        """Only the author: the other side is forbidden, an outsider and a deleted message not
        found; content as a message's."""
        alice, bob, carol = await self.people("alice", "bob", "carol")
        a1, b1, c1 = await self.socket(alice), await self.socket(bob), await self.socket(carol)
        message = await self.say(a1, "hi", to=bob.id)
        gone = await self.say(a1, "bye", to=bob.id)
        await self.acked(a1, {"type": "delete", "message_id": gone})
        for _ in range(3):
            await b1.next()
        edit = {"type": "edit", "message_id": message, "content": "changed"}
        await self.refused(b1, "forbidden", edit)
        await self.refused(c1, "not_found", edit)
        await self.refused(a1, "not_found", {**edit, "message_id": gone})
        await self.refused(a1, "not_found", {**edit, "message_id": gone + 1000})
        for content in ("", "   ", "x" * 4001, None, "a\x00"):
            await self.refused(a1, "invalid_frame", {**edit, "content": content})
        item = await self.item(alice, bob, message)
        self.assertEqual(item["content"], "hi")
        self.assertNotIn("edited", item)

    async def test_the_author_deletes_and_history_keeps_a_tombstone(self) -> None:
        """The delete frame reaches the conversation; history keeps the message as a tombstone
        without content, reply or reactions; deleting it again is acked and changes nothing."""
        alice, bob = await self.people("alice", "bob")
        a1, b1 = await self.socket(alice), await self.socket(bob)
        first = await self.say(a1, "first", to=bob.id)
        frame = {"type": "private", "to": bob.id, "content": "oops", "reply_to": first}
        message = await self.acked(a1, frame, "oops")
        react = {"type": "reaction", "message_id": message, "emoji": "👍", "on": True}
        for _ in range(2):
            await b1.next()
        await self.acked(b1, react)
        self.assertEqual((await a1.next())["type"], "reaction")
        delete = {"type": "delete", "message_id": message}
        self.assertEqual(await self.acked(a1, delete), message)
        got = without_cursor(await b1.next())
        self.assertEqual(
            got,
            {
                "type": "delete",
                "message_id": message,
                "from": alice.id,
                "deleted_at": got["deleted_at"],
                "to": bob.id,
            },
        )
        item = await self.item(bob, alice, message)
        self.assertEqual(
            item,
            {
                "id": message,
                "type": "private",
                "from": alice.id,
                "to": bob.id,
                "timestamp": item["timestamp"],
                "deleted": True,
            },
        )
        self.assertEqual(await self.acked(a1, delete, "again"), message)
        await self.quiet(bob, b1)

    async def test_delete_refusals(self) -> None:
        """The other side of a private conversation is forbidden; an outsider and an unknown
        message are not found."""
        alice, bob, carol = await self.people("alice", "bob", "carol")
        a1, b1, c1 = await self.socket(alice), await self.socket(bob), await self.socket(carol)
        message = await self.say(a1, "hi", to=bob.id)
        await b1.next()
        delete = {"type": "delete", "message_id": message}
        await self.refused(b1, "forbidden", delete)
        await self.refused(c1, "not_found", delete)
        await self.refused(a1, "not_found", {**delete, "message_id": message + 1000})
        await self.refused(a1, "invalid_frame", {"type": "delete", "message_id": "x"})
        self.assertNotIn("deleted", await self.item(bob, alice, message))

    async def test_in_a_group(self) -> None:
        """Every accepted member's connections get a group's changes but the sending one; the
        owner may delete a member's message (`from` stays its author) but not edit it; another
        member may do neither; who is not an accepted member cannot see it."""
        owner, member, other, invitee, leaver = await self.people(
            "owner", "member", "other", "invitee", "leaver"
        )
        group_id = (await self.create_group(owner, "Devs"))["id"]
        for person in (member, other, leaver):
            await self.add_member(owner, group_id, person)
        self.expect(await self.invite(owner, group_id, invitee), 201)
        self.expect(await leaver.client.post(f"/api/groups/{group_id}/leave"), 204)
        o1, m1, m2 = await self.socket(owner), await self.socket(member), await self.socket(member)
        x1, i1, l1 = await self.socket(other), await self.socket(invitee), await self.socket(leaver)
        message = await self.say(m1, "mine", group_id=str(group_id))
        for ws in (o1, m2, x1):
            await ws.next()
        react = {"type": "reaction", "message_id": message, "emoji": "👍", "on": True}
        await self.acked(x1, react)
        expected = {"type": "reaction", "message_id": message, "from": other.id, "emoji": "👍"}
        expected |= {"on": True, "group_id": str(group_id)}
        for ws in (o1, m1, m2):
            self.assertEqual(without_cursor(await ws.next()), expected)
        for ws in (i1, l1):
            await self.refused(ws, "not_found", react)
        edit = {"type": "edit", "message_id": message, "content": "changed"}
        delete = {"type": "delete", "message_id": message}
        await self.refused(o1, "forbidden", edit)
        await self.refused(x1, "forbidden", edit)
        await self.refused(x1, "forbidden", delete)
        await self.refused(i1, "not_found", delete)
        await self.acked(o1, delete)
        for ws in (m1, m2, x1):
            got = without_cursor(await ws.next())
            self.assertEqual((got["type"], got["from"]), ("delete", member.id), got)
            self.assertEqual(got["group_id"], str(group_id))
        for person, ws in ((invitee, i1), (leaver, l1)):
            await self.quiet(person, ws)
        page = self.expect(await member.client.get(f"/api/messages/group?group={group_id}"), 200)
        self.assertEqual(page[0]["deleted"], True)


class ResumeTests(ChangeTestMixin):
    async def test_a_resumed_client_gets_the_changes_in_order_with_the_messages(self) -> None:
        """Messages, reactions, edits and deletions, private and in a group, are replayed in
        stream order, each as it was sent live (the same cursor too), the messages as they are
        now."""
        alice, bob = await self.people("alice", "bob")
        group_id = (await self.create_group(alice, "Devs"))["id"]
        await self.add_member(alice, group_id, bob)
        a1, live = await self.socket(alice), await self.socket(bob)
        gone = await self.say(a1, "to delete", to=bob.id)
        cursor = (await live.next())["cursor"]
        message = await self.say(a1, "helo", to=bob.id)
        in_group = await self.say(a1, "all", group_id=group_id)
        changes = [
            {"type": "reaction", "message_id": message, "emoji": "👍", "on": True},
            {"type": "edit", "message_id": message, "content": "hello"},
            {"type": "delete", "message_id": gone},
            {"type": "reaction", "message_id": in_group, "emoji": "🎉", "on": True},
            {"type": "reaction", "message_id": message, "emoji": "👍", "on": False},
            {"type": "edit", "message_id": in_group, "content": "everyone"},
        ]
        for n, change in enumerate(changes):
            await self.acked(a1, change, str(n))
        sent = [await live.next() for _ in range(8)]
        resumed = await connect(
            self.running.url, bob.client.session_token(), path=f"/ws?since={cursor}"
        )
        self.addCleanup(resumed.close)
        replayed = [await resumed.next() for _ in range(8)]
        self.assertEqual(
            [frame["type"] for frame in replayed],
            ["private", "group", "reaction", "edit", "delete", "reaction", "reaction", "edit"],
        )
        self.assertEqual(replayed[2:], sent[2:])
        self.assertEqual([f["cursor"] for f in replayed[:2]], [f["cursor"] for f in sent[:2]])
        now = [(frame["content"], frame["edited"]) for frame in replayed[:2]]
        self.assertEqual(now, [("hello", True), ("everyone", True)])
        done = await resumed.next()
        self.assertEqual((done["type"], done["missed"]), ("resumed", 8))


class AcrossProcessesTests(TestCase):
    async def test_reactions_and_edits_cross_processes_through_redis(self) -> None:
        """Two processes sharing PostgreSQL and Redis: a reaction made on one reaches the
        author on the other and the reactor's connection there; an edit made on the other
        comes back; each with the same cursor everywhere."""
        redis = await start_redis(self)
        database = fresh_postgres_url()
        one = await start_process(self, database, "--redis", redis.url)
        two = await start_process(self, database, "--redis", redis.url)
        alice, bob = await register(one.url, "alice"), await register(one.url, "bob")
        sockets = []
        for url, person in ((one.url, alice), (two.url, bob), (one.url, bob)):
            ws = await connect(url, person.token, path="/ws?since=now")
            self.addCleanup(ws.close)
            self.assertEqual((await ws.next())["type"], "resumed")
            sockets.append(ws)
        alice_one, bob_two, bob_one = sockets
        alice_one.send({"type": "private", "to": bob.id, "content": "helo", "id": "m"})
        message = (await alice_one.next_of("ack"))["message_id"]
        for ws in (bob_two, bob_one):
            self.assertEqual((await ws.next())["id"], message)
        react = {"type": "reaction", "message_id": message, "emoji": "👍", "on": True}
        bob_two.send({**react, "id": "r"})
        self.assertEqual((await bob_two.next())["type"], "ack")
        reactions = [await ws.next() for ws in (alice_one, bob_one)]
        self.assertEqual(reactions[0], reactions[1])
        self.assertEqual((reactions[0]["type"], reactions[0]["from"]), ("reaction", bob.id))
        alice_two = await connect(two.url, alice.token)
        self.addCleanup(alice_two.close)
        alice_two.send({"type": "edit", "message_id": message, "content": "hello", "id": "e"})
        self.assertEqual((await alice_two.next())["message_id"], message)
        edits = [await ws.next() for ws in (alice_one, bob_two, bob_one)]
        self.assertEqual(edits[0], edits[1])
        self.assertEqual(edits[1], edits[2])
        self.assertEqual((edits[0]["type"], edits[0]["content"]), ("edit", "hello"))


class ReplySqliteTests(SqliteEngine, ReplyTests, TestCase):
    pass


class ReplyPostgresTests(PostgresEngine, ReplyTests, TestCase):
    pass


class ReactionSqliteTests(SqliteEngine, ReactionTests, TestCase):
    pass


class ReactionPostgresTests(PostgresEngine, ReactionTests, TestCase):
    pass


class EditDeleteSqliteTests(SqliteEngine, EditDeleteTests, TestCase):
    pass


class EditDeletePostgresTests(PostgresEngine, EditDeleteTests, TestCase):
    pass


class ResumeSqliteTests(SqliteEngine, ResumeTests, TestCase):
    pass


class ResumePostgresTests(PostgresEngine, ResumeTests, TestCase):
    pass
