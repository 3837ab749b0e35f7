"""`python -m bench.faults kill9|postgres-restart|redis-restart`: a fault, again and again,
under a bounded load whose every ack is kept, then the acks checked against history.

Real `twistd socialhub` processes on a fresh database (bench/environment.py). PAIRS senders
send messages to PAIRS receivers (bench/faultload.py); after `--every` seconds of load the
fault strikes, again `--every` seconds after each recovery (every /healthz 200 and a new ack),
and the load stops `--every` seconds after the last one:

- kill9: the server gets SIGKILL and is started again on the same port (`--engine`).
- postgres-restart: the machine's PostgreSQL cluster is restarted with pg_ctlcluster
  (`--terminate`: only the bench database's backends are ended, pg_terminate_backend).
- redis-restart: two processes share a private redis-server, senders on one and receivers on
  the other; Redis is stopped for `--outage` seconds and started again on its port.

/healthz of each server is polled every 0.1 s and its changes printed, relative to the fault.
The run passes when no acked message is missing from history, none is stored twice, and a
resent client id is always acked with its first message id. Progress on stderr, figures on
stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import psycopg2
import uvloop

from bench import environment, fixtures, procs, servers
from bench.faultload import PAIRS, Check, Health, Receiver, Sender, check, deliveries_settle

FAULTS = ("kill9", "postgres-restart", "redis-restart")
ENGINES = {"postgres": "socialhub-pg", "sqlite": "socialhub-sqlite"}
RUN_TIMEOUT = 600.0  # seconds for a recovery, and for the last messages to be acked
SETTLE = 30.0  # seconds for the receivers to get every acked message at the end


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    add = parser.add_argument
    add("fault", choices=FAULTS)
    add("--engine", choices=tuple(ENGINES), default="postgres", help="kill9 only")
    add("--cycles", type=int, help="faults in the run (default: kill9 10, the others 3)")
    add("--every", type=float, default=2.0, help="seconds of load before each fault, and after")
    add("--rate", type=float, default=50.0, help="frames a second per sender")
    add("--window", type=int, default=4, help="unanswered frames per sender at most")
    add("--outage", type=float, default=3.0, help="seconds Redis stays down")
    add("--terminate", action="store_true", help="postgres-restart: end backends instead")
    add("--keep-logs", action="store_true", help="keep the working directory and its logs")
    add("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    return parser.parse_args(argv)


@dataclass
class Run:
    """The servers of one run and what happened to them."""

    args: argparse.Namespace
    env: servers.Environment
    running: list[servers.Running]
    began: float = field(default_factory=time.monotonic)
    health: list[Health] = field(default_factory=list)
    faults_at: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.running[0].name

    def now(self) -> float:
        return time.monotonic() - self.began


async def kill9(run: Run) -> str:
    """SIGKILL, then the same server on the same port; how long it was away."""
    old = run.running[0]
    procs.kill9(old.processes[0])
    log = run.env.workdir / f"{old.name}-{old.port}-0.log"
    log.rename(log.with_suffix(f".{len(run.faults_at)}"))  # the new one's "listening" is awaited
    began = time.monotonic()
    run.running[0] = await asyncio.to_thread(servers.start, old.name, run.env, old.port)
    return f"listening again {time.monotonic() - began:.2f} s after the kill"


async def postgres_restart(run: Run) -> str:
    """The cluster restarted (or the bench database's backends ended); how long it took."""
    began = time.monotonic()
    if run.args.terminate:
        assert run.env.postgres_url is not None
        ended = await asyncio.to_thread(terminate_backends, run.env.postgres_url)
        return f"{ended} backends terminated"
    version = os.listdir("/etc/postgresql")[0]
    argv = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]
    await asyncio.to_thread(subprocess.run, argv, check=True)
    return f"pg_ctlcluster restart took {time.monotonic() - began:.2f} s"


def terminate_backends(url: str) -> int:
    connection = psycopg2.connect(url)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return int(cursor.fetchone()[0])
    finally:
        connection.close()


async def redis_restart(run: Run) -> str:
    """The private redis-server stopped for `--outage` seconds, then started on its port."""
    assert run.env.redis_process is not None and run.env.redis_url is not None
    procs.stop(run.env.redis_process)
    await asyncio.sleep(run.args.outage)
    port = int(run.env.redis_url.rsplit(":", 1)[1].split("/")[0])
    executable = shutil.which("redis-server") or "redis-server"
    await asyncio.to_thread(servers.start_redis, run.env, executable, port)
    return f"redis-server down for {run.args.outage:.1f} s"


STRIKES: dict[str, Callable[[Run], Awaitable[str]]] = {
    "kill9": kill9,
    "postgres-restart": postgres_restart,
    "redis-restart": redis_restart,
}


