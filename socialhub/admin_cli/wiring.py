"""The server's own parts (stores, handlers), opened over the database for one command.

The settings are the server's, read by the server's own option parser: a command run with
the server's environment or --config file works on the server's database, hashes passwords
with the server's costs and knows its --admin list.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from twisted.python import usage

from socialhub.admin_cli.errors import CommandFailed
from socialhub.config import Config
from socialhub.reactor import Reactor
from socialhub.server import Server
from socialhub.storage.migrations import schema_state
from socialhub.tap import Options

# The server's options a command takes on its command line (name, help); the others, and
# these when not given, come from the environment and the --config file, as for the server.
OPTIONS = [
    ("config", "a TOML file of the server's options (default: $SOCIALHUB_CONFIG)"),
    ("database", "sqlite:PATH or postgresql://user:pw@host:port/db"),
    ("media-dir", "the directory of uploaded images"),
    ("password-time-cost", "argon2id time cost (iterations)"),
    ("password-memory-kib", "argon2id memory cost in KiB"),
    ("smtp", "smtp://user:password@host:port or smtps://...: reset links are mailed"),
    ("public-url", "the web client's URL, the base of reset links"),
]


def add_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """The common options, on the main parser or (`suppress`: without defaults, so that they
    do not hide the main parser's values) after a command's name."""
    for name, text in OPTIONS:
        default = argparse.SUPPRESS if suppress else None
        parser.add_argument(f"--{name}", default=default, help=f"{text}; as the server's option")


def settings(args: argparse.Namespace) -> Config:
    """The server's configuration, read as `twistd socialhub` reads it (command line, then
    SOCIALHUB_* variables, then the --config file, then the defaults), with the same checks."""
    argv: list[str] = []
    for name, _ in OPTIONS:
        value = getattr(args, name.replace("-", "_"))
        if value is not None:
            argv += [f"--{name}", value]
    options = Options()
    try:
        options.parseOptions(argv)
    except usage.UsageError as error:
        raise CommandFailed(str(error)) from None
    config: Config = options["config"]
    return config


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
        if server.mailer is not None:
            await server.mailer.stop()  # the mail a command sent leaves before the process
        server.hasher.stop()
        await server.database.close()
