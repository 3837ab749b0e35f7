"""One sender, many receivers: a broadcast at a fixed rate (latency), a group at saturation.

The sender is user 1: socialhub's administrator (only they may broadcast) and a member of
group 1 with the others. Neither socialhub nor the peers send the sender its own copy.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.loadgen import wire
from bench.loadgen.meter import Window
from bench.loadgen.relay import GRACE, PAD, client_id, connect
from bench.loadgen.spec import Spec
from bench.loadgen.stats import latency_figures


class Broadcasts:
    def __init__(self) -> None:
        self.sent: dict[int, int] = {}  # seq -> sent ns, for broadcasts inside the window
        self.latencies: list[int] = []
        self.errors = 0

    def sink(self, client: wire.Client, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "broadcast":
            sent = self.sent.get(int(frame["content"][:12]))
            if sent is not None:
                self.latencies.append(time.perf_counter_ns() - sent)
        elif kind == "error":
            self.errors += 1


async def broadcast(spec: Spec) -> dict[str, float]:
    """Workload 2b: p50/p99 send -> receive of broadcasts to every other client."""
    load = Broadcasts()
    clients = await connect(spec, load.sink, spec.clients)
    sender = clients[0]
    interval = 1.0 / spec.rate
    for seq in range(1, int(spec.rate * spec.warmup) + 1):  # not measured
        sender.send({"type": "broadcast", "content": f"{seq:012d}{PAD}", "id": client_id(seq)})
        await asyncio.sleep(interval)
    window = Window(spec.pids, spec.helper_pids)
    window.start()
    first = int(spec.rate * spec.warmup) + 1
    began = time.perf_counter()
    for number in range(int(spec.rate * spec.seconds)):
        await asyncio.sleep(max(0.0, began + number * interval - time.perf_counter()))
        seq = first + number
        load.sent[seq] = time.perf_counter_ns()
        sender.send({"type": "broadcast", "content": f"{seq:012d}{PAD}", "id": client_id(seq)})
    window.stop()
    expected = len(load.sent) * (len(clients) - 1)
    waited = 0.0
    while len(load.latencies) < expected and waited < GRACE:
        await asyncio.sleep(0.05)
        waited += 0.05
    wire.close_all(clients)
    lost = expected - len(load.latencies)
    return {
        **latency_figures(load.latencies, missing=lost),
        "lost": lost,
        "errors": load.errors,
        **window.figures(len(load.latencies)),
    }


class GroupLoad:
    def __init__(self, sender: wire.Client, group_id: int, receivers: int) -> None:
        self.sender = sender
        self.group_id = group_id
        self.receivers = receivers
        self.remaining: dict[int, int] = {}  # seq -> copies not yet received
        self.seq = 0
        self.deliveries = self.errors = 0
        self.stopped = False

    def send(self) -> None:
        seq = self.seq = self.seq + 1
        self.remaining[seq] = self.receivers
        frame = {"type": "group", "group_id": self.group_id, "content": f"{seq:012d}{PAD}"}
        self.sender.send({**frame, "id": client_id(seq)})

    def sink(self, client: wire.Client, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "group":
            self.deliveries += 1
            seq = int(frame["content"][:12])
            left = self.remaining.get(seq, 0) - 1
            if left > 0:
                self.remaining[seq] = left
            elif seq in self.remaining:
                del self.remaining[seq]
                if not self.stopped:
                    self.send()
        elif kind == "error":
            self.errors += 1


async def fanout(spec: Spec) -> dict[str, float]:
    """Workload 3: deliveries/s from one sender to a group of `clients` connected members,
    with `window` group messages in flight (a message is done when every copy arrived)."""
    holder: list[GroupLoad] = []
    clients = await connect(
        spec, lambda c, f: holder[0].sink(c, f) if holder else None, spec.clients
    )
    load = GroupLoad(clients[0], spec.group_id, len(clients) - 1)
    holder.append(load)
    for _ in range(spec.window):
        load.send()
    await asyncio.sleep(spec.warmup)
    window = Window(spec.pids, spec.helper_pids)
    first = load.deliveries
    window.start()
    await asyncio.sleep(spec.seconds)
    window.stop()
    deliveries = load.deliveries - first
    load.stopped = True
    wire.close_all(clients)
    return {
        "deliveries_per_s": deliveries / window.seconds,
        "errors": load.errors,
        **window.figures(deliveries),
    }
