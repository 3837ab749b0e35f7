"""Workload 7: a typing storm. 100 clients in pairs, each sending its partner a typing frame
5 times a second (as a client that sends one per keystroke would), on a fixed schedule.

socialhub forwards at most one a second per sender and conversation and drops the rest, so
the figure is the frames forwarded per second and the server's CPU per forwarded frame: what
the dropped frames cost is inside it. Every frame carries an id and is acked, like every frame
of the other workloads; one forwarded to anyone but the sender's partner counts as an error.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench import fixtures
from bench.loadgen import wire
from bench.loadgen.meter import Window
from bench.loadgen.relay import TICK, client_id, connect
from bench.loadgen.spec import Spec

# The clients start typing one after another over this many seconds, so that the seconds in
# which the server lets each sender through are spread evenly and a window of a few seconds
# counts the rate, not where its edges fall.
STAGGER = 1.0


class Storm:
    """Counts what the clients receive; a typing frame from anyone but the receiver's partner
    counts as an error."""

    def __init__(self) -> None:
        self.forwarded = self.errors = 0

    def sink(self, client: wire.Client, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "typing":
            user = client.index + 1
            if (frame.get("from"), frame.get("to")) == (fixtures.typing_partner(user), user):
                self.forwarded += 1
            else:
                self.errors += 1
        elif kind == "error":
            self.errors += 1


async def typing_storm(spec: Spec) -> dict[str, float]:
    """`rate` typing frames/s from each client to its partner, sent round-robin; forwarded
    frames/s and server CPU per forwarded frame over the window, which opens once every
    client types."""
    storm = Storm()
    clients = await connect(spec, storm.sink, spec.clients)
    window = Window(spec.pids, spec.helper_pids)
    total_rate = spec.rate * len(clients)
    began = time.perf_counter()
    opens = began + max(spec.warmup, STAGGER)
    end = opens + spec.seconds
    slot = sent = sent_before = forwarded_before = 0
    opened = False
    while (now := time.perf_counter()) < end:
        if not opened and now >= opens:
            window.start()
            opened = True
            sent_before, forwarded_before = sent, storm.forwarded
        while slot < int((now - began) * total_rate):
            client = clients[slot % len(clients)]
            if slot / total_rate >= STAGGER * client.index / len(clients):
                to = fixtures.typing_partner(client.index + 1)
                client.send({"type": "typing", "to": to, "id": client_id(slot)})
                sent += 1
            slot += 1
        await asyncio.sleep(TICK)
    window.stop()
    forwarded = storm.forwarded - forwarded_before
    offered = sent - sent_before
    wire.close_all(clients)
    return {
        "forwarded_per_s": forwarded / window.seconds,
        "offered_per_s": offered / window.seconds,
        "frame_cpu_us": 1e6 * window.server_cpu / offered if offered else 0.0,
        "errors": storm.errors,
        **window.figures(forwarded),
    }
