"""The long fuzzing run: many cases per target against a live server (docs/fuzzing.md).

    python -m bench.fuzz [--cases 100000] [--engine sqlite|postgres] [--target frames|rest]
                         [--seed N]

Starts its own server (SQLite in a temporary directory, or a new schema of a PostgreSQL test
database at SOCIALHUB_TEST_PG) with the fuzz world, then runs the CI's checks
(trial_tests/support/fuzzing.py) on `--cases` random cases of each target. A failed case is
counted and the run goes on; prints, per target, the cases run, the failures (the first few
shown) and the time, and every PROGRESS seconds the figures so far.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, seed, settings
from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThread

from trial_tests.support.fuzzing import SERVER_OPTIONS, Tally, World, open_target, run_target
from trial_tests.support.harness import fresh_postgres_url, serve, test_config

TARGETS = ("frames", "rest")
SHOWN = 10  # failures printed per target
PROGRESS = 60.0  # seconds between the lines of figures so far


def long_run(cases: int, number: int) -> Callable[[Any], Any]:
    """Random cases from a fixed seed, none shrunk (a failure is recorded, not raised)."""
    options = settings(
        max_examples=cases,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    return lambda test: seed(number)(options(test))


def figures(engine: str, name: str, tally: Tally, seconds: float) -> str:
    rate = tally.cases / seconds if seconds else 0.0
    return (
        f"{engine} {name}: {tally.cases} cases, {len(tally.failures)} failures,"
        f" {seconds:.0f} s ({rate:.1f} cases/s)"
    )


def report(engine: str, name: str, tally: Tally, seconds: float) -> None:
    print(figures(engine, name, tally, seconds), flush=True)
    answers = ", ".join(f"{answer} {count}" for answer, count in tally.answers.most_common())
    print(f"  answers: {answers}", flush=True)
    for failure in tally.failures[:SHOWN]:
        print(f"  {failure.case}\n    {failure.error}", flush=True)


async def fuzz(engine: str, world: World, name: str, cases: int, number: int) -> None:
    """Run and report one target."""
    target = await open_target(name, world)
    tally = Tally()
    started = time.perf_counter()

    def so_far() -> None:
        report(engine, name, tally, time.perf_counter() - started)

    progress = LoopingCall(so_far)
    progress.start(PROGRESS, now=False)
    database = world.running.server.config.database
    strategy = target.cases(target.kinds)
    try:
        options = long_run(cases, number)
        await deferToThread(run_target, target, strategy, database, options, tally, True)
    finally:
        progress.stop()
        await target.close()
    print("# the end", flush=True)
    report(engine, name, tally, time.perf_counter() - started)


async def run(engine: str, names: tuple[str, ...], cases: int, number: int) -> None:
    media = tempfile.mkdtemp(prefix="socialhub-fuzz-")
    if engine == "sqlite":
        database = "sqlite:" + os.path.join(media, "fuzz.sqlite3")
    else:
        database = fresh_postgres_url()
    running = await serve(test_config(database, media_dir=media, **SERVER_OPTIONS))
    try:
        world = World(running)
        await world.populate()
        for name in names:
            await fuzz(engine, world, name, cases, number)
    finally:
        await running.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100000, help="cases per target")
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--target", choices=TARGETS, action="append", help="default: both")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    names = tuple(arguments.target or TARGETS)
    task.react(
        lambda reactor: Deferred.fromCoroutine(
            run(arguments.engine, names, arguments.cases, arguments.seed)
        )
    )


if __name__ == "__main__":
    main()
