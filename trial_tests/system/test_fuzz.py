"""Property-based fuzzing of every frame type and every REST route against a live server on
each engine (trial_tests/support/fuzzing.py says what must hold after each case).

A short, deterministic run: a fixed number of derandomized examples, no deadline. The long run
is `python -m bench.fuzz` (docs/fuzzing.md).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from trial_tests.support.fingerprint import Fingerprinter, differences
from trial_tests.support.fuzz_strategies import FRAME_FIELDS
from trial_tests.support.fuzzing import (
    SERVER_OPTIONS,
    FrameTarget,
    HttpTarget,
    Tally,
    World,
    open_target,
    outlive_batched_timers,
    run_target,
)
from trial_tests.support.harness import PostgresEngine, SqliteEngine, start_server
from trial_tests.support.mixins import EngineTestMixin


def short_run(examples: int) -> Any:
    """The CI's settings: the same cases every run, however slow the machine."""
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


class FuzzMixin(EngineTestMixin):
    timeout = 600
    # Cases per frame type and per route: each engine's run takes about 30 s on a quiet machine.
    examples = {"frames": 25, "rest": 4}

    async def _fuzz(self, name: str) -> None:
        """Run `examples` cases of each kind of the target `name` (every frame type, every
        route), then the server still serves."""
        self.addCleanup(outlive_batched_timers)  # runs last, once the server stopped
        running = await start_server(self, self.engine, media_dir=self.mktemp(), **SERVER_OPTIONS)
        world = World(running)
        await world.populate()
        target = await open_target(name, world)
        self.addCleanup(target.close)
        tally = Tally()
        options = short_run(self.examples[name])
        for kind in target.kinds:
            strategy = target.cases((kind,))
            database = running.server.config.database
            await deferToThread(run_target, target, strategy, database, options, tally)
        self.assertEqual(tally.cases, self.examples[name] * len(target.kinds))
        response = await running.client().get("/healthz")
        self.assertEqual(response.status, 200, response.raw)

    async def test_frames(self) -> None:
        """Every frame type, and what is not a frame: errors keep the socket, nothing written."""
        await self._fuzz(FrameTarget.name)

    async def test_rest(self) -> None:
        """Every route of the url_map: no 5xx, JSON errors, nothing written, keep-alive kept."""
        await self._fuzz(HttpTarget.name)

    async def test_fingerprint_sees_a_write(self) -> None:
        """The no-partial-write check can fail: a registration changes the fingerprint (its
        user and session rows), and nothing else does."""
        running = await start_server(self, self.engine)
        fingerprinter = Fingerprinter(running.server.config.database)
        self.addCleanup(fingerprinter.close)
        before = fingerprinter.take()
        self.assertEqual(fingerprinter.take(), before)
        await running.client().register("written")
        changed = differences(before, fingerprinter.take())
        self.assertEqual([line.split(":")[0] for line in changed], ["sessions", "users"])

    async def test_every_frame_type_has_its_fields(self) -> None:
        """A new frame type fails here until the fuzzer knows its fields."""
        running = await start_server(self, self.engine)
        self.assertEqual(set(FrameTarget(running, running.client()).kinds), set(FRAME_FIELDS))


class FuzzSqliteTests(SqliteEngine, FuzzMixin, TestCase):
    pass


class FuzzPostgresTests(PostgresEngine, FuzzMixin, TestCase):
    pass
