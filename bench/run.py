"""`python -m bench`: start each server, drive it with the load generator, print one table.

Progress goes to stderr, the table to stdout; `--output` also writes it as markdown (into the
marked section of an existing page). docs/performance.md says what each figure means.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from bench import environment, fixtures, machine, procs, report, servers
from bench.loadgen.spec import Spec
from bench.schedule import (
    BASELINES,
    DEFAULT_WORKLOADS,
    WORKLOADS,
    Execution,
    log,
    servers_for,
    specs_for,
)

DEFAULT_SERVERS = (
    "socialhub-pg",
    "socialhub-sqlite",
    "autobahn",
    "channels",
    "socketio",
    "fastapi",
)
QUICK_SERVERS = ("socialhub-pg", "socialhub-sqlite", "autobahn")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    add = parser.add_argument
    add("--quick", action="store_true", help="a smoke run: short windows, one repetition")
    add(
        "--workloads",
        default=",".join(DEFAULT_WORKLOADS),
        help="comma-separated, of " + ",".join(WORKLOADS) + " (presence only when named)",
    )
    add(
        "--servers",
        help="comma-separated, of "
        + ",".join(servers.ALL_SERVERS)
        + " (default "
        + ",".join(DEFAULT_SERVERS)
        + "; with --quick "
        + ",".join(QUICK_SERVERS)
        + ")",
    )
    add("--reps", type=int, help="repetitions (default 3, quick 1; idle sockets: 1)")
    add("--seconds", type=float, help="measuring window (default 4, quick 0.6; latency: 3 at most)")
    add("--sockets", type=int, help="idle sockets of workload 4 (default 10000, quick 300)")
    add(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="an admin URL: a fresh database is created beside it and dropped at the end",
    )
    add(
        "--socialhub-root",
        type=Path,
        default=procs.REPO_ROOT,
        help="the checkout whose socialhub runs (default: this one), e.g. a git worktree",
    )
    add("--profile", type=Path, help="py-spy profiles of socialhub's processes go here (rep 1)")
    add("--output", type=Path, help="also write the table as markdown into this file")
    add("--raw", type=Path, help="write every measurement as JSON to this file")
    add("--keep-logs", action="store_true", help="keep the working directory and its logs")
    add("--fail-fast", action="store_true", help="stop at the first failing server")
    return parser.parse_args(argv)


def base_spec(args: argparse.Namespace, layout: fixtures.Layout) -> Spec:
    """The timing of every measurement; the workload and the server are filled in later."""
    return Spec(
        workload="",
        protocol="",
        port=0,
        peer_file="",
        pids=[],
        settle=0.2 if args.quick else 0.5,
        warmup=0.2 if args.quick else 1.0,
        seconds=args.seconds or (0.6 if args.quick else 4.0),
        layout={
            "users": layout.users,
            "fanout_members": layout.fanout_members,
            "messages": layout.messages,
            "conversations": layout.conversations,
            "presence_users": layout.presence_users,
        },
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    workloads = [w for w in args.workloads.split(",") if w]
    default = QUICK_SERVERS if args.quick else DEFAULT_SERVERS
    selected = [s for s in (args.servers or ",".join(default)).split(",") if s]
    unknown = [w for w in workloads if w not in WORKLOADS]
    unknown += [s for s in selected if s not in servers.ALL_SERVERS]
    if unknown:
        raise SystemExit(f"unknown workload or server: {', '.join(unknown)}")
    reps = args.reps or (1 if args.quick else 3)
    layout = fixtures.QUICK if args.quick else fixtures.FULL
    if "history" not in workloads:
        layout = replace(layout, messages=0)
    if "presence" not in workloads:
        layout = replace(layout, presence_users=0)
    procs.install_cleanup()
    procs.raise_open_file_limit()
    began = time.monotonic()
    plan = {w: servers_for(w, selected) for w in workloads}
    env = environment.prepare(
        args.postgres, layout, {n for names in plan.values() for n in names}, args.socialhub_root
    )
    execution = Execution(env, reps, args.profile, args.fail_fast)
    try:
        base = base_spec(args, layout)
        sockets = args.sockets or (300 if args.quick else 10_000)
        for workload in (w for w in workloads if plan[w]):
            # A fresh server per repetition of 10,000 sockets costs up to a minute: once only,
            # so that the whole run stays within 15 minutes.
            count = 1 if workload == "connections" and not args.reps else reps
            specs = specs_for(workload, base, sockets, layout)
            execution.run(workload, plan[workload], specs, count)
    finally:
        procs.kill_all()
        environment.teardown(env, args.postgres, keep_workdir=args.keep_logs)
    report_results(args, argv, execution, time.monotonic() - began, reps)


def report_results(
    args: argparse.Namespace, argv: list[str] | None, execution: Execution, took: float, reps: int
) -> None:
    rows = report.summarize(execution.measurements, BASELINES)
    print(report.text_table(rows))
    notes = [f"FAILED {f.workload} on {f.server}: {f.reason}" for f in execution.failures]
    hot = [m for m in execution.measurements if m.figures.get("gen_cpu_pct", 0) > 90]
    if hot:
        notes.append(f"the generator used over 90% of a core in {len(hot)} measurements")
    for note in notes:
        print(note)
    log(f"done in {took / 60:.1f} minutes")
    if args.raw:
        args.raw.write_text(json.dumps([m.__dict__ for m in execution.measurements], indent=1))
    if args.output:
        command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
        old = args.output.read_text() if args.output.exists() else ""
        page = machine.markdown(rows, command, took, reps, old, notes)
        args.output.write_text(page)
        log(f"wrote {args.output}")
