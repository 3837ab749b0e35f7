"""Workload 8: presence. Users who follow each other (bench/fixtures.py) connect evenly within
the ramp; then the first half of them leave.

Every frame is checked, not sampled. Of two connected users of one audience, whichever came
second must have been announced to the other (the first may still have been registering when
the second's announcement went out, so either direction counts); each user who leaves must be
announced offline, once, to every member of their audience who stays. A pair with neither is
`lost`; a frame more than once, or an offline frame of someone who stayed, is `duplicates`.
Server CPU is measured over the ramp and until its last frames arrived.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from bench import fixtures
from bench.loadgen import wire
from bench.loadgen.meter import Window
from bench.loadgen.spec import Spec

Seen = dict[int, Counter[tuple[int, str]]]  # receiver -> (user, status) -> frames


async def come_and_go(spec: Spec) -> dict[str, float]:
    layout = fixtures.Layout(**spec.layout)
    count = layout.presence_users
    seen: Seen = {user: Counter() for user in range(1, count + 1)}

    def sink(client: wire.Client, frame: wire.Frame) -> None:
        if frame.get("type") == "presence":
            seen[client.index + 1][(frame["user"], frame["status"])] += 1

    await asyncio.sleep(spec.settle)
    window = Window(spec.pids, spec.helper_pids)
    window.start()
    began = time.monotonic()
    clients = await wire.connect_many(
        wire.CODECS[spec.protocol],
        spec.port,
        spec.tokens()[:count],
        sink,
        spec.concurrency,
        spec.connect_budget,
        pace=spec.ramp / count,
    )
    took = time.monotonic() - began
    await asyncio.sleep(spec.settle * 2)  # the last announcements arrive
    window.stop()
    online = {client.index + 1 for client in clients if client is not None}
    lost_online = _lost_online(layout, online, seen)
    leaving = {user for user in online if user <= count // 2}
    wire.close_all([client for client in clients if client and client.index + 1 in leaving])
    await asyncio.sleep(spec.hold)  # past the grace, and the offline frames arrive
    staying = {client.index + 1 for client in clients if client is not None and not client.closed}
    lost_offline, wrong = _offline(layout, leaving, staying, seen)
    wire.close_all(clients)
    duplicates = sum(n - 1 for counts in seen.values() for n in counts.values() if n > 1)
    return {
        "connects_per_s": len(online) / took,
        "connect_seconds": took,
        "sockets": len(online),
        "errors": count - len(online) + len(online - leaving - staying),
        "presence_frames": sum(sum(counts.values()) for counts in seen.values()),
        "lost": lost_online + lost_offline,
        "duplicates": duplicates + wrong,
        **window.figures(len(online)),
    }


def _lost_online(layout: fixtures.Layout, online: set[int], seen: Seen) -> int:
    """Pairs of one audience, both connected, where neither was told of the other."""
    lost = 0
    for user in online:
        for other in fixtures.presence_audience(layout, user):
            if other > user and other in online:
                told = seen[other][(user, "online")] or seen[user][(other, "online")]
                lost += 0 if told else 1
    return lost


def _offline(
    layout: fixtures.Layout, leaving: set[int], staying: set[int], seen: Seen
) -> tuple[int, int]:
    """(audience members who stayed and were not told of one who left; offline frames of
    users who did not leave)."""
    lost = sum(
        1
        for user in leaving
        for other in fixtures.presence_audience(layout, user)
        if other in staying and not seen[other][(user, "offline")]
    )
    wrong = sum(
        n
        for receiver in staying
        for (user, status), n in seen[receiver].items()
        if status == "offline" and user not in leaving
    )
    return lost, wrong
