"""The Sequencer on a fake clock: stored frames leave in stream order, and only once every earlier
position is accounted for; a gap that stays open is reported after GAP_SECONDS, and only then.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from socialhub.delivery.sequencer import GAP_SECONDS, Held, Sequencer

USERS = [1]


class SequencerTests(TestCase):
    """One Sequencer, what it releases and when it calls `stuck`."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.released: list[Held] = []
        self.stuck_calls = 0
        self.sequencer = Sequencer(self.clock, self.released.append, self._stuck)
        self.addCleanup(self.sequencer.stop)

    def _stuck(self) -> None:
        self.stuck_calls += 1

    def hold(self, *positions: int) -> None:
        """Hold one frame per position; its payload names the position."""
        for position in positions:
            self.sequencer.hold(Held(position, USERS, b"p%d" % position, None))

    def positions(self) -> list[int]:
        return [held.position for held in self.released]

    def test_frame_waits_for_its_tick(self) -> None:
        """A held frame is not released before the tick of its position, and is at once after."""
        self.hold(1)
        self.assertEqual(self.released, [])
        self.sequencer.tick(1, 1)
        self.assertEqual(self.positions(), [1])
        self.assertEqual(self.released[0].payload, b"p1")
        self.assertEqual(self.released[0].user_ids, USERS)
        self.assertEqual(self.sequencer.resolved, 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_out_of_order_ticks_release_in_position_order(self) -> None:
        """Frames and ticks arriving in any order leave in position order, each once, and only
        when every earlier position is ticked."""
        self.hold(3, 1, 2)
        self.sequencer.tick(3, 3)
        self.sequencer.tick(2, 2)
        self.assertEqual(self.released, [])
        self.sequencer.tick(1, 1)
        self.assertEqual(self.positions(), [1, 2, 3])
        self.hold(5)
        self.sequencer.tick(5, 5)
        self.assertEqual(self.positions(), [1, 2, 3])  # 4 is still open
        self.hold(4)
        self.sequencer.tick(4, 4)
        self.assertEqual(self.positions(), [1, 2, 3, 4, 5])

    def test_frames_of_one_position_keep_their_arrival_order(self) -> None:
        """Several frames of one position (one per recipient channel) all leave, first held
        first."""
        for user_id in (1, 2, 3):
            self.sequencer.hold(Held(1, [user_id], b"x", None))
        self.sequencer.tick(1, 1)
        self.assertEqual([held.user_ids for held in self.released], [[1], [2], [3]])

    def test_old_and_duplicate_positions_are_dropped(self) -> None:
        """A frame at or below the resolved position (a duplicate, or one already filled in from
        the database) is never released and opens no gap timer; an old tick changes nothing."""
        self.sequencer.resolve_up_to(5)
        self.hold(5, 3)
        self.sequencer.tick(3, 5)
        self.assertEqual(self.released, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.hold(6)
        self.sequencer.tick(6, 6)
        self.hold(6)  # the same frame again, after it left
        self.sequencer.tick(6, 6)
        self.assertEqual(self.positions(), [6])
        self.assertEqual(self.sequencer.resolved, 6)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_tick_range_covers_several_positions(self) -> None:
        """One tick naming a range (a transaction that took several positions) releases every
        frame in it; an overlapping later tick inside the range changes nothing."""
        self.hold(1, 2, 3, 4)
        self.sequencer.tick(1, 3)
        self.assertEqual(self.positions(), [1, 2, 3])
        self.sequencer.tick(2, 2)
        self.assertEqual(self.sequencer.resolved, 3)
        self.sequencer.tick(4, 4)
        self.assertEqual(self.positions(), [1, 2, 3, 4])

    def test_ranges_arriving_out_of_order_chain_up(self) -> None:
        """Ranges 4..6 then 1..3: nothing leaves until 1..3 arrives, then all six in order."""
        self.hold(6, 5, 4, 3, 2, 1)
        self.sequencer.tick(4, 6)
        self.assertEqual(self.released, [])
        self.sequencer.tick(1, 3)
        self.assertEqual(self.positions(), [1, 2, 3, 4, 5, 6])
        self.assertEqual(self.sequencer.resolved, 6)

    def test_resolve_up_to_moves_past_a_gap(self) -> None:
        """Positions 1-2 never get a tick (their frames were lost); once the database fills
        them in (resolve_up_to(2)) the frames after the gap leave in order."""
        self.hold(4, 3)
        self.sequencer.tick(3, 4)
        self.assertEqual(self.released, [])
        self.sequencer.resolve_up_to(2)
        self.assertEqual(self.positions(), [3, 4])
        self.assertEqual(self.sequencer.resolved, 4)
        self.sequencer.resolve_up_to(1)  # never moves back
        self.assertEqual(self.sequencer.resolved, 4)

    def test_paused_holds_releases_until_resume(self) -> None:
        """While paused (the database is filling a gap) ticked frames stay held and the gap
        is not reported; resume() releases them in order."""
        self.sequencer.pause()
        self.assertTrue(self.sequencer.paused)
        self.hold(2, 1)
        self.sequencer.tick(1, 2)
        self.assertEqual(self.released, [])
        self.clock.advance(GAP_SECONDS * 3)
        self.assertEqual(self.stuck_calls, 0)
        self.sequencer.resume()
        self.assertFalse(self.sequencer.paused)
        self.assertEqual(self.positions(), [1, 2])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_open_gap_is_reported_after_gap_seconds(self) -> None:
        """A frame waiting behind a position that never comes: `stuck` is called once
        GAP_SECONDS have passed, not before, and again while the gap stays open."""
        self.hold(2)
        self.sequencer.tick(2, 2)
        self.clock.advance(GAP_SECONDS * 0.9)
        self.assertEqual(self.stuck_calls, 0)
        self.clock.advance(GAP_SECONDS * 0.1)
        self.assertEqual(self.stuck_calls, 1)
        self.clock.advance(GAP_SECONDS)
        self.assertEqual(self.stuck_calls, 2)
        self.sequencer.resolve_up_to(1)  # the database filled it in
        self.assertEqual(self.positions(), [2])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(GAP_SECONDS * 3)
        self.assertEqual(self.stuck_calls, 2)

    def test_gap_of_ticks_alone_is_reported(self) -> None:
        """A tick beyond a gap with no frame held for this process is still a gap: the
        stream is stuck for whoever connects next, so it is reported too."""
        self.sequencer.tick(3, 3)
        self.clock.advance(GAP_SECONDS)
        self.assertEqual(self.stuck_calls, 1)

    def test_gap_closing_in_time_is_not_reported(self) -> None:
        """The missing tick arrives before GAP_SECONDS: the frames leave, the timer is
        cancelled and `stuck` is never called."""
        self.hold(2)
        self.sequencer.tick(2, 2)
        self.clock.advance(GAP_SECONDS / 2)
        self.hold(1)
        self.sequencer.tick(1, 1)
        self.assertEqual(self.positions(), [1, 2])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(GAP_SECONDS * 5)
        self.assertEqual(self.stuck_calls, 0)

    def test_progress_postpones_the_report(self) -> None:
        """A gap that moves forward (position 1 arrives, 3 is still missing) is not the same
        stuck gap: the report waits for a full GAP_SECONDS without progress."""
        self.hold(2, 4)
        self.sequencer.tick(2, 2)
        self.sequencer.tick(4, 4)
        self.clock.advance(GAP_SECONDS / 2)
        self.sequencer.tick(1, 1)
        self.assertEqual(self.positions(), [2])
        self.clock.advance(GAP_SECONDS / 2)
        self.assertEqual(self.stuck_calls, 0)
        self.clock.advance(GAP_SECONDS)
        self.assertEqual(self.stuck_calls, 1)

    def test_stop_cancels_the_gap_timer(self) -> None:
        """stop() leaves no delayed call behind, and a stopped sequencer reports nothing."""
        self.hold(2)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.sequencer.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(GAP_SECONDS * 5)
        self.assertEqual(self.stuck_calls, 0)

    def test_start_at_skips_what_came_before(self) -> None:
        """A process starting at position 5 never waits for 1-5: a frame at 5 is dropped, a
        tick 6..6 releases position 6 at once."""
        self.sequencer.start_at(5)
        self.hold(5, 6)
        self.sequencer.tick(6, 6)
        self.assertEqual(self.positions(), [6])
        self.assertEqual(self.clock.getDelayedCalls(), [])
