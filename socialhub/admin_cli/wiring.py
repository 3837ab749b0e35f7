"""The server's own parts (stores, handlers), opened over the database for one command.

The settings are the server's options of the same names, with the same `SOCIALHUB_*`
fallbacks, so that a command given the server's environment works on the server's database
and hashes passwords with the server's costs.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar, cast

from socialhub.admin_cli.errors import CommandFailed
from socialhub.config import DEFAULT_DATABASE, Config, env_value
from socialhub.reactor import Reactor
from socialhub.server import Server
from socialhub.storage.migrations import schema_state

_DEFAULTS = Config()
T = TypeVar("T")
# name, parser, help: the options every command takes, named as the server names them.
OPTIONS: list[tuple[str, Callable[[str], object], str]] = [
    ("database", str, "sqlite:PATH or postgresql://user:pw@host:port/db"),
    ("media-dir", str, "the directory of uploaded images"),
    ("password-time-cost", int, "argon2id time cost"),
    ("password-memory-kib", int, "argon2id memory cost in KiB"),
]


def add_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """The common options, on the main parser or (`suppress`: without defaults, so that they
    do not hide the main parser's values) after a command's name."""
    for name, parse, text in OPTIONS:
        variable = "SOCIALHUB_" + name.upper().replace("-", "_")
        parser.add_argument(
            f"--{name}",
            type=parse,
            default=argparse.SUPPRESS if suppress else None,
            help=f"{text} (default: ${variable}, else the server's default)",
        )


def settings(args: argparse.Namespace) -> Config:
    """The command line's values, else the environment's, else the server's defaults."""
    return Config(
        database=_option(args, "database", DEFAULT_DATABASE, str),
        media_dir=_option(args, "media-dir", _DEFAULTS.media_dir, str),
        password_time_cost=_option(args, "password-time-cost", _DEFAULTS.password_time_cost, int),
        password_memory_kib=_option(
            args, "password-memory-kib", _DEFAULTS.password_memory_kib, int
        ),
        password_threads=1,
    )


def _option(args: argparse.Namespace, name: str, default: T, parse: Callable[[str], T]) -> T:
    given = getattr(args, name.replace("-", "_"))  # parsed by argparse when given
    if given is not None:
        return cast(T, given)
    raw = env_value(name)
    try:
        return default if raw is None else parse(raw)
    except ValueError:
        raise CommandFailed(f"--{name}: {raw!r} is not a valid value") from None


def existing_database(url: str) -> str:
    """The URL, once sure a SQLite one names a file (connecting would create an empty one)."""
    path = url.removeprefix("sqlite:")
    if url.startswith("sqlite:") and not os.path.exists(path):
        raise CommandFailed(f"no SQLite database at {path}")
    return url


@asynccontextmanager
async def opened(reactor: Reactor, args: argparse.Namespace) -> AsyncIterator[Server]:
    """The server's parts over the database, whose schema must be this package's: the tool
    never migrates, so it cannot change a schema under a running server of another version."""
    config = settings(args)
    existing_database(config.database)
    server = Server(config, reactor)  # built, never started: nothing listens or subscribes
    await server.database.open()
    server.hasher.start()
    try:
        state = await schema_state(server.database)
        if not state.current:
            raise CommandFailed(f"the database cannot be used: {state.problem()}")
        yield server
    finally:
        server.hasher.stop()
        await server.database.close()
