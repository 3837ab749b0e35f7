"""The /ws upgrade as the memory tier drives it: through the real Site, cookie and origin."""

from __future__ import annotations

from trial_tests.support.case import MemoryCase
from trial_tests.support.memory import ORIGIN, UpgradeRefused


class UpgradeTests(MemoryCase):
    async def refusal(self, token: str | None, origin: str | None = None) -> int:
        """The HTTP status of a refused upgrade."""
        with self.assertRaises(UpgradeRefused) as raised:
            await self.memory.websocket(token, origin=origin)
        status: int = raised.exception.status
        return status

    async def test_a_session_is_needed(self) -> None:
        await self.start("alice")
        self.assertEqual(await self.refusal(None), 401)
        self.assertEqual(await self.refusal("not-a-token"), 401)

    async def test_a_foreign_origin_is_refused_and_the_listed_one_accepted(self) -> None:
        (alice,) = await self.start("alice")
        self.assertEqual(await self.refusal(alice.client.token, "http://evil.test"), 403)
        socket = await self.memory.websocket(alice.client.token, origin=ORIGIN)
        self.addCleanup(self.close, socket)
        self.assertEqual([frame["type"] for frame in socket.take()], ["resumed"])

    async def test_logout_closes_the_sessions_sockets(self) -> None:
        (alice,) = await self.start("alice")
        socket = await self.socket(alice)
        self.expect(await alice.client.post("/api/auth/logout"), 204)
        self.memory.quiesce()
        self.assertEqual((socket.closed, socket.close_code), (True, 4001))