async def load(run: Run) -> None:
    """Senders and receivers run while the fault strikes `cycles` times, each once the
    previous one is over and the load has run `--every` seconds; then the check."""
    args, tokens = run.args, run.env.tokens
    senders = [Sender(u, tokens[u - 1], args.rate, args.window) for u in range(1, PAIRS + 1)]
    receivers = [Receiver(tokens[u + PAIRS - 1]) for u in range(1, PAIRS + 1)]
    send_port, receive_port = run.running[0].port, run.running[-1].port
    done = asyncio.Event()
    receiving = [asyncio.ensure_future(r.keep_open(receive_port, done)) for r in receivers]
    polls = watch_health(run)
    while not all(r.client for r in receivers):
        await asyncio.sleep(0.05)
    sending = asyncio.gather(*(s.run(send_port) for s in senders))
    cycles = args.cycles or (10 if args.fault == "kill9" else 3)
    for cycle in range(cycles):
        await asyncio.sleep(args.every)
        acked = sum(len(s.acked) for s in senders)
        run.faults_at.append(run.now())
        what = await STRIKES[args.fault](run)
        during = sum(len(s.acked) for s in senders) - acked
        back = await recovered(run, senders)
        say(f"{args.fault} {cycle + 1}: {acked} acked before, {during} during it; {what}; {back}")
    await asyncio.sleep(args.every)
    for sender in senders:
        sender.finish()
    try:
        await asyncio.wait_for(sending, RUN_TIMEOUT)
    except TimeoutError:
        raise SystemExit(f"FAIL: messages still unacked {RUN_TIMEOUT:.0f} s later") from None
    await deliveries_settle(senders, receivers, SETTLE)
    done.set()
    await asyncio.gather(*receiving)
    for poll in polls:
        poll.cancel()
    report(run, await check(send_port, senders, receivers), cycles)


def watch_health(run: Run) -> list[asyncio.Future[None]]:
    """A /healthz poll of every server, into run.health."""
    run.health = [Health() for _ in run.running]
    return [
        asyncio.ensure_future(h.poll(r.port, run.began))
        for r, h in zip(run.running, run.health, strict=True)
    ]


async def recovered(run: Run, senders: list[Sender]) -> str:
    """Wait until every /healthz answered 200 after the fault was over and a new message was
    acked (the strike returns once the fault is over: Redis or the server started again)."""
    struck, acked = run.now(), sum(len(s.acked) for s in senders)
    first_ack = None
    while run.now() < struck + RUN_TIMEOUT:
        if first_ack is None and sum(len(s.acked) for s in senders) > acked:
            first_ack = run.now()
        healthy = all(h.latest[1] == 200 and h.latest[0] > struck for h in run.health)
        if healthy and first_ack is not None:
            fault = run.faults_at[-1]
            ok = max(0.0, max(h.changes[-1][0] for h in run.health) - fault)
            return f"next ack {first_ack - fault:.2f} s, /healthz 200 {ok:.2f} s after it began"
        await asyncio.sleep(0.01)
    raise SystemExit(f"FAIL: not recovered {RUN_TIMEOUT:.0f} s after fault {len(run.faults_at)}")


def say(line: str) -> None:
    print(line, flush=True)


def report(run: Run, result: Check, cycles: int) -> None:
    for number, health in enumerate(run.health):
        for at, status, state in health.changes:
            say(f"/healthz of server {number + 1}: {status} {state} {since_fault(run, at)}")
    say(
        f"{run.args.fault} on {run.name}, {cycles} faults, {run.now():.0f} s:"
        f" acked {result.acked}, stored {result.stored}, acked but lost {result.lost},"
        f" stored twice {result.duplicates}, resent ids acked differently {result.mismatched},"
        f" undelivered {result.undelivered}, delivered twice {result.delivered_twice},"
        f" resync_required {result.resyncs}, sender reconnects {result.reconnects},"
        f" frames resent {result.resent},"
        f" error frames {dict(result.errors)}"
    )
    say("PASS" if result.passed() else "FAIL")


def since_fault(run: Run, at: float) -> str:
    """When, relative to the fault before it, a change of /healthz was seen."""
    before = [n for n, f in enumerate(run.faults_at) if f <= at]
    if not before:
        return "before the first fault"
    return f"{at - run.faults_at[before[-1]]:+.2f} s after fault {before[-1] + 1}"


def servers_of(args: argparse.Namespace) -> list[str]:
    if args.fault == "kill9":
        return [ENGINES[args.engine]]
    if args.fault == "redis-restart":
        return ["socialhub-redis", "socialhub-redis"]
    return ["socialhub-pg"]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    procs.install_cleanup()
    names = servers_of(args)
    layout = fixtures.Layout(2 * PAIRS, 1, messages=0, conversations=2)
    env = environment.prepare(args.postgres, layout, set(names))
    try:
        run = Run(args, env, [servers.start(name, env) for name in names])
        uvloop.run(load(run))
    finally:
        procs.kill_all()
        environment.teardown(env, args.postgres, keep_workdir=args.keep_logs)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # everything started was stopped on the way out
        print("# interrupted", file=sys.stderr)
        sys.exit(130)
