"""How each server under test is started: command line, readiness, the pids to measure.

Every server is its own process (two for the shared-port case), listening on a free loopback
port with a backlog of 1024 (Twisted's default of 50 stalls 100 simultaneous connects).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

from bench import fixtures, procs

# Which wire protocol the generator speaks to each server.
SOCIALHUB, PLAIN, SOCKETIO = "socialhub", "plain", "socketio"

PEERS = {
    "autobahn": (PLAIN, "bench.peers.autobahn_relay"),
    "socketio": (SOCKETIO, "bench.peers.socketio_app"),
    "fastapi": (PLAIN, "bench.peers.fastapi_app"),
}
SOCIALHUB_SERVERS = ("socialhub-pg", "socialhub-sqlite", "socialhub-redis", "socialhub-2proc")
ALL_SERVERS = (*SOCIALHUB_SERVERS, "autobahn", "channels", "channels-redis", "socketio", "fastapi")
BASELINE = "autobahn"


@dataclass
class Environment:
    """What every server of one run shares."""

    workdir: Path
    layout: fixtures.Layout
    tokens: list[str]
    postgres_url: str | None = None
    sqlite_path: Path | None = None
    redis_url: str | None = None
    redis_process: subprocess.Popen[bytes] | None = None
    socialhub_root: Path = procs.REPO_ROOT  # whose socialhub/ and twisted/plugins/ run

    @property
    def peer_file(self) -> Path:
        return self.workdir / "peers.json"


@dataclass
class Running:
    """A server under test while it runs."""

    name: str
    protocol: str
    port: int
    processes: list[subprocess.Popen[bytes]]
    helper_pids: list[int] = field(default_factory=list)  # PostgreSQL backends, redis-server

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def stop(self) -> None:
        procs.stop_many(self.processes)


def start(name: str, env: Environment, port: int | None = None) -> Running:
    """Start one server under test and wait until it accepts connections (on `port`, given when
    a server is started again where its clients expect it)."""
    port = port or procs.free_port()
    if name.startswith("socialhub"):
        return _start_socialhub(name, env, port)
    if name.startswith("channels"):
        return _start_channels(name, env, port)
    protocol, module = PEERS[name]
    log = env.workdir / f"{name}-{port}.log"
    argv = [sys.executable, "-m", module, "--port", str(port), "--fixtures", str(env.peer_file)]
    process = procs.spawn(argv, log)
    procs.wait_listening(process, port, log)
    return Running(name, protocol, port, [process])


def _start_channels(name: str, env: Environment, port: int) -> Running:
    log = env.workdir / f"{name}-{port}.log"
    extra = {"BENCH_FIXTURES": str(env.peer_file)}
    if name == "channels-redis":
        extra["BENCH_CHANNEL_LAYER"] = ensure_redis(env)
    argv = [sys.executable, "-m", "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(port)]
    process = procs.spawn([*argv, "bench.peers.channels_app:application"], log, extra)
    procs.wait_listening(process, port, log)
    helpers = [env.redis_process.pid] if name == "channels-redis" and env.redis_process else []
    return Running(name, PLAIN, port, [process], helpers)


def socialhub_argv(database: str, port: int, workdir: Path, *options: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from twisted.scripts.twistd import run; run()",
        "-n",
        "--pidfile=",
        "socialhub",
        "--listen",
        f"tcp:{port}:interface=127.0.0.1:backlog=1024",
        "--database",
        database,
        "--rate-limit",
        "0",
        "--rest-rate-limit",
        "0",
        "--address-rate-limit",
        "0",
        "--admin",
        fixtures.ADMIN,
        "--media-dir",
        str(workdir / "media"),
        "--password-time-cost",
        "1",
        "--password-memory-kib",
        "8",
        *options,
    ]


def _start_socialhub(name: str, env: Environment, port: int) -> Running:
    if name == "socialhub-sqlite":
        assert env.sqlite_path is not None
        database = f"sqlite:{env.sqlite_path}"
    else:
        assert env.postgres_url is not None
        database = env.postgres_url
    postgres = env.postgres_url if name != "socialhub-sqlite" else None
    options: list[str] = []
    if name in ("socialhub-redis", "socialhub-2proc"):
        options += ["--redis", ensure_redis(env)]
    if name == "socialhub-2proc":
        options.append("--reuse-port")
    count = 2 if name == "socialhub-2proc" else 1
    before = set(postgres_backends(postgres)) if postgres else set()
    processes = []
    for number in range(count):
        log = env.workdir / f"{name}-{port}-{number}.log"
        argv = socialhub_argv(database, port, env.workdir, *options)
        process = procs.spawn(argv, log, {"PYTHONPATH": str(env.socialhub_root)})
        processes.append(process)
        procs.wait_for_line(process, log, "socialhub listening on")
    running = Running(name, SOCIALHUB, port, processes)
    if postgres:
        running.helper_pids = [pid for pid in postgres_backends(postgres) if pid not in before]
    if env.redis_process is not None and name in ("socialhub-redis", "socialhub-2proc"):
        running.helper_pids.append(env.redis_process.pid)
    return running


def postgres_backends(url: str) -> list[int]:
    """The PostgreSQL backends of the bench database: a server's pool, once its own are told
    apart from those of servers already running."""
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return [int(row[0]) for row in cursor.fetchall()]
    finally:
        connection.close()


def ensure_redis(env: Environment) -> str:
    """A private redis-server for this run (started on first use); its URL."""
    if env.redis_url is None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise procs.StartError("redis-server is not installed")
        port = procs.free_port()
        start_redis(env, executable, port)
        env.redis_url = f"redis://127.0.0.1:{port}/0"
    return env.redis_url


def start_redis(env: Environment, executable: str, port: int) -> None:
    """redis-server on `port`, keeping nothing on disk (a restart starts it empty)."""
    log = env.workdir / "redis.log"
    argv = [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(env.workdir)]
    env.redis_process = procs.spawn(argv, log)
    procs.wait_listening(env.redis_process, port, log)
