"""Fanout on a fake clock, several "processes" in one Python process on one LocalHub: a process
sequences its own stored frames itself, drops its own envelopes when the bus brings them back,
and still waits for (or fills from the database) a position that another process stored first.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from socialhub.bus.local import LocalBus, LocalHub
from socialhub.delivery import fanout as fanout_module
from socialhub.delivery.connections import Connections
from socialhub.delivery.envelopes import Envelope, decode
from socialhub.delivery.fanout import Fanout
from socialhub.delivery.presence import PresenceTiming
from socialhub.delivery.sequencer import GAP_SECONDS
from socialhub.metrics import Metrics
from trial_tests.support.groups import FakeConnection

EPOCH = "e"


class Socket(FakeConnection):
    """A Connection that keeps the frames it is sent, with a name of the test's."""

    def __init__(self, connection_id: str, user_id: int) -> None:
        super().__init__(user_id, session_id=user_id)
        self.connection_id = connection_id

    def contents(self) -> list[str]:
        return [frame["content"] for frame in self.frames]


class Stream:
    """The database as Fanout reads it: the current position and the stored frames per user."""

    def __init__(self) -> None:
        self.position = 0
        self.frames: dict[int, list[tuple[int, dict[str, Any]]]] = {}

    def store(self, user_ids: list[int], content: str) -> tuple[int, dict[str, Any]]:
        self.position += 1
        frame = {"type": "private", "content": content}
        for user_id in user_ids:
            self.frames.setdefault(user_id, []).append((self.position, frame))
        return self.position, frame


class Replays:
    def __init__(self, stream: Stream) -> None:
        self._stream = stream

    async def position(self) -> tuple[str, int]:
        return EPOCH, self._stream.position

    async def missed(
        self, user_id: int, after: int, up_to: int
    ) -> list[tuple[int, dict[str, Any]]] | None:
        return [(p, f) for p, f in self._stream.frames.get(user_id, []) if after < p <= up_to]


class NoAudiences:
    """No one sees anyone's presence: these tests are about stored frames."""

    async def audience(self, user_id: int, hidden_too: bool = False) -> list[int]:
        return []


class SilentBus(LocalBus):
    """A bus that is up (or down) and takes every message, but never brings one back."""

    def __init__(self, state: str) -> None:
        super().__init__()
        self._state = state
        self.published: list[tuple[bytes, bytes]] = []

    def publish(self, channel: bytes, message: bytes) -> None:
        self.published.append((channel, message))

    def state(self) -> str:
        return self._state


class LateBus(LocalBus):
    """A LocalBus whose messages wait until `deliver` (or are lost with `lose`)."""

    def __init__(self, hub: LocalHub) -> None:
        super().__init__(hub)
        self.queued: list[tuple[bytes, bytes]] = []

    def publish(self, channel: bytes, message: bytes) -> None:
        self.queued.append((channel, message))

    def deliver(self) -> None:
        queued, self.queued = self.queued, []
        for channel, message in queued:
            super().publish(channel, message)

    def lose(self) -> None:
        self.queued = []


class FanoutTests(TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.stream = Stream()
        self.hub = LocalHub()

    async def process(self, bus: LocalBus | None = None) -> Fanout:
        fanout = Fanout(
            Connections(Metrics()),
            bus or LocalBus(self.hub),
            self._no_groups,
            Replays(self.stream),  # type: ignore[arg-type]
            self.clock,
            Metrics(),
            NoAudiences(),
            PresenceTiming(),
        )
        await fanout.start()
        self.addCleanup(lambda: Deferred.fromCoroutine(fanout.stop()))
        return fanout

    async def _no_groups(self, user_id: int) -> list[int]:
        return []

    async def socket(self, fanout: Fanout, name: str, user_id: int) -> Socket:
        socket = Socket(name, user_id)
        await fanout.opened(socket)
        return socket

    def send(self, fanout: Fanout, user_ids: list[int], content: str) -> int:
        """Store a message for these users and deliver it through `fanout`, as chat does."""
        position, frame = self.stream.store(user_ids, content)
        fanout.to_users(user_ids, frame, position=position)
        fanout.committed(position, position)
        return position

    async def test_own_frames_reach_local_sockets_without_the_bus(self) -> None:
        """A process delivers its own stored frames, with their cursor, to its own sockets
        whether the bus is up or down, without waiting for the bus to bring them back."""
        for state in ("ok", "down"):
            bus = SilentBus(state)
            fanout = await self.process(bus)
            bob = await self.socket(fanout, f"bob-{state}", 2)
            position = self.send(fanout, [2], f"while {state}")
            self.assertEqual(bob.contents(), [f"while {state}"])
            self.assertEqual(bob.frames[0]["cursor"], f"{EPOCH}-{position}")
            self.assertEqual(len(bus.published), 2)  # the frame and its tick still go out

    async def test_own_envelopes_are_dropped_undecoded(self) -> None:
        """On a shared hub, the publishing process does not decode its own envelopes when the
        bus brings them back; the other process does, and each socket gets the frame once."""
        decoded: list[str] = []

        def counting(message: bytes) -> Envelope:
            envelope = decode(message)
            decoded.append(envelope.origin)
            return envelope

        self.patch(fanout_module, "decode", counting)
        one, two = await self.process(), await self.process()
        bob_one, bob_two = await self.socket(one, "b1", 2), await self.socket(two, "b2", 2)
        self.send(one, [2], "hello")
        self.assertEqual((bob_one.contents(), bob_two.contents()), (["hello"], ["hello"]))
        self.assertEqual(decoded, [one.process_id] * 2)  # the frame and the tick, by two

    async def test_own_position_waits_for_an_earlier_one_of_another_process(self) -> None:
        """Process two stores position 1 for bob, its envelopes still on their way; process
        one stores position 2 for bob and holds it until position 1 has arrived."""
        late = LateBus(self.hub)
        one, two = await self.process(), await self.process(late)
        bob = await self.socket(one, "bob", 2)
        self.send(two, [2], "first")
        self.send(one, [2], "second")
        self.assertEqual(bob.frames, [])
        late.deliver()
        self.assertEqual(bob.contents(), ["first", "second"])
        self.assertEqual([f["cursor"] for f in bob.frames], [f"{EPOCH}-1", f"{EPOCH}-2"])

    async def test_own_position_after_a_lost_one_is_filled_from_the_database(self) -> None:
        """Process two's envelopes for position 1 are lost: process one's position 2 stays
        held; after GAP_SECONDS process one reads position 1 from the database, then bob gets
        both, in order, once each."""
        late = LateBus(self.hub)
        one, two = await self.process(), await self.process(late)
        bob = await self.socket(one, "bob", 2)
        self.send(two, [2], "lost")
        late.lose()
        self.send(one, [2], "kept")
        self.clock.advance(GAP_SECONDS / 2)
        self.assertEqual(bob.frames, [])
        self.clock.advance(GAP_SECONDS)
        self.assertEqual(bob.contents(), ["lost", "kept"])
        self.send(one, [2], "later")
        self.assertEqual(bob.contents(), ["lost", "kept", "later"])
