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

from trial_tests.support.fuzz_strategies import FRAME_FIELDS, http_cases, payloads
from trial_tests.support.fuzzing import (
    ADMINS,
    FrameTarget,
    HttpTarget,
    Tally,
    World,
    outlive_batched_timers,
    run_target,
)
from trial_tests.support.harness import PostgresEngine, RunningServer, SqliteEngine, start_server
from trial_tests.support.mixins import EngineTestMixin


def short_run(examples: int) -> Any:
    """The CI's settings: the same cases every run, however slow the machine."""
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


class FuzzMixin(EngineTestMixin):
    timeout = 300
    examples = 100

    async def _world(self) -> World:
        self.addCleanup(outlive_batched_timers)  # runs last, once the server stopped
        running = await start_server(
            self, self.engine, rate_limit=0, admins=ADMINS, media_dir=self.mktemp()
        )
        world = World(running)
        await world.populate()
        return world

    async def _healthy(self, running: RunningServer) -> None:
        response = await running.client().get("/healthz")
        self.assertEqual(response.status, 200, response.raw)

    async def test_frames(self) -> None:
        """Every frame type, and what is not a frame: errors keep the socket, nothing written."""
        world = await self._world()
        target = FrameTarget(world.running, world.admin)
        self.assertEqual(set(target.types), set(FRAME_FIELDS))
        await target.open()
        self.addCleanup(target.close)
        database = world.running.server.config.database
        strategy = payloads(target.types)
        tally = Tally()
        await deferToThread(
            run_target, target, strategy, database, short_run(self.examples), tally
        )
        self.assertEqual(tally.cases, self.examples)
        await self._healthy(world.running)

    async def test_rest(self) -> None:
        """Every route of the url_map: no 5xx, JSON errors, nothing written, keep-alive kept."""
        world = await self._world()
        target = HttpTarget(world.running, world.admin)
        await target.open()
        self.addCleanup(target.close)
        database = world.running.server.config.database
        strategy = http_cases(target.routes)
        tally = Tally()
        await deferToThread(
            run_target, target, strategy, database, short_run(self.examples), tally
        )
        self.assertEqual(tally.cases, self.examples)
        await self._healthy(world.running)


class FuzzSqliteTests(SqliteEngine, FuzzMixin, TestCase):
    pass


class FuzzPostgresTests(PostgresEngine, FuzzMixin, TestCase):
    pass
