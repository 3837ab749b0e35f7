"""Several real server processes on one PostgreSQL database and a private Redis.

Every kind of delivery must cross processes exactly once: private, group, typing, broadcast,
notifications, and the closing of a logged-out (or deactivated) user's sockets.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from trial_tests.support import wsclient
from trial_tests.support.harness import Client, fresh_postgres_url
from trial_tests.support.processes import ServerProcess, free_port, start_process
from trial_tests.support.redis_server import start_redis

BARRIERS = itertools.count()  # a client id is sent once: each barrier message has its own


@dataclasses.dataclass
class Member:
    """A registered user and their cookie jar."""

    client: Client
    id: int


class ClusterTests(TestCase):
    timeout = 120

    async def start_cluster(self, count: int, *options: str) -> list[ServerProcess]:
        redis = await start_redis(self)
        database = fresh_postgres_url()
        args = ("--redis", redis.url, *options)
        return [await start_process(self, database, *args) for _ in range(count)]

    async def user(self, process: ServerProcess, name: str) -> Member:
        client = process.client()
        return Member(client, (await client.register(name))["id"])

    async def second_session(self, process: ServerProcess, name: str) -> Client:
        """Another browser of the registered user `name`, logged in through `process`."""
        browser = process.client()
        login = {"username": name, "password": "correct horse"}
        self.assertEqual((await browser.post("/api/auth/login", login)).status, 200)
        return browser

    async def socket(self, process: ServerProcess, member: Member) -> wsclient.WsClient:
        return await self.session_socket(process, member.client.session_token())

    async def session_socket(self, process: ServerProcess, token: str | None) -> wsclient.WsClient:
        """A socket of this session whose channels are subscribed on every process's bus. Till
        then what the bus brings reaches nobody (an unstored frame, a session's close); a
        connection's own frames wait for its registration, so the answer to one proves it done."""
        ws = await wsclient.connect(process.url, token)
        self.addCleanup(ws.close)
        ws.send({"type": "registered?"})
        self.assertEqual((await ws.next_of("error"))["code"], "unknown_type")
        return ws

    async def group_of(self, owner: Member, *members: Member) -> int:
        """A group of `owner`'s that each of `members` has accepted."""
        group_id: int = (await owner.client.post("/api/groups", {"name": "g"})).json["id"]
        for member in members:
            invite = {"group_id": group_id, "user_id": member.id}
            self.assertEqual((await owner.client.post("/api/groups/invite", invite)).status, 201)
            accepted = await member.client.post(f"/api/groups/{group_id}/invitation/accept")
            self.assertEqual(accepted.status, 200)
        return group_id

    async def barrier(
        self, via: wsclient.WsClient, to: Member, *sockets: wsclient.WsClient
    ) -> None:
        """`via` writes to `to`: the message must be the next frame on each of `to`'s `sockets`,
        which proves nothing else reached them before it."""
        client_id = f"barrier-{next(BARRIERS)}"
        via.send({"type": "private", "to": to.id, "content": "barrier", "id": client_id})
        self.assertEqual((await via.next_of("ack"))["id"], client_id)
        for ws in sockets:
            frame = await ws.next()
            self.assertEqual((frame["type"], frame.get("content")), ("private", "barrier"), frame)

    async def test_private_crosses_processes_once_per_connection(self) -> None:
        """alice on one process writes to bob on another; bob's sockets on both processes and
        alice's other socket each get it exactly once, alice's sending socket not at all."""
        one, two = await self.start_cluster(2)
        alice, bob = await self.user(one, "alice"), await self.user(two, "bob")
        sending, alice_other = await self.socket(one, alice), await self.socket(two, alice)
        bob_one, bob_two = await self.socket(one, bob), await self.socket(two, bob)
        sending.send({"type": "private", "to": bob.id, "content": "hi", "id": "1"})
        ack = await sending.next_of("ack")
        for ws in (bob_one, bob_two, alice_other):
            frame = await ws.next()
            self.assertEqual((frame["id"], frame["content"]), (ack["message_id"], "hi"))
        # each socket got it once: the next frame on each is a fresh message
        await self.barrier(sending, bob, bob_one, bob_two)
        self.assertEqual([f for f in sending.pending() if f["type"] == "private"], [])

    async def test_typing_crosses_processes_to_the_others_only(self) -> None:
        """alice on one process types to bob, then in a group with bob: bob's sockets on both
        processes get each once; alice's socket on the other process gets neither."""
        one, two = await self.start_cluster(2)
        alice, bob = await self.user(one, "alice"), await self.user(two, "bob")
        group = (await alice.client.post("/api/groups", {"name": "g"})).json
        invite = {"group_id": group["id"], "user_id": bob.id}
        self.assertEqual((await alice.client.post("/api/groups/invite", invite)).status, 201)
        accepted = await bob.client.post(f"/api/groups/{group['id']}/invitation/accept")
        self.assertEqual(accepted.status, 200)
        sending, alice_other = await self.socket(one, alice), await self.socket(two, alice)
        bob_one, bob_two = await self.socket(one, bob), await self.socket(two, bob)
        sending.send({"type": "typing", "to": bob.id, "id": "t1"})
        sending.send({"type": "typing", "group_id": str(group["id"]), "id": "t2"})
        acks = [await sending.next(), await sending.next()]
        self.assertEqual({(ack["type"], ack["id"]) for ack in acks}, {("ack", "t1"), ("ack", "t2")})
        expected = [
            {"type": "typing", "from": alice.id, "to": bob.id},
            {"type": "typing", "from": alice.id, "group_id": str(group["id"])},
        ]
        for ws in (bob_one, bob_two):  # the two are handled side by side: in either order
            self.assertCountEqual([await ws.next(), await ws.next()], expected)
        await self.barrier(sending, bob, bob_one, bob_two)  # each got them once
        await self.barrier(bob_two, alice, alice_other)

    async def test_typing_to_a_group_reaches_the_other_members_on_three_processes(self) -> None:
        """alice on process 1 types in a group whose members are connected to all three: each
        member's socket gets it once, on whichever process; none of alice's four sockets (two
        on process 1, one on each other) does, nor an invitee or an outsider."""
        processes = await self.start_cluster(3)
        one, two, three = processes
        alice, dave = await self.user(one, "alice"), await self.user(one, "dave")
        bob, frank = await self.user(two, "bob"), await self.user(two, "frank")
        carol, erin = await self.user(three, "carol"), await self.user(three, "erin")
        group_id = await self.group_of(alice, bob, carol, dave)
        invite = {"group_id": group_id, "user_id": erin.id}
        self.assertEqual((await alice.client.post("/api/groups/invite", invite)).status, 201)
        sending = await self.socket(one, alice)
        alices = [await self.socket(p, alice) for p in processes]
        members = [
            await self.socket(one, dave),
            await self.socket(two, bob),
            await self.socket(three, bob),
            await self.socket(three, carol),
        ]
        silent = {
            erin.id: await self.socket(three, erin),
            frank.id: await self.socket(two, frank),
        }
        sending.send({"type": "typing", "group_id": str(group_id), "id": "g"})
        self.assertEqual((await sending.next())["id"], "g")
        expected = {"type": "typing", "from": alice.id, "group_id": str(group_id)}
        for ws in members:
            self.assertEqual(await ws.next(), expected)
        await self.barrier(members[0], alice, sending, *alices)
        for member, sockets in ((dave, members[:1]), (bob, members[1:3]), (carol, members[3:])):
            await self.barrier(sending, member, *sockets)
        for person in (erin, frank):
            await self.barrier(sending, person, silent[person.id])

    async def test_typing_throttle_holds_for_recipients_on_other_processes(self) -> None:
        """alice on process 1 types three times to bob and twice in a group with carol at once:
        bob's sockets on processes 2 and 3 get one of each, carol's one, alice's own sockets
        there none; a second later the next one goes through again."""
        processes = await self.start_cluster(3)
        one, two, three = processes
        alice, bob = await self.user(one, "alice"), await self.user(two, "bob")
        carol = await self.user(three, "carol")
        group_id = await self.group_of(alice, bob, carol)
        sending = await self.socket(one, alice)
        alices = [await self.socket(p, alice) for p in (two, three)]
        bobs = [await self.socket(p, bob) for p in (two, three)]
        carol_ws = await self.socket(three, carol)
        to_bob: dict[str, Any] = {"type": "typing", "to": bob.id}
        in_group: dict[str, Any] = {"type": "typing", "group_id": str(group_id)}
        for number, frame in enumerate([to_bob, in_group, to_bob, in_group, to_bob]):
            sending.send({**frame, "id": f"t{number}"})
        acks = [await sending.next() for _ in range(5)]  # handled side by side: in any order
        self.assertCountEqual([ack["id"] for ack in acks], [f"t{n}" for n in range(5)])
        private = {**to_bob, "from": alice.id}
        group = {**in_group, "from": alice.id}
        for ws in bobs:
            self.assertCountEqual([await ws.next(), await ws.next()], [private, group])
        self.assertEqual(await carol_ws.next(), group)
        await self.barrier(carol_ws, bob, *bobs)
        await self.barrier(carol_ws, alice, sending, *alices)
        await self.barrier(sending, carol, carol_ws)
        await deferLater(reactor, 1.0, lambda: None)  # the contract's second
        sending.send({**to_bob, "id": "later"})
        self.assertEqual((await sending.next())["id"], "later")
        for ws in bobs:
            self.assertEqual(await ws.next(), private)

    async def test_typing_throttle_is_one_for_the_deployment(self) -> None:
        """alice types to bob from sockets on two processes in the same second: bob gets one
        frame, not one from each process."""
        one, two = await self.start_cluster(2)
        alice, bob = await self.user(one, "alice"), await self.user(two, "bob")
        first, second = await self.socket(one, alice), await self.socket(two, alice)
        bob_ws = await self.socket(two, bob)
        # Both sent before either ack is awaited: the second throttles only within the second
        # after the first, which a loaded machine's round trip in between could outlast.
        for number, ws in enumerate((first, second)):
            ws.send({"type": "typing", "to": bob.id, "id": f"t{number}"})
        for number, ws in enumerate((first, second)):
            self.assertEqual((await ws.next())["id"], f"t{number}")
        self.assertEqual(await bob_ws.next(), {"type": "typing", "from": alice.id, "to": bob.id})
        await self.barrier(first, bob, bob_ws)  # and nothing came before it

    async def test_group_frames_reach_members_on_every_process(self) -> None:
        """A group of members spread over three processes: each member's socket gets the
        frame once; a member who joins while connected to another process hears the next one."""
        processes = await self.start_cluster(3)
        owner = await self.user(processes[0], "owner")
        members = [await self.user(p, f"member{n}") for n, p in enumerate(processes)]
        group = (await owner.client.post("/api/groups", {"name": "g"})).json
        for member in members[:2]:
            await owner.client.post(
                "/api/groups/invite", {"group_id": group["id"], "user_id": member.id}
            )
            await member.client.post(f"/api/groups/{group['id']}/invitation/accept")
        sockets = [await self.socket(p, m) for p, m in zip(processes, members, strict=True)]
        late = members[2]  # connected to process 3, not yet a member
        owner_ws = await self.socket(processes[0], owner)
        owner_ws.send({"type": "group", "group_id": str(group["id"]), "content": "one", "id": "a"})
        await owner_ws.next_of("ack")
        for ws in sockets[:2]:
            self.assertEqual((await ws.next_of("group"))["content"], "one")
        # the late member joins through process 1's HTTP API while connected to process 3
        await owner.client.post("/api/groups/invite", {"group_id": group["id"], "user_id": late.id})
        await sockets[2].next_of("notification")
        through_one = late.client.on(processes[0].url)
        accepted = await through_one.post(f"/api/groups/{group['id']}/invitation/accept")
        self.assertEqual(accepted.status, 200)
        owner_ws.send({"type": "group", "group_id": str(group["id"]), "content": "two", "id": "b"})
        await owner_ws.next_of("ack")
        for ws in sockets:
            self.assertEqual((await ws.next_of("group"))["content"], "two")

    async def test_broadcast_and_notifications_cross_processes(self) -> None:
        """An admin's broadcast on process 1 reaches sockets on process 2; a notification
        caused through process 1 is pushed to the recipient's socket on process 2."""
        one, two = await self.start_cluster(2, "--admin", "root")
        root, guest = await self.user(one, "root"), await self.user(two, "guest")
        root_ws, guest_ws = await self.socket(one, root), await self.socket(two, guest)
        root_ws.send({"type": "broadcast", "content": "maintenance", "id": "b"})
        await root_ws.next_of("ack")
        self.assertEqual((await guest_ws.next())["content"], "maintenance")
        group = (await root.client.post("/api/groups", {"name": "ops"})).json
        await root.client.post("/api/groups/invite", {"group_id": group["id"], "user_id": guest.id})
        notification = await guest_ws.next()
        self.assertEqual(notification["subtype"], "group_invite")

    async def test_logout_closes_sockets_on_other_processes(self) -> None:
        """Logging out through process 1 closes that session's socket on process 2 with 4001;
        the user's other session's socket stays open."""
        one, two = await self.start_cluster(2)
        alice = await self.user(one, "alice")
        other_browser = await self.second_session(one, "alice")
        doomed = await self.socket(two, alice)
        kept = await self.session_socket(two, other_browser.session_token())
        self.assertEqual((await alice.client.post("/api/auth/logout")).status, 204)
        self.assertEqual(await doomed.closed, 4001)
        self.assertFalse(kept.closed.called)

    async def test_revoking_a_session_closes_its_sockets_on_other_processes(self) -> None:
        """alice revokes her other session through process 1: its socket on process 2 closes
        with 4001; the socket of the session she revoked it from stays open."""
        one, two = await self.start_cluster(2)
        alice = await self.user(one, "alice")
        other_browser = one.client()
        await other_browser.post(
            "/api/auth/login", {"username": "alice", "password": "correct horse"}
        )
        doomed = await self.session_socket(two, other_browser.session_token())
        kept = await self.socket(two, alice)
        sessions = (await other_browser.get("/api/auth/sessions")).json
        (other_id,) = [session["id"] for session in sessions if session["current"]]
        revoked = await alice.client.request("DELETE", f"/api/auth/sessions/{other_id}")
        self.assertEqual(revoked.status, 204)
        self.assertEqual(await doomed.closed, 4001)
        self.assertFalse(kept.closed.called)

    async def test_deleting_an_account_closes_its_sockets_on_every_process(self) -> None:
        """An account deleted through process 1 has its sockets on both processes closed with
        4001; another user's socket stays open."""
        one, two = await self.start_cluster(2)
        alice, bob = await self.user(one, "alice"), await self.user(two, "bob")
        sockets = [await self.socket(one, alice), await self.socket(two, alice)]
        bobs = await self.socket(two, bob)
        body = {"password": "correct horse"}
        self.assertEqual((await alice.client.request("DELETE", "/api/users/me", body)).status, 204)
        for ws in sockets:
            self.assertEqual(await ws.closed, 4001)
        self.assertFalse(bobs.closed.called)

    async def test_deactivation_closes_sockets_on_other_processes(self) -> None:
        """An administrator deactivates bob through process 1: bob's sockets of both his
        sessions, on process 2, close with 4001, and neither cookie authenticates there."""
        one, two = await self.start_cluster(2, "--admin", "root")
        root, bob = await self.user(one, "root"), await self.user(one, "bob")
        other_browser = await self.second_session(one, "bob")
        first = await self.socket(two, bob)
        second = await self.session_socket(two, other_browser.session_token())
        deactivated = await root.client.post(f"/api/admin/users/{bob.id}/deactivate")
        self.assertEqual(deactivated.status, 204, deactivated.raw)
        self.assertEqual([await first.closed, await second.closed], [4001, 4001])
        for browser in (bob.client, other_browser):
            self.assertEqual((await browser.on(two.url).get("/api/auth/me")).status, 401)

    async def test_a_block_through_one_process_stops_messages_on_another(self) -> None:
        """Bob writes to alice through process 1; alice blocks him through process 2: the very
        next message bob sends through process 1 is refused, with no wait for any news. The
        two share the database and nothing else (no bus): no news could tell process 1."""
        database = fresh_postgres_url()
        one, two = [await start_process(self, database) for _ in range(2)]
        alice, bob = await self.user(two, "alice"), await self.user(one, "bob")
        bob_ws = await self.socket(one, bob)
        self.assertEqual((await self.private(bob_ws, alice, "before"))["type"], "ack")
        self.assertEqual((await alice.client.post(f"/api/users/{bob.id}/block")).status, 204)
        answer = await self.private(bob_ws, alice, "after")
        self.assertEqual((answer["type"], answer.get("code")), ("error", "forbidden"), answer)
        self.assertEqual(
            (await alice.client.request("DELETE", f"/api/users/{bob.id}/block")).status, 204
        )
        self.assertEqual((await self.private(bob_ws, alice, "again"))["type"], "ack")

    async def private(self, ws: wsclient.WsClient, to: Member, client_id: str) -> Any:
        """Send a private message and return the sender's answer (ack or error)."""
        ws.send({"type": "private", "to": to.id, "content": client_id, "id": client_id})
        return await ws.next()

    async def test_processes_share_one_port(self) -> None:
        """Two processes with --reuse-port serve one port; connections made through it reach
        each other's users."""
        port = free_port()
        redis = await start_redis(self)
        database = fresh_postgres_url()
        for _ in range(2):
            await start_process(self, database, "--redis", redis.url, "--reuse-port", port=port)
        entry = ServerProcess(port)
        alice, bob = await self.user(entry, "alice"), await self.user(entry, "bob")
        bob_sockets = [await self.socket(entry, bob) for _ in range(8)]
        alice_ws = await self.socket(entry, alice)
        alice_ws.send({"type": "private", "to": bob.id, "content": "shared", "id": "s"})
        await alice_ws.next_of("ack")
        for ws in bob_sockets:
            self.assertEqual((await ws.next())["content"], "shared")

    async def test_read_frames_reach_the_readers_connections_on_every_process(self) -> None:
        """Bob marks alice's message read through process 1: his sockets on both processes
        get the `read` frame once; alice's do not. Marking it again changes nothing and sends
        nothing."""
        one, two = await self.start_cluster(2)
        alice, bob = await self.user(one, "alice"), await self.user(two, "bob")
        alice_ws, alice_two = await self.socket(one, alice), await self.socket(two, alice)
        bob_one, bob_two = await self.socket(one, bob), await self.socket(two, bob)
        ack = await self.private(alice_ws, bob, "read me")
        for ws in (bob_one, bob_two, alice_two):
            self.assertEqual((await ws.next())["id"], ack["message_id"])
        body = {"user": alice.id, "up_to": ack["message_id"]}
        through_one = bob.client.on(one.url)
        self.assertEqual((await through_one.post("/api/conversations/read", body)).status, 204)
        frame = {"type": "read", "user": alice.id, "up_to": ack["message_id"]}
        for ws in (bob_one, bob_two):
            self.assertEqual(await ws.next(), frame)
        self.assertEqual((await through_one.post("/api/conversations/read", body)).status, 204)
        await self.barrier(alice_ws, bob, bob_one, bob_two, alice_two)  # once each; alice none
