"""Workload 5: history pages (limit 50) from 20 concurrent readers over HTTP keep-alive.

Reader r asks only for its own conversations (bench/fixtures.py), cycling through four kinds
of page: the newest of a private conversation, a deep one (`before` an old id), and the same
for a group. Every page must hold exactly 50 messages, or it counts as an error.
"""

from __future__ import annotations

import asyncio
import itertools
import time

import aiohttp
import orjson

from bench import fixtures
from bench.loadgen.meter import Window
from bench.loadgen.spec import Spec
from bench.loadgen.stats import latency_figures

LIMIT = 50
KINDS = ("private", "private deep", "group", "group deep")


def urls(layout: fixtures.Layout, reader: int, port: int) -> dict[str, list[str]]:
    """Every page reader `reader` (0-based) may ask for, by kind."""
    base = f"http://127.0.0.1:{port}/api/messages"
    found: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for conversation in range(reader, layout.conversations, fixtures.READERS):
        kind, target = fixtures.target_of(layout, conversation)
        field = "user" if kind == "private" else "group"
        url = f"{base}/{kind}?{field}={target}&limit={LIMIT}"
        found[kind].append(url)
        found[f"{kind} deep"].append(f"{url}&before={fixtures.deep_before(layout, conversation)}")
    return found


class Readers:
    def __init__(self) -> None:
        self.latencies: dict[str, list[int]] = {kind: [] for kind in KINDS}
        self.errors = 0
        self.measuring = False
        self.stopped = False

    async def read(self, session: aiohttp.ClientSession, pages: dict[str, list[str]]) -> None:
        cycles = {kind: itertools.cycle(pages[kind]) for kind in KINDS}
        for kind in itertools.cycle(KINDS):
            if self.stopped:
                return
            began = time.perf_counter_ns()
            async with session.get(next(cycles[kind])) as response:
                body = await response.read()
            took = time.perf_counter_ns() - began
            if response.status != 200 or len(orjson.loads(body)) != LIMIT:
                self.errors += 1
            elif self.measuring:
                self.latencies[kind].append(took)


async def read_history(spec: Spec) -> dict[str, float]:
    layout = fixtures.Layout(**spec.layout)
    tokens = spec.tokens()
    readers = Readers()
    sessions = [
        aiohttp.ClientSession(headers={"Cookie": f"socialhub_session={tokens[r]}"})
        for r in range(spec.clients)
    ]
    tasks = [
        asyncio.ensure_future(readers.read(session, urls(layout, r, spec.port)))
        for r, session in enumerate(sessions)
    ]
    await asyncio.sleep(spec.warmup)
    window = Window(spec.pids, spec.helper_pids)
    readers.measuring = True
    window.start()
    await asyncio.sleep(spec.seconds)
    window.stop()
    readers.measuring = False
    readers.stopped = True
    await asyncio.wait(tasks, timeout=10)
    for session in sessions:
        await session.close()
    for task in tasks:
        failure = task.exception() if task.done() and not task.cancelled() else None
        if failure is not None:
            raise failure
    requests = sum(len(found) for found in readers.latencies.values())
    result = {"req_per_s": requests / window.seconds, "errors": readers.errors}
    for kind, found in readers.latencies.items():
        for name, value in latency_figures(found).items():
            result[f"{kind}/{name}"] = value
    return {**result, **window.figures(requests)}
