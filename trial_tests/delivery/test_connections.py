"""The cap on a user's open sockets in a process, over real WebSockets on both engines: a new
socket past `--max-sockets` closes the user's oldest (4002), and the others carry on."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from socialhub.delivery.connections import DISPLACED
from trial_tests.support.follows import FollowTestMixin
from trial_tests.support.harness import PostgresEngine, SqliteEngine


class SocketCapTests(FollowTestMixin):
    async def test_a_socket_past_the_cap_closes_the_oldest(self) -> None:
        """With a cap of 2, alice's third socket closes her first, with 4002 and its reason;
        her two newest still get her frames and bob's socket is left alone."""
        alice, bob, carol, dave = await self.start("alice", "bob", "carol", "dave", max_sockets=2)
        first, second = await self.socket(alice), await self.socket(alice)
        other = await self.socket(bob)
        third = await self.socket(alice)
        self.assertEqual(await first.closed, DISPLACED[0])
        self.assertEqual(first.close_reason, DISPLACED[1])
        await self.follows(carol, alice)
        for socket in (second, third):
            await self.next_notification(socket, "new_follower", carol)
        await self.barrier(other, bob, dave)
        self.assertFalse(second.closed.called or third.closed.called)
        self.assertEqual(first.pending(), [])

    async def test_no_cap(self) -> None:
        """--max-sockets 0 lets a user keep every socket open."""
        alice, bob = await self.start("alice", "bob", max_sockets=0)
        sockets = [await self.socket(alice) for _ in range(3)]
        await self.follows(bob, alice)
        for socket in sockets:
            await self.next_notification(socket, "new_follower", bob)


class SocketCapSqliteTests(SqliteEngine, SocketCapTests, TestCase):
    pass


class SocketCapPostgresTests(PostgresEngine, SocketCapTests, TestCase):
    pass
