"""Private messages between 100 clients, at saturation or at a fixed rate; broadcasts.

A message's content starts with its sequence number, so the receiving side finds when it was
sent. At saturation every client keeps `window` messages in flight: each delivery lets its
sender send the next (a refused one, too), so the server is never idle and never flooded.
At a fixed rate a ticker sends on schedule whatever the server does, and the latency of each
message sent inside the window is its send -> receive time at the recipient.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from typing import Any

from bench.loadgen import wire
from bench.loadgen.meter import Window
from bench.loadgen.spec import Spec
from bench.loadgen.stats import latency_figures

PAD = "x" * 48  # content of 60 characters: a short chat line
# socialhub remembers client ids for 24 hours and does not deliver a resent one again: every
# generator run numbers its messages under a prefix of its own.
RUN = secrets.token_hex(4)


def client_id(seq: int) -> str:
    return f"{RUN}-{seq}"


def seq_of(client_id: object) -> int | None:
    number = str(client_id).rpartition("-")[2]
    return int(number) if number.isdigit() else None


GRACE = 1.0  # seconds to wait for the messages of the window after it closed
BEHIND = 1.0  # seconds of messages undelivered at which a server counts as overloaded
TICK = 0.001  # uvloop timers have millisecond resolution; shorter sleeps spin


class PrivateLoad:
    """Who sent which message when, and what came back."""

    def __init__(self, user_ids: list[int], saturate: bool) -> None:
        self.user_ids = user_ids
        self.saturate = saturate
        self.clients: list[wire.Client] = []
        self.pending: dict[int, tuple[int, int]] = {}  # seq -> (sender index, sent ns)
        self.seq = 0
        self.delivered = self.errors = self.acks = 0
        self.window = (0, 0)  # ns: sends inside it are measured
        self.latencies: list[int] = []
        self.stopped = False

    def send_from(self, sender: int) -> None:
        seq = self.seq = self.seq + 1
        count = len(self.clients)
        recipient = self.user_ids[(sender + 1 + seq % (count - 1)) % count]
        content = f"{seq:012d}{PAD}"
        self.pending[seq] = (sender, time.perf_counter_ns())
        frame = {"type": "private", "to": recipient, "content": content, "id": client_id(seq)}
        self.clients[sender].send(frame)

    def sink(self, client: wire.Client, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "private":
            self._done(int(frame["content"][:12]), delivered=True)
        elif kind == "ack":
            self.acks += 1
        elif kind == "error":
            self.errors += 1
            seq = seq_of(frame.get("id"))
            if seq is not None:
                self._done(seq, delivered=False)

    def _done(self, seq: int, delivered: bool) -> None:
        entry = self.pending.pop(seq, None)
        if entry is None:
            return
        sender, sent = entry
        if delivered:
            self.delivered += 1
            if self.window[0] <= sent < self.window[1]:
                self.latencies.append(time.perf_counter_ns() - sent)
        if self.saturate and not self.stopped:
            self.send_from(sender)

    def in_window(self) -> int:
        return sum(
            1 for _, sent in self.pending.values() if self.window[0] <= sent < self.window[1]
        )


async def connect(spec: Spec, sink: wire.Sink, count: int) -> list[wire.Client]:
    """Connect clients for users 1..count; fail if any could not connect."""
    tokens = spec.tokens()[:count]
    clients = await wire.connect_many(wire.CODECS[spec.protocol], spec.port, tokens, sink)
    ready = [c for c in clients if c is not None]
    if len(ready) != count:
        wire.close_all(clients)
        raise RuntimeError(f"only {len(ready)} of {count} clients connected")
    await asyncio.sleep(spec.settle)  # the server finishes registering them
    return ready


async def saturate(spec: Spec) -> dict[str, float]:
    """Workload 1: delivered messages/s and server CPU per message at saturation."""
    load = PrivateLoad(list(range(1, spec.clients + 1)), saturate=True)
    load.clients = await connect(spec, load.sink, spec.clients)
    for index in range(spec.clients):
        for _ in range(spec.window):
            load.send_from(index)
    await asyncio.sleep(spec.warmup)
    window = Window(spec.pids, spec.helper_pids)
    first = load.delivered
    window.start()
    await asyncio.sleep(spec.seconds)
    window.stop()
    delivered = load.delivered - first
    load.stopped = True
    wire.close_all(load.clients)
    return {
        "msgs_per_s": delivered / window.seconds,
        "errors": load.errors,
        **window.figures(delivered),
    }


async def fixed_rate(spec: Spec) -> dict[str, float]:
    """Workload 2: p50/p99 send -> receive at `rate` messages/s offered.

    A server more than BEHIND seconds of messages behind cannot keep up: the generator stops
    offering (so that it is not left with a backlog of minutes) and reports p99 as infinite.
    """
    load = PrivateLoad(list(range(1, spec.clients + 1)), saturate=False)
    load.clients = await connect(spec, load.sink, spec.clients)
    window = Window(spec.pids, spec.helper_pids)
    began = time.perf_counter()
    end = began + spec.warmup + spec.seconds
    opens = began + spec.warmup
    sent = sent_before = delivered_before = 0
    overloaded = False
    while (now := time.perf_counter()) < end and not overloaded:
        if load.window == (0, 0) and now >= opens:
            window.start()
            sent_before, delivered_before = sent, load.delivered
            opened = time.perf_counter_ns()
            load.window = (opened, opened + int(spec.seconds * 1e9))
        while sent < int((now - began) * spec.rate):
            load.send_from(sent % spec.clients)
            sent += 1
        overloaded = len(load.pending) > spec.rate * BEHIND
        await asyncio.sleep(TICK)
    if load.window == (0, 0):  # overloaded during the warm-up
        window.start()
    window.stop()
    offered, delivered = sent - sent_before, load.delivered - delivered_before
    waited = 0.0
    while load.in_window() and waited < GRACE and not overloaded:
        await asyncio.sleep(0.05)
        waited += 0.05
    lost = load.in_window()
    wire.close_all(load.clients)
    figures = {
        # A message still missing after the grace period counts as infinitely late.
        **latency_figures(load.latencies, missing=lost),
        "offered_per_s": offered / window.seconds,
        "delivered_per_s": delivered / window.seconds,
        "overloaded": float(overloaded),
        "lost": lost,
        "errors": load.errors,
        **window.figures(delivered),
    }
    if overloaded:
        figures["p99_ms"] = figures["max_ms"] = math.inf
    return figures
