"""Workload 4: many idle authenticated sockets; memory per socket and connects/s.

The server's resident memory is read before the first handshake and again once every socket
is open and the server has settled; the difference over the sockets is the cost of one. The
sockets are then held (and watched for drops) before the generator exits.
"""

from __future__ import annotations

import asyncio
import time

from bench.loadgen import wire
from bench.loadgen.meter import Window, rss_bytes
from bench.loadgen.spec import Spec


async def idle_sockets(spec: Spec) -> dict[str, float]:
    tokens = spec.tokens()[: spec.clients]
    await asyncio.sleep(spec.settle)
    before = rss_bytes(spec.pids)
    window = Window(spec.pids, spec.helper_pids)
    window.start()
    began = time.monotonic()
    clients = await wire.connect_many(
        wire.CODECS[spec.protocol],
        spec.port,
        tokens,
        lambda c, f: None,
        spec.concurrency,
        spec.connect_budget,
    )
    took = time.monotonic() - began
    window.stop()
    opened = [c for c in clients if c is not None]
    await asyncio.sleep(spec.settle * 2)  # the server finishes registering the last ones
    after = rss_bytes(spec.pids)
    await asyncio.sleep(spec.hold)
    dropped = sum(1 for c in opened if c.closed)
    wire.close_all(clients)
    return {
        "sockets": len(opened),
        "kib_per_socket": (after - before) / max(1, len(opened)) / 1024,
        "connects_per_s": len(opened) / took,
        "errors": (len(tokens) - len(opened)) + dropped,
        "rss_mib": after / 2**20,
        **window.figures(len(opened)),
    }
