"""`python -m bench.soak`: 10,000 authenticated WebSockets on one server for 10 minutes.

One socialhub process on PostgreSQL; its users and sessions are written straight into the
database (bench/fixtures.py), so no password is hashed. Every socket opens, then a steady
stream of private messages (`--rate` a second, random sender and recipient among the open
sockets) runs for `--minutes`. Every `--sample` seconds the server's resident memory
(/proc/<pid>/status) and open descriptors (/proc/<pid>/fd) are printed. The run passes when
memory grew by less than 5% from the end of the warm-up to the end, no socket was dropped,
and once the sockets are closed the server's descriptors are back to what they were before
the first one opened. Progress on stderr, the figures on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import uvloop

from bench import environment, fixtures, procs, servers
from bench.loadgen import wire
from bench.loadgen.meter import rss_bytes
from bench.loadgen.relay import PAD, client_id

MAX_GROWTH = 0.05
FD_WAIT = 60.0  # seconds the closed sockets are given to leave the server's descriptor table


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    add = parser.add_argument
    add("--sockets", type=int, default=10_000)
    add("--minutes", type=float, default=10.0, help="of traffic once every socket is open")
    add("--warmup", type=float, default=2.0, help="minutes of traffic before memory counts")
    add("--rate", type=float, default=50.0, help="private messages a second")
    add("--sample", type=float, default=10.0, help="seconds between samples")
    add("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    return parser.parse_args(argv)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def raise_descriptor_limit(needed: int) -> None:
    """Lift the hard limit to `needed` when it is lower (root may, unless a container forbids
    it), then the soft one to the hard one. The server and this generator each hold one
    descriptor per socket, each under its own limit (the server inherits ours)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard < needed:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
    if procs.raise_open_file_limit() < needed:
        raise SystemExit(f"the open-file limit is below {needed} and cannot be raised")


@dataclass
class Traffic:
    """Acks, deliveries and errors of the steady stream."""

    sent: int = 0
    acks: int = 0
    delivered: int = 0
    errors: int = 0
    samples: list[tuple[str, dict[str, float]]] = field(default_factory=list)  # (phase, row)

    def sink(self, client: wire.Client, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "ack":
            self.acks += 1
        elif kind == "private":
            self.delivered += 1
        elif kind == "error":
            self.errors += 1


def sample(pid: int, began: float, phase: str, traffic: Traffic, open_sockets: int) -> None:
    row: dict[str, float] = {
        "t_s": round(time.monotonic() - began),
        "rss_mib": round(rss_bytes([pid]) / 2**20, 1),
        "fds": open_fds(pid),
        "sockets": open_sockets,
        "sent": traffic.sent,
        "acks": traffic.acks,
        "delivered": traffic.delivered,
        "errors": traffic.errors,
    }
    traffic.samples.append((phase, row))
    print(f"{phase:8} " + "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)


async def steady(clients: list[wire.Client], traffic: Traffic, rate: float, seconds: float) -> None:
    """`rate` private messages a second for `seconds`, on schedule whatever the server does."""
    users = [client.index + 1 for client in clients]
    began = time.monotonic()
    while (elapsed := time.monotonic() - began) < seconds:
        while traffic.sent < int(elapsed * rate):
            sender, recipient = random.sample(range(len(clients)), 2)
            traffic.sent += 1
            content = f"{traffic.sent:012d}{PAD}"
            frame = {"type": "private", "to": users[recipient], "content": content}
            clients[sender].send({**frame, "id": client_id(traffic.sent)})
        await asyncio.sleep(0.01)


async def soak(args: argparse.Namespace, running: servers.Running, tokens: list[str]) -> Traffic:
    pid, traffic = running.pids[0], Traffic()
    began = time.monotonic()
    await asyncio.sleep(1.0)
    sample(pid, began, "baseline", traffic, 0)
    codec = wire.CODECS[servers.SOCIALHUB]
    opened = await wire.connect_many(codec, running.port, tokens, traffic.sink, budget=600.0)
    clients = [client for client in opened if client is not None]
    print(f"# {len(clients)} of {len(tokens)} sockets open", file=sys.stderr, flush=True)

    async def sampler() -> None:
        while True:
            sample(pid, began, "traffic", traffic, sum(not c.closed for c in clients))
            await asyncio.sleep(args.sample)

    ticker = asyncio.ensure_future(sampler())
    await steady(clients, traffic, args.rate, args.minutes * 60)
    await asyncio.sleep(2.0)  # the last acks
    ticker.cancel()
    sample(pid, began, "traffic", traffic, sum(not c.closed for c in clients))
    wire.close_all(clients)
    baseline = traffic.samples[0][1]["fds"]
    deadline = time.monotonic() + FD_WAIT
    while open_fds(pid) > baseline and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
    sample(pid, began, "closed", traffic, 0)
    return traffic


def verdict(args: argparse.Namespace, traffic: Traffic) -> list[str]:
    """The summary lines; the last one says PASS or FAIL."""
    rows = [row for phase, row in traffic.samples if phase == "traffic"]
    first_t = rows[0]["t_s"]
    warm = [s for s in rows if s["t_s"] - first_t >= args.warmup * 60] or rows[-1:]
    start, end = warm[0]["rss_mib"], rows[-1]["rss_mib"]
    growth = (end - start) / start
    peak = max(s["rss_mib"] for s in warm)
    baseline, closed = traffic.samples[0][1], traffic.samples[-1][1]
    open_at_end = rows[-1]["sockets"]
    lines = [
        f"sockets open {rows[0]['sockets']:.0f}, still open at the end {open_at_end:.0f}",
        f"messages sent {traffic.sent}, acked {traffic.acks}, delivered {traffic.delivered},"
        f" errors {traffic.errors}",
        f"RSS baseline {baseline['rss_mib']} MiB, after warm-up {start} MiB, end {end} MiB,"
        f" peak {peak} MiB: growth {100 * growth:+.1f}%",
        f"descriptors baseline {baseline['fds']:.0f}, with sockets {rows[-1]['fds']:.0f},"
        f" after close {closed['fds']:.0f}",
    ]
    ok = (
        growth < MAX_GROWTH
        and closed["fds"] <= baseline["fds"]
        and open_at_end == rows[0]["sockets"] == args.sockets
        and traffic.acks == traffic.sent
    )
    return [*lines, "PASS" if ok else "FAIL"]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    procs.install_cleanup()
    raise_descriptor_limit(args.sockets + 1000)
    layout = fixtures.Layout(args.sockets, 1, messages=0, conversations=0)
    env = environment.prepare(args.postgres, layout, {"socialhub-pg"})
    try:
        running = servers.start("socialhub-pg", env)
        traffic = uvloop.run(soak(args, running, env.tokens))
        running.stop()
    finally:
        procs.kill_all()
        environment.teardown(env, args.postgres)
    for line in verdict(args, traffic):
        print(line, flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # everything started was stopped on the way out
        sys.exit(130)
