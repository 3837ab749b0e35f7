"""Creating and removing what one run needs: a fresh PostgreSQL database, an SQLite file,
fixtures in both, the peers' token file, a private Redis. Nothing outlives the run."""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Collection
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

from bench import fixtures, procs, servers


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def _admin(url: str, statement: str) -> None:
    connection = psycopg2.connect(url)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def _migrate(env: servers.Environment, name: str) -> None:
    """Start socialhub once (it applies its migrations at start), then stop it."""
    running = servers.start(name, env)
    running.stop()


def prepare(
    postgres_admin: str,
    layout: fixtures.Layout,
    server_names: Collection[str],
    socialhub_root: Path = procs.REPO_ROOT,
) -> servers.Environment:
    """The run's environment, with fixtures written for every engine a server needs."""
    workdir = Path(tempfile.mkdtemp(prefix="socialhub-bench-"))
    tokens = fixtures.make_tokens(layout.users)
    env = servers.Environment(workdir, layout, tokens, socialhub_root=socialhub_root.resolve())
    fixtures.write_peer_file(env.peer_file, layout, env.tokens)
    names = set(server_names)
    try:
        if names & {"socialhub-pg", "socialhub-redis", "socialhub-2proc"}:
            database = f"socialhub_bench_{secrets.token_hex(4)}"
            _admin(postgres_admin, f'CREATE DATABASE "{database}"')
            env.postgres_url = _with_database(postgres_admin, database)
            _timed("PostgreSQL fixtures", _fill_postgres, env)
        if "socialhub-sqlite" in names:
            env.sqlite_path = workdir / "bench.sqlite3"
            _timed("SQLite fixtures", _fill_sqlite, env)
    except BaseException:
        teardown(env, postgres_admin)
        raise
    return env


def _fill_postgres(env: servers.Environment) -> None:
    _migrate(env, "socialhub-pg")
    assert env.postgres_url is not None
    fixtures.fill_postgres(env.postgres_url, env.layout, env.tokens)


def _fill_sqlite(env: servers.Environment) -> None:
    _migrate(env, "socialhub-sqlite")
    assert env.sqlite_path is not None
    fixtures.fill_sqlite(env.sqlite_path, env.layout, env.tokens)


def _timed(
    what: str, step: Callable[[servers.Environment], None], env: servers.Environment
) -> None:
    began = time.monotonic()
    step(env)
    print(f"# {what}: {time.monotonic() - began:.1f} s", file=sys.stderr, flush=True)


def teardown(env: servers.Environment, postgres_admin: str, keep_workdir: bool = False) -> None:
    """Stop Redis, drop the database, remove the working directory (unless kept for its logs)."""
    if env.redis_process is not None:
        procs.stop(env.redis_process)
    if env.postgres_url is not None:
        name = urlsplit(env.postgres_url).path.lstrip("/")
        try:
            _admin(postgres_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg2.Error as error:
            print(f"# could not drop {name}: {error}", file=sys.stderr, flush=True)
    if keep_workdir:
        print(f"# logs kept in {env.workdir}", file=sys.stderr, flush=True)
    else:
        shutil.rmtree(env.workdir, ignore_errors=True)
