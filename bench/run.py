"""`python -m bench`: start each server, drive it with the load generator, print one table.

Servers are measured interleaved (A B C A B C ...): this machine has 2 shared cores and its
absolute figures drift by ±30% from minute to minute, so only ratios within one run mean much.
Progress goes to stderr, the table to stdout; `--output` also writes it as markdown.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

from bench import environment, fixtures, machine, procs, profiling, report, servers
from bench.loadgen.spec import Spec

WORKLOADS = ("private", "latency", "fanout", "connections", "history", "bus")
DEFAULT_SERVERS = (
    "socialhub-pg",
    "socialhub-sqlite",
    "autobahn",
    "channels",
    "socketio",
    "fastapi",
)
QUICK_SERVERS = ("socialhub-pg", "socialhub-sqlite", "autobahn")
BUS_SERVERS = ("socialhub-pg", "socialhub-redis", "socialhub-2proc")
SQLITE_WORKLOADS = ("private", "latency", "history")  # SQLite is reported for these
BASELINES = {w: servers.BASELINE for w in WORKLOADS if w not in ("history", "bus")}
BASELINES["broadcast"] = servers.BASELINE
BASELINES["bus"] = "socialhub-pg"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run of a few seconds per workload"
    )
    parser.add_argument(
        "--workloads", default=",".join(WORKLOADS), help="comma-separated: " + ", ".join(WORKLOADS)
    )
    parser.add_argument(
        "--servers",
        help="comma-separated, of "
        + ", ".join(servers.ALL_SERVERS)
        + f" (default {','.join(DEFAULT_SERVERS)}; quick: {','.join(QUICK_SERVERS)})",
    )
    parser.add_argument(
        "--reps", type=int, help="repetitions of each measurement (default 3, quick 1)"
    )
    parser.add_argument(
        "--seconds", type=float, help="length of each measuring window (default 4, quick 1)"
    )
    parser.add_argument("--sockets", type=int, help="idle sockets of workload 4 (default 10,000)")
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="an admin URL; a fresh database is created next to it and dropped",
    )
    parser.add_argument(
        "--socialhub-root",
        type=Path,
        default=procs.REPO_ROOT,
        help="the checkout whose socialhub runs (default: this one), e.g. a git worktree",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="record py-spy profiles of socialhub's processes here (first repetition)",
    )
    parser.add_argument("--output", type=Path, help="also write the table as markdown to this file")
    parser.add_argument("--raw", type=Path, help="write every measurement as JSON to this file")
    parser.add_argument(
        "--keep-logs",
        action="store_true",
        help="keep the working directory (server logs) and print its path",
    )
    parser.add_argument(
        "--keep-going", action="store_true", help="report a server that fails instead of stopping"
    )
    return parser.parse_args(argv)


def log(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def base_spec(args: argparse.Namespace, layout: fixtures.Layout) -> Spec:
    """The timing of every measurement; the workload and the server are filled in later."""
    quick = args.quick
    seconds = args.seconds or (1.0 if quick else 4.0)
    return Spec(
        workload="",
        protocol="",
        port=0,
        peer_file="",
        pids=[],
        settle=0.3 if quick else 0.5,
        warmup=0.3 if quick else 1.0,
        seconds=seconds,
        layout={
            "users": layout.users,
            "fanout_members": layout.fanout_members,
            "messages": layout.messages,
            "conversations": layout.conversations,
        },
    )


def workload_specs(
    workload: str, base: Spec, args: argparse.Namespace, layout: fixtures.Layout
) -> list[Spec]:
    """The measurements of one workload on one server (latency has two)."""
    if workload == "latency":
        return [
            replace(base, workload="latency", rate=2000.0),
            replace(base, workload="broadcast", rate=20.0),
        ]
    if workload == "fanout":
        return [replace(base, workload="fanout", clients=layout.fanout_members)]
    if workload == "connections":
        count = args.sockets or (300 if args.quick else 10_000)
        return [replace(base, workload="connections", clients=min(count, layout.users), settle=1.0)]
    if workload == "history":
        # 20 readers in a closed loop saturate the server (latency is mostly queueing); one
        # reader alone shows the service time of a page.
        return [replace(base, workload="history", clients=n) for n in (fixtures.READERS, 1)]
    return [replace(base, workload=workload)]


def servers_for(workload: str, selected: list[str]) -> list[str]:
    if workload == "bus":
        return list(BUS_SERVERS) if "socialhub-pg" in selected else []
    chosen = [s for s in selected if s not in ("socialhub-redis", "socialhub-2proc")]
    if workload == "history":
        return [s for s in chosen if s in ("socialhub-pg", "socialhub-sqlite")]
    if workload not in SQLITE_WORKLOADS:
        chosen = [s for s in chosen if s != "socialhub-sqlite"]
    return chosen


def measure(
    spec: Spec, running: servers.Running, env: servers.Environment, profile: Path | None = None
) -> dict[str, float]:
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
    limit = spec.settle * 3 + spec.warmup + spec.seconds + 120
    argv = [sys.executable, "-m", "bench.loadgen", str(path)]
    spies = []
    if profile is not None and running.protocol == servers.SOCIALHUB:
        spies = profiling.start(profile, f"{spec.workload}-{running.name}", running.pids, spec)
    try:
        raw = json.loads(procs.run_json(argv, env.workdir / "loadgen.log", limit))
    finally:
        profiling.finish(spies)
    return {key: math.nan if value is None else float(value) for key, value in raw.items()}


def run_workload(
    workload: str,
    names: list[str],
    env: servers.Environment,
    specs: list[Spec],
    args: argparse.Namespace,
    reps: int,
) -> list[report.Measurement]:
    """Interleave the servers, rep after rep. Idle sockets get a fresh server per repetition
    (its memory is the measurement), and so do the bus configurations; the others keep one
    server for all repetitions."""
    # The bus configurations share one database but not one bus: a process would see the
    # positions the others take as gaps, so only one of them runs at a time.
    fresh = workload in ("connections", "bus")
    running: dict[str, servers.Running] = {}
    found: list[report.Measurement] = []
    failed: set[str] = set()
    try:
        if not fresh:
            for name in names:
                running[name] = servers.start(name, env)
        for rep in range(reps):
            for name in names:
                if name in failed:
                    continue
                server = servers.start(name, env) if fresh else running[name]
                try:
                    for spec in specs:
                        profile = args.profile if rep == 0 else None
                        figures = measure(spec, server, env, profile)
                        log(f"{spec.workload} {name} rep {rep + 1}: {_brief(figures)}")
                        label = (
                            f"{spec.workload}/{spec.clients}"
                            if workload == "history"
                            else spec.workload
                        )
                        found.append(report.Measurement(label, name, rep, figures))
                except procs.StartError as error:
                    if not args.keep_going:
                        raise
                    failed.add(name)
                    log(f"{workload} {name} failed: {error}")
                finally:
                    if fresh:
                        server.stop()
    finally:
        for server in running.values():
            server.stop()
    return found


def _brief(figures: dict[str, float]) -> str:
    keys = (
        "msgs_per_s",
        "deliveries_per_s",
        "p50_ms",
        "p99_ms",
        "kib_per_socket",
        "connects_per_s",
        "req_per_s",
        "cpu_us",
        "gen_cpu_pct",
        "errors",
        "lost",
    )
    return ", ".join(f"{k}={figures[k]:.4g}" for k in keys if k in figures)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    workloads = [w for w in args.workloads.split(",") if w]
    selected = [
        s
        for s in (args.servers or ",".join(QUICK_SERVERS if args.quick else DEFAULT_SERVERS)).split(
            ","
        )
        if s
    ]
    unknown = [w for w in workloads if w not in WORKLOADS] + [
        s for s in selected if s not in servers.ALL_SERVERS
    ]
    if unknown:
        raise SystemExit(f"unknown workload or server: {', '.join(unknown)}")
    reps = args.reps or (1 if args.quick else 3)
    layout = fixtures.QUICK if args.quick else fixtures.FULL
    if "history" not in workloads:
        layout = replace(layout, messages=0)
    procs.install_cleanup()
    procs.raise_open_file_limit()
    began = time.monotonic()
    plan = {w: servers_for(w, selected) for w in workloads}
    every = {name for names in plan.values() for name in names}
    env = environment.prepare(args.postgres, layout, every, args.socialhub_root)
    measurements: list[report.Measurement] = []
    try:
        base = base_spec(args, layout)
        for workload in workloads:
            if plan[workload]:
                specs = workload_specs(workload, base, args, layout)
                # A fresh server per repetition of 10,000 sockets costs ~30 s: two repetitions.
                count = min(reps, 2) if workload == "connections" else reps
                measurements += run_workload(workload, plan[workload], env, specs, args, count)
    finally:
        procs.kill_all()
        environment.teardown(env, args.postgres, keep_workdir=args.keep_logs)
    took = time.monotonic() - began
    rows = report.summarize(measurements, BASELINES)
    print(report.text_table(rows))
    hot = [m for m in measurements if m.figures.get("gen_cpu_pct", 0) > 90]
    if hot:
        log(
            f"the generator used over 90% of a core in {len(hot)} measurements:"
            " it may have been the bottleneck there"
        )
    if args.raw:
        args.raw.write_text(json.dumps([m.__dict__ for m in measurements], indent=1))
    if args.output:
        argv_text = " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])])
        old = args.output.read_text() if args.output.exists() else ""
        args.output.write_text(machine.markdown(rows, argv_text, took, reps, old))
        log(f"wrote {args.output}")
