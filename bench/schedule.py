"""What is measured on which server, and in what order: the plan and its execution.

Servers are interleaved (A B C A B C ...): this machine's absolute figures drift by ±30% from
minute to minute, so each server's repetition i is measured next to the baseline's. A server
that fails (will not start, the generator times out) is reported and left out of the rest of
that workload; the run goes on.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench import fixtures, procs, profiling, report, servers
from bench.loadgen.meter import cpu_seconds
from bench.loadgen.spec import Spec

WORKLOADS = ("private", "latency", "fanout", "connections", "history", "bus", "typing", "presence")
# Presence is run on its own: its follows would announce the connects of the others.
DEFAULT_WORKLOADS = tuple(w for w in WORKLOADS if w != "presence")
BUS_SERVERS = ("socialhub-pg", "socialhub-redis", "socialhub-2proc")
SOCIALHUB_ONLY = ("history", "typing")  # the peers have no such feature: no baseline
SQLITE_WORKLOADS = ("private", "latency", *SOCIALHUB_ONLY)  # SQLite is reported for these
BASELINES = {w: servers.BASELINE for w in (*WORKLOADS, "broadcast") if w not in SOCIALHUB_ONLY}
BASELINES["bus"] = "socialhub-pg"  # the Redis bus against the in-process one
TYPING_RATE = 5.0  # typing frames/s from each client: one per keystroke of a fast typist
TYPING_WINDOW = 3.0  # seconds measured at least, also with --quick
BASELINES["presence"] = "socialhub-pg"
CONNECT_BUDGET = 90.0  # seconds for the 10,000 handshakes; those not done by then are errors
PRESENCE_RAMP = 10.0  # the presence workload's users connect evenly within this many seconds
PRESENCE_GRACE = 5.0  # socialhub's default: how long after a close its offline frame comes
IDLE_CPU = 0.10  # a server is idle below 10% of a core...
IDLE_WAIT = 30.0  # ...and is waited for that long at most
STARTED = time.monotonic()


@dataclass(frozen=True)
class Failure:
    workload: str
    server: str
    reason: str


def log(text: str) -> None:
    minutes, seconds = divmod(int(time.monotonic() - STARTED), 60)
    print(f"# [{minutes:02d}:{seconds:02d}] {text}", file=sys.stderr, flush=True)


def specs_for(workload: str, base: Spec, sockets: int, layout: fixtures.Layout) -> list[Spec]:
    """The measurements of one workload on one server (latency and history have two)."""
    if workload == "typing":
        # The server forwards one frame a second per sender: a window shorter than a few
        # seconds would count the edges of those seconds, not the rate.
        seconds = max(base.seconds, TYPING_WINDOW)
        return [replace(base, workload="typing", rate=TYPING_RATE, seconds=seconds)]
    if workload == "latency":
        short = replace(base, warmup=min(base.warmup, 0.5), seconds=min(base.seconds, 3.0))
        return [
            replace(short, workload="latency", rate=2000.0),
            replace(short, workload="broadcast", rate=20.0),
        ]
    if workload == "fanout":
        return [replace(base, workload="fanout", clients=layout.fanout_members)]
    if workload == "connections":
        count = min(sockets, layout.users)
        spec = replace(base, workload="connections", clients=count, settle=base.settle * 2)
        return [replace(spec, connect_budget=CONNECT_BUDGET, hold=min(2.0, base.seconds))]
    if workload == "presence":
        count = layout.presence_users
        spec = replace(base, workload="presence", clients=count, connect_budget=CONNECT_BUDGET)
        return [replace(spec, ramp=PRESENCE_RAMP, hold=PRESENCE_GRACE + 2 * base.settle + 1)]
    if workload == "history":
        # 20 readers in a closed loop saturate the server (latency is mostly queueing); one
        # reader alone shows the service time of a page.
        return [replace(base, workload="history", clients=n) for n in (fixtures.READERS, 1)]
    return [replace(base, workload=workload)]


def servers_for(workload: str, selected: list[str]) -> list[str]:
    if workload in ("bus", "presence"):
        return list(BUS_SERVERS) if "socialhub-pg" in selected else []
    chosen = [s for s in selected if s not in ("socialhub-redis", "socialhub-2proc")]
    if workload in SOCIALHUB_ONLY:
        return [s for s in chosen if s in ("socialhub-pg", "socialhub-sqlite")]
    if workload not in SQLITE_WORKLOADS:
        chosen = [s for s in chosen if s != "socialhub-sqlite"]
    return chosen


def wait_idle(pids: list[int]) -> None:
    """Wait until the server has worked off what an earlier measurement left it (an overloaded
    server keeps storing and delivering a backlog for seconds after its clients are gone)."""
    deadline = time.monotonic() + IDLE_WAIT
    while time.monotonic() < deadline:
        before = sum(cpu_seconds(pid) for pid in pids)
        time.sleep(0.25)
        if sum(cpu_seconds(pid) for pid in pids) - before < IDLE_CPU * 0.25:
            return


def measure(
    spec: Spec, running: servers.Running, env: servers.Environment, profile: Path | None
) -> dict[str, float]:
    """One generator run against one server, once it is idle: its figures."""
    wait_idle(running.pids)
    filled = replace(
        spec,
        protocol=running.protocol,
        port=running.port,
        peer_file=str(env.peer_file),
        pids=running.pids,
        helper_pids=running.helper_pids,
    )
    path = env.workdir / "spec.json"
    filled.save(path)
    limit = spec.settle * 3 + spec.warmup + spec.seconds + 60
    if spec.workload in ("connections", "presence"):
        limit += CONNECT_BUDGET + spec.hold
    argv = [sys.executable, "-m", "bench.loadgen", str(path)]
    spies = []
    if profile is not None and running.protocol == servers.SOCIALHUB:
        name = f"{spec.workload}-{spec.clients}" if spec.workload == "history" else spec.workload
        spies = profiling.start(profile, f"{name}-{running.name}", running.pids, spec)
    try:
        raw = json.loads(procs.run_json(argv, env.workdir / "loadgen.log", limit))
    finally:
        profiling.finish(spies)
    return {key: math.nan if value is None else float(value) for key, value in raw.items()}


@dataclass
class Execution:
    """Runs the workloads of one plan, collecting measurements and failures."""

    env: servers.Environment
    reps: int
    profile: Path | None = None
    fail_fast: bool = False

    def __post_init__(self) -> None:
        self.measurements: list[report.Measurement] = []
        self.failures: list[Failure] = []

    def run(self, workload: str, names: list[str], specs: list[Spec], reps: int) -> None:
        """Interleave the servers, rep after rep. Idle sockets get a fresh server per
        repetition (its memory is the measurement), and so do the bus configurations (they
        share one database but not one bus: a process would see the positions the others
        take as gaps); the others keep one server for all repetitions."""
        fresh = workload in ("connections", "bus", "presence")
        running: dict[str, servers.Running] = {}
        try:
            for name in [] if fresh else names:
                try:
                    running[name] = self._start(name)
                except procs.StartError as error:
                    self._fail(workload, name, error)
            for rep in range(reps):
                for name in names:
                    if name not in running and (not fresh or self._failed(workload, name)):
                        continue
                    try:
                        self._one(workload, name, specs, rep, running.get(name))
                    except procs.StartError as error:
                        self._fail(workload, name, error)
                        stopped = running.pop(name, None)
                        if stopped is not None:
                            stopped.stop()
        finally:
            procs.stop_many([p for server in running.values() for p in server.processes])

    def _start(self, name: str) -> servers.Running:
        return servers.start(name, self.env)

    def _one(
        self, workload: str, name: str, specs: list[Spec], rep: int, server: servers.Running | None
    ) -> None:
        own = server or self._start(name)
        try:
            for spec in specs:
                figures = measure(spec, own, self.env, self.profile if rep == 0 else None)
                log(f"{spec.workload} {name} rep {rep + 1}: {_brief(figures)}")
                label = f"history/{spec.clients}" if workload == "history" else spec.workload
                self.measurements.append(report.Measurement(label, name, rep, figures))
        finally:
            if server is None:
                own.stop()

    def _fail(self, workload: str, name: str, error: procs.StartError) -> None:
        if self.fail_fast:
            raise error
        self.failures.append(Failure(workload, name, str(error).splitlines()[0]))
        log(f"{workload} {name} FAILED: {error}")

    def _failed(self, workload: str, name: str) -> bool:
        return any(f.workload == workload and f.server == name for f in self.failures)


def _brief(figures: dict[str, float]) -> str:
    keys = (
        "msgs_per_s",
        "deliveries_per_s",
        "forwarded_per_s",
        "p50_ms",
        "p99_ms",
        "kib_per_socket",
        "connects_per_s",
        "sockets",
        "req_per_s",
        "cpu_us",
        "gen_cpu_pct",
        "errors",
        "lost",
        "presence_frames",
    )
    return ", ".join(f"{k}={figures[k]:.4g}" for k in keys if k in figures)
